//! `KvJournal` against JetStream's own faults, on a real `nats-server -js`: a server
//! restarted mid-run, a server gone, corrupt values, a stale holder whose clock lags, two
//! processes racing to start the same runs.

mod support;

use std::time::Duration;

use async_nats::jetstream;
use onex_nats::{KvJournal, KvJournalOptions, Layout};
use onex_runtime::journal::{
    Clock, Journal, JournalError, Lease, ManualClock, NewRun, RunFilter, RunStatus, StepKey, Write,
};
use support::{NatsServer, connect};

const TTL: Duration = Duration::from_secs(30);

fn step(index: u32) -> StepKey {
    StepKey::new(index, format!("step{index}"))
}

async fn open(server: &NatsServer, options: KvJournalOptions) -> KvJournal {
    KvJournal::open_with(connect(server).await, &Layout::default(), options)
        .await
        .expect("the journal opens")
}

/// Starts run `run_id` as `holder-a`; its lease.
async fn start(journal: &KvJournal, run_id: &str) -> Lease {
    let started = journal
        .start_run(NewRun::new(run_id, "Wf", vec![]), "holder-a", TTL)
        .await
        .unwrap();
    started.lease().expect("a new run is leased").clone()
}

/// Every key in the journal's bucket.
async fn bucket_keys(server: &NatsServer) -> Vec<String> {
    let kv = jetstream::new(connect(server).await)
        .get_key_value("onex-journal")
        .await
        .unwrap();
    futures_util::TryStreamExt::try_collect(kv.keys().await.unwrap())
        .await
        .unwrap()
}

/// Retries `op` while it fails (the server is coming back), for at most 30 s.
async fn until_ok<T, F: Future<Output = Result<T, JournalError>>>(
    what: &str,
    mut op: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match op().await {
            Ok(answer) => return answer,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("{what}: {e}; again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{what}: still failing after 30 s: {e}"),
        }
    }
}

/// The server is killed and restarted between two steps of a run (file storage): the
/// journal keeps everything committed before, the same handle goes on writing once the
/// client reconnects, and another handle resumes from all of it.
#[tokio::test]
async fn a_server_restarted_mid_run_keeps_the_journal() {
    let Some(mut server) = NatsServer::start("a_server_restarted_mid_run_keeps_the_journal") else {
        return;
    };
    let options = || KvJournalOptions::new().timeout(Duration::from_secs(1));
    let journal = open(&server, options()).await;
    let input = vec![7u8; 700 * 1024]; // chunked: over the 512 KiB value limit
    let started = journal
        .start_run(NewRun::new("r1", "Wf", input.clone()), "holder-a", TTL)
        .await
        .unwrap();
    let lease = started.lease().unwrap().clone();
    journal.record_intent(&lease, step(0), 1).await.unwrap();
    for i in 0..5 {
        journal
            .record_outcome_and_intent(&lease, step(i), Ok(vec![i as u8]), 1, step(i + 1), 1)
            .await
            .unwrap();
    }

    server.restart();

    // The first calls may find the client still reconnecting: a clear error, then it works.
    // A write whose answer was lost may have landed: then the retry is refused as a
    // second outcome, and the journal shows the first.
    let outcome = journal
        .record_outcome(&lease, step(5), Ok(vec![5]), 1)
        .await;
    if let Err(e) = outcome {
        eprintln!("first write after the restart: {e}");
        let run = until_ok("load", || journal.load_run("r1")).await.unwrap();
        if run.output(&step(5)).is_none() {
            until_ok("outcome 5", || {
                journal.record_outcome(&lease, step(5), Ok(vec![5]), 1)
            })
            .await;
        }
    }
    journal
        .set_status(&lease, RunStatus::Completed)
        .await
        .unwrap();

    let other = open(&server, options()).await;
    let run = other
        .load_run("r1")
        .await
        .unwrap()
        .expect("the run survived");
    assert_eq!(run.record.status, RunStatus::Completed);
    assert!(run.input == input, "the chunked input survived");
    for i in 0..6 {
        assert_eq!(run.output(&step(i)), Some(&[i as u8][..]), "step {i}");
    }
}

/// With the server gone, every operation fails within the journal's timeout with an
/// error saying so, instead of waiting for it; once it is back, the journal works again.
#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_hang() {
    let Some(mut server) = NatsServer::start("an_unreachable_server_is_an_error_not_a_hang") else {
        return;
    };
    let journal = open(
        &server,
        KvJournalOptions::new().timeout(Duration::from_millis(500)),
    )
    .await;
    let lease = start(&journal, "r1").await;
    server.kill();

    // Generous bound: a hang fails the test instead of stalling it.
    async fn bounded<T>(
        call: impl Future<Output = Result<T, JournalError>>,
    ) -> Result<Result<(), JournalError>, tokio::time::error::Elapsed> {
        tokio::time::timeout(Duration::from_secs(30), call.map_ok(drop)).await
    }
    let errors = [
        bounded(journal.record_intent(&lease, step(0), 1)).await,
        bounded(journal.renew_lease(&lease, TTL)).await,
        bounded(journal.load_run("r1")).await,
        bounded(journal.list_runs(&RunFilter::all())).await,
    ];
    for (i, error) in errors.into_iter().enumerate() {
        let error = error
            .unwrap_or_else(|_| panic!("operation {i} hung"))
            .expect_err("the server is gone");
        assert!(
            matches!(&error, JournalError::Storage { store, detail }
                if store == "onex-journal" && (detail.contains("no answer from nats-server") || detail.contains("timed out"))),
            "operation {i}: {error}"
        );
    }
}

use futures_util::TryFutureExt;

/// A value that does not decode is `Corrupt`, naming the bucket and the key; a head
/// written by a newer onex says so.
#[tokio::test]
async fn corrupt_values_are_reported_with_their_key() {
    let Some(server) = NatsServer::start("corrupt_values_are_reported_with_their_key") else {
        return;
    };
    let client = connect(&server).await;
    let journal = open(&server, KvJournalOptions::new()).await;
    let lease = start(&journal, "r1").await;
    // Enough entries that the head's buffer overflows and they go to their own keys.
    for i in 0..40 {
        journal.record_intent(&lease, step(i), 1).await.unwrap();
    }
    let kv = jetstream::new(client)
        .get_key_value("onex-journal")
        .await
        .unwrap();

    kv.put("r1.s.0", "not an entry".into()).await.unwrap();
    let err = journal.load_run("r1").await.unwrap_err();
    assert!(
        matches!(&err, JournalError::Corrupt { store, detail }
            if store == "onex-journal" && detail.starts_with("key `r1.s.0`: ")),
        "{err}"
    );
    // A writer reading that entry fails the same way, writing nothing.
    let fresh = open(&server, KvJournalOptions::new()).await;
    let err = fresh
        .record_outcome(&lease, step(0), Ok(vec![]), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, JournalError::Corrupt { detail, .. } if detail.contains("r1.s.0")),
        "{err}"
    );

    kv.put("r1.h", "{\"v\":1}".into()).await.unwrap();
    for err in [
        journal.load_run("r1").await.map(drop).unwrap_err(),
        journal
            .list_runs(&RunFilter::all())
            .await
            .map(drop)
            .unwrap_err(),
        fresh
            .acquire_lease("r1", "holder-b", TTL)
            .await
            .map(drop)
            .unwrap_err(),
    ] {
        assert!(
            matches!(&err, JournalError::Corrupt { detail, .. } if detail.starts_with("key `r1.h`: not a run head")),
            "{err}"
        );
    }

    let newer = br#"{"v":2,"run_id":"r1","workflow":"Wf","status":"RUNNING","created_at":0,"updated_at":0,"holder":null,"token":1,"until":0}"#;
    kv.put("r1.h", newer.to_vec().into()).await.unwrap();
    let err = journal.load_run("r1").await.unwrap_err();
    assert!(err.to_string().contains("written by a newer onex"), "{err}");
}

/// A holder whose clock lags believes its lease is live after another process took the
/// run over: its writes are computed, sent, and refused by the head's CAS — `Fenced` —
/// and nothing of them lands: not an entry, not a chunk of a batch.
#[tokio::test]
async fn a_stale_holder_with_a_lagging_clock_writes_nothing() {
    let Some(server) = NatsServer::start("a_stale_holder_with_a_lagging_clock_writes_nothing")
    else {
        return;
    };
    let (slow, fast) = (ManualClock::new(), ManualClock::new());
    let small = || KvJournalOptions::new().max_value(1024);
    let stale = open(&server, small().clock(slow.clone())).await;
    let next = open(&server, small().clock(fast.clone())).await;
    let old = start(&stale, "r1").await;
    stale.record_intent(&old, step(0), 1).await.unwrap();

    fast.advance(TTL);
    let new = next.acquire_lease("r1", "holder-b", TTL).await.unwrap();
    let before = next.load_run("r1").await.unwrap().unwrap();

    // By its own clock the old holder's lease has 1 ms left.
    slow.advance(TTL - Duration::from_millis(1));
    assert!(old.until > slow.now());
    let big = vec![3u8; 10 * 1024];
    let err = stale
        .write(
            &old,
            vec![
                Write::outcome(step(0), Ok(big), 1),
                Write::intent(step(1), 1),
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, JournalError::Fenced { token, current, .. } if token == old.token && current == new.token),
        "{err}"
    );
    // A small write, which would be one message (the head alone), is refused the same way.
    let err = stale.record_intent(&old, step(5), 1).await.unwrap_err();
    assert!(matches!(err, JournalError::Fenced { .. }), "{err}");
    let after = next.load_run("r1").await.unwrap().unwrap();
    assert!(
        after == before,
        "the refused write changed the run: {:?}",
        after
            .steps
            .iter()
            .map(|e| (&e.step, e.outcome.is_some()))
            .collect::<Vec<_>>()
    );
    // Not even a chunk of the refused output is stored.
    let keys = bucket_keys(&server).await;
    assert!(keys.iter().all(|k| !k.contains(".c.")), "{keys:?}");
}

/// Two processes, each with its own `KvJournal`, start each of 50 run ids at the same
/// moment: every run is created by exactly one of them, and the other is told it is
/// leased by the winner.
#[tokio::test]
async fn two_processes_racing_to_start_a_run_one_wins() {
    let Some(server) = NatsServer::start("two_processes_racing_to_start_a_run_one_wins") else {
        return;
    };
    const RUNS: usize = 50;
    let go = server.path("go");
    let spawn = |holder: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_onex-nats-test-journal"))
            .arg(format!("url={}", server.url()))
            .arg(format!("holder={holder}"))
            .arg(format!("runs={RUNS}"))
            .arg(format!("go={}", go.display()))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the journal process starts")
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let started = std::time::Instant::now();
    while !(go.with_extension("a.ready").exists() && go.with_extension("b.ready").exists()) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the processes did not get ready"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Both start run n at the same moment: 200 ms from now, then every 10 ms.
    let start = std::time::SystemTime::now() + Duration::from_millis(200);
    let millis = start
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    std::fs::write(go.with_extension("tmp"), millis.to_string()).unwrap();
    std::fs::rename(go.with_extension("tmp"), &go).unwrap();
    let lines = |child: std::process::Child| {
        let output = child.wait_with_output().expect("the process ends");
        assert!(output.status.success());
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let (a, b) = (lines(a), lines(b));
    assert_eq!((a.len(), b.len()), (RUNS, RUNS), "{a:?}\n{b:?}");
    let mut wins = [0, 0];
    for n in 0..RUNS {
        let (a, b) = (&a[n], &b[n]);
        let run = format!("r{n}");
        if *a == format!("{run} created") {
            assert_eq!(*b, format!("{run} leased a"));
            wins[0] += 1;
        } else {
            assert_eq!(*a, format!("{run} leased b"), "{b}");
            assert_eq!(*b, format!("{run} created"));
            wins[1] += 1;
        }
    }
    eprintln!("runs won by a and b: {wins:?}");
    // Each loser dropped the input it wrote before losing: one input per run is left.
    let keys = bucket_keys(&server).await;
    let inputs = keys.iter().filter(|k| k.contains(".i.")).count();
    assert_eq!(inputs, RUNS, "{keys:?}");
}
