//! Failures of real processes: workers killed with SIGKILL or stopped with SIGTERM, and the
//! server killed and restarted on its store, with the dispatcher in the test.

mod support;

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use onex_nats::{Dispatcher, Layout, ThunkResult};
use onex_runtime::{ErrorCode, NodeError, Thunk, ThunkType};
use serde_json::{Value, json};
use support::{NatsServer, WorkerProcess, connect, wait_for_empty_queue, wait_for_pullers};
use tokio::task::JoinHandle;

fn sleep_thunk(ms: u64, tag: &str, value: Value) -> Thunk {
    let mut thunk = Thunk::new(ThunkType::Effect, "Sleep");
    thunk.operation_data = json!({"ms": ms, "tag": tag, "value": value});
    thunk
}

/// Waits until the ledger holds `line`.
async fn wait_for_line(server: &NatsServer, line: &str) {
    for _ in 0..3000 {
        if server.ledger().iter().any(|l| l == line) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the ledger never showed `{line}`\n{}", server.report());
}

/// The test's side: a client, and a dispatcher on it waiting up to `timeout`.
struct Caller {
    client: async_nats::Client,
    dispatcher: Dispatcher,
}

impl Caller {
    /// Starts worker process `a` with `args`, waits until it pulls, then makes the caller.
    async fn with_worker_a(
        server: &NatsServer,
        layout: &Layout,
        args: &[&str],
        timeout: Duration,
    ) -> (Caller, WorkerProcess) {
        let client = connect(server).await;
        let a = WorkerProcess::start(server, "a", args);
        wait_for_pullers(&client, layout, 1).await;
        let dispatcher = Dispatcher::with_layout(client.clone(), layout.clone())
            .await
            .unwrap()
            .timeout(timeout);
        (Caller { client, dispatcher }, a)
    }

    /// Dispatches `thunk` in a task of its own.
    fn dispatch(&self, thunk: &Thunk) -> JoinHandle<Result<ThunkResult, NodeError>> {
        let dispatcher = self.dispatcher.clone();
        let thunk = thunk.clone();
        tokio::spawn(async move { dispatcher.dispatch(thunk, &HeaderMap::new()).await })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_of_a_killed_worker_is_redelivered_and_its_result_applied_once() {
    let Some(server) = NatsServer::start("a_thunk_of_a_killed_worker") else {
        return;
    };
    let layout = Layout::default().ack_wait(Duration::from_secs(1));
    let args = ["ack_wait_ms=1000"];
    let minute = Duration::from_secs(60);
    let (caller, mut a) = Caller::with_worker_a(&server, &layout, &args, minute).await;

    let thunk = sleep_thunk(2_000, "t", json!(7));
    let call = caller.dispatch(&thunk);
    wait_for_line(&server, "start t a").await;
    a.kill();
    let _b = WorkerProcess::start(&server, "b", &args);

    let result = call.await.unwrap().unwrap();
    assert_eq!(result.outcome, Ok(json!(7)));
    assert_eq!((result.worker.as_str(), result.attempt), ("b", 2));
    let ran = server.ledger();
    assert_eq!(
        ran,
        ["start t a", "start t b"],
        "run by a, killed, run by b"
    );
    let js = jetstream::new(caller.client);
    let kv = js.get_key_value(layout.results_bucket()).await.unwrap();
    let history = kv.history(thunk.thunk_id.to_string()).await.unwrap();
    assert_eq!(history.count().await, 1, "one result written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thunks_in_flight_when_the_server_restarts_all_complete() {
    let Some(mut server) = NatsServer::start("the_server_restarts") else {
        return;
    };
    let layout = Layout::default().ack_wait(Duration::from_secs(2));
    let args = ["ack_wait_ms=2000", "concurrency=4"];
    let timeout = Duration::from_secs(90);
    let (caller, _a) = Caller::with_worker_a(&server, &layout, &args, timeout).await;
    let _b = WorkerProcess::start(&server, "b", &args);
    wait_for_pullers(&caller.client, &layout, 2).await;

    let calls: FuturesUnordered<_> = (0..200)
        .map(|i| {
            let call = caller.dispatch(&sleep_thunk(50, &format!("n{i}"), json!(i)));
            async move { (i, call.await.unwrap()) }
        })
        .collect();
    // Restart once the workers are well into the queue.
    while server.ledger().len() < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.restart();
    let started_before = server.ledger().len();
    assert!(
        started_before < 200,
        "the restart came after the last start"
    );

    let results: Vec<_> = calls.collect().await;
    assert_eq!(results.len(), 200);
    for (i, result) in results {
        let result = result.unwrap_or_else(|e| panic!("thunk {i}: {e}\n{}", server.report()));
        assert_eq!(result.outcome, Ok(json!(i)));
    }
    let connects = caller
        .client
        .statistics()
        .connects
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(connects, 2, "the dispatcher reconnected once");
    wait_for_empty_queue(&caller.client, &layout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_lost_on_its_last_delivery_is_settled_with_an_error_by_another_worker() {
    let Some(server) = NatsServer::start("a_thunk_lost_on_its_last_delivery") else {
        return;
    };
    let second = Duration::from_secs(1);
    let layout = Layout::default().ack_wait(second).max_deliver(2);
    let args = ["ack_wait_ms=1000", "max_deliver=2"];
    let minute = Duration::from_secs(60);
    let (caller, mut a) = Caller::with_worker_a(&server, &layout, &args, minute).await;

    let thunk = sleep_thunk(60_000, "t", json!(1));
    let call = caller.dispatch(&thunk);
    wait_for_line(&server, "start t a").await;
    a.kill();
    let mut b = WorkerProcess::start(&server, "b", &args);
    wait_for_line(&server, "start t b").await;
    // c cannot get the thunk (b has its last delivery) but hears that it was lost.
    let _c = WorkerProcess::start(&server, "c", &args);
    wait_for_pullers(&caller.client, &layout, 2).await;
    b.kill();

    let result = call.await.unwrap().unwrap();
    assert_eq!((result.worker.as_str(), result.attempt), ("c", 2));
    let e = result.outcome.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceUnavailable);
    assert!(!e.is_transient());
    let expected = format!(
        "thunk {} of node `Sleep` was delivered 2 times and never settled: the worker of its \
         last delivery stopped or held it past the ack wait; worker `c` gave up on it",
        thunk.thunk_id
    );
    assert_eq!(e.message(), expected);
    wait_for_empty_queue(&caller.client, &layout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_with_sigterm_finishes_its_thunk_and_exits() {
    let Some(server) = NatsServer::start("a_worker_stopped_with_sigterm") else {
        return;
    };
    let layout = Layout::default();
    let minute = Duration::from_secs(60);
    let (caller, mut a) = Caller::with_worker_a(&server, &layout, &[], minute).await;

    let call = caller.dispatch(&sleep_thunk(500, "t", json!("done")));
    wait_for_line(&server, "start t a").await;
    assert!(a.terminate(), "the worker exits successfully");
    let result = call.await.unwrap().unwrap();
    assert_eq!(result.outcome, Ok(json!("done")));
    assert_eq!((result.worker.as_str(), result.attempt), ("a", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_worker_hands_back_what_it_pulled_and_did_not_start() {
    let Some(server) = NatsServer::start("a_stopped_worker_hands_back") else {
        return;
    };
    // The default 30 s ack wait: a thunk stuck with the stopped worker would time out.
    let layout = Layout::default();
    let args = ["concurrency=2"];
    let timeout = Duration::from_secs(15);
    let (caller, mut a) = Caller::with_worker_a(&server, &layout, &args, timeout).await;

    let calls: Vec<_> = (0..20)
        .map(|i| caller.dispatch(&sleep_thunk(200, &format!("n{i}"), json!(i))))
        .collect();
    wait_for_line(&server, "start n0 a").await;
    assert!(a.terminate());
    let _b = WorkerProcess::start(&server, "b", &args);
    for (i, call) in calls.into_iter().enumerate() {
        let result = call.await.unwrap();
        let result = result.unwrap_or_else(|e| panic!("thunk {i}: {e}\n{}", server.report()));
        assert_eq!(result.outcome, Ok(json!(i)));
    }
    let lines = server.ledger();
    let by_a = lines.iter().filter(|l| l.ends_with(" a")).count();
    assert!((1..20).contains(&by_a), "{lines:?}");
}
