//! `Runtime::serve`: a run per event, the event id as the run id — a duplicate event starts
//! no second run, an event is acknowledged only once its run's start is committed, at most
//! `max_concurrent_workflows` runs in flight (the source is pulled only when a slot is
//! free), and a shutdown drains: nothing more is pulled, the runs in flight finish.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use onex::dynamic::{DynamicWorkflow, NodeRegistry};
use onex::journal::{
    Journal, JournalError, JournalFuture, Lease, MemoryJournal, NewRun, Retention, RunFilter,
    RunRecord, RunSnapshot, Started, Write,
};
use onex::{Context, Event, NodeError, RunOptions, Runtime, WorkflowError};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Calls of the node, the most running at once, and a gate each call passes through.
#[derive(Default)]
struct World {
    calls: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
    gate: Option<Arc<Semaphore>>,
}

/// `Work`: counts its call, waits at the gate (if any), returns its input.
fn workflow(world: &Arc<World>) -> DynamicWorkflow {
    let mut registry = NodeRegistry::new();
    let w = Arc::clone(world);
    registry.effect("Work", move |_ctx: Context, n: i64| {
        let w = Arc::clone(&w);
        async move {
            w.calls.fetch_add(1, Ordering::SeqCst);
            let now = w.running.fetch_add(1, Ordering::SeqCst) + 1;
            w.peak.fetch_max(now, Ordering::SeqCst);
            if let Some(gate) = &w.gate {
                gate.acquire()
                    .await
                    .map_err(|e| NodeError::permanent(e.to_string()))?
                    .forget();
            }
            w.running.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, NodeError>(n)
        }
    });
    registry
        .load_yaml("workflow_id: served\nsteps: [{step_id: s, thunks: [{thunk_id: w, target_node_type: Work, dependencies: [$input]}]}]\noutput: w")
        .unwrap()
}

/// A world whose calls wait at a gate the test opens, and a runtime with two run slots.
fn gated() -> (Arc<Semaphore>, Arc<World>, Runtime) {
    let gate = Arc::new(Semaphore::new(0));
    let world = Arc::new(World {
        gate: Some(Arc::clone(&gate)),
        ..World::default()
    });
    let rt = Runtime::builder()
        .journal(MemoryJournal::new())
        .max_concurrent_workflows(2)
        .build();
    (gate, world, rt)
}

/// Events `e0` to `e9`, counting in `pulled` how many were taken.
fn counted(pulled: &Arc<AtomicUsize>) -> impl Stream<Item = Event<Value>> + use<> {
    let pulled = Arc::clone(pulled);
    futures_util::stream::iter(0..10)
        .map(|i| Event::new(format!("e{i}"), json!(1)))
        .inspect(move |_| {
            pulled.fetch_add(1, Ordering::SeqCst);
        })
}

fn events(ids: &[&str]) -> Vec<Event<Value>> {
    ids.iter().map(|id| Event::new(*id, json!(1))).collect()
}

#[tokio::test]
async fn an_event_delivered_twice_runs_once() {
    let world = Arc::new(World::default());
    let wf = workflow(&world);
    let rt = Runtime::builder().journal(MemoryJournal::new()).build();
    let source = futures_util::stream::iter(events(&["a", "b", "a", "b", "a"]));
    let served = rt
        .serve(
            wf.program(),
            source,
            RunOptions::new(),
            std::future::pending(),
        )
        .await;
    assert!(served.errors.is_empty(), "{:?}", served.errors);
    assert_eq!(
        world.calls.load(Ordering::SeqCst),
        2,
        "one call per event id"
    );
    assert_eq!(served.runs + served.duplicates, 5);

    // Delivered again later (another serve, as after a restart): attached, not run.
    let again = futures_util::stream::iter(events(&["a", "b"]));
    let served = rt
        .serve(
            wf.program(),
            again,
            RunOptions::new(),
            std::future::pending(),
        )
        .await;
    assert_eq!((served.runs, served.duplicates), (2, 0));
    assert_eq!(world.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_duplicate_of_a_run_in_flight_is_acknowledged_with_it() {
    let gate = Arc::new(Semaphore::new(0));
    let world = Arc::new(World {
        gate: Some(Arc::clone(&gate)),
        ..World::default()
    });
    let wf = workflow(&world);
    let rt = Runtime::builder().journal(MemoryJournal::new()).build();
    let acks = Arc::new(Mutex::new(Vec::new()));
    let source = futures_util::stream::iter((0..3).map(|i| {
        let acks = Arc::clone(&acks);
        Event::new("a", json!(1)).on_started(move || acks.lock().unwrap().push(i))
    }));
    let serving = rt.serve(
        wf.program(),
        source,
        RunOptions::new(),
        std::future::pending(),
    );
    let release = async {
        while world.calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        gate.add_permits(1);
    };
    let (served, ()) = tokio::join!(serving, release);
    assert_eq!((served.runs, served.duplicates), (1, 2));
    assert_eq!(world.calls.load(Ordering::SeqCst), 1);
    let mut acks = acks.lock().unwrap().clone();
    acks.sort();
    assert_eq!(acks, [0, 1, 2], "every delivery is acknowledged, once");
}

/// A `MemoryJournal` whose `start_run` notes when it committed, or fails before it does.
#[derive(Debug)]
struct Watched {
    inner: MemoryJournal,
    committed: Arc<AtomicBool>,
    refuse: bool,
}

impl Journal for Watched {
    fn start_run<'a>(
        &'a self,
        run: NewRun,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Started> {
        Box::pin(async move {
            if self.refuse {
                return Err(JournalError::Storage {
                    store: "test".into(),
                    detail: "down".into(),
                });
            }
            let started = self.inner.start_run(run, holder, ttl).await?;
            self.committed.store(true, Ordering::SeqCst);
            Ok(started)
        })
    }
    fn acquire_lease<'a>(
        &'a self,
        id: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease> {
        self.inner.acquire_lease(id, holder, ttl)
    }
    fn renew_lease<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease> {
        self.inner.renew_lease(lease, ttl)
    }
    fn release_lease<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()> {
        self.inner.release_lease(lease)
    }
    fn write<'a>(&'a self, lease: &'a Lease, writes: Vec<Write>) -> JournalFuture<'a, ()> {
        self.inner.write(lease, writes)
    }
    fn load_run<'a>(&'a self, id: &'a str) -> JournalFuture<'a, Option<RunSnapshot>> {
        self.inner.load_run(id)
    }
    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> JournalFuture<'a, Vec<RunRecord>> {
        self.inner.list_runs(filter)
    }
    fn prune<'a>(&'a self, retention: &'a Retention) -> JournalFuture<'a, usize> {
        self.inner.prune(retention)
    }
}

#[tokio::test]
async fn an_event_is_acknowledged_only_once_its_start_is_committed() {
    let world = Arc::new(World::default());
    let wf = workflow(&world);
    let serve_one = async |refuse: bool, id: &str| {
        let committed = Arc::new(AtomicBool::new(false));
        let journal = Watched {
            inner: MemoryJournal::new(),
            committed: Arc::clone(&committed),
            refuse,
        };
        let rt = Runtime::builder().journal(journal).build();
        let acks = Arc::new(Mutex::new(Vec::new()));
        let (a, w) = (Arc::clone(&acks), Arc::clone(&world));
        // What the ack saw: the start committed, and how many calls were made.
        let event = Event::new(id, json!(1)).on_started(move || {
            let calls = w.calls.load(Ordering::SeqCst);
            a.lock()
                .unwrap()
                .push((committed.load(Ordering::SeqCst), calls));
        });
        let served = rt
            .serve(
                wf.program(),
                futures_util::stream::iter([event]),
                RunOptions::new(),
                std::future::pending(),
            )
            .await;
        let acks = acks.lock().unwrap().clone();
        (served, acks)
    };

    let (served, acks) = serve_one(false, "e1").await;
    assert!(served.errors.is_empty(), "{:?}", served.errors);
    assert_eq!(
        acks,
        [(true, 0)],
        "acknowledged once, after the start committed, before the first step"
    );

    // The journal refuses the start: no ack (the broker delivers the event again), no call.
    let calls = world.calls.load(Ordering::SeqCst);
    let (served, acks) = serve_one(true, "e2").await;
    assert!(acks.is_empty(), "{acks:?}");
    assert_eq!(world.calls.load(Ordering::SeqCst), calls);
    assert!(
        matches!(&served.errors[..], [(id, WorkflowError::Durable(_))] if id == "e2"),
        "{:?}",
        served.errors
    );
}

#[tokio::test]
async fn the_source_is_pulled_only_when_a_run_slot_is_free() {
    let (gate, world, rt) = gated();
    let wf = workflow(&world);
    let pulled = Arc::new(AtomicUsize::new(0));
    let source = counted(&pulled);
    let serving = rt.serve(
        wf.program(),
        source,
        RunOptions::new(),
        std::future::pending(),
    );
    let drive = async {
        for done in 0..10 {
            while world.running.load(Ordering::SeqCst) < 2.min(10 - done) {
                tokio::task::yield_now().await;
            }
            for _ in 0..50 {
                tokio::task::yield_now().await;
            }
            // Two runs wait at the gate: two events pulled beyond those finished, no more.
            assert_eq!(pulled.load(Ordering::SeqCst), (done + 2).min(10));
            gate.add_permits(1);
            while world.calls.load(Ordering::SeqCst) - world.running.load(Ordering::SeqCst) <= done
            {
                tokio::task::yield_now().await;
            }
        }
    };
    let (served, ()) = tokio::join!(serving, drive);
    assert_eq!(served.runs, 10);
    assert_eq!(world.peak.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_shutdown_stops_pulling_and_lets_the_runs_in_flight_finish() {
    let (gate, world, rt) = gated();
    let wf = workflow(&world);
    let pulled = Arc::new(AtomicUsize::new(0));
    let source = counted(&pulled);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = rt.serve(wf.program(), source, RunOptions::new(), async {
        let _ = stopped.await;
    });
    let drive = async {
        while world.running.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        stop.send(()).unwrap();
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        gate.add_permits(2);
    };
    let (served, ()) = tokio::join!(serving, drive);
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        2,
        "nothing pulled after the shutdown"
    );
    assert_eq!(served.runs, 2);
    assert!(served.errors.is_empty(), "{:?}", served.errors);
    assert_eq!(world.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        world.running.load(Ordering::SeqCst),
        0,
        "both runs finished"
    );
}
