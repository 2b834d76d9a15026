//! A durable workflow's values to and from JSON, for its journal: each step's output and
//! the run's input.
//!
//! `workflow!` reaches them through autoref specialization on concrete types,
//! `(&&Journaled::<T>::NEW).save(..)`, which picks the serde impl when `T` is
//! `Serialize + DeserializeOwned` and an error otherwise. The fallback is never taken by
//! code that compiles: a `#[durable]` workflow also checks every journaled type once, per
//! step, with a message naming the step; the fallback only keeps the serde calls from
//! adding a wall of errors of their own next to that one.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::{ErrorCode, NodeError};

/// The journal's view of values of type `T`: what `save` and `load` are called on.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Journaled, JournaledFallback, JournaledSerde};
/// struct Opaque;
/// let value = (&&Journaled::<u32>::NEW).save(&7, "count").unwrap();
/// assert_eq!(value, serde_json::json!(7));
/// assert_eq!((&&Journaled::<u32>::NEW).load(value, "count").unwrap(), 7);
/// assert!((&&Journaled::<u32>::NEW).load(serde_json::json!("x"), "count").is_err());
/// assert!((&&Journaled::<Opaque>::NEW).save(&Opaque, "opaque").is_err());
/// ```
pub struct Journaled<T>(PhantomData<fn() -> T>);

impl<T> Journaled<T> {
    /// The one value of the type.
    pub const NEW: Self = Journaled(PhantomData);
}

/// Chosen when `T` is `Serialize + DeserializeOwned`.
pub trait JournaledSerde<T> {
    /// `value` as JSON; `what` names it (a step or an input) in the error.
    ///
    /// # Errors
    ///
    /// The value does not serialize (a map with non-string keys, a failing `Serialize`).
    fn save(&self, value: &T, what: &'static str) -> Result<Value, NodeError>;

    /// A `T` from JSON; `what` names it in the error.
    ///
    /// # Errors
    ///
    /// The JSON does not deserialize into `T` (the journal was written by another version
    /// of the workflow, or edited).
    fn load(&self, value: Value, what: &'static str) -> Result<T, NodeError>;
}

impl<T: Serialize + DeserializeOwned> JournaledSerde<T> for &Journaled<T> {
    fn save(&self, value: &T, what: &'static str) -> Result<Value, NodeError> {
        serde_json::to_value(value).map_err(|e| {
            NodeError::permanent(format!("`{what}` did not serialize for the journal: {e}"))
        })
    }

    fn load(&self, value: Value, what: &'static str) -> Result<T, NodeError> {
        serde_json::from_value(value).map_err(|e| {
            NodeError::permanent(format!(
                "the journaled value of `{what}` is not a `{}`: {e}",
                std::any::type_name::<T>()
            ))
            .with_code(ErrorCode::InvalidInput)
        })
    }
}

/// Chosen otherwise (unreachable from code that compiles: see the module docs).
pub trait JournaledFallback<T> {
    /// An internal error.
    ///
    /// # Errors
    ///
    /// Always.
    fn save(&self, value: &T, what: &'static str) -> Result<Value, NodeError>;

    /// An internal error.
    ///
    /// # Errors
    ///
    /// Always.
    fn load(&self, value: Value, what: &'static str) -> Result<T, NodeError>;
}

impl<T> JournaledFallback<T> for &&Journaled<T> {
    #[cold]
    fn save(&self, _: &T, what: &'static str) -> Result<Value, NodeError> {
        Err(not_serde::<T>(what))
    }

    #[cold]
    fn load(&self, _: Value, what: &'static str) -> Result<T, NodeError> {
        Err(not_serde::<T>(what))
    }
}

#[cold]
fn not_serde<T>(what: &'static str) -> NodeError {
    NodeError::internal(format!(
        "`{what}` is journaled, but its type `{}` is not `Serialize + DeserializeOwned`",
        std::any::type_name::<T>()
    ))
}

/// The `N` inputs of a durable workflow from their journaled form, a JSON array (what
/// serde makes of the tuple of inputs).
///
/// # Errors
///
/// The value is not an array of `N` values.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::journaled_inputs;
/// let [a, b] = journaled_inputs::<2>(serde_json::json!([1, "x"]), "Orders").unwrap();
/// assert_eq!((a, b), (serde_json::json!(1), serde_json::json!("x")));
/// assert!(journaled_inputs::<2>(serde_json::json!([1]), "Orders").is_err());
/// ```
pub fn journaled_inputs<const N: usize>(
    value: Value,
    workflow: &'static str,
) -> Result<[Value; N], NodeError> {
    let found = match value {
        Value::Array(items) => match <[Value; N]>::try_from(items) {
            Ok(inputs) => return Ok(inputs),
            Err(items) => format!("an array of {}", items.len()),
        },
        other => format!("`{other}`"),
    };
    Err(NodeError::permanent(format!(
        "the journaled input of workflow `{workflow}` is {found}, not an array of its {N} inputs"
    ))
    .with_code(ErrorCode::InvalidInput))
}
