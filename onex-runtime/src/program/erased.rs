//! A [`Program`] with its types erased, so the executors are compiled once, in this crate.
//!
//! Executors generic over `Program` would be compiled again in every crate that runs a
//! workflow, once per workflow: sequential, parallel, batch, retries, compensation, most of
//! such a crate's code (BENCHMARKS.md, design notes). `Runtime::run` and friends instead
//! hand the executors an [`Erased`] program: the workflow behind a vtable, its input, slots and output boxed as
//! `dyn Any`. A crate then compiles only the small forwarding layer below per workflow; the
//! cost is one virtual call and one type check per call, and three small allocations per run.

use std::any::Any;
use std::sync::Arc;

use crate::model::Graph;
use crate::model::{NodeError, WorkflowError};
use crate::model::{WorkflowReport, WorkflowRun};
use crate::policy::{CacheEntry, KeyHasher};
use crate::program::{Call, Program, StepFuture};

/// A run's input, boxed.
pub(crate) type AnyInput = Box<dyn Any + Send>;
/// A run's slots, boxed.
pub(crate) type AnySlots = Box<dyn Any + Send + Sync>;
/// A run's output, boxed.
pub(crate) type AnyOutput = Box<dyn Any + Send>;

/// The object-safe face of a [`Program`]: the same operations over `dyn Any` slots.
trait DynProgram: Send + Sync + 'static {
    fn graph(&self) -> &Graph;
    fn slots(&self, input: AnyInput) -> AnySlots;
    fn output(&self, slots: AnySlots) -> Option<AnyOutput>;
    fn condition(&self, slots: &AnyRef, step: usize) -> Result<bool, NodeError>;
    fn width(&self, slots: &AnyRef, step: usize) -> Result<usize, NodeError>;
    fn call_sync(&self, slots: &AnyRef, call: Call<'_>) -> Result<(), NodeError>;
    fn run_straight(
        &self,
        slots: &AnyRef,
        call: Call<'_>,
        at: &mut usize,
    ) -> Option<Result<(), NodeError>>;
    fn call_async<'a>(&'a self, slots: &'a AnyRef, call: Call<'a>) -> StepFuture<'a>;
    fn finish(&self, slots: &AnyRef, step: usize) -> Result<(), NodeError>;
    fn compensate<'a>(&'a self, slots: &'a AnyRef, call: Call<'a>) -> Option<StepFuture<'a>>;
    fn input_hash(&self, slots: &AnyRef, call: Call<'_>, hasher: KeyHasher<'_>) -> Option<u64>;
    fn cache_store(&self, slots: &AnyRef, call: Call<'_>) -> Option<CacheEntry>;
    fn cache_load(&self, slots: &AnyRef, call: Call<'_>, entry: &CacheEntry) -> bool;
    fn operation_data(&self, slots: &AnyRef, call: Call<'_>) -> serde_json::Value;
    fn serialize_output(
        &self,
        slots: &AnyRef,
        call: Call<'_>,
    ) -> Option<Result<serde_json::Value, NodeError>>;
    fn load_output(
        &self,
        slots: &AnyRef,
        call: Call<'_>,
        value: serde_json::Value,
    ) -> Result<(), NodeError>;
    fn serialize_input(&self, input: &AnyInput) -> Option<Result<serde_json::Value, NodeError>>;
    fn load_input(&self, value: serde_json::Value) -> Result<AnyInput, NodeError>;
}

type AnyRef = dyn Any + Send + Sync;

/// The slots as `P`'s own. They always are (an [`Erased`] makes its slots itself); if they
/// were not, each call fails with an internal error rather than misreading memory.
///
/// The blanket impl below is compiled in every crate that runs a workflow, once per
/// workflow, so it spells its control flow out in `match`es: a `?`, a closure or an
/// `Option` combinator would each be one more generic function of the standard library
/// compiled there, in a codegen unit of its own.
fn typed<P: Program>(slots: &AnyRef) -> Option<&P::Slots> {
    slots.downcast_ref::<P::Slots>()
}

/// The error of a call on slots of another program (never, through `Runtime`).
#[cold]
fn foreign_slots() -> NodeError {
    NodeError::internal("a run's slots belong to another program")
}

/// Slots of no program, on which every call fails.
fn no_slots() -> AnySlots {
    Box::new(())
}

/// The future of a call on slots of another program.
fn failed_step<'a>() -> StepFuture<'a> {
    Box::pin(std::future::ready(Err(foreign_slots())))
}

impl<P: Program> DynProgram for P {
    fn graph(&self) -> &Graph {
        Program::graph(self)
    }

    fn slots(&self, input: AnyInput) -> AnySlots {
        match input.downcast::<P::Input>() {
            Ok(input) => Box::new(Program::slots(self, *input)),
            // Unreachable through `Runtime`; slots of no program make every call fail.
            Err(_) => no_slots(),
        }
    }

    fn output(&self, slots: AnySlots) -> Option<AnyOutput> {
        match slots.downcast::<P::Slots>() {
            Ok(slots) => match Program::output(self, *slots) {
                Some(output) => Some(Box::new(output)),
                None => None,
            },
            Err(_) => None,
        }
    }

    fn condition(&self, slots: &AnyRef, step: usize) -> Result<bool, NodeError> {
        match typed::<P>(slots) {
            Some(slots) => Program::condition(self, slots, step),
            None => Err(foreign_slots()),
        }
    }

    fn width(&self, slots: &AnyRef, step: usize) -> Result<usize, NodeError> {
        match typed::<P>(slots) {
            Some(slots) => Program::width(self, slots, step),
            None => Err(foreign_slots()),
        }
    }

    fn call_sync(&self, slots: &AnyRef, call: Call<'_>) -> Result<(), NodeError> {
        match typed::<P>(slots) {
            Some(slots) => Program::call_sync(self, slots, call),
            None => Err(foreign_slots()),
        }
    }

    fn run_straight(
        &self,
        slots: &AnyRef,
        call: Call<'_>,
        at: &mut usize,
    ) -> Option<Result<(), NodeError>> {
        match typed::<P>(slots) {
            Some(slots) => Program::run_straight(self, slots, call, at),
            None => None,
        }
    }

    fn call_async<'a>(&'a self, slots: &'a AnyRef, call: Call<'a>) -> StepFuture<'a> {
        match typed::<P>(slots) {
            Some(slots) => Program::call_async(self, slots, call),
            None => failed_step(),
        }
    }

    fn finish(&self, slots: &AnyRef, step: usize) -> Result<(), NodeError> {
        match typed::<P>(slots) {
            Some(slots) => Program::finish(self, slots, step),
            None => Err(foreign_slots()),
        }
    }

    fn compensate<'a>(&'a self, slots: &'a AnyRef, call: Call<'a>) -> Option<StepFuture<'a>> {
        match typed::<P>(slots) {
            Some(slots) => Program::compensate(self, slots, call),
            None => None,
        }
    }

    fn input_hash(&self, slots: &AnyRef, call: Call<'_>, hasher: KeyHasher<'_>) -> Option<u64> {
        match typed::<P>(slots) {
            Some(slots) => Program::input_hash(self, slots, call, hasher),
            None => None,
        }
    }

    fn cache_store(&self, slots: &AnyRef, call: Call<'_>) -> Option<CacheEntry> {
        match typed::<P>(slots) {
            Some(slots) => Program::cache_store(self, slots, call),
            None => None,
        }
    }

    fn cache_load(&self, slots: &AnyRef, call: Call<'_>, entry: &CacheEntry) -> bool {
        match typed::<P>(slots) {
            Some(slots) => Program::cache_load(self, slots, call, entry),
            None => false,
        }
    }

    fn operation_data(&self, slots: &AnyRef, call: Call<'_>) -> serde_json::Value {
        match typed::<P>(slots) {
            Some(slots) => Program::operation_data(self, slots, call),
            None => serde_json::Value::Null,
        }
    }

    fn serialize_output(
        &self,
        slots: &AnyRef,
        call: Call<'_>,
    ) -> Option<Result<serde_json::Value, NodeError>> {
        match typed::<P>(slots) {
            Some(slots) => Program::serialize_output(self, slots, call),
            None => Some(Err(foreign_slots())),
        }
    }

    fn load_output(
        &self,
        slots: &AnyRef,
        call: Call<'_>,
        value: serde_json::Value,
    ) -> Result<(), NodeError> {
        match typed::<P>(slots) {
            Some(slots) => Program::load_output(self, slots, call, value),
            None => Err(foreign_slots()),
        }
    }

    fn serialize_input(&self, input: &AnyInput) -> Option<Result<serde_json::Value, NodeError>> {
        match input.downcast_ref::<P::Input>() {
            Some(input) => Program::serialize_input(self, input),
            None => Some(Err(foreign_slots())),
        }
    }

    fn load_input(&self, value: serde_json::Value) -> Result<AnyInput, NodeError> {
        match Program::load_input(self, value) {
            Ok(input) => Ok(Box::new(input)),
            Err(e) => Err(e),
        }
    }
}

/// A program behind a vtable: what the executors run.
pub(crate) struct Erased(Arc<dyn DynProgram>);

impl Erased {
    /// `program`, erased.
    pub(crate) fn new<P: Program>(program: Arc<P>) -> Arc<Erased> {
        Erased::of(program)
    }

    /// The erasure's own allocation, compiled here rather than once per program.
    fn of(program: Arc<dyn DynProgram>) -> Arc<Erased> {
        Arc::new(Erased(program))
    }
}

/// The operations of [`Program`], on the erased program's boxed values.
impl Erased {
    pub(crate) fn graph(&self) -> &Graph {
        self.0.graph()
    }

    pub(crate) fn slots(&self, input: AnyInput) -> AnySlots {
        self.0.slots(input)
    }

    pub(crate) fn output(&self, slots: AnySlots) -> Option<AnyOutput> {
        self.0.output(slots)
    }

    pub(crate) fn condition(&self, slots: &AnySlots, step: usize) -> Result<bool, NodeError> {
        self.0.condition(&**slots, step)
    }

    pub(crate) fn width(&self, slots: &AnySlots, step: usize) -> Result<usize, NodeError> {
        self.0.width(&**slots, step)
    }

    pub(crate) fn call_sync(&self, slots: &AnySlots, call: Call<'_>) -> Result<(), NodeError> {
        self.0.call_sync(&**slots, call)
    }

    pub(crate) fn run_straight(
        &self,
        slots: &AnySlots,
        call: Call<'_>,
        at: &mut usize,
    ) -> Option<Result<(), NodeError>> {
        self.0.run_straight(&**slots, call, at)
    }

    pub(crate) fn call_async<'a>(&'a self, slots: &'a AnySlots, call: Call<'a>) -> StepFuture<'a> {
        self.0.call_async(&**slots, call)
    }

    pub(crate) fn finish(&self, slots: &AnySlots, step: usize) -> Result<(), NodeError> {
        self.0.finish(&**slots, step)
    }

    pub(crate) fn compensate<'a>(
        &'a self,
        slots: &'a AnySlots,
        call: Call<'a>,
    ) -> Option<StepFuture<'a>> {
        self.0.compensate(&**slots, call)
    }

    pub(crate) fn input_hash(
        &self,
        slots: &AnySlots,
        call: Call<'_>,
        hasher: KeyHasher<'_>,
    ) -> Option<u64> {
        self.0.input_hash(&**slots, call, hasher)
    }

    pub(crate) fn cache_store(&self, slots: &AnySlots, call: Call<'_>) -> Option<CacheEntry> {
        self.0.cache_store(&**slots, call)
    }

    pub(crate) fn cache_load(&self, slots: &AnySlots, call: Call<'_>, entry: &CacheEntry) -> bool {
        self.0.cache_load(&**slots, call, entry)
    }

    pub(crate) fn operation_data(&self, slots: &AnySlots, call: Call<'_>) -> serde_json::Value {
        self.0.operation_data(&**slots, call)
    }

    pub(crate) fn serialize_output(
        &self,
        slots: &AnySlots,
        call: Call<'_>,
    ) -> Option<Result<serde_json::Value, NodeError>> {
        self.0.serialize_output(&**slots, call)
    }

    pub(crate) fn load_output(
        &self,
        slots: &AnySlots,
        call: Call<'_>,
        value: serde_json::Value,
    ) -> Result<(), NodeError> {
        self.0.load_output(&**slots, call, value)
    }

    /// The run's input, serialized; `None` when the program is not durable.
    pub(crate) fn serialize_input(
        &self,
        input: &AnyInput,
    ) -> Option<Result<serde_json::Value, NodeError>> {
        self.0.serialize_input(input)
    }

    /// A run's input from its serialized form.
    pub(crate) fn load_input(&self, value: serde_json::Value) -> Result<AnyInput, NodeError> {
        self.0.load_input(value)
    }
}

/// A run's result with its output unboxed.
pub(crate) fn unerase<O: 'static>(
    result: Result<WorkflowRun<AnyOutput>, WorkflowError>,
) -> Result<WorkflowRun<O>, WorkflowError> {
    match result {
        Ok(run) => match run.output.downcast::<O>() {
            Ok(output) => Ok(WorkflowRun {
                output: *output,
                report: run.report,
            }),
            Err(_) => Err(foreign_output(run.report)),
        },
        Err(e) => Err(e),
    }
}

/// The error of a run whose output has another type than its program's (never, through
/// `Runtime`). Not generic: built here, not in every crate that runs a workflow.
#[cold]
fn foreign_output(report: WorkflowReport) -> WorkflowError {
    WorkflowError::StepFailed {
        step: String::new(),
        error: NodeError::internal("a run's output has another type than its program's"),
        report: Box::new(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program whose slots are a `u16`.
    struct Counter;
    impl Program for Counter {
        type Input = ();
        type Output = ();
        type Slots = u16;
        fn graph(&self) -> &Graph {
            unreachable!("not asked")
        }
        fn slots(&self, (): ()) -> u16 {
            0
        }
        fn output(&self, _: u16) -> Option<()> {
            None
        }
        fn call_sync(&self, _: &u16, _: Call<'_>) -> Result<(), NodeError> {
            Ok(())
        }
    }

    #[test]
    fn slots_of_another_program_fail_each_call_instead_of_misreading() {
        let wrong: AnySlots = Box::new(0_u8);
        assert!(typed::<Counter>(&*wrong).is_none());
        assert!(typed::<Counter>(&(7_u16)).is_some());
        assert!(foreign_slots().to_string().contains("another program"));
    }

    #[test]
    fn an_output_of_another_type_is_an_internal_error_with_the_report() {
        let run = WorkflowRun {
            output: Box::new(1_u8) as AnyOutput,
            report: crate::WorkflowReport::empty("w"),
        };
        let e = unerase::<String>(Ok(run)).err();
        assert!(e.is_some_and(|e| e.report().is_some_and(|r| r.workflow == "w")));
        let run = WorkflowRun {
            output: Box::new(7_u64) as AnyOutput,
            report: crate::WorkflowReport::empty("w"),
        };
        assert_eq!(unerase::<u64>(Ok(run)).map(|r| r.output).ok(), Some(7));
    }
}
