//! The onex runtime: models, graphs, executors and policies for ONEX workflows.
//!
//! Most users depend on the `onex` facade crate and write workflows with its macros; this
//! crate holds everything those macros expand to, and the API for workflows built at run
//! time.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// `unsafe` lives in `slot.rs` and `slots.rs` only; every block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

mod call;
mod context;
pub mod driver;
pub mod durable;
mod exec;
mod model;
mod program;
mod render;
mod run;
mod runtime;
mod store;

pub mod journal;
pub mod policy;

pub use context::Context;
pub use model::Delivery;
pub use model::NodeKind;
pub use model::RecordList;
pub use model::RunOptions;
pub use model::StepPolicy;
pub use model::{
    AttemptRecord, CompensationRecord, SkipReason, StepRecord, StragglerOutcome, WorkflowReport,
    WorkflowRun,
};
pub use model::{BatchFailure, BatchOutcome, BatchReport, LatencyHistogram};
pub use model::{ErrorCode, GraphError, NodeError, WorkflowError};
pub use model::{ExecutionMode, FailureStrategy};
pub use model::{Graph, StepSpec};
pub use model::{ObserverSet, RunEvent, RunObserver};
pub use model::{StepState, WorkflowState};
pub use model::{Thunk, ThunkIds, ThunkType};
pub use policy::{Backoff, BackoffKind, CacheEntry, CacheKey, CachePolicy, CacheWeight, KeyHasher};
pub use program::plan;
pub use program::{Call, Program, StepFuture};
pub use render::{ReportSummary, chrome_trace};
pub use runtime::{BatchFuture, RunFuture};
pub use runtime::{DEFAULT_IN_FLIGHT, Event, Served};
pub use runtime::{Runtime, RuntimeBuilder};

/// What the crates split from this one (`onex-spec`, `onex-progress`) and the facade's
/// command line need of it beyond its public API. Not part of the public API.
#[doc(hidden)]
pub mod __internal {
    pub use crate::program::known_nodes::note_registered as note_node_type;
    pub use crate::render::human_duration;
    pub use crate::render::write_columns;
}

/// Items the `workflow!` and `#[node]` macros expand to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::__onex_slot_fields as slot_fields;
    pub use crate::durable::{DURABLE_WORKFLOWS, DurableWorkflow};
    pub use crate::policy::cache::key::{
        CacheInput, CacheInputKey, CacheOutput, CacheOutputCopy, CacheProbe, NotCacheInputKey,
        NotCacheOutputCopy, ProbeCacheKey, ProbeCacheOutput, ProbeNotCacheKey, ProbeNotCacheOutput,
        StoredInput,
    };
    pub use crate::policy::cache::weight::{Weigh, WeighExact, WeighSerialized, WeighShallow};
    pub use crate::program::capture::{Capture, CaptureFallback, CaptureSerialize};
    pub use crate::program::compensation::{CompensateAsync, CompensateSync, Compensation};
    pub use crate::program::dispatch::{
        CallOp, StepOp, lean_by_slots, map_width, same_order, straight_line,
    };
    pub use crate::program::feed::{
        Feed, FromInput, FromStep, MapInput, MapStep, feed_item, feed_same, feed_slice, feed_str,
    };
    pub use crate::program::fold::{fold_items, fold_items_merge};
    pub use crate::program::invoke::{Invoke, Out, sync_of_async};
    pub use crate::program::journaled::{
        Journaled, JournaledFallback, JournaledSerde, journaled_inputs,
    };
    pub use crate::program::known_nodes::{NODES, NodeEntry};
    pub use crate::program::node::{
        Arg, Arg1, Arg2, Arg3, Arg4, Arg5, Arg6, Arg7, Arg8, Arg9, Arg10, Arg11, Arg12, Arg13,
        Arg14, Arg15, Arg16, Arg17, Arg18, Arg19, Arg20, Arg21, Arg22, Arg23, Arg24, Arg25, Arg26,
        Arg27, Arg28, Arg29, Arg30, Arg31, Arg32, NestedArg, NestedArgClone, NestedArgNotClone,
        NestedInput, Node, Param, Takes, internal_error, missing_input, missing_item, nested_input,
        wrong_entry_point,
    };
    pub use crate::program::op::{AnyOp, Inspect, OpAnswer};
    pub use crate::program::remote_nodes::{
        REMOTE_NODES, RemoteFuture, RemoteNode, remote_input, remote_output,
    };
    pub use crate::program::static_graph::{
        NodeInfo, NodeStep, StaticGraph, StaticParts, nested_delivery, order_by_priority,
        priorities,
    };
    pub use crate::runtime::{NestedFuture, run_nested};
    pub use crate::store::table::{FieldDrop, RunSlots, SlotFields, SlotKind};
    pub use crate::store::{MapSlot, Slot, Store};
    pub use futures_util::stream::Stream;
    pub use linkme;
    pub use serde;
    pub use serde_json;
    pub use uuid;
}
