//! The seeded distributed soak: a real `nats-server`, three worker processes that a seeded
//! RNG SIGKILLs and restarts every few hundred milliseconds, and two orchestrator processes
//! (`onex-nats-test-orchestrator runs=..`) splitting the durable runs `soak-0..N` between
//! them on the `KvJournal`. Each run is the chain `Double → Inc → Add`: the first two steps
//! run on the workers, `Add` in the orchestrator appends `start <key>` / `end <key>` to a
//! ledger, keyed by its idempotency key. At the end every run is completed in the journal,
//! its output is right, and the ledger holds its effect exactly once.
//!
//! `ONEX_SOAK_RUNS` sets N (default 1,000); `ONEX_SOAK_SEED` the RNG's seed (default 22).

mod support;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onex_nats::{KvJournal, Layout};
use onex_runtime::journal::{Journal, RunFilter, RunStatus};
use support::{NatsServer, WorkerProcess, connect, wait_for_pullers};

const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_onex-nats-test-orchestrator");
/// A killed worker's thunks are redelivered after this.
const ACK_WAIT_MS: &str = "ack_wait_ms=1000";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
    })
}

fn orchestrator(server: &NatsServer, from: u64, to: u64) -> Child {
    Command::new(ORCHESTRATOR)
        .arg(format!("url={}", server.url()))
        .arg(format!("ledger={}", server.ledger_path().display()))
        .arg(format!("runs={from}..{to}"))
        .args(["prefix=soak-", "concurrency=64", ACK_WAIT_MS])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start onex-nats-test-orchestrator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_completes_once_while_workers_are_killed_at_random() {
    let Some(server) = NatsServer::start("every_run_completes_once_while_workers_are_killed")
    else {
        return;
    };
    let runs = env_number("ONEX_SOAK_RUNS", 1_000);
    let mut rng = fastrand::Rng::with_seed(env_number("ONEX_SOAK_SEED", 22));
    let layout = Layout::default().ack_wait(Duration::from_secs(1));
    let client = connect(&server).await;
    let mut workers: Vec<WorkerProcess> = (0..3)
        .map(|i| WorkerProcess::start(&server, &format!("w{i}"), &[ACK_WAIT_MS]))
        .collect();
    wait_for_pullers(&client, &layout, workers.len()).await;

    let started = Instant::now();
    let mut orchestrators = [
        orchestrator(&server, 0, runs / 2),
        orchestrator(&server, runs / 2, runs),
    ];
    let mut kills = 0;
    while orchestrators
        .iter_mut()
        .any(|o| o.try_wait().expect("orchestrator status").is_none())
    {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the runs did not finish within 300 s after {kills} kills:\n{}",
            server.report()
        );
        tokio::time::sleep(Duration::from_millis(rng.u64(200..500))).await;
        let victim = rng.usize(..workers.len());
        workers[victim].kill();
        kills += 1;
        workers[victim] =
            WorkerProcess::start(&server, &format!("w{victim}-{kills}"), &[ACK_WAIT_MS]);
    }
    let elapsed = started.elapsed();

    // Every run gave the output of `Double → Inc → Add` on its index, once.
    let mut outputs = BTreeMap::new();
    let mut redelivered = 0;
    for child in orchestrators {
        let out = child.wait_with_output().expect("orchestrator output");
        assert!(out.status.success(), "{out:?}");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 4, "{line}\n{}", server.report());
            let [status, run, output, again] = parts[..] else {
                unreachable!()
            };
            assert_eq!(status, "OK", "{line}\n{}", server.report());
            redelivered += again.parse::<usize>().expect("a count");
            let previous = outputs.insert(run.to_owned(), output.to_owned());
            assert!(previous.is_none(), "{line}: a second result");
        }
    }
    assert_eq!(outputs.len() as u64, runs);
    // The kills hit workers holding thunks, which other workers then ran.
    if kills >= 3 {
        assert!(redelivered > 0, "no kill hit a worker mid-thunk");
    }
    for i in 0..runs {
        assert_eq!(
            outputs[&format!("soak-{i}")],
            ((2 * i + 1) * 10 + 1).to_string(),
            "soak-{i}"
        );
    }

    // The journal says every run completed.
    let journal = KvJournal::open(client, &layout).await.unwrap();
    let records = journal
        .list_runs(&RunFilter::all().workflow("soak_chain"))
        .await
        .unwrap();
    assert_eq!(records.len() as u64, runs);
    for record in &records {
        assert_eq!(record.status, RunStatus::Completed, "{record:?}");
    }

    // The ledger holds each run's effect once: one `start` and one `end` per key.
    let mut lines: BTreeMap<String, usize> = BTreeMap::new();
    for line in server.ledger() {
        *lines.entry(line).or_default() += 1;
    }
    let twice: Vec<_> = lines.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "ledger lines not written once: {twice:?}");
    for i in 0..runs {
        for event in ["start", "end"] {
            let line = format!("{event} soak-{i}/2");
            assert!(lines.contains_key(&line), "no `{line}` in the ledger");
        }
    }
    assert_eq!(lines.len() as u64, 2 * runs, "only the runs' lines");
    eprintln!(
        "soak: {runs} runs, {kills} worker kills, {redelivered} remote steps redelivered, \
         {elapsed:.1?}"
    );
}
