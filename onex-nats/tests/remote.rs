//! Remote steps end to end against a real `nats-server -js`: a dispatcher in the test, a
//! worker in the same process (the crash and restart tests with processes are in
//! `processes.rs`).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_nats::jetstream;
use futures_util::StreamExt;
use onex_nats::{Dispatcher, Layout, NODE_TYPE_HEADER, ThunkResult, Worker};
use onex_runtime::{Backoff, Context, ErrorCode, NodeError, Thunk, ThunkType};
use onex_spec::NodeRegistry;
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

/// A server, a worker in this process running `registry`, and a dispatcher, all on
/// `layout`; `None` when there is no server binary.
struct Rig {
    server: NatsServer,
    layout: Layout,
    worker: InProcess,
    dispatcher: Dispatcher,
}

impl Rig {
    async fn start(test: &str, layout: Layout, registry: NodeRegistry) -> Option<Rig> {
        let server = NatsServer::start(test)?;
        let worker = InProcess::start(&server, registry, &layout).await;
        let dispatcher = dispatcher(&server, &layout).await;
        Some(Rig {
            server,
            layout,
            worker,
            dispatcher,
        })
    }

    async fn dispatch(&self, thunk: Thunk) -> ThunkResult {
        self.dispatcher
            .dispatch(thunk, &async_nats::HeaderMap::new())
            .await
            .expect("a result")
    }

    /// A call in a task of its own.
    fn spawn_call(&self, thunk: &Thunk) -> tokio::task::JoinHandle<Result<Value, NodeError>> {
        let dispatcher = self.dispatcher.clone();
        let thunk = thunk.clone();
        tokio::spawn(async move { dispatcher.call(thunk).await })
    }

    async fn stop(self) {
        self.worker.stop().await;
    }
}

/// A registry with `Sleep`: sleeps its input in ms, returns the number of its call.
fn sleeper(calls: &Calls) -> NodeRegistry {
    let calls = calls.clone();
    let mut registry = NodeRegistry::new();
    registry.effect("Sleep", move |_ctx: Context, ms: u64| {
        let call = calls.bump();
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, NodeError>(call)
        }
    });
    registry
}

/// A client of the rig's server on JetStream.
async fn jetstream(rig: &Rig) -> jetstream::Context {
    jetstream::new(connect(&rig.server).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_runs_on_a_worker_and_its_output_comes_back() {
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Double", |n: &i64| n * 2)
        .effect("Greet", |ctx: Context, name: String| async move {
            Ok::<_, NodeError>(format!("hello {name} from {}", ctx.workflow()))
        });
    let Some(rig) = Rig::start("a_thunk_runs", Layout::default(), registry).await else {
        return;
    };

    let double = rig.dispatcher.call(thunk("Double", json!(21))).await;
    assert_eq!(double, Ok(json!(42)));
    let mut greet = thunk("Greet", json!("ada"));
    let workflow = onex_nats::WORKFLOW_KEY.to_string();
    greet.metadata.insert(workflow, json!("etl"));
    let result = rig.dispatch(greet.clone()).await;
    assert_eq!(result.outcome, Ok(json!("hello ada from etl")));
    assert_eq!(
        (result.thunk_id, result.node_type.as_str()),
        (greet.thunk_id, "Greet")
    );
    assert_eq!((result.worker.as_str(), result.attempt), ("w-test", 1));
    let stored = rig.dispatcher.result(greet.thunk_id).await.unwrap();
    assert_eq!(stored, Some(result));
    // The work queue keeps nothing once thunks are settled.
    support::wait_for_empty_queue(&connect(&rig.server).await, &rig.layout).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_errors_come_back_unchanged_and_bad_input_is_invalid_input() {
    let mut registry = NodeRegistry::new();
    registry.compute("Parse", |s: &String| {
        s.parse::<i64>()
            .map_err(|e| NodeError::permanent(format!("`{s}`: {e}")))
    });
    let Some(rig) = Rig::start("node_errors", Layout::default(), registry).await else {
        return;
    };

    let e = rig.dispatcher.call(thunk("Parse", json!("x"))).await;
    let expected = NodeError::permanent("`x`: invalid digit found in string");
    assert_eq!(e, Err(expected));
    let e = rig.dispatcher.call(thunk("Parse", json!(7))).await;
    let e = e.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let message = "input of `Parse` does not fit `String`";
    assert!(e.message().starts_with(message), "{e}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_are_retried_on_redelivery_within_the_thunks_budget() {
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
    let Some(rig) = Rig::start("transient_errors", Layout::default(), registry).await else {
        return;
    };
    let backoff = Backoff::fixed(Duration::from_millis(20)).no_jitter();

    // Two failures, two retries: the third delivery succeeds.
    let mut flaky = thunk("Flaky", json!(2));
    flaky.retry_count = 2;
    let key = onex_nats::BACKOFF_KEY.to_string();
    flaky
        .metadata
        .insert(key, serde_json::to_value(backoff).unwrap());
    let result = rig.dispatch(flaky).await;
    assert_eq!((result.outcome, result.attempt), (Ok(json!(3)), 3));
    assert_eq!(calls.get(), 3);

    // One retry is not enough for two failures: the second error is the result.
    calls.0.store(0, Ordering::SeqCst);
    let mut flaky = thunk("Flaky", json!(2));
    flaky.retry_count = 1;
    let result = rig.dispatch(flaky).await;
    assert_eq!(result.attempt, 2);
    assert_eq!(result.outcome, Err(NodeError::transient("busy #2")));
    assert_eq!(calls.get(), 2);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_delivery_settles_a_thunk_whose_retry_budget_is_larger() {
    let mut registry = NodeRegistry::new();
    registry.effect("Down", |_ctx: Context, _: Value| async move {
        Err::<Value, _>(NodeError::transient("still down"))
    });
    let layout = Layout::default().max_deliver(3);
    let Some(rig) = Rig::start("the_last_delivery", layout, registry).await else {
        return;
    };

    let mut down = thunk("Down", Value::Null);
    down.retry_count = 10;
    let result = rig.dispatch(down).await;
    assert_eq!(result.attempt, 3);
    assert_eq!(result.outcome, Err(NodeError::transient("still down")));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_past_the_thunks_timeout_fails_with_timeout() {
    let calls = Calls::default();
    let Some(rig) = Rig::start("an_attempt_past", Layout::default(), sleeper(&calls)).await else {
        return;
    };

    let mut slow = thunk("Sleep", json!(60_000));
    slow.timeout = Some(Duration::from_millis(50));
    let e = rig.dispatcher.call(slow).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Timeout);
    assert_eq!(e.message(), "timed out after 50ms");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_panics_fails_its_thunk_and_the_worker_goes_on() {
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Check", |n: &i64| {
        assert!(*n >= 0, "negative input {n}");
        *n
    });
    let Some(rig) = Rig::start("a_node_that_panics", Layout::default(), registry).await else {
        return;
    };

    let e = rig.dispatcher.call(thunk("Check", json!(-1))).await;
    let e = e.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Panicked);
    assert!(e.message().contains("negative input -1"), "{e}");
    let fine = rig.dispatcher.call(thunk("Check", json!(5))).await;
    assert_eq!(fine, Ok(json!(5)));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_output_goes_through_the_object_store() {
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Big", |n: &usize| "x".repeat(*n));
    let Some(rig) = Rig::start("a_large_output", Layout::default(), registry).await else {
        return;
    };
    let js = jetstream(&rig).await;
    let kv = js.get_key_value(rig.layout.results_bucket()).await.unwrap();
    let record = async |thunk: &Thunk| -> Value {
        let entry = kv.get(thunk.thunk_id.to_string()).await.unwrap().unwrap();
        serde_json::from_slice(&entry).unwrap()
    };

    // Twice the server's 1 MiB message limit.
    let big = thunk("Big", json!(2 << 20));
    let output = rig.dispatcher.call(big.clone()).await.unwrap();
    assert_eq!(output.as_str().map(str::len), Some(2 << 20));
    // The KV entry points to the object: `{"ok": "xx…"}`.
    let stored = record(&big).await;
    let object = &stored["outcome"]["object"];
    assert_eq!(object["bytes"].as_u64(), Some((2 << 20) + 9), "{stored}");
    let objects = js.get_object_store(rig.layout.objects_bucket()).await;
    let name = object["name"].as_str().unwrap();
    assert!(objects.unwrap().info(name).await.is_ok());
    // Small outputs stay inline.
    let small = thunk("Big", json!(3));
    assert_eq!(rig.dispatcher.call(small.clone()).await, Ok(json!("xxx")));
    assert_eq!(record(&small).await["outcome"], json!({"ok": "xxx"}));
    // An input too large for one message is refused before anything is published.
    let huge = thunk("Big", json!("y".repeat(2 << 20)));
    let e = rig.dispatcher.call(huge.clone()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let message = format!(
        "thunk {} of node `Big` is too large to publish: ",
        huge.thunk_id
    );
    assert!(e.message().starts_with(&message), "{e}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_published_twice_runs_once_and_has_one_result() {
    let calls = Calls::default();
    let Some(rig) = Rig::start("published_twice", Layout::default(), sleeper(&calls)).await else {
        return;
    };

    let once = thunk("Sleep", json!(200));
    // Two calls of one thunk at once, then a third after it settled.
    let (a, b) = tokio::join!(
        rig.dispatcher.call(once.clone()),
        rig.dispatcher.call(once.clone())
    );
    assert_eq!((a, b), (Ok(json!(1)), Ok(json!(1))));
    assert_eq!(rig.dispatcher.call(once.clone()).await, Ok(json!(1)));
    assert_eq!(calls.get(), 1);
    let js = jetstream(&rig).await;
    let kv = js.get_key_value(rig.layout.results_bucket()).await.unwrap();
    let history = kv.history(once.thunk_id.to_string()).await.unwrap();
    assert_eq!(history.count().await, 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_published_again_after_the_duplicate_window_is_answered_from_its_result() {
    let calls = Calls::default();
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Count", {
        let calls = calls.clone();
        move |_: &Value| calls.bump()
    });
    let layout = Layout::default().duplicate_window(Duration::from_millis(500));
    let Some(rig) = Rig::start("published_again", layout, registry).await else {
        return;
    };
    let dispatcher = rig.dispatcher.clone().timeout(Duration::from_secs(5));

    let count = thunk("Count", Value::Null);
    assert_eq!(dispatcher.call(count.clone()).await, Ok(json!(1)));
    // The server has forgotten the id; the dispatcher knows the thunk is old.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let age = SystemTime::now().duration_since(count.created_at).unwrap();
    assert!(age > rig.layout.duplicate_window);
    assert_eq!(dispatcher.call(count).await, Ok(json!(1)));
    assert_eq!(calls.get(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_is_not_a_thunk_is_settled_at_once_with_an_error_naming_it() {
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Echo", |v: &Value| v.clone());
    let Some(rig) = Rig::start("not_a_thunk", Layout::default(), registry).await else {
        return;
    };
    let js = jetstream(&rig).await;
    let kv = js.get_key_value(rig.layout.results_bucket()).await.unwrap();
    let mut results = kv.watch_all().await.unwrap();

    let id = uuid::Uuid::new_v4();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(NODE_TYPE_HEADER, "Echo");
    let message = jetstream::message::PublishMessage::build()
        .payload("{\"thunk_id\": 17}".into())
        .headers(headers)
        .message_id(id.to_string());
    let published = js.send_publish(rig.layout.subject("Echo"), message).await;
    published.unwrap().await.unwrap();
    let entry = results.next().await.unwrap().unwrap();
    assert_eq!(entry.key, id.to_string());
    let result = rig.dispatcher.result(id).await.unwrap().unwrap();
    assert_eq!(result.attempt, 1);
    let e = result.outcome.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let message = format!(
        "worker `w-test` cannot run thunk {id} of node `Echo`: its payload is not a thunk: "
    );
    assert!(e.message().starts_with(&message), "{e}");
    // Terminated, not redelivered: nothing is left to deliver. The worker writes the result
    // before it terminates the message, so the term may still be on its way.
    let stream = js.get_stream(rig.layout.stream_name()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let info = stream
            .consumer_info(rig.layout.consumer_name())
            .await
            .unwrap();
        let left = (info.num_pending, info.num_ack_pending, info.num_redelivered);
        if left == (0, 0, 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "left: {left:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_type_no_worker_knows_is_settled_with_an_error_on_the_last_delivery() {
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Echo", |v: &Value| v.clone())
        .compute_infallible("Double", |n: &i64| n * 2);
    let layout = Layout::default().max_deliver(3);
    let Some(rig) = Rig::start("no_worker_knows", layout, registry).await else {
        return;
    };

    let nope = thunk("Dobule", json!(1));
    let result = rig.dispatch(nope.clone()).await;
    assert_eq!(result.attempt, 3);
    let e = result.outcome.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidWorkflow);
    let expected = format!(
        "no worker runs node type `Dobule`: thunk {} of node `Dobule` was delivered 3 times; \
         the last worker, `w-test`, knows Double, Echo",
        nope.thunk_id
    );
    assert_eq!(e.message(), expected);
    support::wait_for_empty_queue(&connect(&rig.server).await, &rig.layout).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_running_past_the_ack_wait_is_kept_alive_by_progress_acks() {
    let calls = Calls::default();
    let layout = Layout::default().ack_wait(Duration::from_millis(300));
    let Some(rig) = Rig::start("past_the_ack_wait", layout, sleeper(&calls)).await else {
        return;
    };

    let result = rig.dispatch(thunk("Sleep", json!(1_500))).await;
    assert_eq!((result.outcome, result.attempt), (Ok(json!(1)), 1));
    // Never redelivered while it ran.
    assert_eq!(calls.get(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_finishes_the_thunks_it_started() {
    let calls = Calls::default();
    let Some(rig) = Rig::start("a_stopping_worker", Layout::default(), sleeper(&calls)).await
    else {
        return;
    };

    let slow = thunk("Sleep", json!(300));
    let call = rig.spawn_call(&slow);
    while calls.get() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Stop while the node runs: the worker returns only once its result is written.
    let Rig {
        worker, dispatcher, ..
    } = rig;
    worker.stop().await;
    let result = dispatcher.result(slow.thunk_id).await.unwrap().unwrap();
    assert_eq!(result.outcome, Ok(json!(1)));
    assert_eq!(call.await.unwrap(), Ok(json!(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_a_worker_times_out_naming_the_thunk() {
    let Some(server) = NatsServer::start("a_call_without_a_worker") else {
        return;
    };
    let layout = Layout::default();
    let dispatcher = dispatcher(&server, &layout).await;
    let lonely = thunk("Echo", json!(1));
    let waiting = dispatcher.clone().timeout(Duration::from_millis(200));
    let e = waiting.call(lonely.clone()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Timeout);
    let expected = format!(
        "no result for thunk {} of node `Echo` within 200ms: is a worker running on stream \
         `ONEX_THUNKS`?",
        lonely.thunk_id
    );
    assert_eq!(e.message(), expected);
    // The thunk waits in the queue for a worker; a later call gets its result.
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Echo", |v: &Value| v.clone());
    let worker = InProcess::start(&server, registry, &layout).await;
    assert_eq!(dispatcher.call(lonely).await, Ok(json!(1)));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_thunk_that_already_has_a_result_is_not_run_again() {
    let Some(server) = NatsServer::start("a_redelivered_thunk") else {
        return;
    };
    let layout = Layout::default();
    let client = connect(&server).await;
    // A first worker that does not know the node hands the thunk back for 2 s.
    let (stop, stopped) = oneshot::channel::<()>();
    let first = Worker::new(client.clone(), NodeRegistry::new())
        .layout(layout.clone())
        .backoff(Backoff::fixed(Duration::from_secs(2)).no_jitter());
    let first = tokio::spawn(first.run_until(async {
        let _ = stopped.await;
    }));
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
    let consumer = layout.consumer_name();
    while stream
        .consumer_info(&consumer)
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
    let record = serde_json::to_vec(&record).unwrap();
    kv.create(count.thunk_id.to_string(), record.into())
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
    let ran = calls.get();
    assert_eq!(
        ran, 0,
        "the second delivery found the result and did not run"
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_message_carries_the_thunk_its_id_its_node_type_and_the_callers_headers() {
    let Some(server) = NatsServer::start("a_thunk_message_carries") else {
        return;
    };
    let layout = Layout::default();
    let dispatcher = dispatcher(&server, &layout)
        .await
        .timeout(Duration::from_millis(100));
    let mut sum = thunk("etl::Sum", json!([1, 2]));
    sum.retry_count = 2;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(onex_nats::TRACEPARENT_HEADER, traceparent);
    // No worker: the call times out and the message stays in the queue.
    assert!(dispatcher.dispatch(sum.clone(), &headers).await.is_err());

    let js = jetstream::new(connect(&server).await);
    let stream = js.get_stream(layout.stream_name()).await.unwrap();
    let message = stream.get_raw_message(1).await.unwrap();
    assert_eq!(message.subject.as_str(), "onex.thunks.etl__Sum");
    let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_string());
    assert_eq!(header("Nats-Msg-Id"), Some(sum.thunk_id.to_string()));
    assert_eq!(header(NODE_TYPE_HEADER).as_deref(), Some("etl::Sum"));
    assert_eq!(header("traceparent").as_deref(), Some(traceparent));
    let published: Thunk = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(published, sum);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thunk_with_a_bad_backoff_or_a_foreign_message_id_is_settled_at_once() {
    let calls = Calls::default();
    let Some(rig) = Rig::start("bad_backoff", Layout::default(), sleeper(&calls)).await else {
        return;
    };
    let js = jetstream(&rig).await;
    let publish = async |thunk: &Thunk, message_id: uuid::Uuid| {
        let message = jetstream::message::PublishMessage::build()
            .payload(serde_json::to_vec(thunk).unwrap().into())
            .message_id(message_id.to_string());
        let published = js.send_publish(rig.layout.subject("Sleep"), message).await;
        published.unwrap().await.unwrap();
    };
    let settled = async |thunk_id| loop {
        if let Some(result) = rig.dispatcher.result(thunk_id).await.unwrap() {
            break result.outcome.unwrap_err();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };

    let mut soon = thunk("Sleep", json!(1));
    soon.metadata
        .insert(onex_nats::BACKOFF_KEY.into(), json!("soon"));
    publish(&soon, soon.thunk_id).await;
    let e = settled(soon.thunk_id).await;
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let expected = format!(
        "worker `w-test` cannot run thunk {} of node `Sleep`: its `metadata.backoff` is not a \
         backoff: ",
        soon.thunk_id
    );
    assert!(e.message().starts_with(&expected), "{e}");

    let other = uuid::Uuid::new_v4();
    let foreign = thunk("Sleep", json!(1));
    publish(&foreign, other).await;
    let e = settled(other).await;
    let expected = format!(
        "worker `w-test` cannot run thunk {} of node `Sleep`: its message id {other} is not \
         its thunk id",
        foreign.thunk_id
    );
    assert_eq!(e.message(), expected);
    assert_eq!(calls.get(), 0);
    support::wait_for_empty_queue(&connect(&rig.server).await, &rig.layout).await;
    rig.stop().await;
}
