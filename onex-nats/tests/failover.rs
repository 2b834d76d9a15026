//! Orchestrator failover with real processes: `onex-nats-test-orchestrator` runs a durable
//! workflow on the `KvJournal` of a real `nats-server -js`, is SIGKILLed in the middle of
//! a step, and a second orchestrator process finishes the run — without re-running a step
//! the first one completed, and with the output of an uncrashed run.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::NatsServer;

const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_onex-nats-test-orchestrator");

fn orchestrator(server: &NatsServer, ledger: &str, run: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(ORCHESTRATOR);
    cmd.arg(format!("url={}", server.url()))
        .arg(format!("ledger={}", server.path(ledger).display()))
        .arg(format!("run={run}"))
        .args(["input=1", "ttl_ms=500"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn ledger(server: &NatsServer, name: &str) -> Vec<String> {
    std::fs::read_to_string(server.path(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn count(lines: &[String], line: &str) -> usize {
    lines.iter().filter(|l| *l == line).count()
}

#[test]
fn a_second_orchestrator_finishes_the_run_of_a_killed_one() {
    let Some(server) = NatsServer::start("a_second_orchestrator_finishes_the_run_of_a_killed_one")
    else {
        return;
    };
    let clean = orchestrator(&server, "clean", "clean", &[])
        .output()
        .unwrap();
    let expected = String::from_utf8_lossy(&clean.stdout).into_owned();
    assert_eq!(expected.trim(), "OK 11111", "{clean:?}");

    // Killed while step s2 sleeps: s0 and s1 are complete and journaled.
    let mut first = orchestrator(&server, "ledger", "r1", &["delay_ms=400"])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while count(&ledger(&server, "ledger"), "start r1/2") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "step s2 did not start: {:?}",
            ledger(&server, "ledger")
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let before = ledger(&server, "ledger");
    assert_eq!(
        before,
        [
            "start r1/0",
            "end r1/0",
            "start r1/1",
            "end r1/1",
            "start r1/2"
        ]
    );

    let second = orchestrator(&server, "ledger", "r1", &["action=resume"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        expected,
        "{second:?}"
    );

    let after = ledger(&server, "ledger");
    for step in 0..2 {
        assert_eq!(count(&after, &format!("start r1/{step}")), 1, "{after:?}");
    }
    // The step killed in flight runs again (idempotent, same key); the rest once.
    assert_eq!(count(&after, "start r1/2"), 2, "{after:?}");
    assert_eq!(count(&after, "end r1/2"), 1, "{after:?}");
    assert_eq!(count(&after, "start r1/3"), 1, "{after:?}");
    assert_eq!(count(&after, "end r1/3"), 1, "{after:?}");
}
