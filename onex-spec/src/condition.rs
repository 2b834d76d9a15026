//! [`Condition`]: a step's `when`, as data: a comparison on an earlier thunk's JSON output.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use onex_runtime::{ErrorCode, NodeError};

/// A comparison operator of a [`Condition`].
///
/// # Examples
///
/// ```
/// use onex::dynamic::CompareOp;
/// let op: CompareOp = serde_json::from_str("\"ge\"").unwrap();
/// assert_eq!(op, CompareOp::Ge);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    /// Equal (numbers compare by value: `1` equals `1.0`).
    Eq,
    /// Not equal.
    Ne,
    /// Less than (numbers, or strings in byte order).
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// The pointer finds a value that is not `null` (`value` is ignored).
    Exists,
}

impl CompareOp {
    /// Whether the operator orders values (and so needs a number or a string).
    pub const fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge
        )
    }
}

/// When a step runs, as data: `output_of(thunk)[pointer] <op> value`.
///
/// `pointer` is a JSON pointer (RFC 6901: `""` is the whole output, `/score` a field,
/// `/items/0/id` a path through arrays) into the output of the thunk named by `thunk`,
/// which becomes a dependency of every thunk of the step (or into the run's input, when
/// `thunk` is `$input`). When the condition is false, the
/// step's thunks are skipped, and so is everything downstream of them.
///
/// A pointer that finds nothing makes the condition *fail the step* with
/// [`ErrorCode::InvalidInput`] (a typo in a pointer should not silently skip work), except
/// for [`CompareOp::Exists`], which tests exactly that. Ordering operators compare two
/// numbers or two strings; anything else also fails the step.
///
/// # Examples
///
/// ```
/// use onex::dynamic::{CompareOp, Condition};
/// use serde_json::json;
///
/// let when: Condition = serde_json::from_value(json!(
///     { "thunk": "quality", "pointer": "/score", "op": "ge", "value": 0.9 }
/// )).unwrap();
/// assert_eq!(when.op, CompareOp::Ge);
/// assert!(when.evaluate(&json!({ "score": 0.95 })).unwrap());
/// assert!(!when.evaluate(&json!({ "score": 0.5 })).unwrap());
/// assert!(when.evaluate(&json!({ "grade": "A" })).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The thunk whose output is tested, or `$input` for the run's input.
    pub thunk: String,
    /// A JSON pointer into that output; empty for the whole output.
    #[serde(default)]
    pub pointer: String,
    /// The comparison.
    pub op: CompareOp,
    /// The value compared against.
    #[serde(default)]
    pub value: Value,
}

impl Condition {
    /// Evaluates the condition on the tested thunk's output.
    ///
    /// # Errors
    ///
    /// A permanent [`ErrorCode::InvalidInput`] error when the pointer finds nothing (for
    /// operators other than `exists`) or an ordering compares values that do not order.
    pub fn evaluate(&self, output: &Value) -> Result<bool, NodeError> {
        let found = output.pointer(&self.pointer);
        if self.op == CompareOp::Exists {
            return Ok(found.is_some_and(|v| !v.is_null()));
        }
        let Some(found) = found else {
            return Err(invalid(format!(
                "condition on `{}`: pointer `{}` finds nothing in its output {}",
                self.thunk,
                self.pointer,
                preview(output)
            )));
        };
        let result = match self.op {
            CompareOp::Eq => json_eq(found, &self.value),
            CompareOp::Ne => !json_eq(found, &self.value),
            op => {
                let ordering = json_cmp(found, &self.value).ok_or_else(|| {
                    invalid(format!(
                        "condition on `{}`: cannot order {} (at `{}`) against {}",
                        self.thunk,
                        preview(found),
                        self.pointer,
                        preview(&self.value)
                    ))
                })?;
                match op {
                    CompareOp::Lt => ordering == Ordering::Less,
                    CompareOp::Le => ordering != Ordering::Greater,
                    CompareOp::Gt => ordering == Ordering::Greater,
                    _ => ordering != Ordering::Less,
                }
            }
        };
        Ok(result)
    }

    /// What is wrong with the condition before anything runs, if anything: a pointer that
    /// is not a JSON pointer, or an ordering against a value that is neither a number nor a
    /// string.
    pub(crate) fn static_problem(&self) -> Option<(&'static str, String)> {
        if !self.pointer.is_empty() && !self.pointer.starts_with('/') {
            return Some((
                "pointer",
                format!(
                    "`{}` is not a JSON pointer: it must be empty or start with `/` (e.g. `/{}`)",
                    self.pointer, self.pointer
                ),
            ));
        }
        if self.op.is_ordering() && !(self.value.is_number() || self.value.is_string()) {
            return Some((
                "value",
                format!(
                    "`{:?}` needs a number or a string to compare against, not {}",
                    self.op,
                    preview(&self.value)
                )
                .to_lowercase(),
            ));
        }
        None
    }
}

fn invalid(message: String) -> NodeError {
    NodeError::permanent(message).with_code(ErrorCode::InvalidInput)
}

/// JSON equality, with numbers compared by value so that `1 == 1.0`.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn json_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// A value for an error message, cut short so that a large output does not flood it.
fn preview(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(pointer: &str, op: CompareOp, value: Value) -> Condition {
        Condition {
            thunk: "q".into(),
            pointer: pointer.into(),
            op,
            value,
        }
    }

    #[test]
    fn compares_numbers_strings_and_json() {
        let out = json!({ "score": 0.9, "grade": "B", "tags": ["x"], "n": 1 });
        assert!(
            cond("/score", CompareOp::Ge, json!(0.9))
                .evaluate(&out)
                .unwrap()
        );
        assert!(
            !cond("/score", CompareOp::Gt, json!(0.9))
                .evaluate(&out)
                .unwrap()
        );
        assert!(
            cond("/score", CompareOp::Lt, json!(1))
                .evaluate(&out)
                .unwrap()
        );
        assert!(
            cond("/grade", CompareOp::Le, json!("C"))
                .evaluate(&out)
                .unwrap()
        );
        assert!(
            cond("/n", CompareOp::Eq, json!(1.0))
                .evaluate(&out)
                .unwrap()
        );
        assert!(
            cond("/tags", CompareOp::Eq, json!(["x"]))
                .evaluate(&out)
                .unwrap()
        );
        assert!(
            cond("/tags/0", CompareOp::Ne, json!("y"))
                .evaluate(&out)
                .unwrap()
        );
        assert!(
            cond("", CompareOp::Exists, Value::Null)
                .evaluate(&out)
                .unwrap()
        );
        assert!(
            !cond("/nope", CompareOp::Exists, Value::Null)
                .evaluate(&out)
                .unwrap()
        );
    }

    #[test]
    fn missing_pointer_and_unorderable_values_are_errors() {
        let out = json!({ "score": "high" });
        let e = cond("/scor", CompareOp::Eq, json!(1))
            .evaluate(&out)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.message().contains("`/scor` finds nothing"), "{e}");
        let e = cond("/score", CompareOp::Ge, json!(0.9))
            .evaluate(&out)
            .unwrap_err();
        assert!(e.message().contains("cannot order"), "{e}");
    }

    #[test]
    fn static_problems() {
        assert!(
            cond("score", CompareOp::Eq, json!(1))
                .static_problem()
                .is_some()
        );
        assert!(
            cond("/s", CompareOp::Ge, json!([1]))
                .static_problem()
                .is_some()
        );
        assert!(
            cond("/s", CompareOp::Eq, json!([1]))
                .static_problem()
                .is_none()
        );
    }
}
