//! [`Delivery`]: what an effect promises about running twice.

use serde::{Deserialize, Serialize};

/// What an effect node promises about being called twice for the same step of the same run
/// — what a durable run may do with a call whose intent is journaled but whose outcome is
/// not (a call *in doubt* after a crash).
///
/// Declared on the node: `#[node(effect, idempotent)]`, `#[node(effect, at_most_once)]`;
/// a node with neither is [`Delivery::Unspecified`]. A durable workflow requires every
/// effect step to be `Idempotent`, `AtMostOnce` or compensated.
///
/// # Examples
///
/// ```
/// use onex::Delivery;
/// assert!(Delivery::Idempotent.may_rerun());
/// assert!(!Delivery::AtMostOnce.may_rerun());
/// assert_eq!(Delivery::default(), Delivery::Unspecified);
/// assert_eq!(Delivery::AtMostOnce.to_string(), "at_most_once");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Nothing declared: compute and reducer nodes (pure, safe to re-run), and effects
    /// that declare nothing.
    #[default]
    Unspecified,
    /// Calling it again with the same [`Context::idempotency_key`](crate::Context) has no
    /// further effect: a call in doubt is re-run with the same key.
    Idempotent,
    /// Must never run twice: a call in doubt stops the run until an operator resolves it.
    AtMostOnce,
}

impl Delivery {
    /// Whether a call in doubt may be made again without asking an operator.
    pub const fn may_rerun(self) -> bool {
        matches!(self, Delivery::Idempotent)
    }

    /// `unspecified`, `idempotent` or `at_most_once`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Delivery::Unspecified => "unspecified",
            Delivery::Idempotent => "idempotent",
            Delivery::AtMostOnce => "at_most_once",
        }
    }
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
