//! `runs`: the operator's commands on a real SQLite journal file, made through the
//! `Journal` API as an executor would write it (feature `cli`). Every subcommand, and bad
//! input: a clear error and a non-zero exit code, never a panic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use onex::NodeError;
use onex::cli::{CliError, execute};
use onex::dynamic::NodeRegistry;
use onex::journal::{Journal, ManualClock, NewRun, Resolution, RunStatus, StepKey};
use onex::sqlite::{SqliteJournal, SqliteOptions};
use serde_json::Value;

const TTL: Duration = Duration::from_secs(30);

/// Waits for a journal operation, as a test outside any runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A journal with three runs, on a manual clock from 2024-01-01T00:00:00Z:
/// - `order-1` (Orders) completed `parse` and `charge` on `host-a`;
/// - `order-2` (Orders) completed `parse` on `host-a`, then crashed during `charge`:
///   in doubt, lease released;
/// - `etl-1` (Etl) failed its `load` on `host-b`, with two `map` calls of `fetch` done.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let clock = ManualClock::new();
    let journal =
        SqliteJournal::open_with(&path, SqliteOptions::new().clock(clock.clone())).unwrap();
    let (parse, charge) = (StepKey::new(0, "parse"), StepKey::new(1, "charge"));
    block_on(async {
        let start = |id: &str, wf: &str, holder: &str| {
            let run = NewRun::new(id, wf, br#"{"sku":"A1"}"#.to_vec());
            let holder = holder.to_owned();
            let journal = &journal;
            async move {
                let started = journal.start_run(run, &holder, TTL).await.unwrap();
                started.lease().unwrap().clone()
            }
        };
        let done = |lease, step: StepKey, output: &'static [u8], took| {
            let journal = &journal;
            let clock = clock.clone();
            async move {
                journal.record_intent(lease, step.clone(), 1).await.unwrap();
                clock.advance(took);
                journal
                    .record_outcome(lease, step, Ok(output.to_vec()), 1)
                    .await
                    .unwrap();
            }
        };

        let a = start("order-1", "Orders", "host-a").await;
        done(&a, parse.clone(), b"21", ms(2)).await;
        done(&a, charge.clone(), br#""ch_1""#, ms(5)).await;
        journal.set_status(&a, RunStatus::Completed).await.unwrap();

        clock.advance(Duration::from_secs(60));
        let a = start("order-2", "Orders", "host-a").await;
        done(&a, parse.clone(), b"22", ms(3)).await;
        journal.record_intent(&a, charge.clone(), 1).await.unwrap();
        journal.set_status(&a, RunStatus::InDoubt).await.unwrap();
        journal.release_lease(&a).await.unwrap();

        clock.advance(Duration::from_secs(60));
        let b = start("etl-1", "Etl", "host-b").await;
        let fetch = StepKey::new(0, "fetch");
        done(&b, fetch.clone().item(0), b"[1]", ms(1)).await;
        done(&b, fetch.item(1), b"[2]", ms(1)).await;
        let load = StepKey::new(1, "load");
        journal.record_intent(&b, load.clone(), 1).await.unwrap();
        clock.advance(ms(4));
        let error = NodeError::permanent("table locked");
        journal
            .record_outcome(&b, load, Err(error), 1)
            .await
            .unwrap();
        journal.set_status(&b, RunStatus::Failed).await.unwrap();
    });
    (dir, path)
}

/// `onex runs --journal <path> <args>`: what it printed, or its error.
fn runs(path: &Path, args: &[&str]) -> Result<String, CliError> {
    let mut all = vec![
        "onex".as_ref(),
        "runs".as_ref(),
        "--journal".as_ref(),
        path.as_os_str(),
    ];
    all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
    let mut out = Vec::new();
    execute(&NodeRegistry::new(), all, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn ok(path: &Path, args: &[&str]) -> String {
    runs(path, args).unwrap_or_else(|e| panic!("runs {args:?}: {e}"))
}

/// The error of a command that must fail, with its exit code.
fn fails(path: &Path, args: &[&str]) -> (u8, String) {
    match runs(path, args) {
        Ok(out) => panic!("runs {args:?} succeeded: {out}"),
        Err(e) => (e.exit_code(), e.to_string()),
    }
}

fn load(path: &Path, id: &str) -> onex::journal::RunSnapshot {
    let journal = SqliteJournal::open(path).unwrap();
    block_on(journal.load_run(id)).unwrap().unwrap()
}

#[test]
fn list_prints_a_table_of_runs_and_filters_them() {
    let (_dir, path) = fixture();
    assert_eq!(
        ok(&path, &["list"]),
        "id       workflow  status     started               updated               steps\n\
         order-1  Orders    COMPLETED  2024-01-01T00:00:00Z  2024-01-01T00:00:00Z    2/2\n\
         order-2  Orders    IN_DOUBT   2024-01-01T00:01:00Z  2024-01-01T00:01:00Z    1/2\n\
         etl-1    Etl       FAILED     2024-01-01T00:02:00Z  2024-01-01T00:02:00Z    2/3\n"
    );
    let ids = |args: &[&str]| -> Vec<String> {
        ok(&path, args)
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&["list", "--status", "in-doubt"]), ["order-2"]);
    assert_eq!(ids(&["list", "--status", "COMPLETED"]), ["order-1"]);
    assert_eq!(
        ids(&["list", "--workflow", "Orders"]),
        ["order-1", "order-2"]
    );
    assert_eq!(ids(&["list", "--limit", "1"]), ["order-1"]);
    assert_eq!(
        ids(&["list", "--status", "failed", "--limit", "1"]),
        ["etl-1"]
    );
    assert_eq!(
        ok(&path, &["list", "--workflow", "Nope"]),
        format!("no runs in {}\n", path.display())
    );

    let (code, message) = fails(&path, &["list", "--status", "done"]);
    assert_eq!(code, 2);
    assert!(
        message.contains("`DONE` is not a run status (RUNNING, IN_DOUBT"),
        "{message}"
    );
}

#[test]
fn show_prints_the_calls_input_and_outputs() {
    let (_dir, path) = fixture();
    let text = ok(&path, &["show", "order-2"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "#  step    state      attempts  duration  holder  note",
            "0  parse   completed         1    3.00ms  host-a",
            "1  charge  in doubt          1         -  host-a  attempt 1 started 2024-01-01T00:01:00Z, no outcome",
        ]
    );
    assert_eq!(
        lines[3],
        "Orders order-2 IN_DOUBT: 1 step completed, 0 failed, 1 in doubt; \
         created 2024-01-01T00:01:00Z, updated 2024-01-01T00:01:00Z"
    );
    assert_eq!(
        lines[4..],
        [r#"input: {"sku":"A1"}"#, "outputs:", "  parse: 22"]
    );

    let etl = ok(&path, &["show", "etl-1"]);
    assert!(
        etl.contains(
            "1  load      failed            1    4.00ms  host-b  OPERATION_FAILED: table locked"
        ),
        "{etl}"
    );
    assert!(etl.contains("  fetch[0]: [1]\n  fetch[1]: [2]\n"), "{etl}");

    let doc: Value = serde_json::from_str(&ok(&path, &["show", "etl-1", "--json"])).unwrap();
    assert_eq!(doc["run_id"], "etl-1");
    assert_eq!(doc["status"], "FAILED");
    assert_eq!(doc["input"]["sku"], "A1");
    assert_eq!(doc["lease"], Value::Null, "a finished run is not leased");
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(
        (steps[1]["item"].as_u64(), &steps[1]["outcome"]["output"]),
        (Some(1), &serde_json::json!([2]))
    );
    assert_eq!(steps[2]["state"], "FAILED");
    assert_eq!(steps[2]["intent"]["holder"], "host-b");
    assert_eq!(steps[2]["intent"]["at"], "2024-01-01T00:02:00.012Z");
    assert_eq!(steps[2]["outcome"]["at"], "2024-01-01T00:02:00.016Z");
    assert_eq!(steps[2]["outcome"]["error"]["code"], "OPERATION_FAILED");

    let (code, message) = fails(&path, &["show", "order-9"]);
    assert_eq!(code, 2);
    assert_eq!(message, format!("no run `order-9` in {}", path.display()));
}

#[test]
fn resolve_done_journals_the_output_and_frees_the_run() {
    let (_dir, path) = fixture();
    assert_eq!(
        ok(
            &path,
            &["resolve", "order-2", "charge", "--done", r#""ch_2""#]
        ),
        "run `order-2`: step 1 `charge` marked done with the given output\n"
    );
    let run = load(&path, "order-2");
    assert_eq!(
        run.output(&StepKey::new(1, "charge")),
        Some(&br#""ch_2""#[..])
    );
    assert_eq!(run.in_doubt().count(), 0);
    assert_eq!(
        run.record.lease.holder, None,
        "the command gave the lease back"
    );

    // Settled: a second resolution is refused by the journal.
    let (code, message) = fails(&path, &["resolve", "order-2", "1", "--retry"]);
    assert_eq!(code, 1);
    assert!(message.contains("is not in doubt"), "{message}");
}

#[test]
fn resolve_retry_and_abort() {
    let (_dir, path) = fixture();
    ok(&path, &["resolve", "order-2", "1", "--retry"]);
    let entry = load(&path, "order-2").steps[1].clone();
    assert_eq!(
        (entry.intent, entry.outcome),
        (None, None),
        "cleared, to be made again"
    );

    let (_dir, path) = fixture();
    ok(
        &path,
        &[
            "resolve",
            "order-2",
            "charge",
            "--abort",
            "refunded by hand",
        ],
    );
    let entry = load(&path, "order-2").steps[1].clone();
    let error = entry.outcome.unwrap().result.unwrap_err();
    assert!(error.to_string().contains("refunded by hand"), "{error}");

    let (_dir, path) = fixture();
    ok(&path, &["resolve", "order-2", "charge", "--abort"]);
    let entry = load(&path, "order-2").steps[1].clone();
    let error = entry.outcome.unwrap().result.unwrap_err();
    assert!(
        error.to_string().contains("aborted by an operator"),
        "{error}"
    );
}

#[test]
fn resolve_settles_a_compensation_in_doubt() {
    let (_dir, path) = fixture();
    let journal = SqliteJournal::open(&path).unwrap();
    block_on(async {
        // order-2 is aborted instead; its completed `parse` is being undone when the
        // process dies.
        let a = journal
            .acquire_lease("order-2", "host-a", TTL)
            .await
            .unwrap();
        let charge = StepKey::new(1, "charge");
        let abort = Resolution::Abort("declined".into());
        journal.resolve(&a, charge, abort).await.unwrap();
        journal
            .set_status(&a, RunStatus::Compensating)
            .await
            .unwrap();
        let parse = StepKey::new(0, "parse");
        journal
            .record_compensation_intent(&a, parse, 1)
            .await
            .unwrap();
        journal.release_lease(&a).await.unwrap();
    });
    drop(journal);
    assert!(ok(&path, &["show", "order-2"]).contains("compensation in doubt"));
    assert_eq!(
        ok(&path, &["resolve", "order-2", "parse", "--done", "null"]),
        "run `order-2`: the compensation of step 0 `parse` marked done\n"
    );
    let entry = load(&path, "order-2").steps[0].clone();
    assert_eq!(entry.compensation_outcome.map(|o| o.result), Some(Ok(())));
}

#[test]
fn resolve_refuses_bad_input_clearly() {
    let (_dir, path) = fixture();
    let usage = |args: &[&str]| {
        let (code, message) = fails(&path, args);
        assert_eq!(code, 2, "{args:?}: {message}");
        message
    };
    let m = usage(&["resolve", "order-2", "charge", "--done", "ch_2"]);
    assert!(m.contains("not JSON"), "{m}");
    let m = usage(&["resolve", "order-2", "charge"]);
    assert!(m.contains("--done") && m.contains("--retry"), "{m}");
    let m = usage(&["resolve", "order-2", "charge", "--retry", "--abort"]);
    assert!(m.contains("cannot be used with"), "{m}");
    let m = usage(&["resolve", "order-2", "refund", "--retry"]);
    assert_eq!(
        m,
        "run `order-2` has no call `refund`: journaled calls: step 0 `parse`, step 1 `charge`"
    );
    let m = usage(&["resolve", "etl-1", "fetch", "--retry"]);
    assert!(
        m.contains("several calls") && m.contains("add `[item]`"),
        "{m}"
    );
    let m = usage(&["resolve", "etl-1", "fetch[x]", "--retry"]);
    assert!(m.contains("`x` is not an item number"), "{m}");
    usage(&["resolve", "nope", "charge", "--retry"]);

    // A finished run takes no resolution: the journal says why.
    let (code, m) = fails(&path, &["resolve", "etl-1", "fetch[0]", "--retry"]);
    assert_eq!(code, 1);
    assert!(m.contains("FAILED"), "{m}");
    // Nothing was changed by any of these.
    assert_eq!(load(&path, "order-2").in_doubt().count(), 1);
}

#[test]
fn resolve_waits_for_no_one_but_refuses_a_live_holder() {
    let (_dir, path) = fixture();
    let journal = SqliteJournal::open(&path).unwrap();
    let lease =
        block_on(journal.acquire_lease("order-2", "host-c", Duration::from_secs(600))).unwrap();
    let (code, message) = fails(&path, &["resolve", "order-2", "charge", "--retry"]);
    assert_eq!(code, 1);
    assert!(message.contains("host-c"), "names the holder: {message}");
    block_on(journal.release_lease(&lease)).unwrap();
    ok(&path, &["resolve", "order-2", "charge", "--retry"]);
}

#[test]
fn prune_deletes_finished_runs_by_count_and_age() {
    let (_dir, path) = fixture();
    assert_eq!(
        ok(&path, &["prune", "--keep", "1"]),
        "pruned 1 finished run\n"
    );
    let ids = ok(&path, &["list"]);
    assert!(
        !ids.contains("order-1") && ids.contains("etl-1") && ids.contains("order-2"),
        "{ids}"
    );
    // The fixture's clock stood in 2024: everything finished is older than a week.
    assert_eq!(
        ok(&path, &["prune", "--older-than", "7d"]),
        "pruned 1 finished run\n"
    );
    assert_eq!(
        ok(&path, &["prune", "--older-than", "7d", "--keep", "0"]),
        "pruned 0 finished runs\n"
    );
    assert!(
        ok(&path, &["list"]).contains("order-2"),
        "unfinished runs are kept"
    );

    let (code, m) = fails(&path, &["prune"]);
    assert_eq!(code, 2);
    assert!(m.contains("--older-than") && m.contains("--keep"), "{m}");
    let (code, m) = fails(&path, &["prune", "--older-than", "a week"]);
    assert_eq!(code, 2);
    assert!(m.contains("write an age like 7d"), "{m}");
}

#[test]
fn trace_writes_one_process_per_holder() {
    let (dir, path) = fixture();
    // host-b takes order-2 over and retries the call host-a left in doubt.
    let journal = SqliteJournal::open(&path).unwrap();
    block_on(async {
        let b = journal
            .acquire_lease("order-2", "host-b", TTL)
            .await
            .unwrap();
        let charge = StepKey::new(1, "charge");
        journal
            .resolve(&b, charge.clone(), Resolution::Retry)
            .await
            .unwrap();
        journal.record_intent(&b, charge.clone(), 2).await.unwrap();
        journal
            .record_outcome(&b, charge, Ok(b"1".to_vec()), 2)
            .await
            .unwrap();
        journal.set_status(&b, RunStatus::Completed).await.unwrap();
    });
    drop(journal);

    let file = dir.path().join("order-2.json");
    let said = ok(&path, &["trace", "order-2", "-o", file.to_str().unwrap()]);
    assert!(
        said.starts_with("wrote the trace of run `order-2` to "),
        "{said}"
    );
    let trace: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let processes: Vec<&str> = events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        processes,
        ["Orders order-2 · host-a", "Orders order-2 · host-b"]
    );
    let call = |name: &str| events.iter().find(|e| e["name"] == name).unwrap();
    assert_eq!(
        (call("parse")["pid"].as_u64(), call("parse")["ph"].as_str()),
        (Some(1), Some("X"))
    );
    assert_eq!(call("charge")["pid"], 2);
    assert_eq!(call("charge")["args"]["attempt"], 2);

    // Without -o the trace is printed.
    let printed: Value = serde_json::from_str(&ok(&path, &["trace", "order-2"])).unwrap();
    assert_eq!(&printed, &trace);

    let (code, m) = fails(
        &path,
        &[
            "trace",
            "order-2",
            "-o",
            dir.path().join("no/such/dir/t.json").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        m.starts_with("cannot write ") && m.contains("no/such/dir/t.json"),
        "{m}"
    );
}

#[test]
fn resume_says_what_it_needs() {
    let (_dir, path) = fixture();
    let (code, m) = fails(&path, &["resume", "order-2"]);
    assert_eq!(code, 2);
    assert!(
        m.starts_with("cannot resume run `order-2` here: it has calls in doubt"),
        "{m}"
    );
    assert!(m.contains("settle them first with `runs resolve`"), "{m}");
    let (_, m) = fails(&path, &["resume", "order-1"]);
    assert!(m.contains("it is COMPLETED"), "{m}");

    // An unfinished run of a workflow this test binary does not link.
    let journal = SqliteJournal::open(&path).unwrap();
    block_on(async {
        let run = NewRun::new("ship-1", "Shipping", b"1".to_vec());
        let started = journal.start_run(run, "host-a", TTL).await.unwrap();
        journal
            .release_lease(started.lease().unwrap())
            .await
            .unwrap();
    });
    let (code, m) = fails(&path, &["resume", "ship-1"]);
    assert_eq!(code, 2);
    assert!(
        m.contains("workflow `Shipping`'s nodes, and this binary does not link it"),
        "{m}"
    );
}

static DOUBLED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[onex::node(compute)]
fn twice(n: &u64) -> u64 {
    DOUBLED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    n * 2
}

#[onex::node(compute)]
fn plus_one(n: &u64) -> u64 {
    n + 1
}

onex::workflow! {
    #[durable]
    workflow Doubling(n: u64) -> u64 {
        doubled = twice(n);
        result = plus_one(doubled);
        return result;
    }
}

#[test]
fn resume_finishes_a_run_of_a_linked_workflow_without_redoing_its_steps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let journal = SqliteJournal::open(&path).unwrap();
    // What a process that crashed after `doubled` leaves: its outcome, no intent after it.
    block_on(async {
        let graph = Doubling::graph();
        let run = NewRun::new("d-1", "Doubling", b"21".to_vec())
            .fingerprint(onex::durable::fingerprint(graph));
        let started = journal.start_run(run, "host-a", TTL).await.unwrap();
        let lease = started.lease().unwrap();
        let doubled = StepKey::new(0, "doubled");
        journal
            .record_intent(lease, doubled.clone(), 1)
            .await
            .unwrap();
        journal
            .record_outcome(lease, doubled, Ok(b"42".to_vec()), 1)
            .await
            .unwrap();
        journal.release_lease(lease).await.unwrap();
    });
    drop(journal);

    let out = ok(&path, &["resume", "d-1"]);
    assert_eq!(out, "resumed run `d-1` of `Doubling`: completed\n");
    assert_eq!(
        DOUBLED.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "`doubled` ran again"
    );
    let run = load(&path, "d-1");
    assert_eq!(run.record.status, RunStatus::Completed);
    assert_eq!(run.output(&StepKey::new(1, "result")), Some(&b"43"[..]));
    let (_, m) = fails(&path, &["resume", "d-1"]);
    assert!(m.contains("it is COMPLETED"), "{m}");
}

#[test]
fn a_missing_or_foreign_journal_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let (code, m) = fails(&missing, &["list"]);
    assert_eq!(code, 2);
    assert!(
        m.starts_with("no journal at ") && m.contains("--journal FILE or ONEX_JOURNAL"),
        "{m}"
    );
    assert!(!missing.exists(), "no empty journal is created");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database, just some notes ".repeat(100)).unwrap();
    let (code, m) = fails(&text, &["list"]);
    assert_eq!(code, 1);
    assert!(m.contains("notes.txt") && m.contains("not a"), "{m}");
}
