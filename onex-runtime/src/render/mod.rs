//! Pictures of workflows and runs: graph diagrams (Mermaid, Graphviz DOT), timelines
//! (Chrome trace events) and the plain-text report table.
//!
//! Each renderer is an inherent method on the model it draws ([`Graph::to_mermaid`],
//! [`Graph::to_dot`], [`WorkflowReport::to_chrome_trace`], `Display for WorkflowReport`),
//! so the models stay plain data and the pictures stay out of the executors.
//!
//! [`Graph::to_mermaid`]: crate::Graph::to_mermaid
//! [`Graph::to_dot`]: crate::Graph::to_dot
//! [`WorkflowReport::to_chrome_trace`]: crate::WorkflowReport::to_chrome_trace

mod chrome_trace;
mod dot;
mod mermaid;
mod table;

pub use chrome_trace::chrome_trace;
pub use table::ReportSummary;
pub(crate) use table::duration as human_duration;

use crate::graph::{Graph, StepSpec};

/// What both graph renderers say about a step, so Mermaid and DOT pictures agree.
struct StepLook<'a> {
    /// The step's name.
    name: &'a str,
    /// `kind`, or `kind · node_type` when the node type is not just the step's name.
    kind_line: String,
    /// `when`, `map` and `output`, the traits that change how a step runs.
    tags: Vec<&'static str>,
}

impl<'a> StepLook<'a> {
    fn of(graph: &Graph, index: usize, step: &'a StepSpec) -> Self {
        let kind_line = if step.node_type == step.name {
            step.kind.as_str().to_owned()
        } else {
            format!("{} · {}", step.kind, step.node_type)
        };
        let mut tags = Vec::new();
        if step.conditional {
            tags.push("when");
        }
        if step.map {
            tags.push("map");
        }
        if index == graph.output() {
            tags.push("output");
        }
        StepLook {
            name: &step.name,
            kind_line,
            tags,
        }
    }

    /// The label's lines, before the target format escapes them.
    fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.name.to_owned(), self.kind_line.clone()];
        if !self.tags.is_empty() {
            lines.push(self.tags.join(" · "));
        }
        lines
    }
}
