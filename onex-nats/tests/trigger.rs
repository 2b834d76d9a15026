//! `NatsTrigger` as the source of `Runtime::serve`, on a real `nats-server -js` with the
//! `KvJournal`: an event published twice runs once, a redelivered event attaches to its
//! run, every event is acked, and a payload that does not decode is terminated.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use onex_nats::{KvJournal, Layout, NatsTrigger};
use onex_runtime::{Context, NodeError, RunOptions, Runtime};
use onex_spec::{DynamicWorkflow, NodeRegistry};
use serde_json::Value;
use support::{NatsServer, connect};

const SUBJECT: &str = "orders.created";

fn workflow(calls: &Arc<AtomicUsize>) -> DynamicWorkflow {
    let calls = Arc::clone(calls);
    let mut registry = NodeRegistry::new();
    registry.effect("Work", move |_ctx: Context, n: i64| {
        let calls = Arc::clone(&calls);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, NodeError>(n)
        }
    });
    registry
        .load_yaml("workflow_id: orders\nsteps: [{step_id: s, thunks: [{thunk_id: w, target_node_type: Work, dependencies: [$input]}]}]\noutput: w")
        .unwrap()
}

async fn publish(client: &async_nats::Client, id: &str, payload: &str) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
    jetstream::new(client.clone())
        .publish_with_headers(SUBJECT, headers, payload.to_owned().into())
        .await
        .unwrap()
        .await
        .unwrap();
}

/// Completes once the consumer has delivered every message and has no ack pending.
async fn all_acked(client: async_nats::Client, stream: &str, durable: &str) {
    let js = jetstream::new(client);
    let started = Instant::now();
    loop {
        if let Ok(mut s) = js.get_stream(stream).await
            && let Ok(info) = s.consumer_info(durable).await
            && info.num_pending == 0
            && info.num_ack_pending == 0
            && info.delivered.stream_sequence == s.info().await.unwrap().state.last_sequence
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "events not all acked within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_event_published_twice_runs_once_and_every_event_is_acked() {
    let Some(server) =
        NatsServer::start("an_event_published_twice_runs_once_and_every_event_is_acked")
    else {
        return;
    };
    let client = connect(&server).await;
    let journal = KvJournal::open(client.clone(), &Layout::default())
        .await
        .unwrap();
    let rt = Runtime::builder().journal(journal).build();
    let calls = Arc::new(AtomicUsize::new(0));
    let wf = workflow(&calls);
    let trigger = NatsTrigger::subject(SUBJECT);
    let stream = trigger.stream_name().to_owned();
    let events = trigger.events::<Value>(client.clone()).await.unwrap();
    publish(&client, "o1", "1").await;
    publish(&client, "o2", "2").await;
    publish(&client, "o1", "1").await;
    publish(&client, "bad", "not json").await;
    publish(&client, "o3", "3").await;

    let served = rt
        .serve(
            wf.program(),
            events,
            RunOptions::new(),
            all_acked(client.clone(), &stream, "onex-serve"),
        )
        .await;
    assert!(served.errors.is_empty(), "{:?}", served.errors);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "o1, o2, o3 once each");

    // Every event delivered again (a new consumer from the start): each attaches to its
    // journaled run; nothing runs again.
    let again = NatsTrigger::subject(SUBJECT).durable("again");
    let events = again.events::<Value>(client.clone()).await.unwrap();
    let served = rt
        .serve(
            wf.program(),
            events,
            RunOptions::new(),
            all_acked(client.clone(), &stream, "again"),
        )
        .await;
    assert!(served.errors.is_empty(), "{:?}", served.errors);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "no second run");
}
