//! The example end to end: a real `nats-server`, worker processes (this package's `worker`
//! binary, with the shop's nodes linked in), and the `Orders` workflow run here with its
//! remote steps on the workers, compared with the same run in process.
//!
//! The server binary is `$ONEX_NATS_SERVER`, else `nats-server` on `PATH`; without one
//! the tests are skipped with a message (under `CI=true` they fail instead).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onex::WorkflowReport;
use onex::prelude::*;
use onex_example_distributed::{Orders, REMOTE, order};
use onex_nats::{Dispatcher, Layout, RemoteSteps, async_nats, chrome_trace};

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `nats-server -js` on a free port with a temporary store, and its url.
fn server(test: &str) -> Option<(Process, String, tempfile::TempDir)> {
    let binary = std::env::var_os("ONEX_NATS_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join("nats-server"))
                .find(|p| p.is_file())
        });
    let Some(binary) = binary else {
        let why = "no nats-server: set ONEX_NATS_SERVER or put it on PATH";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {why}"
        );
        eprintln!("SKIPPED {test}: {why}");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start nats-server");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "no server");
        std::thread::sleep(Duration::from_millis(10));
    }
    Some((Process(child), format!("nats://127.0.0.1:{port}"), dir))
}

fn worker(url: &str, name: &str) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_worker"))
            .args([url, name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start the worker"),
    )
}

/// Waits until `n` workers pull from the work queue.
async fn wait_for_workers(client: &async_nats::Client, n: usize) {
    let js = async_nats::jetstream::new(client.clone());
    let layout = Layout::default();
    let started = Instant::now();
    loop {
        if let Ok(stream) = js.get_stream(layout.stream_name()).await
            && let Ok(info) = stream.consumer_info(layout.consumer_name()).await
            && info.num_waiting >= n
        {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no workers");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The report without its times and ids.
fn shape(report: &WorkflowReport) -> Vec<String> {
    report
        .steps
        .iter()
        .map(|s| {
            format!(
                "{} {:?} attempts={} calls={} compensation={:?}",
                s.step,
                s.state,
                s.attempts,
                s.calls,
                s.compensation.as_ref().map(|c| c.state)
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_workflow_with_remote_steps_runs_as_in_process() {
    let Some((_server, url, _dir)) = server("a_static_workflow_with_remote_steps") else {
        return;
    };
    let client = async_nats::connect(&url).await.unwrap();
    let _workers = [worker(&url, "w1"), worker(&url, "w2")];
    wait_for_workers(&client, 2).await;
    let remote = RemoteSteps::new(Dispatcher::new(client).await.unwrap()).node_types(REMOTE);
    let distributed = Runtime::builder().step_driver(remote.clone()).build();
    let modes = [
        ExecutionMode::Sequential,
        ExecutionMode::Parallel { max_parallel: 4 },
        ExecutionMode::Batch,
    ];
    for mode in modes {
        for all in [false, true] {
            let options = || RunOptions::new().mode(mode);
            let here = Orders::run(&Runtime::default(), order(5), options())
                .await
                .unwrap();
            let there = Orders::run(&distributed, order(5), options().remote(all))
                .await
                .unwrap();
            assert_eq!(there.output, here.output, "{mode:?} all={all}");
            assert_eq!(shape(&there.report), shape(&here.report), "{mode:?}");
            // Five lines priced and one charge, by the workers; with `all`, every step.
            let spans = remote.worker_spans(there.report.workflow_id);
            let mut steps: Vec<&str> = spans.iter().map(|s| s.step.as_str()).collect();
            steps.sort();
            let expected: &[&str] = if all {
                &[
                    "charged", "items", "prices", "prices", "prices", "prices", "prices", "sum",
                    "text",
                ]
            } else {
                &["charged", "prices", "prices", "prices", "prices", "prices"]
            };
            assert_eq!(steps, expected, "{mode:?} all={all}");
            assert!(spans.iter().all(|s| s.worker == "w1" || s.worker == "w2"));
            let trace = chrome_trace(&there.report, &spans);
            assert!(trace.to_string().contains("\"worker w"), "a worker track");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_order_is_refunded_by_the_orchestrator() {
    let Some((_server, url, _dir)) = server("a_failed_order_is_refunded") else {
        return;
    };
    let client = async_nats::connect(&url).await.unwrap();
    let _worker = worker(&url, "w1");
    wait_for_workers(&client, 1).await;
    let remote = RemoteSteps::new(Dispatcher::new(client).await.unwrap()).node_types(REMOTE);
    let rt = Runtime::builder().step_driver(remote).build();
    let options = RunOptions::new().failure_strategy(FailureStrategy::Compensate);
    let error = Orders::run(&rt, order(0), options).await.unwrap_err();
    let report = error.report().unwrap();
    let charged = report.step("charged").unwrap();
    assert_eq!(
        charged.compensation.as_ref().map(|c| c.state),
        Some(StepState::Completed)
    );
    assert!(
        onex_example_distributed::REFUNDS.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "refunded here, in the orchestrator"
    );
}

#[test]
fn the_orchestrator_binary_runs_orders_on_the_worker_binaries() {
    let Some((_server, url, _dir)) = server("the_orchestrator_binary") else {
        return;
    };
    let _workers = [worker(&url, "w1"), worker(&url, "w2")];
    let out = Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .args([url.as_str(), "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("order 1: charged "), "{text}");
}
