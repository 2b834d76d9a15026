//! Loading a spec with a [`NodeRegistry`]: parsed, validated as a whole, made runnable.

use serde_json::Value;

use crate::error::{SpecError, SpecErrors};
use crate::parse::{self, Unreadable};
use crate::program::DynamicWorkflow;
use crate::registry::NodeRegistry;
use crate::spec::WorkflowSpec;
use crate::validate;

impl NodeRegistry {
    /// Checks `spec` against this registry without building anything to run.
    ///
    /// # Errors
    ///
    /// Every mistake found, as [`load`](Self::load) reports them.
    pub fn validate(&self, spec: &WorkflowSpec) -> Result<(), SpecErrors> {
        validate::resolve(spec, self, &Unreadable::default()).map(|_| ())
    }

    /// Validates `spec` and makes it runnable.
    ///
    /// # Errors
    ///
    /// Every mistake found, all together: a cycle (with its path), an unknown node type
    /// (with the closest registered name), a duplicate id, a dependency, condition or output
    /// naming a missing thunk, `operation_data` that does not deserialize into the node's
    /// input type, a `thunk_type` that disagrees with the node, a `max_parallel_steps` or
    /// `timeout_ms` of 0, a missing output.
    ///
    /// ```
    /// use onex::dynamic::{NodeRegistry, SpecErrorKind, WorkflowSpec};
    /// let mut registry = NodeRegistry::new();
    /// registry.compute_infallible("Double", |n: &i64| n * 2);
    /// let spec = WorkflowSpec::from_json(r#"{
    ///   "workflow_id": "w", "max_parallel_steps": 0,
    ///   "steps": [{"step_id": "s", "thunks": [
    ///     {"thunk_id": "a", "target_node_type": "Doubel", "operation_data": 1},
    ///     {"thunk_id": "b", "target_node_type": "Double", "operation_data": "two"}]}],
    ///   "output": "c"
    /// }"#).unwrap();
    /// let errors = registry.load(spec).unwrap_err();
    /// let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
    /// assert_eq!(kinds, [
    ///     SpecErrorKind::InvalidSetting,
    ///     SpecErrorKind::UnknownNodeType,
    ///     SpecErrorKind::InvalidOperationData,
    ///     SpecErrorKind::MissingThunk,
    /// ]);
    /// assert!(errors.to_string().contains("did you mean `Double`?"));
    /// ```
    pub fn load(&self, spec: WorkflowSpec) -> Result<DynamicWorkflow, SpecErrors> {
        let resolved = validate::resolve(&spec, self, &Unreadable::default())?;
        Ok(DynamicWorkflow::from_resolved(spec, resolved))
    }

    /// Loads a spec document: shape mistakes and registry checks on whatever parsed,
    /// reported together.
    fn load_value(&self, doc: Result<Value, SpecError>) -> Result<DynamicWorkflow, SpecErrors> {
        let doc = doc.map_err(|e| SpecErrors::single("", e))?;
        let parsed = parse::spec(&doc);
        if parsed.errors.is_empty() {
            return self.load(parsed.spec);
        }
        let mut errors = parsed.errors;
        if let Err(more) = validate::resolve(&parsed.spec, self, &parsed.unreadable) {
            errors.extend(more);
        }
        Err(SpecErrors::new(parsed.spec.workflow_id, errors))
    }

    /// Parses a JSON spec and [`load`](Self::load)s it.
    ///
    /// # Errors
    ///
    /// A syntax error; or every mistake in the spec's shape together with every error of
    /// [`load`](Self::load)'s checks on the parts that did parse.
    ///
    /// ```
    /// use onex::dynamic::NodeRegistry;
    /// let mut registry = NodeRegistry::new();
    /// registry.compute_infallible("Double", |n: &i64| n * 2);
    /// let e = registry.load_json(r#"{"workflow_id": "w", "execution_mode": "fast",
    ///   "steps": [{"step_id": "s", "thunks": [{"thunk_id": "a", "target_node_type": "Dubble"}]}],
    ///   "output": "a"}"#).unwrap_err();
    /// let locations: Vec<&str> = e.iter().map(|e| e.location.as_str()).collect();
    /// assert_eq!(locations, ["execution_mode", "steps[0].thunks[0].target_node_type"]);
    /// ```
    pub fn load_json(&self, text: &str) -> Result<DynamicWorkflow, SpecErrors> {
        self.load_value(parse::json_value(text))
    }

    /// Parses a YAML spec and [`load`](Self::load)s it.
    ///
    /// # Errors
    ///
    /// As [`load_json`](Self::load_json).
    pub fn load_yaml(&self, text: &str) -> Result<DynamicWorkflow, SpecErrors> {
        self.load_value(parse::yaml_value(text))
    }
}
