//! The step driver seam (`onex::driver`): what a driver sees of a run, in every mode, in
//! the order the module documents, and what it can answer instead of a call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use onex::driver::{
    CallEnd, CallStart, DriverFuture, Phase, Route, RunDriver, RunInfo, StepDriver,
};
use onex::dynamic::NodeRegistry;
use onex::prelude::*;
use serde_json::{Value, json};

/// How a test driver answers a starting call.
type OpAnswer = dyn Fn(&CallStart<'_>) -> Route + Send + Sync;

/// How a test driver makes a call routed to it.
type Make = dyn Fn(&Thunk) -> Result<Value, NodeError> + Send + Sync;

/// Records what it sees, one line per call of the seam, and answers with `answer`; makes
/// the calls routed to it with `make`.
#[derive(Clone)]
struct Recorder {
    log: Arc<Mutex<Vec<String>>>,
    runs: Arc<Mutex<HashMap<uuid::Uuid, usize>>>,
    answer: Arc<OpAnswer>,
    make: Arc<Make>,
    fail_open: bool,
    fail_checkpoint: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recorder")
    }
}

impl Recorder {
    fn new() -> Self {
        Recorder {
            log: Arc::default(),
            runs: Arc::default(),
            answer: Arc::new(|_| Route::Local),
            make: Arc::new(|_| Err(NodeError::permanent("not routed here"))),
            fail_open: false,
            fail_checkpoint: false,
        }
    }

    fn answering(
        mut self,
        answer: impl Fn(&CallStart<'_>) -> Route + Send + Sync + 'static,
    ) -> Self {
        self.answer = Arc::new(answer);
        self
    }

    fn making(
        mut self,
        make: impl Fn(&Thunk) -> Result<Value, NodeError> + Send + Sync + 'static,
    ) -> Self {
        self.make = Arc::new(make);
        self
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn note(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
}

/// One run's driver: the recorder, and the run's number in the order runs were opened.
struct Run {
    recorder: Recorder,
    run: usize,
}

impl StepDriver for Recorder {
    fn open<'a>(&'a self, run: &'a RunInfo<'a>) -> DriverFuture<'a, Box<dyn RunDriver>> {
        Box::pin(async move {
            let n = {
                let mut runs = self.runs.lock().unwrap();
                let n = runs.len();
                *runs.entry(run.workflow_id).or_insert(n)
            };
            self.note(format!("r{n} open {}", run.graph.name()));
            if self.fail_open {
                return Err(NodeError::permanent("the journal is full"));
            }
            Ok(Box::new(Run {
                recorder: self.clone(),
                run: n,
            }) as Box<dyn RunDriver>)
        })
    }
}

/// `name` of a call, with its phase and (for a `map` step) its item.
fn call_name(step: &str, item: usize, map: bool, phase: Phase) -> String {
    let mut name = step.to_string();
    if map {
        name.push_str(&format!("[{item}]"));
    }
    if phase == Phase::Compensation {
        name = format!("undo {name}");
    }
    name
}

fn describe_end(end: &CallEnd<'_>) -> String {
    let name = call_name(&end.spec.name, end.item, end.spec.map, end.phase);
    match (end.result, end.output) {
        (Err(e), _) => format!("{name} failed ({})", e.code()),
        (Ok(()), Some(Ok(value))) => format!("{name}={value}"),
        (Ok(()), Some(Err(e))) => format!("{name} unserializable ({e})"),
        (Ok(()), None) => format!("{name} ok"),
    }
}

impl RunDriver for Run {
    fn checkpoint<'a>(
        &'a self,
        ended: &'a [CallEnd<'a>],
        starting: &'a [CallStart<'a>],
    ) -> DriverFuture<'a, Vec<Route>> {
        Box::pin(async move {
            let mut ends: Vec<String> = ended.iter().map(describe_end).collect();
            ends.sort();
            let starts: Vec<String> = starting
                .iter()
                .map(|s| call_name(&s.spec.name, s.item, s.spec.map, s.phase))
                .collect();
            self.recorder.note(format!(
                "r{} [{}] -> [{}]",
                self.run,
                ends.join(" "),
                starts.join(" ")
            ));
            if self.recorder.fail_checkpoint {
                return Err(NodeError::transient("the journal is unreachable"));
            }
            Ok(starting.iter().map(|s| (self.recorder.answer)(s)).collect())
        })
    }

    fn call<'a>(&'a self, call: &'a CallStart<'a>, thunk: Thunk) -> DriverFuture<'a, Value> {
        Box::pin(async move {
            self.recorder.note(format!(
                "r{} call {} {} {}",
                self.run, call.spec.name, thunk.target_node_type, thunk.operation_data
            ));
            (self.recorder.make)(&thunk)
        })
    }

    fn close<'a>(&'a self, state: WorkflowState) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            self.recorder.note(format!("r{} close {state:?}", self.run));
            Ok(())
        })
    }
}

// A diamond: `a`, then `b` and `c` from it, then `d` from both.

#[node(compute)]
fn source(x: &u64) -> u64 {
    x + 1
}

#[node(compute)]
fn left(a: &u64) -> u64 {
    a * 10
}

#[node(compute)]
fn right(a: &u64) -> u64 {
    a * 100
}

#[node(compute)]
fn join(b: &u64, c: &u64) -> u64 {
    b + c
}

workflow! {
    /// The diamond.
    pub workflow Diamond(x: u64) -> u64 {
        a = source(x);
        b = left(a);
        c = right(a);
        d = join(b, c);
        return d;
    }
}

fn runtime(driver: &Recorder) -> Runtime {
    Runtime::builder().step_driver(driver.clone()).build()
}

#[tokio::test]
async fn sequential_runs_show_each_step_between_the_outcome_before_and_the_intent_after() {
    let driver = Recorder::new();
    let rt = runtime(&driver);
    let run = Diamond::run(&rt, 1, RunOptions::new()).await.unwrap();
    assert_eq!(run.output, 220);
    assert_eq!(
        driver.log(),
        [
            "r0 open Diamond",
            "r0 [] -> [a]",
            "r0 [a ok] -> [b]",
            "r0 [b ok] -> [c]",
            "r0 [c ok] -> [d]",
            "r0 [d ok] -> []",
            "r0 close Completed",
        ]
    );
    // Every step was a call the driver saw: the direct stretches were off.
    assert_eq!(run.report.steps_completed, 4);
}

#[tokio::test]
async fn waves_show_a_wave_per_boundary_in_parallel_and_batch() {
    for mode in [
        ExecutionMode::Parallel { max_parallel: 4 },
        ExecutionMode::Batch,
    ] {
        let driver = Recorder::new();
        let rt = runtime(&driver);
        let run = Diamond::run(&rt, 1, RunOptions::new().mode(mode))
            .await
            .unwrap();
        assert_eq!(run.output, 220, "{mode:?}");
        assert_eq!(
            driver.log(),
            [
                "r0 open Diamond",
                "r0 [] -> [a]",
                "r0 [a ok] -> [b c]",
                "r0 [b ok c ok] -> [d]",
                "r0 [d ok] -> []",
                "r0 close Completed",
            ],
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn a_batch_opens_a_driver_per_input_and_goes_step_by_step() {
    let driver = Recorder::new();
    let rt = runtime(&driver);
    let runs = Diamond::run_batch(&rt, vec![1, 2], RunOptions::new()).await;
    let outputs: Vec<u64> = runs.into_iter().map(|r| r.unwrap().output).collect();
    assert_eq!(outputs, [220, 330]);
    assert_eq!(
        driver.log(),
        [
            "r0 open Diamond",
            "r1 open Diamond",
            "r0 [] -> [a]",
            "r1 [] -> [a]",
            "r0 [a ok] -> [b]",
            "r1 [a ok] -> [b]",
            "r0 [b ok] -> [c]",
            "r1 [b ok] -> [c]",
            "r0 [c ok] -> [d]",
            "r1 [c ok] -> [d]",
            "r0 [d ok] -> []",
            "r0 close Completed",
            "r1 [d ok] -> []",
            "r1 close Completed",
        ]
    );
}

// A saga: `charge` is compensated when `ship` fails.

static REFUNDS: AtomicUsize = AtomicUsize::new(0);

fn refund(_: &Context, _: &u64) -> Result<(), NodeError> {
    REFUNDS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[node(effect, compensate = refund)]
fn charge(order: &u64) -> Result<u64, NodeError> {
    Ok(order * 2)
}

#[node(effect)]
fn ship(_: &u64) -> Result<u64, NodeError> {
    Err(NodeError::permanent("the truck broke down"))
}

workflow! {
    /// Charge, then ship.
    pub workflow Order(order: u64) -> u64 {
        charged = charge(order);
        shipped = ship(charged);
        return shipped;
    }
}

#[tokio::test]
async fn compensations_pass_the_seam_too_and_a_driver_can_skip_one_that_ran() {
    let driver = Recorder::new();
    let rt = runtime(&driver);
    let before = REFUNDS.load(Ordering::SeqCst);
    let opts = RunOptions::new().failure_strategy(FailureStrategy::Compensate);
    let err = Order::run(&rt, 5, opts.clone()).await.unwrap_err();
    assert_eq!(err.failed_step(), Some("shipped"));
    assert_eq!(REFUNDS.load(Ordering::SeqCst), before + 1);
    assert_eq!(
        driver.log(),
        [
            "r0 open Order",
            "r0 [] -> [charged]",
            "r0 [charged ok] -> [shipped]",
            "r0 [shipped failed (OPERATION_FAILED)] -> []",
            "r0 [] -> [undo charged]",
            "r0 [undo charged ok] -> []",
            "r0 close Failed",
        ]
    );

    // A journal that knows the refund was made (in an earlier process) answers `Done`.
    let driver = Recorder::new().answering(|s| match s.phase {
        Phase::Compensation => Route::Done(Value::Null),
        Phase::Call => Route::Local,
    });
    let rt = runtime(&driver);
    let before = REFUNDS.load(Ordering::SeqCst);
    Order::run(&rt, 5, opts).await.unwrap_err();
    assert_eq!(REFUNDS.load(Ordering::SeqCst), before, "not refunded twice");
}

// Specs: their programs' outputs are JSON, so a driver sees them and can feed them back.

const SPEC: &str = "
workflow_id: doubled
steps:
  - step_id: s
    thunks:
      - { thunk_id: a, target_node_type: Double, operation_data: 21 }
      - { thunk_id: b, target_node_type: Inc, dependencies: [a] }
output: b
";

const MODES: [ExecutionMode; 3] = [
    ExecutionMode::Sequential,
    ExecutionMode::Parallel { max_parallel: 2 },
    ExecutionMode::Batch,
];

/// The spec's registry, counting the calls of `Double`.
fn registry(doubles: &Arc<AtomicUsize>) -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    let count = Arc::clone(doubles);
    registry
        .compute_infallible("Double", move |n: &i64| {
            count.fetch_add(1, Ordering::SeqCst);
            n * 2
        })
        .compute_infallible("Inc", |n: &i64| n + 1);
    registry
}

#[tokio::test]
async fn a_spec_shows_its_outputs_as_json() {
    let doubles = Arc::new(AtomicUsize::new(0));
    let wf = registry(&doubles).load_yaml(SPEC).unwrap();
    let driver = Recorder::new();
    let run = wf.run(&runtime(&driver), wf.run_options()).await.unwrap();
    assert_eq!(run.output, json!(43));
    assert_eq!(
        driver.log(),
        [
            "r0 open doubled",
            "r0 [] -> [a]",
            "r0 [a=42] -> [b]",
            "r0 [b=43] -> []",
            "r0 close Completed",
        ]
    );
}

#[tokio::test]
async fn a_remote_driver_makes_a_call_and_its_json_fills_the_slot_in_every_mode() {
    for mode in MODES {
        let doubles = Arc::new(AtomicUsize::new(0));
        let wf = registry(&doubles).load_yaml(SPEC).unwrap();
        // As a remote worker would: the thunk's input in, the output as JSON out.
        let driver = Recorder::new()
            .answering(|s| match &*s.spec.node_type {
                "Double" => Route::Driver,
                _ => Route::Local,
            })
            .making(|thunk| {
                let n = thunk
                    .operation_data
                    .as_i64()
                    .ok_or_else(|| NodeError::permanent("not a number"))?;
                Ok(json!(n * 10))
            });
        let run = wf
            .run(&runtime(&driver), wf.run_options().mode(mode))
            .await
            .unwrap();
        assert_eq!(run.output, json!(211), "{mode:?}");
        assert_eq!(doubles.load(Ordering::SeqCst), 0, "the node never ran here");
        let log = driver.log();
        assert!(
            log.contains(&"r0 call a Double 21".to_string()),
            "{mode:?}: {log:?}"
        );
        assert!(
            log.contains(&"r0 [a=210] -> [b]".to_string()),
            "{mode:?}: {log:?}"
        );
        let a = run.report.step("a").unwrap();
        assert_eq!(a.state, StepState::Completed);
        assert_eq!(a.attempts, 1);
    }
}

#[tokio::test]
async fn the_thunk_a_driver_makes_is_the_one_the_report_records() {
    let doubles = Arc::new(AtomicUsize::new(0));
    let wf = registry(&doubles).load_yaml(SPEC).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let ids = Arc::clone(&seen);
    let driver = Recorder::new()
        .answering(|s| {
            if s.step == 0 {
                Route::Driver
            } else {
                Route::Local
            }
        })
        .making(move |thunk| {
            ids.lock().unwrap().push(thunk.thunk_id);
            Ok(json!(1))
        });
    let run = wf.run(&runtime(&driver), wf.run_options()).await.unwrap();
    assert_eq!(run.output, json!(2));
    let thunk = &run.report.thunks_emitted[0];
    assert_eq!(thunk.target_node_type, "Double");
    assert_eq!(*seen.lock().unwrap(), [thunk.thunk_id]);
}

#[tokio::test]
async fn a_known_output_is_loaded_instead_of_calling_the_node() {
    for mode in MODES {
        let doubles = Arc::new(AtomicUsize::new(0));
        let wf = registry(&doubles).load_yaml(SPEC).unwrap();
        // As a journal would on resume: `a` completed in an earlier process.
        let driver = Recorder::new().answering(|s| match s.step {
            0 => Route::Done(json!(100)),
            _ => Route::Local,
        });
        let run = wf
            .run(&runtime(&driver), wf.run_options().mode(mode))
            .await
            .unwrap();
        assert_eq!(run.output, json!(101), "{mode:?}");
        assert_eq!(doubles.load(Ordering::SeqCst), 0);
        // Not reported back: the driver knows how it ended.
        assert!(
            driver.log().contains(&"r0 [] -> [b]".to_string()),
            "{:?}",
            driver.log()
        );
        let a = run.report.step("a").unwrap();
        assert_eq!((a.state, a.attempts), (StepState::Completed, 0));
    }
}

#[tokio::test]
async fn a_workflow_that_does_not_deserialize_outputs_refuses_a_known_one() {
    // A static workflow's outputs are not serde types (until durable runs come): it cannot
    // take a known output, and says so.
    let driver = Recorder::new().answering(|s| match s.step {
        0 => Route::Done(json!(7)),
        _ => Route::Local,
    });
    let err = Diamond::run(&runtime(&driver), 1, RunOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.failed_step(), Some("a"));
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("does not deserialize"), "{err}");
}

#[tokio::test]
async fn a_refused_call_fails_without_running() {
    let doubles = Arc::new(AtomicUsize::new(0));
    let wf = registry(&doubles).load_yaml(SPEC).unwrap();
    let driver = Recorder::new().answering(|s| match s.step {
        0 => Route::Fail(NodeError::permanent("in doubt: resolve it first")),
        _ => Route::Local,
    });
    let err = wf
        .run(&runtime(&driver), wf.run_options())
        .await
        .unwrap_err();
    assert_eq!(err.failed_step(), Some("a"));
    assert!(err.to_string().contains("in doubt"), "{err}");
    assert_eq!(doubles.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failing_driver_stops_the_run_before_any_call() {
    for (fail_open, fail_checkpoint) in [(true, false), (false, true)] {
        let doubles = Arc::new(AtomicUsize::new(0));
        let wf = registry(&doubles).load_yaml(SPEC).unwrap();
        let mut driver = Recorder::new();
        driver.fail_open = fail_open;
        driver.fail_checkpoint = fail_checkpoint;
        let err = wf
            .run(
                &runtime(&driver),
                wf.run_options()
                    .failure_strategy(FailureStrategy::ContinueOnError),
            )
            .await
            .unwrap_err();
        let why = if fail_open {
            "the journal is full"
        } else {
            "the journal is unreachable"
        };
        assert!(err.to_string().contains(why), "{err}");
        assert_eq!(doubles.load(Ordering::SeqCst), 0, "nothing runs unrecorded");
        assert_eq!(err.report().unwrap().steps_completed, 0);
    }
}

workflow! {
    /// The diamond, nested as a step.
    pub workflow Outer(x: u64) -> u64 {
        inner = Diamond(x);
        last = source(inner);
        return last;
    }
}

#[tokio::test]
async fn a_nested_workflow_is_one_call_of_its_enclosing_runs_driver() {
    for mode in [ExecutionMode::Sequential, ExecutionMode::Batch] {
        let driver = Recorder::new();
        let run = Outer::run(&runtime(&driver), 1, RunOptions::new().mode(mode))
            .await
            .unwrap();
        assert_eq!(run.output, 221);
        assert_eq!(
            driver.log(),
            [
                "r0 open Outer",
                "r0 [] -> [inner]",
                "r0 [inner ok] -> [last]",
                "r0 [last ok] -> []",
                "r0 close Completed",
            ],
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn without_a_driver_nothing_changes() {
    let rt = Runtime::default();
    assert!(!rt.has_step_driver());
    let run = Diamond::run(&rt, 1, RunOptions::new()).await.unwrap();
    assert_eq!(run.output, 220);
}
