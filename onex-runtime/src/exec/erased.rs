//! A [`Program`] with its types erased, so the executors are compiled once, in this crate.
//!
//! The executors are generic over `Program`. Called with each workflow's own type, every
//! crate that runs a workflow compiled its own copy of all of them (sequential, parallel,
//! batch, retries, compensation: about three quarters of the code of a crate holding a
//! 200-step workflow). `Runtime::run` and friends instead hand the executors an
//! [`Erased`] program: the workflow behind a vtable, its input, slots and output boxed as
//! `dyn Any`. A crate then compiles only the small forwarding layer below per workflow; the
//! cost is one virtual call and one type check per call, and three small allocations per run.

use std::any::Any;
use std::sync::Arc;

use crate::error::{NodeError, WorkflowError};
use crate::graph::Graph;
use crate::program::{CachedValue, Call, Program, StepFuture};
use crate::report::WorkflowRun;

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
    fn input_hash(&self, slots: &AnyRef, call: Call<'_>) -> Option<u64>;
    fn cache_store(&self, slots: &AnyRef, call: Call<'_>) -> Option<CachedValue>;
    fn cache_load(&self, slots: &AnyRef, call: Call<'_>, value: &CachedValue) -> bool;
    fn operation_data(&self, slots: &AnyRef, call: Call<'_>) -> serde_json::Value;
}

type AnyRef = dyn Any + Send + Sync;

/// The slots as `P`'s own. They always are (an [`Erased`] makes its slots itself); if they
/// were not, each call fails with an internal error rather than misreading memory.
fn typed<P: Program>(slots: &AnyRef) -> Result<&P::Slots, NodeError> {
    slots
        .downcast_ref::<P::Slots>()
        .ok_or_else(|| NodeError::internal("a run's slots belong to another program"))
}

impl<P: Program> DynProgram for P {
    fn graph(&self) -> &Graph {
        Program::graph(self)
    }

    fn slots(&self, input: AnyInput) -> AnySlots {
        match input.downcast::<P::Input>() {
            Ok(input) => Box::new(Program::slots(self, *input)),
            // Unreachable through `Runtime`; slots of no program make every call fail.
            Err(_) => Box::new(()),
        }
    }

    fn output(&self, slots: AnySlots) -> Option<AnyOutput> {
        let slots = slots.downcast::<P::Slots>().ok()?;
        Program::output(self, *slots).map(|o| Box::new(o) as AnyOutput)
    }

    fn condition(&self, slots: &AnyRef, step: usize) -> Result<bool, NodeError> {
        Program::condition(self, typed::<P>(slots)?, step)
    }

    fn width(&self, slots: &AnyRef, step: usize) -> Result<usize, NodeError> {
        Program::width(self, typed::<P>(slots)?, step)
    }

    fn call_sync(&self, slots: &AnyRef, call: Call<'_>) -> Result<(), NodeError> {
        Program::call_sync(self, typed::<P>(slots)?, call)
    }

    fn run_straight(
        &self,
        slots: &AnyRef,
        call: Call<'_>,
        at: &mut usize,
    ) -> Option<Result<(), NodeError>> {
        Program::run_straight(self, typed::<P>(slots).ok()?, call, at)
    }

    fn call_async<'a>(&'a self, slots: &'a AnyRef, call: Call<'a>) -> StepFuture<'a> {
        match typed::<P>(slots) {
            Ok(slots) => Program::call_async(self, slots, call),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    fn finish(&self, slots: &AnyRef, step: usize) -> Result<(), NodeError> {
        Program::finish(self, typed::<P>(slots)?, step)
    }

    fn compensate<'a>(&'a self, slots: &'a AnyRef, call: Call<'a>) -> Option<StepFuture<'a>> {
        Program::compensate(self, typed::<P>(slots).ok()?, call)
    }

    fn input_hash(&self, slots: &AnyRef, call: Call<'_>) -> Option<u64> {
        Program::input_hash(self, typed::<P>(slots).ok()?, call)
    }

    fn cache_store(&self, slots: &AnyRef, call: Call<'_>) -> Option<CachedValue> {
        Program::cache_store(self, typed::<P>(slots).ok()?, call)
    }

    fn cache_load(&self, slots: &AnyRef, call: Call<'_>, value: &CachedValue) -> bool {
        typed::<P>(slots).is_ok_and(|slots| Program::cache_load(self, slots, call, value))
    }

    fn operation_data(&self, slots: &AnyRef, call: Call<'_>) -> serde_json::Value {
        typed::<P>(slots).map_or(serde_json::Value::Null, |slots| {
            Program::operation_data(self, slots, call)
        })
    }
}

/// A program behind a vtable: what the executors run.
pub(crate) struct Erased(Arc<dyn DynProgram>);

impl Erased {
    /// `program`, erased.
    pub(crate) fn new<P: Program>(program: Arc<P>) -> Arc<Erased> {
        Arc::new(Erased(program))
    }
}

impl Program for Erased {
    type Input = AnyInput;
    type Output = AnyOutput;
    type Slots = AnySlots;

    fn graph(&self) -> &Graph {
        self.0.graph()
    }

    fn slots(&self, input: AnyInput) -> AnySlots {
        self.0.slots(input)
    }

    fn output(&self, slots: AnySlots) -> Option<AnyOutput> {
        self.0.output(slots)
    }

    fn condition(&self, slots: &AnySlots, step: usize) -> Result<bool, NodeError> {
        self.0.condition(&**slots, step)
    }

    fn width(&self, slots: &AnySlots, step: usize) -> Result<usize, NodeError> {
        self.0.width(&**slots, step)
    }

    fn call_sync(&self, slots: &AnySlots, call: Call<'_>) -> Result<(), NodeError> {
        self.0.call_sync(&**slots, call)
    }

    fn run_straight(
        &self,
        slots: &AnySlots,
        call: Call<'_>,
        at: &mut usize,
    ) -> Option<Result<(), NodeError>> {
        self.0.run_straight(&**slots, call, at)
    }

    fn call_async<'a>(&'a self, slots: &'a AnySlots, call: Call<'a>) -> StepFuture<'a> {
        self.0.call_async(&**slots, call)
    }

    fn finish(&self, slots: &AnySlots, step: usize) -> Result<(), NodeError> {
        self.0.finish(&**slots, step)
    }

    fn compensate<'a>(&'a self, slots: &'a AnySlots, call: Call<'a>) -> Option<StepFuture<'a>> {
        self.0.compensate(&**slots, call)
    }

    fn input_hash(&self, slots: &AnySlots, call: Call<'_>) -> Option<u64> {
        self.0.input_hash(&**slots, call)
    }

    fn cache_store(&self, slots: &AnySlots, call: Call<'_>) -> Option<CachedValue> {
        self.0.cache_store(&**slots, call)
    }

    fn cache_load(&self, slots: &AnySlots, call: Call<'_>, value: &CachedValue) -> bool {
        self.0.cache_load(&**slots, call, value)
    }

    fn operation_data(&self, slots: &AnySlots, call: Call<'_>) -> serde_json::Value {
        self.0.operation_data(&**slots, call)
    }
}

/// A run's result with its output unboxed.
pub(crate) fn unerase<O: 'static>(
    result: Result<WorkflowRun<AnyOutput>, WorkflowError>,
) -> Result<WorkflowRun<O>, WorkflowError> {
    let run = result?;
    match run.output.downcast::<O>() {
        Ok(output) => Ok(WorkflowRun {
            output: *output,
            report: run.report,
        }),
        Err(_) => Err(WorkflowError::StepFailed {
            step: String::new(),
            error: NodeError::internal("a run's output has another type than its program's"),
            report: Box::new(run.report),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_of_another_program_fail_each_call_instead_of_misreading() {
        let wrong: AnySlots = Box::new(0_u8);
        let e = typed::<Erased>(&*wrong).err();
        assert!(e.is_some_and(|e| e.to_string().contains("another program")));
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
