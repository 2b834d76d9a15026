//! Crash injection with real processes: `onex-sqlite-test-crash` runs a durable workflow on
//! a `SqliteJournal` file and aborts itself at every journal write (before and after it
//! commits), inside an effect after its side effect, and during compensation — or is
//! killed with SIGKILL at seeded random times; a fresh process resumes. Each case checks
//! the output against an uncrashed run's, and the external ledger (a separate SQLite file
//! the effects write with their idempotency keys): every idempotent effect's side effect
//! happened once, and no at-most-once effect ran twice.
//!
//! The workflow (see the worker): parse → charge (idempotent, refunded on compensation)
//! → ship (at most once; fails on a negative amount).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const WORKER: &str = env!("CARGO_BIN_EXE_onex-sqlite-test-crash");
const MODES: [&str; 3] = ["seq", "par", "batch"];
/// Short, so a resumer waits little for a crashed holder's lease to expire.
const TTL_MS: &str = "ttl_ms=200";

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Self {
        Case {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn paths(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.path().join("runs.db"),
            self.dir.path().join("ledger.db"),
        )
    }

    fn command(&self, args: &[&str]) -> Command {
        let (db, ledger) = self.paths();
        let mut cmd = Command::new(WORKER);
        cmd.arg(format!("db={}", db.display()))
            .arg(format!("ledger={}", ledger.display()))
            .arg(TTL_MS)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The `OK ...` / `ERR ...` lines, and the number of journal writes.
    fn lines(output: &Output) -> (Vec<String>, usize) {
        let text = String::from_utf8_lossy(&output.stdout);
        let mut results = Vec::new();
        let mut writes = 0;
        for line in text.lines() {
            match line.strip_prefix("WRITES ") {
                Some(n) => writes = n.parse().unwrap(),
                None => results.push(line.to_owned()),
            }
        }
        (results, writes)
    }

    /// Resumes until every run has ended, settling a call in doubt as an operator would:
    /// the ledger says whether `ship` happened (done, with its output) or not (retry).
    fn resume(&self, base: &[&str], ids: &[String]) -> Vec<String> {
        for _ in 0..5 {
            let (results, _) = Case::lines(&self.run(&[base, &["action=run"]].concat()));
            assert_eq!(results.len(), ids.len(), "{results:?}");
            let mut settled = true;
            for (result, id) in results.iter().zip(ids) {
                if !result.contains("is in doubt") {
                    continue;
                }
                settled = false;
                let shipped = self
                    .ledger()
                    .contains_key(&("Ship".to_owned(), format!("{id}/2")));
                let cents = self.charged(id);
                let how = match (shipped, cents < 0) {
                    (true, false) => format!("how=done:\"shipped {cents}\""),
                    // The carrier refused it: the call happened and failed.
                    (true, true) => "how=abort:the carrier refused a negative amount".to_owned(),
                    (false, _) => "how=retry".to_owned(),
                };
                let args = [format!("run={id}"), "step=ship".into(), how];
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (out, _) = Case::lines(&self.run(&[&["action=resolve"], &args[..]].concat()));
                assert_eq!(out, ["OK resolved"]);
            }
            if settled {
                return results;
            }
        }
        panic!("the runs did not settle");
    }

    /// Calls per (node, idempotency key).
    fn ledger(&self) -> BTreeMap<(String, String), usize> {
        let conn = rusqlite::Connection::open(self.paths().1).unwrap();
        let mut calls = BTreeMap::new();
        let mut stmt = conn
            .prepare("SELECT node, key, count(*) FROM calls GROUP BY node, key")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
            .unwrap();
        for row in rows {
            let (key, n): ((String, String), usize) = row.unwrap();
            calls.insert(key, n);
        }
        calls
    }

    fn count(&self, table: &str) -> usize {
        let conn = rusqlite::Connection::open(self.paths().1).unwrap();
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    fn charged(&self, run: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.paths().1).unwrap();
        conn.query_row(
            "SELECT cents FROM charges WHERE key = ?1",
            [format!("{run}/1")],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// The ledger's promises: one charge per run (charge and refund are idempotent: a
    /// call in doubt runs again with the same key, which the ledger absorbs), and the
    /// at-most-once `ship` never twice.
    fn check_ledger(&self, runs: usize, what: &str) {
        let ledger = self.ledger();
        for ((node, key), n) in &ledger {
            if node == "Ship" {
                assert!(*n <= 1, "{what}: {node} ran {n} times for {key}");
            }
        }
        assert_eq!(self.count("charges"), runs, "{what}: one charge per run");
    }
}

fn ids(run: &str, inputs: &str) -> Vec<String> {
    let n = inputs.split(',').count();
    if n == 1 {
        vec![run.to_owned()]
    } else {
        (0..n).map(|i| format!("{run}-{i}")).collect()
    }
}

fn crashed(output: &Output) -> bool {
    !output.status.success()
}

/// One workflow shape in one mode: the uncrashed output, then a crash at each boundary.
fn crash_everywhere(mode: &str, inputs: &str, strategy: &str, node_abort: &str) {
    let base_owned = [
        format!("mode={mode}"),
        format!("inputs={inputs}"),
        format!("strategy={strategy}"),
        "run=o".to_owned(),
    ];
    let base: Vec<&str> = base_owned.iter().map(String::as_str).collect();
    let runs = ids("o", inputs);
    let clean = Case::new();
    let (expected, writes) = Case::lines(&clean.run(&[&base[..], &["action=run"]].concat()));
    assert!(writes >= 4, "{expected:?}");
    clean.check_ledger(runs.len(), "uncrashed");

    let mut aborts: Vec<String> = (1..=writes)
        .flat_map(|k| [format!("abort=before:{k}"), format!("abort=after:{k}")])
        .collect();
    aborts.push(format!("abort={node_abort}"));
    for abort in aborts {
        let what = format!("{mode} inputs={inputs} {strategy} {abort}");
        let case = Case::new();
        let first = case.run(&[&base[..], &["action=run", &abort]].concat());
        assert!(
            crashed(&first),
            "{what}: the worker did not abort: {first:?}"
        );
        let results = case.resume(&base, &runs);
        if strategy == "compensate" {
            // An operator's abort fails `ship` with the operator's reason.
            for result in &results {
                assert!(
                    result.starts_with("ERR workflow `crash_orders` failed: step `ship` failed"),
                    "{what}: {result}"
                );
            }
        } else {
            assert_eq!(results, expected, "{what}");
        }
        case.check_ledger(runs.len(), &what);
        if strategy == "compensate" {
            assert_eq!(case.count("refunds"), runs.len(), "{what}: refunded once");
        }
    }
}

#[test]
fn a_crash_at_any_boundary_resumes_to_the_uncrashed_output_in_every_mode() {
    for mode in MODES {
        crash_everywhere(mode, "3", "failfast", "charge");
    }
}

#[test]
fn a_batch_crashed_at_any_boundary_resumes_every_run() {
    for mode in MODES {
        crash_everywhere(mode, "3,4", "failfast", "charge");
    }
}

#[test]
fn a_crash_during_compensation_resumes_it_and_refunds_once() {
    for mode in MODES {
        crash_everywhere(mode, "-2", "compensate", "refund");
    }
}

/// A small deterministic generator, for kill times reproducible from their seed.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

#[test]
fn sigkill_at_random_times_loses_nothing() {
    let mut seed = 21_u64;
    for round in 0..9 {
        let mode = MODES[round % 3];
        let base_owned = [
            format!("mode={mode}"),
            "inputs=3,4".to_owned(),
            "delay_ms=15".to_owned(),
            "run=o".to_owned(),
        ];
        let base: Vec<&str> = base_owned.iter().map(String::as_str).collect();
        let case = Case::new();
        let mut child = case
            .command(&[&base[..], &["action=run"]].concat())
            .spawn()
            .unwrap();
        let after = Duration::from_millis(lcg(&mut seed) % 120);
        std::thread::sleep(after);
        child.kill().unwrap();
        child.wait().unwrap();
        let what = format!("seed round {round}, {mode}, killed after {after:?}");
        let results = case.resume(&base, &ids("o", "3,4"));
        assert_eq!(
            results,
            [r#"OK "shipped 300""#, r#"OK "shipped 400""#],
            "{what}"
        );
        case.check_ledger(2, &what);
    }
}

#[test]
fn two_resumers_at_once_exactly_one_proceeds() {
    let case = Case::new();
    let base = ["inputs=3", "run=o", "delay_ms=100"];
    let first = case.run(&[&base[..], &["action=run", "abort=after:1"]].concat());
    assert!(crashed(&first));
    // The crashed holder's lease expires; then two processes resume at once.
    std::thread::sleep(Duration::from_millis(300));
    let args = [&base[..], &["action=resume", "wait_lease=no"]].concat();
    let (a, b) = (
        case.command(&args).spawn().unwrap(),
        case.command(&args).spawn().unwrap(),
    );
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let lines: Vec<String> = outs.iter().flat_map(|o| Case::lines(o).0).collect();
    let ok = lines.iter().filter(|l| l.starts_with("OK")).count();
    let leased = lines.iter().filter(|l| l.contains("is leased by")).count();
    assert_eq!((ok, leased), (1, 1), "{lines:?}");
    for node in ["Parse", "Charge", "Ship"] {
        let calls: usize = case
            .ledger()
            .iter()
            .filter(|((n, _), _)| n == node)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(calls, 1, "{node} ran once: {lines:?}");
    }
    assert!(Path::new(&case.paths().0).exists());
}
