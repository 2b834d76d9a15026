//! Remote steps end to end against a real `nats-server -js`: a dispatcher in the test, a
//! worker in the same process (the crash and restart tests with processes are in
//! `processes.rs`).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_nats::jetstream;
use futures_util::StreamExt;
use onex_nats::{Dispatcher, Layout, NODE_TYPE_HEADER, Worker};
use onex_runtime::dynamic::NodeRegistry;
use onex_runtime::{Backoff, Context, ErrorCode, NodeError, Thunk, ThunkType};
use serde_json::{Value, json};
use support::{NatsServer, connect};
use tokio::sync::oneshot;

/// A worker running in this process until the returned sender is dropped or fires.
struct InProcess {
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), onex_nats::Error>>,
}

impl InProcess {
    async fn start(server: &NatsServer, registry: NodeRegistry, layout: &Layout) -> InProcess {
        let client = connect(server).await;
        let (stop, stopped) = oneshot::channel::<()>();
        let worker = Worker::new(client.clone(), registry)
            .name("w-test")
            .layout(layout.clone())
            .backoff(Backoff::fixed(Duration::from_millis(10)));
        let done = tokio::spawn(worker.run_until(async {
            let _ = stopped.await;
        }));
        support::wait_for_pullers(&client, layout, 1).await;
        InProcess {
            stop: Some(stop),
            done,
        }
    }

    async fn stop(mut self) {
        drop(self.stop.take());
        (&mut self.done).await.unwrap().unwrap();
    }
}

fn thunk(node: &str, input: Value) -> Thunk {
    let mut thunk = Thunk::new(ThunkType::Compute, node.to_string());
    thunk.operation_data = input;
    thunk
}

/// Counts the calls of a node.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

async fn dispatcher(server: &NatsServer, layout: &Layout) -> Dispatcher {
    Dispatcher::with_layout(connect(server).await, layout.clone())
        .await
        .unwrap()
        .timeout(Duration::from_secs(30))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_runs_on_a_worker_and_its_output_comes_back() {
    let Some(server) = NatsServer::start("a_thunk_runs_on_a_worker") else {
        return;
    };
    let layout = Layout::default();
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Double", |n: &i64| n * 2)
        .effect("Greet", |ctx: Context, name: String| async move {
            Ok::<_, NodeError>(format!("hello {name} from {}", ctx.workflow()))
        });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    assert_eq!(
        dispatcher.call(thunk("Double", json!(21))).await,
        Ok(json!(42))
    );
    let mut greet = thunk("Greet", json!("ada"));
    greet
        .metadata
        .insert(onex_nats::WORKFLOW_KEY.into(), json!("etl"));
    let result = dispatcher
        .dispatch(greet.clone(), &async_nats::HeaderMap::new())
        .await
        .unwrap();
    assert_eq!(result.outcome, Ok(json!("hello ada from etl")));
    assert_eq!(
        (result.thunk_id, result.node_type.as_str()),
        (greet.thunk_id, "Greet")
    );
    assert_eq!((result.worker.as_str(), result.attempt), ("w-test", 1));
    assert_eq!(
        dispatcher.result(greet.thunk_id).await.unwrap(),
        Some(result)
    );
    // The work queue keeps nothing once thunks are settled.
    support::wait_for_empty_queue(&connect(&server).await, &layout).await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_errors_come_back_unchanged_and_bad_input_is_invalid_input() {
    let Some(server) = NatsServer::start("node_errors_come_back") else {
        return;
    };
    let layout = Layout::default();
    let mut registry = NodeRegistry::new();
    registry.compute("Parse", |s: &String| {
        s.parse::<i64>()
            .map_err(|e| NodeError::permanent(format!("`{s}`: {e}")))
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    let e = dispatcher
        .call(thunk("Parse", json!("x")))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        NodeError::permanent("`x`: invalid digit found in string")
    );
    let e = dispatcher.call(thunk("Parse", json!(7))).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.message()
            .starts_with("input of `Parse` does not fit `String`"),
        "{e}"
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_are_retried_on_redelivery_within_the_thunks_budget() {
    let Some(server) = NatsServer::start("transient_errors_are_retried") else {
        return;
    };
    let layout = Layout::default();
    let calls = Calls::default();
    let mut registry = NodeRegistry::new();
    registry.effect("Flaky", {
        let calls = calls.clone();
        move |_ctx: Context, failures: usize| {
            let call = calls.bump();
            async move {
                if call <= failures {
                    Err(NodeError::transient(format!("busy #{call}")))
                } else {
                    Ok(call)
                }
            }
        }
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;
    let backoff = serde_json::to_value(Backoff::fixed(Duration::from_millis(20)).no_jitter());

    // Two failures, two retries: the third delivery succeeds.
    let mut flaky = thunk("Flaky", json!(2));
    flaky.retry_count = 2;
    flaky
        .metadata
        .insert(onex_nats::BACKOFF_KEY.into(), backoff.unwrap());
    let result = dispatcher
        .dispatch(flaky, &async_nats::HeaderMap::new())
        .await
        .unwrap();
    assert_eq!((result.outcome, result.attempt), (Ok(json!(3)), 3));
    assert_eq!(calls.get(), 3);

    // One retry is not enough for two failures: the second error is the result.
    calls.0.store(0, Ordering::SeqCst);
    let mut flaky = thunk("Flaky", json!(2));
    flaky.retry_count = 1;
    let result = dispatcher
        .dispatch(flaky, &async_nats::HeaderMap::new())
        .await
        .unwrap();
    assert_eq!(result.attempt, 2);
    assert_eq!(result.outcome, Err(NodeError::transient("busy #2")));
    assert_eq!(calls.get(), 2);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_past_the_thunks_timeout_fails_with_timeout() {
    let Some(server) = NatsServer::start("an_attempt_past_the_timeout") else {
        return;
    };
    let layout = Layout::default();
    let mut registry = NodeRegistry::new();
    registry.effect("Slow", |_ctx: Context, ms: u64| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, NodeError>(ms)
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    let mut slow = thunk("Slow", json!(60_000));
    slow.timeout = Some(Duration::from_millis(50));
    let e = dispatcher.call(slow).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Timeout);
    assert_eq!(e.message(), "timed out after 50ms");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_panics_fails_its_thunk_and_the_worker_goes_on() {
    let Some(server) = NatsServer::start("a_node_that_panics") else {
        return;
    };
    let layout = Layout::default();
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Check", |n: &i64| {
        assert!(*n >= 0, "negative input {n}");
        *n
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    let e = dispatcher
        .call(thunk("Check", json!(-1)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Panicked);
    assert!(e.message().contains("negative input -1"), "{e}");
    assert_eq!(
        dispatcher.call(thunk("Check", json!(5))).await,
        Ok(json!(5))
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_output_goes_through_the_object_store() {
    let Some(server) = NatsServer::start("a_large_output") else {
        return;
    };
    let layout = Layout::default();
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Big", |n: &usize| "x".repeat(*n));
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    // Twice the server's 1 MiB message limit.
    let big = thunk("Big", json!(2 << 20));
    let output = dispatcher.call(big.clone()).await.unwrap();
    assert_eq!(output.as_str().map(str::len), Some(2 << 20));
    // The KV entry is a pointer to the object.
    let js = jetstream::new(connect(&server).await);
    let kv = js.get_key_value(layout.results_bucket()).await.unwrap();
    let entry = kv.get(big.thunk_id.to_string()).await.unwrap().unwrap();
    let record: Value = serde_json::from_slice(&entry).unwrap();
    let object = &record["outcome"]["object"];
    assert_eq!(object["bytes"].as_u64(), Some((2 << 20) + 9), "{record}");
    let objects = js.get_object_store(layout.objects_bucket()).await.unwrap();
    let name = object["name"].as_str().unwrap();
    assert!(objects.info(name).await.is_ok());
    // Small outputs stay inline.
    let small = thunk("Big", json!(3));
    assert_eq!(dispatcher.call(small.clone()).await, Ok(json!("xxx")));
    let entry = kv.get(small.thunk_id.to_string()).await.unwrap().unwrap();
    let record: Value = serde_json::from_slice(&entry).unwrap();
    assert_eq!(record["outcome"], json!({"ok": "xxx"}));
    // An input too large for one message is refused before anything is published.
    let huge = thunk("Big", json!("y".repeat(2 << 20)));
    let e = dispatcher.call(huge.clone()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.message().starts_with(&format!(
            "thunk {} of node `Big` is too large to publish: ",
            huge.thunk_id
        )),
        "{e}"
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_published_twice_runs_once_and_has_one_result() {
    let Some(server) = NatsServer::start("a_thunk_published_twice") else {
        return;
    };
    let layout = Layout::default();
    let calls = Calls::default();
    let mut registry = NodeRegistry::new();
    registry.effect("Once", {
        let calls = calls.clone();
        move |_ctx: Context, ms: u64| {
            let call = calls.bump();
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, NodeError>(call)
            }
        }
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    let once = thunk("Once", json!(200));
    // Two calls of one thunk at once, then a third after it settled.
    let (a, b) = tokio::join!(dispatcher.call(once.clone()), dispatcher.call(once.clone()));
    assert_eq!((a, b), (Ok(json!(1)), Ok(json!(1))));
    assert_eq!(dispatcher.call(once.clone()).await, Ok(json!(1)));
    assert_eq!(calls.get(), 1);
    let js = jetstream::new(connect(&server).await);
    let kv = js.get_key_value(layout.results_bucket()).await.unwrap();
    let history: Vec<_> = kv
        .history(once.thunk_id.to_string())
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(history.len(), 1);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_published_again_after_the_duplicate_window_is_answered_from_its_result() {
    let Some(server) = NatsServer::start("a_thunk_published_again") else {
        return;
    };
    let layout = Layout::default().duplicate_window(Duration::from_millis(500));
    let calls = Calls::default();
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Count", {
        let calls = calls.clone();
        move |_: &Value| calls.bump()
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout)
        .await
        .timeout(Duration::from_secs(5));

    let count = thunk("Count", Value::Null);
    assert_eq!(dispatcher.call(count.clone()).await, Ok(json!(1)));
    // The server has forgotten the id; the dispatcher knows the thunk is old.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(SystemTime::now().duration_since(count.created_at).unwrap() > layout.duplicate_window);
    assert_eq!(dispatcher.call(count).await, Ok(json!(1)));
    assert_eq!(calls.get(), 1);
    worker.stop().await;
}

/// A watch of the results bucket, made before the test publishes.
async fn watch_results(server: &NatsServer, layout: &Layout) -> jetstream::kv::Watch {
    let js = jetstream::new(connect(server).await);
    let kv = js.get_key_value(layout.results_bucket()).await.unwrap();
    kv.watch_all().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_is_not_a_thunk_is_settled_at_once_with_an_error_naming_it() {
    let Some(server) = NatsServer::start("a_payload_that_is_not_a_thunk") else {
        return;
    };
    let layout = Layout::default();
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Echo", |v: &Value| v.clone());
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;
    let mut results = watch_results(&server, &layout).await;

    let js = jetstream::new(connect(&server).await);
    let id = uuid::Uuid::new_v4();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(NODE_TYPE_HEADER, "Echo");
    js.send_publish(
        layout.subject("Echo"),
        jetstream::message::PublishMessage::build()
            .payload("{\"thunk_id\": 17}".into())
            .headers(headers)
            .message_id(id.to_string()),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let entry = results.next().await.unwrap().unwrap();
    assert_eq!(entry.key, id.to_string());
    let result = dispatcher.result(id).await.unwrap().unwrap();
    assert_eq!(result.attempt, 1);
    let e = result.outcome.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.message().starts_with(&format!(
            "worker `w-test` cannot run thunk {id} of node `Echo`: its payload is not a thunk: "
        )),
        "{e}"
    );
    // Terminated, not redelivered: nothing is left to deliver.
    let stream = js.get_stream(layout.stream_name()).await.unwrap();
    let info = stream.consumer_info(layout.consumer_name()).await.unwrap();
    assert_eq!(
        (info.num_pending, info.num_ack_pending, info.num_redelivered),
        (0, 0, 0)
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_type_no_worker_knows_is_settled_with_an_error_on_the_last_delivery() {
    let Some(server) = NatsServer::start("a_node_type_no_worker_knows") else {
        return;
    };
    let layout = Layout::default().max_deliver(3);
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Echo", |v: &Value| v.clone())
        .compute_infallible("Double", |n: &i64| n * 2);
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    let nope = thunk("Dobule", json!(1));
    let result = dispatcher
        .dispatch(nope.clone(), &async_nats::HeaderMap::new())
        .await
        .unwrap();
    assert_eq!(result.attempt, 3);
    let e = result.outcome.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidWorkflow);
    assert_eq!(
        e.message(),
        format!(
            "no worker runs node type `Dobule`: thunk {} of node `Dobule` was delivered 3 \
             times; the last worker, `w-test`, knows Double, Echo",
            nope.thunk_id
        )
    );
    support::wait_for_empty_queue(&connect(&server).await, &layout).await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_running_past_the_ack_wait_is_kept_alive_by_progress_acks() {
    let Some(server) = NatsServer::start("a_node_running_past_the_ack_wait") else {
        return;
    };
    let layout = Layout::default().ack_wait(Duration::from_millis(300));
    let calls = Calls::default();
    let mut registry = NodeRegistry::new();
    registry.effect("Long", {
        let calls = calls.clone();
        move |_ctx: Context, ms: u64| {
            calls.bump();
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, NodeError>(ms)
            }
        }
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    let result = dispatcher
        .dispatch(thunk("Long", json!(1_500)), &async_nats::HeaderMap::new())
        .await
        .unwrap();
    assert_eq!((result.outcome, result.attempt), (Ok(json!(1_500)), 1));
    // Never redelivered while it ran.
    assert_eq!(calls.get(), 1);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_finishes_the_thunks_it_started() {
    let Some(server) = NatsServer::start("a_stopping_worker_finishes") else {
        return;
    };
    let layout = Layout::default();
    let (started_tx, started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut registry = NodeRegistry::new();
    registry.effect("Slow", move |_ctx: Context, ms: u64| {
        let _ = started_tx.send(());
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, NodeError>(ms)
        }
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    let slow = thunk("Slow", json!(300));
    let call = tokio::spawn({
        let dispatcher = dispatcher.clone();
        let slow = slow.clone();
        async move { dispatcher.call(slow).await }
    });
    let mut started_rx = started_rx;
    started_rx.recv().await.unwrap();
    // Stop while the node runs: the worker returns only once its result is written.
    worker.stop().await;
    let result = dispatcher.result(slow.thunk_id).await.unwrap().unwrap();
    assert_eq!(result.outcome, Ok(json!(300)));
    assert_eq!(call.await.unwrap(), Ok(json!(300)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_a_worker_times_out_naming_the_thunk() {
    let Some(server) = NatsServer::start("a_call_without_a_worker") else {
        return;
    };
    let layout = Layout::default();
    let dispatcher = dispatcher(&server, &layout)
        .await
        .timeout(Duration::from_millis(200));
    let lonely = thunk("Echo", json!(1));
    let e = dispatcher.call(lonely.clone()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Timeout);
    assert_eq!(
        e.message(),
        format!(
            "no result for thunk {} of node `Echo` within 200ms: is a worker running on \
             stream `ONEX_THUNKS`?",
            lonely.thunk_id
        )
    );
    // The thunk waits in the queue for a worker; a later call gets its result.
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Echo", |v: &Value| v.clone());
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher.timeout(Duration::from_secs(30));
    assert_eq!(dispatcher.call(lonely).await, Ok(json!(1)));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_thunk_that_already_has_a_result_is_not_run_again() {
    let Some(server) = NatsServer::start("a_redelivered_thunk_that_already_has_a_result") else {
        return;
    };
    let layout = Layout::default();
    let client = connect(&server).await;
    // A first worker that does not know the node hands the thunk back for 2 s.
    let (stop, stopped) = oneshot::channel::<()>();
    let first = tokio::spawn(
        Worker::new(client.clone(), NodeRegistry::new())
            .layout(layout.clone())
            .backoff(Backoff::fixed(Duration::from_secs(2)).no_jitter())
            .run_until(async {
                let _ = stopped.await;
            }),
    );
    support::wait_for_pullers(&client, &layout, 1).await;
    let dispatcher = dispatcher(&server, &layout).await;
    let count = thunk("Count", Value::Null);
    let call = tokio::spawn({
        let dispatcher = dispatcher.clone();
        let count = count.clone();
        async move { dispatcher.call(count).await }
    });
    let js = jetstream::new(client.clone());
    let stream = js.get_stream(layout.stream_name()).await.unwrap();
    while stream
        .consumer_info(layout.consumer_name())
        .await
        .unwrap()
        .delivered
        .consumer_sequence
        == 0
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Stopping waits for the delivery to end: nak'd for 2 s.
    drop(stop);
    first.await.unwrap().unwrap();
    // As if an attempt had written its result and died before its ack.
    let kv = js.get_key_value(layout.results_bucket()).await.unwrap();
    let record = json!({"thunk_id": count.thunk_id, "node_type": "Count", "worker": "gone",
                        "attempt": 1, "outcome": {"ok": 41}});
    kv.create(
        count.thunk_id.to_string(),
        serde_json::to_vec(&record).unwrap().into(),
    )
    .await
    .unwrap();

    let calls = Calls::default();
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Count", {
        let calls = calls.clone();
        move |_: &Value| calls.bump()
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    assert_eq!(call.await.unwrap(), Ok(json!(41)));
    support::wait_for_empty_queue(&client, &layout).await;
    assert_eq!(
        calls.get(),
        0,
        "the second delivery found the result and did not run"
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_delivery_settles_a_thunk_whose_retry_budget_is_larger() {
    let Some(server) = NatsServer::start("the_last_delivery_settles") else {
        return;
    };
    let layout = Layout::default().max_deliver(3);
    let mut registry = NodeRegistry::new();
    registry.effect("Down", |_ctx: Context, _: Value| async move {
        Err::<Value, _>(NodeError::transient("still down"))
    });
    let worker = InProcess::start(&server, registry, &layout).await;
    let dispatcher = dispatcher(&server, &layout).await;

    let mut down = thunk("Down", Value::Null);
    down.retry_count = 10;
    let result = dispatcher
        .dispatch(down, &async_nats::HeaderMap::new())
        .await
        .unwrap();
    assert_eq!(result.attempt, 3);
    assert_eq!(result.outcome, Err(NodeError::transient("still down")));
    worker.stop().await;
}
