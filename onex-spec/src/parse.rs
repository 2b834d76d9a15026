//! Reading spec text: syntax first, then the spec's shape, reporting every shape mistake
//! (an unknown mode, a misspelt field, a wrong type) at once rather than serde's first.
//!
//! The text becomes a JSON value; a strict deserialization of the whole spec is tried
//! first (the common, valid case). When it fails, the document is walked object by object
//! and field by field, each field deserialized on its own, so every bad field is reported
//! with its path, and whatever did parse is kept so that the semantic checks can still run
//! on it. Thunks that did not parse are remembered by id, so references to them are not
//! reported again as "missing".
//!
//! Over 500 lines with its tests; the walk is one piece, since each field's check needs the
//! path of every object around it.

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::{Map, Value};

use crate::condition::Condition;
use crate::error::{SpecError, SpecErrorKind};
use crate::spec::{SpecStep, SpecThunk, WorkflowSpec};
use onex_graph::suggest::did_you_mean;

mod limits;

const SPEC_FIELDS: &[&str] = &[
    "workflow_id",
    "execution_mode",
    "failure_strategy",
    "max_parallel_steps",
    "metadata",
    "steps",
    "output",
];
const STEP_FIELDS: &[&str] = &["step_id", "step_name", "condition", "thunks"];
const THUNK_FIELDS: &[&str] = &[
    "thunk_id",
    "thunk_type",
    "target_node_type",
    "operation_data",
    "dependencies",
    "priority",
    "timeout_ms",
    "retry_count",
    "metadata",
];

/// What parsing kept, and what it could not read.
pub(crate) struct Parsed {
    /// The parts that parsed.
    pub(crate) spec: WorkflowSpec,
    /// Every shape mistake.
    pub(crate) errors: Vec<SpecError>,
    /// What later checks must not report again.
    pub(crate) unreadable: Unreadable,
}

/// Parts of a spec that were present but did not parse: later checks skip them instead
/// of reporting them a second time as missing.
#[derive(Default)]
pub(crate) struct Unreadable {
    /// Ids of thunks that did not parse.
    pub(crate) thunks: HashSet<String>,
    /// Whether `output` was given but did not parse.
    pub(crate) output: bool,
    /// Whether `workflow_id` was given but did not parse.
    pub(crate) workflow_id: bool,
    /// Where each kept step and thunk is in the document (skipping unreadable ones shifts
    /// indexes): per kept step, its index and its kept thunks' indexes. Empty when
    /// everything was kept.
    pub(crate) positions: Vec<(usize, Vec<usize>)>,
}

impl Unreadable {
    /// The document index of kept step `s`.
    pub(crate) fn step(&self, s: usize) -> usize {
        self.positions.get(s).map_or(s, |(step, _)| *step)
    }

    /// The location of kept thunk `t` of kept step `s`: `steps[i].thunks[j]`.
    pub(crate) fn thunk(&self, s: usize, t: usize) -> String {
        let (step, thunk) = match self.positions.get(s) {
            Some((step, thunks)) => (*step, thunks.get(t).copied().unwrap_or(t)),
            None => (s, t),
        };
        format!("steps[{step}].thunks[{thunk}]")
    }
}

/// JSON text as a value, or the syntax error with its line and column. The text is held
/// to the [`limits`] first, as YAML is.
pub(crate) fn json_value(text: &str) -> Result<Value, SpecError> {
    limits::check(text)?;
    serde_json::from_str(text).map_err(|e| SpecError::new(SpecErrorKind::Parse, "", e.to_string()))
}

/// YAML text as a value, or the syntax error with its line and column. The text is held to
/// the [`limits`] before libyaml sees it, and the values aliases add are counted as the
/// value is built.
pub(crate) fn yaml_value(text: &str) -> Result<Value, SpecError> {
    limits::check(text)?;
    let left = Cell::new(limits::MAX_VALUES);
    Counted(&left)
        .deserialize(serde_yaml::Deserializer::from_str(text))
        .map_err(|e| SpecError::new(SpecErrorKind::Parse, "", e.to_string()))
}

/// Builds a JSON value like `serde_json::Value`'s own `Deserialize`, taking one from `left`
/// per value: an alias replays its anchor's values each time it is named, so a short
/// document can stand for a huge one ("billion laughs").
#[derive(Clone, Copy)]
struct Counted<'a>(&'a Cell<usize>);

impl Counted<'_> {
    fn take<E: de::Error>(self) -> Result<(), E> {
        match self.0.get().checked_sub(1) {
            Some(left) => {
                self.0.set(left);
                Ok(())
            }
            None => Err(E::custom(limits::too_many_values(
                " once its aliases are expanded",
            ))),
        }
    }

    /// A scalar, exactly as `serde_json::Value` reads it.
    fn scalar<'de, E: de::Error>(self, scalar: impl IntoDeserializer<'de, E>) -> Result<Value, E> {
        self.take()?;
        Value::deserialize(scalar.into_deserializer())
    }
}

impl<'de> DeserializeSeed<'de> for Counted<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.scalar(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.scalar(v)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        self.scalar(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.scalar(v)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        self.scalar(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.scalar(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.take()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.take()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.take()?;
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

/// The spec in `doc`, with every shape mistake.
pub(crate) fn spec(doc: &Value) -> Parsed {
    match serde_path_to_error::deserialize::<_, WorkflowSpec>(doc) {
        Ok(spec) => Parsed {
            spec,
            errors: Vec::new(),
            unreadable: Unreadable::default(),
        },
        Err(_) => lenient(doc),
    }
}

fn lenient(doc: &Value) -> Parsed {
    let mut errors = Vec::new();
    let mut unreadable = Unreadable::default();
    let mut spec = WorkflowSpec::new("");
    let Some(top) = object(doc, "", "the workflow spec", &mut errors) else {
        unreadable.workflow_id = true;
        unreadable.output = true;
        return Parsed {
            spec,
            errors,
            unreadable,
        };
    };
    let mut fields = Fields::new(top, "", &mut errors);
    fields.unknown(SPEC_FIELDS);
    match fields.required::<String>("workflow_id") {
        Some(id) => spec.workflow_id = id,
        None => unreadable.workflow_id = true,
    }
    if let Some(mode) = fields.optional("execution_mode") {
        spec.execution_mode = mode;
    }
    if let Some(strategy) = fields.optional("failure_strategy") {
        spec.failure_strategy = strategy;
    }
    if let Some(max) = fields.optional("max_parallel_steps") {
        spec.max_parallel_steps = max;
    }
    if let Some(metadata) = fields.optional::<BTreeMap<String, Value>>("metadata") {
        spec.metadata = metadata;
    }
    if top.contains_key("output") {
        spec.output = fields.optional::<String>("output");
        unreadable.output = spec.output.is_none();
    }
    let steps = fields.required::<Vec<Value>>("steps").unwrap_or_default();
    for (s, step) in steps.iter().enumerate() {
        let at = format!("steps[{s}]");
        let Some(step) = object(step, &at, "a step", &mut errors) else {
            continue;
        };
        let mut fields = Fields::new(step, &at, &mut errors);
        fields.unknown(STEP_FIELDS);
        let step_id = fields.required::<String>("step_id");
        let step_name = fields.optional::<String>("step_name").unwrap_or_default();
        let condition = fields.optional::<Condition>("condition");
        let thunks = fields.required::<Vec<Value>>("thunks").unwrap_or_default();
        let mut parsed = SpecStep {
            // A step that lost its id still checks its thunks; it cannot clash with others.
            step_id: step_id.unwrap_or_else(|| format!("\u{0}{s}")),
            step_name,
            condition,
            thunks: Vec::new(),
        };
        let mut kept = Vec::new();
        for (t, thunk) in thunks.iter().enumerate() {
            let at = format!("{at}.thunks[{t}]");
            if let Some(thunk) = lenient_thunk(thunk, &at, &mut errors, &mut unreadable) {
                parsed.thunks.push(thunk);
                kept.push(t);
            }
        }
        spec.steps.push(parsed);
        unreadable.positions.push((s, kept));
    }
    Parsed {
        spec,
        errors,
        unreadable,
    }
}

/// A thunk with every field read; `None` (and its id remembered) when any field is bad,
/// so that defaults standing in for bad fields cannot cause follow-on errors.
fn lenient_thunk(
    doc: &Value,
    at: &str,
    errors: &mut Vec<SpecError>,
    unreadable: &mut Unreadable,
) -> Option<SpecThunk> {
    let map = object(doc, at, "a thunk", errors)?;
    let before = errors.len();
    let mut fields = Fields::new(map, at, errors);
    fields.unknown(THUNK_FIELDS);
    let thunk_id = fields.required::<String>("thunk_id");
    let thunk = SpecThunk {
        thunk_id: thunk_id.clone().unwrap_or_default(),
        thunk_type: fields.optional("thunk_type"),
        target_node_type: fields.required("target_node_type").unwrap_or_default(),
        operation_data: map.get("operation_data").cloned().unwrap_or(Value::Null),
        dependencies: fields.optional("dependencies").unwrap_or_default(),
        priority: fields.optional("priority").unwrap_or_default(),
        timeout_ms: fields.optional("timeout_ms"),
        retry_count: fields.optional("retry_count").unwrap_or_default(),
        metadata: fields.optional("metadata").unwrap_or_default(),
    };
    if errors.len() == before {
        Some(thunk)
    } else {
        // Also an id that is not a string, so a reference by that text is not "missing".
        let id = thunk_id.or_else(|| map.get("thunk_id").map(|v| v.to_string()));
        unreadable.thunks.extend(id);
        None
    }
}

fn object<'a>(
    doc: &'a Value,
    at: &str,
    what: &str,
    errors: &mut Vec<SpecError>,
) -> Option<&'a Map<String, Value>> {
    let found = match doc {
        Value::Object(map) => return Some(map),
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
    };
    errors.push(SpecError::new(
        SpecErrorKind::Parse,
        at,
        format!("{what} must be a map of fields, found {found}"),
    ));
    None
}

/// One object's fields, each read on its own.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    at: &'a str,
    errors: &'a mut Vec<SpecError>,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>, at: &'a str, errors: &'a mut Vec<SpecError>) -> Self {
        Fields { map, at, errors }
    }

    fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    fn unknown(&mut self, known: &[&str]) {
        for key in self.map.keys() {
            if !known.contains(&key.as_str()) {
                let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                let error = SpecError::new(
                    SpecErrorKind::Parse,
                    self.path(key),
                    format!(
                        "unknown field `{key}`{}, expected one of {}",
                        did_you_mean(key, known.iter().copied()),
                        expected.join(", ")
                    )
                    .replace("?, expected", "? Expected"),
                );
                self.errors.push(error);
            }
        }
    }

    fn required<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        if !self.map.contains_key(key) {
            self.errors.push(SpecError::new(
                SpecErrorKind::Parse,
                self.at,
                format!("missing field `{key}`"),
            ));
            return None;
        }
        self.optional(key)
    }

    /// The field, when present and valid; a bad value is reported.
    fn optional<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let value = self.map.get(key)?;
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = e.path().to_string();
                let location = match inner.as_str() {
                    "." => self.path(key),
                    p if p.starts_with('[') => format!("{}{p}", self.path(key)),
                    p => format!("{}.{p}", self.path(key)),
                };
                self.errors.push(SpecError::new(
                    SpecErrorKind::Parse,
                    location,
                    e.into_inner().to_string(),
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(doc: Value) -> Vec<(String, String)> {
        spec(&doc)
            .errors
            .into_iter()
            .map(|e| (e.location, e.message))
            .collect()
    }

    #[test]
    fn every_bad_field_is_reported() {
        let found = errors(json!({
            "workflow_id": "w",
            "execution_mode": "paralel",
            "failure_strategy": 3,
            "max_parallel_steps": -1,
            "stepz": [],
            "steps": [
                { "step_id": "s", "thunks": [
                    { "thunk_id": "a", "target_node_type": "A", "dependecies": ["b"], "retry_count": "x" },
                    { "target_node_type": "B" },
                    "c"
                ]},
                { "step_id": 7, "thunks": [] }
            ],
            "output": ["a"]
        }));
        let locations: Vec<&str> = found.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            locations,
            [
                "stepz",
                "execution_mode",
                "failure_strategy",
                "max_parallel_steps",
                "output",
                "steps[0].thunks[0].dependecies",
                "steps[0].thunks[0].retry_count",
                "steps[0].thunks[1]",
                "steps[0].thunks[2]",
                "steps[1].step_id",
            ]
        );
        assert!(
            found[0].1.contains("did you mean `steps`? Expected one of"),
            "{found:?}"
        );
        assert!(
            found[1].1.contains("unknown variant `paralel`"),
            "{found:?}"
        );
        assert_eq!(found[7].1, "missing field `thunk_id`");
        assert_eq!(
            found[8].1,
            "a thunk must be a map of fields, found a string"
        );
    }

    #[test]
    fn what_parsed_is_kept_and_what_did_not_is_remembered() {
        let parsed = spec(&json!({
            "workflow_id": "w",
            "execution_mode": "batch",
            "steps": [{ "step_id": "s", "thunks": [
                { "thunk_id": "good", "target_node_type": "A" },
                { "thunk_id": "bad", "target_node_type": "A", "priority": "high" }
            ]}],
            "output": 5
        }));
        assert_eq!(parsed.spec.steps[0].thunks.len(), 1);
        assert!(parsed.unreadable.thunks.contains("bad"));
        assert!(parsed.unreadable.output);
        assert_eq!(parsed.errors.len(), 2);
    }

    #[test]
    fn a_valid_document_parses_strictly() {
        let parsed = spec(&json!({ "workflow_id": "w", "steps": [] }));
        assert!(parsed.errors.is_empty());
        assert_eq!(parsed.spec, WorkflowSpec::new("w"));
    }
}
