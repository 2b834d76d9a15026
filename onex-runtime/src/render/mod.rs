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
mod journal;
mod mermaid;
mod table;

pub use chrome_trace::chrome_trace;
pub use table::ReportSummary;
pub use table::duration as human_duration;
pub use table::write_columns;

use crate::model::Graph;
use crate::model::StepSpec;

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

/// A workflow and a run of it, shared by the renderers' tests so the pictures agree.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::borrow::Cow;
    use std::time::Duration;

    use uuid::Uuid;

    use crate::model::Graph;
    use crate::model::NodeError;
    use crate::model::NodeKind;
    use crate::model::StepPolicy;
    use crate::model::StepSpec;
    use crate::model::{AttemptRecord, SkipReason, StepRecord, WorkflowReport};
    use crate::model::{StepState, WorkflowState};
    use crate::model::{Thunk, ThunkType};

    fn step(name: &'static str, node: &'static str, kind: NodeKind, deps: &[usize]) -> StepSpec {
        StepSpec::new(name, node, kind).with_deps(deps.to_vec())
    }

    /// Every feature the pictures show: an input, a retried effect, a `map`, a reducer, a
    /// conditional step, an optional dependency, a nested workflow, and an output step that
    /// is not the last one.
    pub(crate) fn etl_graph() -> Graph {
        let mut valid = step("valid", "validate", NodeKind::Compute, &[]);
        valid.reads_inputs = Cow::Owned(vec![0]);
        let records = step("records", "NodeDataFetcherEffect", NodeKind::Effect, &[0])
            .with_async(true)
            .with_policy(StepPolicy::DEFAULT.retries(2));
        let mut pages = step("pages", "fetch_page", NodeKind::Effect, &[0]);
        pages.map = true;
        let clean = step("clean", "clean", NodeKind::Compute, &[1, 2]);
        let quality = step("quality", "assess", NodeKind::Compute, &[3]);
        let totals = step("totals", "aggregate", NodeKind::Reducer, &[3]);
        let mut fast = step("fast", "fast_track", NodeKind::Compute, &[5, 4]);
        fast.conditional = true;
        let mut saved = step("saved", "save", NodeKind::Effect, &[5, 6]);
        saved.optional_deps = Cow::Owned(vec![6]);
        saved.compensated = true;
        let enrich = step("enriched", "Enrich", NodeKind::Orchestrator, &[3]);
        let steps = vec![
            valid, records, pages, clean, quality, totals, fast, saved, enrich,
        ];
        match Graph::new("etl", vec!["raw".into()], steps, 5) {
            Ok(graph) => graph,
            Err(e) => panic!("fixture graph is valid: {e}"),
        }
    }

    fn ms(n: f64) -> Duration {
        Duration::from_secs_f64(n / 1000.0)
    }

    fn done(
        name: &'static str,
        node: &'static str,
        kind: NodeKind,
        wave: usize,
        from: f64,
        to: f64,
    ) -> StepRecord {
        let mut r = StepRecord::new(name, node, kind, wave);
        r.state = StepState::Completed;
        r.attempts = 1;
        r.calls = 1;
        r.started = Some(ms(from));
        r.finished = Some(ms(to));
        r
    }

    /// A completed run: `records` is retried once and overlaps `quality`; `fast` is skipped.
    pub(crate) fn etl_report() -> WorkflowReport {
        let mut report = WorkflowReport::empty("etl");
        report.workflow_id = Uuid::from_u128(0x0123_4567_89ab_4cde_8f01_2345_6789_abcd);
        report.operation_id = Uuid::from_u128(0xfedc_ba98_7654_4321_8fed_cba9_8765_4321);
        report.state = WorkflowState::Completed;
        report.steps_completed = 4;
        report.steps_skipped = 1;
        report.parallel_executions = 2;
        report.processing_time = ms(7.5);

        let valid = done("valid", "validate", NodeKind::Compute, 0, 0.0, 2.0);
        let mut records = done(
            "records",
            "NodeDataFetcherEffect",
            NodeKind::Effect,
            1,
            2.0,
            6.0,
        );
        records.attempts = 2;
        records.failed_attempts.push(AttemptRecord {
            attempt: 1,
            item: 0,
            started: ms(2.0),
            finished: ms(3.0),
            error: NodeError::transient("connection reset"),
            straggler: None,
        });
        let quality = done("quality", "assess", NodeKind::Compute, 1, 2.0, 4.5);
        let mut fast = StepRecord::new("fast", "fast_track", NodeKind::Compute, 2);
        fast.state = StepState::Skipped;
        fast.skip_reason = Some(SkipReason::ConditionFalse);
        let totals = done("totals", "aggregate", NodeKind::Reducer, 2, 6.0, 7.25);
        report.steps = vec![valid, records, quality, fast, totals];
        for record in &report.steps {
            if record.state == StepState::Completed {
                report.thunks_emitted.push(Thunk::new(
                    record.kind.thunk_type(),
                    record.node_type.clone(),
                ));
            }
        }
        debug_assert!(report.thunks_emitted[0].thunk_type == ThunkType::Compute);
        report
    }

    /// Names with every character the formats treat specially.
    pub(crate) fn awkward_graph() -> Graph {
        let mut first = StepSpec::new("say \"hi\" [now]", "Wrap<T> & #1", NodeKind::Compute);
        first.reads_inputs = Cow::Owned(vec![0]);
        let second =
            StepSpec::new("back\\slash\nnew line `x`", "end", NodeKind::Effect).with_deps(vec![0]);
        match Graph::new("quote \"wf\"", vec!["a<b>".into()], vec![first, second], 1) {
            Ok(graph) => graph,
            Err(e) => panic!("fixture graph is valid: {e}"),
        }
    }
}
