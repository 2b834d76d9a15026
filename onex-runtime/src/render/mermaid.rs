//! [`Graph::to_mermaid`]: a Mermaid flowchart of a workflow.

use std::fmt::Write as _;

use super::StepLook;
use crate::model::Graph;
use crate::model::NodeKind;
use crate::model::StepSpec;

/// Colors per node kind, and marks for inputs, the output and conditional steps. Emitted
/// whole every time so the text does not depend on which kinds a graph happens to use.
const CLASS_DEFS: &str = "    classDef input fill:#f4f4f4,stroke:#888888;
    classDef compute fill:#e8f1fb,stroke:#4a78b0;
    classDef effect fill:#fdf0e2,stroke:#c07a2c;
    classDef reducer fill:#eaf6ea,stroke:#4c9a4c;
    classDef orchestrator fill:#f1e9f7,stroke:#7d55a0;
    classDef conditional stroke-dasharray:5 3;
    classDef output stroke-width:3px;
";

impl Graph {
    /// The graph as a [Mermaid](https://mermaid.js.org) flowchart, left to right.
    ///
    /// Arrows follow the data, producer to consumer; workflow inputs are parallelograms
    /// feeding the steps that read them. Each wave is a `subgraph wave_N`. A step shows its
    /// name, its kind and its node type (when that is not the step's name), and a line of
    /// tags: `when` for a conditional step, `map` for a fan-out, `output` for the step the
    /// workflow returns. Shapes tell the same story at a glance: conditional steps are
    /// hexagons with a dashed border, `map` steps stadiums, effects rounded, reducers
    /// trapezoids, nested workflows subroutines, computes rectangles; the output step has a
    /// thick border. Optional dependencies (`Option<&T>`) are dotted arrows.
    ///
    /// Names are escaped with Mermaid's entity codes (`#quot;`, `#lt;`, ...), so any step
    /// name renders. Node ids are `in_N` for inputs and `s_N` for steps.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::{Graph, NodeKind, StepSpec};
    ///
    /// let mut parse = StepSpec::new("parsed", "parse", NodeKind::Compute);
    /// parse.reads_inputs = vec![0].into();
    /// let save = StepSpec::new("saved", "save", NodeKind::Effect).with_deps(vec![0]);
    /// let g = Graph::new("ingest", vec!["text".into()], vec![parse, save], 1).unwrap();
    ///
    /// let chart = g.to_mermaid();
    /// assert!(chart.starts_with("flowchart LR\n"));
    /// assert!(chart.contains("subgraph wave_1 [\"wave 1\"]"));
    /// assert!(chart.contains("s_1(\"saved<br/>effect · save<br/>output\")"));
    /// assert!(chart.contains("in_0 --> s_0\n"));
    /// assert!(chart.contains("s_0 --> s_1\n"));
    /// ```
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        // A comment, not a `title` front matter block: older renderers reject front matter.
        let _ = writeln!(out, "    %% workflow {}", one_line(self.name()));
        for (i, input) in self.inputs().iter().enumerate() {
            let _ = writeln!(out, "    in_{i}[/\"{}\"/]", escape(input));
        }
        for (w, wave) in self.waves().enumerate() {
            let _ = writeln!(out, "    subgraph wave_{w} [\"wave {w}\"]");
            for &s in wave {
                let step = self.step(s);
                let look = StepLook::of(self, s, step);
                let label = look
                    .lines()
                    .iter()
                    .map(|l| escape(l))
                    .collect::<Vec<_>>()
                    .join("<br/>");
                let (open, close) = shape(step);
                let _ = writeln!(out, "        s_{s}{open}\"{label}\"{close}");
            }
            out.push_str("    end\n");
        }
        for (s, step) in self.steps().iter().enumerate() {
            for &i in step.reads_inputs.iter() {
                let _ = writeln!(out, "    in_{i} --> s_{s}");
            }
        }
        for (s, step) in self.steps().iter().enumerate() {
            for &d in step.deps.iter() {
                let arrow = if step.optional_deps.contains(&d) {
                    "-.->"
                } else {
                    "-->"
                };
                let _ = writeln!(out, "    s_{d} {arrow} s_{s}");
            }
        }
        out.push_str(CLASS_DEFS);
        let inputs: Vec<String> = (0..self.inputs().len())
            .map(|i| format!("in_{i}"))
            .collect();
        class_line(&mut out, &inputs, "input");
        for kind in [
            NodeKind::Compute,
            NodeKind::Effect,
            NodeKind::Reducer,
            NodeKind::Orchestrator,
        ] {
            class_line(&mut out, &self.step_ids(|s| s.kind == kind), kind.as_str());
        }
        class_line(&mut out, &self.step_ids(|s| s.conditional), "conditional");
        class_line(&mut out, &[format!("s_{}", self.output())], "output");
        out
    }

    fn step_ids(&self, keep: impl Fn(&StepSpec) -> bool) -> Vec<String> {
        self.steps()
            .iter()
            .enumerate()
            .filter(|(_, s)| keep(s))
            .map(|(i, _)| format!("s_{i}"))
            .collect()
    }
}

fn class_line(out: &mut String, ids: &[String], class: &str) {
    if !ids.is_empty() {
        let _ = writeln!(out, "    class {} {class}", ids.join(","));
    }
}

/// The opening and closing brackets of a step's node. Conditional and `map` steps win over
/// the kind's shape, because they change how often the step runs, which is what a reader
/// of the picture looks for first; the kind stays in the label and the color.
fn shape(step: &StepSpec) -> (&'static str, &'static str) {
    if step.conditional {
        ("{{", "}}")
    } else if step.map {
        ("([", "])")
    } else {
        match step.kind {
            NodeKind::Compute => ("[", "]"),
            NodeKind::Effect => ("(", ")"),
            NodeKind::Reducer => ("[\\", "/]"),
            NodeKind::Orchestrator => ("[[", "]]"),
        }
    }
}

/// Text safe inside a quoted Mermaid label: Mermaid decodes `#name;` and `#NN;` entity
/// codes, and treats `<`, `>` and `&` as HTML, so those and `#` itself are encoded.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A name on one line, for a `%%` comment that ends at the line's end.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use crate::render::fixtures::{awkward_graph, etl_graph};

    // Checked with mermaid 11's parser: node shapes, classes, subgraphs and edges as meant.
    const ETL: &str = r##"flowchart LR
    %% workflow etl
    in_0[/"raw"/]
    subgraph wave_0 ["wave 0"]
        s_0["valid<br/>compute · validate"]
    end
    subgraph wave_1 ["wave 1"]
        s_1("records<br/>effect · NodeDataFetcherEffect")
        s_2(["pages<br/>effect · fetch_page<br/>map"])
    end
    subgraph wave_2 ["wave 2"]
        s_3["clean<br/>compute"]
    end
    subgraph wave_3 ["wave 3"]
        s_4["quality<br/>compute · assess"]
        s_5[\"totals<br/>reducer · aggregate<br/>output"/]
        s_8[["enriched<br/>orchestrator · Enrich"]]
    end
    subgraph wave_4 ["wave 4"]
        s_6{{"fast<br/>compute · fast_track<br/>when"}}
    end
    subgraph wave_5 ["wave 5"]
        s_7("saved<br/>effect · save")
    end
    in_0 --> s_0
    s_0 --> s_1
    s_0 --> s_2
    s_1 --> s_3
    s_2 --> s_3
    s_3 --> s_4
    s_3 --> s_5
    s_5 --> s_6
    s_4 --> s_6
    s_5 --> s_7
    s_6 -.-> s_7
    s_3 --> s_8
    classDef input fill:#f4f4f4,stroke:#888888;
    classDef compute fill:#e8f1fb,stroke:#4a78b0;
    classDef effect fill:#fdf0e2,stroke:#c07a2c;
    classDef reducer fill:#eaf6ea,stroke:#4c9a4c;
    classDef orchestrator fill:#f1e9f7,stroke:#7d55a0;
    classDef conditional stroke-dasharray:5 3;
    classDef output stroke-width:3px;
    class in_0 input
    class s_0,s_3,s_4,s_6 compute
    class s_1,s_2,s_7 effect
    class s_5 reducer
    class s_8 orchestrator
    class s_6 conditional
    class s_5 output
"##;

    #[test]
    fn etl_chart_is_exact() {
        assert_eq!(etl_graph().to_mermaid(), ETL);
    }

    #[test]
    fn names_are_escaped_with_entity_codes() {
        let chart = awkward_graph().to_mermaid();
        assert!(chart.contains("    %% workflow quote \"wf\"\n"), "{chart}");
        assert!(chart.contains(r#"in_0[/"a#lt;b#gt;"/]"#), "{chart}");
        assert!(
            chart.contains(
                r#"s_0["say #quot;hi#quot; [now]<br/>compute · Wrap#lt;T#gt; #amp; #35;1"]"#
            ),
            "{chart}"
        );
        // A raw line break would end the statement; it becomes a space.
        assert!(
            chart.contains(r#"s_1("back\slash new line #96;x#96;<br/>effect · end<br/>output")"#),
            "{chart}"
        );
        // Every quote left in a label line is one of the label's own delimiters.
        for line in chart
            .lines()
            .filter(|l| l.trim_start().starts_with("s_") && !l.contains("->"))
        {
            assert_eq!(line.matches('"').count(), 2, "{line}");
        }
    }

    #[test]
    fn arrows_follow_the_data() {
        let chart = etl_graph().to_mermaid();
        let edges: Vec<&str> = chart
            .lines()
            .map(str::trim)
            .filter(|l| l.contains("-->") || l.contains("-.->"))
            .collect();
        // Producer first: `clean` (s_3) reads `records` (s_1) and `pages` (s_2).
        assert!(edges.contains(&"s_1 --> s_3"));
        assert!(edges.contains(&"s_2 --> s_3"));
        assert!(!edges.contains(&"s_3 --> s_1"));
        // 11 step-to-step dependencies plus one input read.
        assert_eq!(edges.len(), 12);
    }
}
