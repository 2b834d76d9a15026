//! [`NodeKind`]: the four ONEX node kinds.

use serde::{Deserialize, Serialize};

use super::ThunkType;

/// The ONEX node kinds.
///
/// # Examples
///
/// ```
/// use onex::{NodeKind, ThunkType};
/// assert_eq!(NodeKind::Reducer.thunk_type(), ThunkType::Reduce);
/// assert_eq!(NodeKind::Compute.to_string(), "compute");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A pure, synchronous transform: safe to cache, retry and run on rayon.
    Compute,
    /// I/O and side effects; may declare a compensation.
    Effect,
    /// A fold of a list of items into an accumulator.
    Reducer,
    /// A nested workflow.
    Orchestrator,
}

impl NodeKind {
    /// The thunk type of calls to nodes of this kind.
    pub const fn thunk_type(self) -> ThunkType {
        match self {
            NodeKind::Compute => ThunkType::Compute,
            NodeKind::Effect => ThunkType::Effect,
            NodeKind::Reducer => ThunkType::Reduce,
            NodeKind::Orchestrator => ThunkType::Orchestrate,
        }
    }

    /// `compute`, `effect`, `reducer` or `orchestrator`.
    pub const fn as_str(self) -> &'static str {
        match self {
            NodeKind::Compute => "compute",
            NodeKind::Effect => "effect",
            NodeKind::Reducer => "reducer",
            NodeKind::Orchestrator => "orchestrator",
        }
    }
}

impl std::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
