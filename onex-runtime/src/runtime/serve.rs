//! [`Runtime::serve`]: a workflow run for every event of a source, the event's id as the
//! run id, with a bounded number of runs in flight and a drain on shutdown.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, Stream, StreamExt};

use crate::context::Runtime;
use crate::model::start_hook::Started;
use crate::model::{RunOptions, StartHook, WorkflowError};
use crate::program::Program;

/// How many runs [`Runtime::serve`] keeps in flight when the runtime sets no
/// [`max_concurrent_workflows`](crate::RuntimeBuilder::max_concurrent_workflows).
pub const DEFAULT_IN_FLIGHT: usize = 64;

/// One event for [`Runtime::serve`]: its id (the run id) and the workflow's input, and
/// optionally what to do once its run is durably started (a message broker's ack).
///
/// # Examples
///
/// ```
/// use onex::Event;
///
/// let event = Event::new("order-7", 7_i64).on_started(|| println!("ack order-7"));
/// assert_eq!(event.id(), "order-7");
/// let plain: Event<i64> = ("order-8".to_owned(), 8).into();
/// assert_eq!(plain.id(), "order-8");
/// ```
pub struct Event<I> {
    id: String,
    input: I,
    on_started: Option<Started>,
}

impl<I> Event<I> {
    /// Event `id` carrying `input`.
    ///
    /// ```
    /// let event = onex::Event::new("e1", "payload");
    /// assert_eq!(event.id(), "e1");
    /// ```
    pub fn new(id: impl Into<String>, input: I) -> Self {
        Event {
            id: id.into(),
            input,
            on_started: None,
        }
    }

    /// Calls `f` once the event's run is durably started: the journal committed its start
    /// (or the run was journaled already, by an earlier delivery of the event). Without a
    /// journal, or for a workflow whose input is not journaled, `f` is called when the run
    /// is handed to the runtime, respectively when it ends.
    ///
    /// ```
    /// let event = onex::Event::new("e1", 1_u8).on_started(|| {});
    /// assert_eq!(event.id(), "e1");
    /// ```
    pub fn on_started(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.on_started = Some(Box::new(f));
        self
    }

    /// The event's id: the run id.
    ///
    /// ```
    /// assert_eq!(onex::Event::new("e1", ()).id(), "e1");
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl<I> From<(String, I)> for Event<I> {
    fn from((id, input): (String, I)) -> Self {
        Event::new(id, input)
    }
}

impl<I> fmt::Debug for Event<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("id", &self.id).finish()
    }
}

/// What [`Runtime::serve`] did, once its source ended or it drained.
///
/// # Examples
///
/// ```
/// let served = onex::Served::default();
/// assert_eq!((served.runs, served.duplicates), (0, 0));
/// ```
#[derive(Debug, Default)]
pub struct Served {
    /// Runs started (or attached to, for an event whose run was journaled already).
    pub runs: usize,
    /// Events whose id was in flight already: no second run was started for them.
    pub duplicates: usize,
    /// The runs that ended in an error, by event id.
    pub errors: Vec<(String, WorkflowError)>,
}

impl Runtime {
    /// Runs `program` for every event of `source` until the source ends or `shutdown`
    /// completes, and returns what it did.
    ///
    /// - The event's id is the run id: with a journal, an event delivered again attaches
    ///   to its run (a finished run returns its journaled result, nothing runs again); an
    ///   event whose id is in flight here starts nothing and counts as a duplicate.
    /// - An event's [`on_started`](Event::on_started) is called once its run's start is
    ///   committed in the journal. A broker acks there: a crash before it redelivers the
    ///   event, which starts (or attaches to) the run; a crash after it leaves the run in
    ///   the journal, for [`recover`](Runtime::recover) or [`resume`](Runtime::resume) to
    ///   finish.
    /// - At most `max_concurrent_workflows` runs (else [`DEFAULT_IN_FLIGHT`]) are in
    ///   flight: the next event is pulled only when a slot is free.
    /// - When `shutdown` completes, no event is pulled any more; the runs in flight finish
    ///   (cancel them through [`RunOptions::cancellation_token`] to stop them at their last
    ///   checkpoint instead), then `serve` returns.
    ///
    /// Generated workflows call it as `Wf::serve(&rt, source, opts, shutdown)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::dynamic::NodeRegistry;
    /// use onex::journal::MemoryJournal;
    /// use onex::{Event, RunOptions, Runtime};
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut registry = NodeRegistry::new();
    /// registry.compute_infallible("Double", |n: &i64| n * 2);
    /// let wf = registry
    ///     .load_yaml("workflow_id: w\nsteps: [{step_id: s, thunks: [{thunk_id: d, target_node_type: Double, dependencies: [$input]}]}]\noutput: d")
    ///     .unwrap();
    /// let rt = Runtime::builder().journal(MemoryJournal::new()).build();
    /// let events = futures_util::stream::iter(["a", "b", "a"].map(|id| Event::new(id, json!(1))));
    /// let served = rt
    ///     .serve(wf.program(), events, RunOptions::new(), std::future::pending())
    ///     .await;
    /// assert_eq!(served.runs, 3); // the second `a` attached to its finished run
    /// assert!(served.errors.is_empty());
    /// # }
    /// ```
    pub async fn serve<P, S>(
        &self,
        program: Arc<P>,
        source: S,
        options: RunOptions,
        shutdown: impl Future<Output = ()>,
    ) -> Served
    where
        P: Program,
        S: Stream<Item = Event<P::Input>>,
    {
        let limit = self
            .max_concurrent_workflows()
            .unwrap_or(DEFAULT_IN_FLIGHT)
            .max(1);
        let journaled = self.journal().is_some();
        let mut source = std::pin::pin!(source.fuse());
        let mut shutdown = std::pin::pin!(shutdown);
        let mut running = FuturesUnordered::new();
        // Hooks of duplicates of a run in flight, fired when it ends.
        let mut waiting: HashMap<String, Vec<StartHook>> = HashMap::new();
        let mut served = Served::default();
        let (mut stopping, mut ended) = (false, false);
        loop {
            let pull = !stopping && !ended && running.len() < limit;
            if !pull && running.is_empty() {
                return served;
            }
            tokio::select! {
                biased;
                () = &mut shutdown, if !stopping => stopping = true,
                Some((id, hook, result)) = running.next(), if !running.is_empty() => {
                    let hook: StartHook = hook;
                    let duplicates = waiting.remove(&id).unwrap_or_default();
                    // A run whose start the journal refused is not started: its event is
                    // left unacknowledged, to be delivered again.
                    if !matches!(result, Err(WorkflowError::Durable(_))) {
                        hook.fire();
                        duplicates.iter().for_each(StartHook::fire);
                    }
                    if let Err(error) = result {
                        served.errors.push((id, error));
                    }
                }
                event = source.next(), if pull => {
                    let Some(Event { id, input, on_started }) = event else {
                        ended = true;
                        continue;
                    };
                    let hook = StartHook::new(on_started);
                    if let Some(duplicates) = waiting.get_mut(&id) {
                        served.duplicates += 1;
                        duplicates.push(hook);
                        continue;
                    }
                    waiting.insert(id.clone(), Vec::new());
                    served.runs += 1;
                    if !journaled {
                        hook.fire();
                    }
                    let mut opts = options.clone().run_id(id.clone());
                    opts.on_started = Some(hook.clone());
                    let run = self.run(program.clone(), input, opts);
                    running.push(async move { (id, hook, run.await.map(drop)) });
                }
            }
        }
    }
}
