//! A node's input and output as JSON: decoding with the path of a mismatch, encoding, and
//! the Rust type names messages show.

use std::any::type_name;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use onex_runtime::{ErrorCode, NodeError};

/// Where in a value a deserialization failed, and why.
pub(crate) struct InputMismatch {
    /// A path into the value (`records[0].id`), empty for the value itself.
    pub(crate) path: String,
    /// serde's message.
    pub(crate) message: String,
}

/// The node's input from JSON; a mismatch is a permanent `InvalidInput` error naming the
/// node, the type, and the path inside the value.
pub(crate) fn decode<I: DeserializeOwned>(node: &str, value: Value) -> Result<I, NodeError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mismatch = mismatch(e);
        NodeError::permanent(format!(
            "input of `{node}` does not fit `{}`{}",
            short_type_name(type_name::<I>()),
            describe(&mismatch)
        ))
        .with_code(ErrorCode::InvalidInput)
    })
}

pub(crate) fn encode<O: Serialize>(node: &str, output: &O) -> Result<Value, NodeError> {
    serde_json::to_value(output).map_err(|e| {
        NodeError::permanent(format!(
            "output of `{node}` (`{}`) cannot be represented as JSON: {e}",
            short_type_name(type_name::<O>())
        ))
    })
}

pub(crate) fn check<I: DeserializeOwned>(value: &Value) -> Result<(), InputMismatch> {
    serde_path_to_error::deserialize::<_, I>(value)
        .map(drop)
        .map_err(mismatch)
}

fn mismatch(e: serde_path_to_error::Error<serde_json::Error>) -> InputMismatch {
    let path = e.path().to_string();
    InputMismatch {
        path: if path == "." { String::new() } else { path },
        message: e.into_inner().to_string(),
    }
}

/// A type name without its module paths: `Vec<RawRow>` for
/// `alloc::vec::Vec<my_crate::etl::RawRow>`, as a user would write it.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear();
        } else {
            out.push_str(&segment);
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(&segment);
    out
}

/// `": at `path`: message"` or `": message"`.
fn describe(mismatch: &InputMismatch) -> String {
    if mismatch.path.is_empty() {
        format!(": {}", mismatch.message)
    } else {
        format!(": at `{}`: {}", mismatch.path, mismatch.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decode_errors_name_node_type_and_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Row {
            id: u64,
        }
        let e = decode::<Vec<Row>>("NodeX", json!([{ "id": 1 }, { "id": "two" }])).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(
            e.message()
                .starts_with("input of `NodeX` does not fit `Vec<Row>`"),
            "{e}"
        );
        assert!(e.message().contains("at `[1].id`"), "{e}");
    }

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name("alloc::vec::Vec<my::etl::Row>"), "Vec<Row>");
        assert_eq!(
            short_type_name("(i64, core::option::Option<u8>)"),
            "(i64, Option<u8>)"
        );
    }
}
