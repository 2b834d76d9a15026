//! Serializing a call's input for `operation_data` when, and only when, its type is
//! `Serialize`. The macros use autoref specialization on concrete types: `(&&Capture(x)).capture()`
//! picks the `Serialize` impl when there is one and the `Null` fallback otherwise.

use serde::Serialize;

/// Wraps a reference to a value that may or may not be `Serialize`.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Capture, CaptureSerialize, CaptureFallback};
/// struct Opaque;
/// assert_eq!((&&Capture(&5u8)).capture(), serde_json::json!(5));
/// assert_eq!((&&Capture(&Opaque)).capture(), serde_json::Value::Null);
/// ```
pub struct Capture<'a, T: ?Sized>(pub &'a T);

/// Chosen when the value is `Serialize`.
pub trait CaptureSerialize {
    /// The value as JSON (`Null` if serialization fails).
    fn capture(&self) -> serde_json::Value;
}

impl<T: Serialize + ?Sized> CaptureSerialize for &Capture<'_, T> {
    fn capture(&self) -> serde_json::Value {
        // `to_value` is this call, behind one more generic function to compile in the
        // node's crate.
        match self.0.serialize(serde_json::value::Serializer) {
            Ok(value) => value,
            Err(_) => serde_json::Value::Null,
        }
    }
}

/// Chosen otherwise.
pub trait CaptureFallback {
    /// `Null`.
    fn capture(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

impl<T: ?Sized> CaptureFallback for &&Capture<'_, T> {}
