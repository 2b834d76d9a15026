//! Reading a spec document: [`WorkflowSpec::from_json`], [`from_yaml`](WorkflowSpec::from_yaml)
//! and [`from_value`](WorkflowSpec::from_value), through the parser's per-field checks.

use serde_json::Value;

use crate::error::SpecErrors;
use crate::parse;
use crate::spec::WorkflowSpec;

/// Reading a spec document.
impl WorkflowSpec {
    /// Parses a spec from JSON.
    ///
    /// # Errors
    ///
    /// A syntax error, with its line and column; or, for a document of the wrong shape,
    /// one [`SpecErrorKind::Parse`](crate::SpecErrorKind::Parse) error per bad field (an unknown or misspelt field, a
    /// missing one, an unknown execution mode or failure strategy, a value of the wrong
    /// type), each located by its path, e.g. `steps[0].thunks[1].retry_count`.
    /// [`NodeRegistry::load_json`](crate::NodeRegistry::load_json) also runs the
    /// checks against the registry on whatever parsed, and reports both together.
    ///
    /// ```
    /// use onex::dynamic::WorkflowSpec;
    /// let e = WorkflowSpec::from_json(r#"{"workflow_id": "w", "execution_mode": "paralel", "steps": []}"#).unwrap_err();
    /// assert_eq!(e.errors()[0].location, "execution_mode");
    /// assert!(e.to_string().contains("unknown variant `paralel`"), "{e}");
    /// ```
    pub fn from_json(text: &str) -> Result<Self, SpecErrors> {
        let doc = parse::json_value(text).map_err(|e| SpecErrors::single("", e))?;
        Self::from_value(&doc)
    }

    /// Parses a spec from YAML.
    ///
    /// # Errors
    ///
    /// As [`from_json`](Self::from_json).
    ///
    /// ```
    /// use onex::dynamic::WorkflowSpec;
    /// let e = WorkflowSpec::from_yaml("workflow_id: w\nsteps: []\nfailure_strategy: retry\n").unwrap_err();
    /// assert_eq!(e.errors()[0].location, "failure_strategy");
    /// ```
    pub fn from_yaml(text: &str) -> Result<Self, SpecErrors> {
        let doc = parse::yaml_value(text).map_err(|e| SpecErrors::single("", e))?;
        Self::from_value(&doc)
    }

    /// Reads a spec from a JSON value (as [`from_json`](Self::from_json) does after
    /// parsing the text).
    ///
    /// # Errors
    ///
    /// Every shape mistake, each with its path.
    pub fn from_value(doc: &Value) -> Result<Self, SpecErrors> {
        let parsed = parse::spec(doc);
        if parsed.errors.is_empty() {
            Ok(parsed.spec)
        } else {
            Err(SpecErrors::new(parsed.spec.workflow_id, parsed.errors))
        }
    }
}
