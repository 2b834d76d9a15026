//! Thunks: the serializable record of one node call.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::ThunkIds;

/// What kind of node a thunk targets (the ONEX `EnumThunkType`).
///
/// # Examples
///
/// ```
/// use onex::ThunkType;
/// assert_eq!(serde_json::to_string(&ThunkType::Reduce).unwrap(), "\"REDUCE\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ThunkType {
    /// A pure transform.
    Compute,
    /// I/O and side effects.
    Effect,
    /// A fold of many items into one.
    Reduce,
    /// A nested workflow.
    Orchestrate,
}

/// A deferred unit of work: one call of one node, with what it depends on.
///
/// Every executed call emits a thunk into [`WorkflowReport::thunks_emitted`]; a plan
/// ([`Program::plan`](crate::Program)) emits them without executing anything. A thunk's
/// `dependencies` are the ids of the thunks whose outputs fed it.
///
/// [`WorkflowReport::thunks_emitted`]: crate::WorkflowReport::thunks_emitted
///
/// # Examples
///
/// ```
/// use onex::{Thunk, ThunkType};
///
/// let fetch = Thunk::new(ThunkType::Effect, "NodeDataFetcherEffect");
/// let mut save = Thunk::new(ThunkType::Effect, "NodeDatabaseWriter");
/// save.dependencies.push(fetch.thunk_id);
/// let json = serde_json::to_string(&save).unwrap();
/// let back: Thunk = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, save);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thunk {
    /// Unique id (uuid v4).
    pub thunk_id: Uuid,
    /// The kind of node called.
    pub thunk_type: ThunkType,
    /// The node's type name, e.g. `NodeDataFetcherEffect`.
    pub target_node_type: Cow<'static, str>,
    /// The call's serialized input, in plans and data-defined workflows; `Null` in static
    /// runs unless input capture is asked for (the hot path never serializes user data).
    #[serde(default)]
    pub operation_data: serde_json::Value,
    /// Ids of the thunks whose outputs this call consumed.
    #[serde(default)]
    pub dependencies: ThunkIds,
    /// Dispatch priority within a wave: lower runs first.
    #[serde(default)]
    pub priority: i32,
    /// The call's deadline, if any.
    #[serde(
        rename = "timeout_ms",
        default,
        with = "crate::model::serde_duration::opt_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    /// The configured retry budget (attempts made are in the step's record).
    #[serde(default)]
    pub retry_count: u32,
    /// Free-form annotations (step name, map index, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// When the thunk was emitted.
    pub created_at: SystemTime,
}

/// A fresh thunk id: a uuid v4 whose 122 random bits come from the thread's fast generator
/// (`fastrand`'s wyrand, seeded per thread from the OS-keyed `RandomState`), not from a
/// cryptographic one. A run emits one per call, and `Uuid::new_v4`'s ChaCha costs as much
/// as the rest of a trivial call's bookkeeping; a thunk id has to be unique, not secret.
fn thunk_id() -> Uuid {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid()
}

impl Thunk {
    /// A new thunk with a fresh id, no dependencies and default settings.
    pub fn new(thunk_type: ThunkType, target_node_type: impl Into<Cow<'static, str>>) -> Self {
        Thunk {
            thunk_id: thunk_id(),
            thunk_type,
            target_node_type: target_node_type.into(),
            operation_data: serde_json::Value::Null,
            dependencies: ThunkIds::new(),
            priority: 0,
            timeout: None,
            retry_count: 0,
            metadata: BTreeMap::new(),
            created_at: SystemTime::now(),
        }
    }
}
