//! [`Graph::to_dot`]: a Graphviz DOT picture of a workflow.

use std::fmt::Write as _;

use super::StepLook;
use crate::model::Graph;
use crate::model::NodeKind;
use crate::model::StepSpec;

impl Graph {
    /// The graph in [Graphviz](https://graphviz.org) DOT, left to right (`dot -Tsvg`).
    ///
    /// Arrows follow the data, producer to consumer; workflow inputs are parallelograms
    /// feeding the steps that read them. Each wave is a `subgraph cluster_wave_N` with
    /// `rank=same` (honored across clusters thanks to `newrank=true`), so a wave is one
    /// column. Labels and shapes match [`Graph::to_mermaid`]: name, kind and node type,
    /// then the tags `when`, `map` and `output`; conditional steps are dashed hexagons, `map`
    /// steps `box3d` (a stack of calls), effects rounded boxes, reducers inverted
    /// trapezia, nested workflows double boxes, computes boxes; the output step has a
    /// thick border and optional dependencies are dashed arrows.
    ///
    /// Every name is a quoted, escaped DOT string, so quotes and backslashes in names are
    /// safe. Node ids are `in_N` for inputs and `s_N` for steps.
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
    /// let dot = g.to_dot();
    /// assert!(dot.starts_with("digraph \"ingest\" {\n"));
    /// assert!(dot.contains("subgraph cluster_wave_0 {"));
    /// assert!(dot.contains("s_1 [label=\"saved\\neffect · save\\noutput\""));
    /// assert!(dot.contains("in_0 -> s_0;\n"));
    /// assert!(dot.contains("s_0 -> s_1;\n"));
    /// ```
    pub fn to_dot(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "digraph \"{}\" {{", escape(self.name()));
        out.push_str("    rankdir=LR;\n    newrank=true;\n    fontname=\"Helvetica\";\n");
        out.push_str("    node [fontname=\"Helvetica\", fontsize=11];\n");
        for (i, input) in self.inputs().iter().enumerate() {
            let _ = writeln!(
                out,
                "    in_{i} [label=\"{}\", shape=parallelogram, style=filled, fillcolor=\"#f4f4f4\"];",
                escape(input)
            );
        }
        for (w, wave) in self.waves().enumerate() {
            let _ = writeln!(out, "    subgraph cluster_wave_{w} {{");
            let _ = writeln!(
                out,
                "        label=\"wave {w}\";\n        style=dashed;\n        color=\"#999999\";\n        rank=same;"
            );
            for &s in wave {
                let step = self.step(s);
                let look = StepLook::of(self, s, step);
                let label = look
                    .lines()
                    .iter()
                    .map(|l| escape(l))
                    .collect::<Vec<_>>()
                    .join("\\n");
                let _ = writeln!(
                    out,
                    "        s_{s} [label=\"{label}\", {}];",
                    attributes(step, s == self.output())
                );
            }
            out.push_str("    }\n");
        }
        for (s, step) in self.steps().iter().enumerate() {
            for &i in step.reads_inputs.iter() {
                let _ = writeln!(out, "    in_{i} -> s_{s};");
            }
        }
        for (s, step) in self.steps().iter().enumerate() {
            for &d in step.deps.iter() {
                if step.optional_deps.contains(&d) {
                    let _ = writeln!(out, "    s_{d} -> s_{s} [style=dashed];");
                } else {
                    let _ = writeln!(out, "    s_{d} -> s_{s};");
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A step node's shape, style and colors (see [`Graph::to_dot`] for the legend).
fn attributes(step: &StepSpec, output: bool) -> String {
    let fill = match step.kind {
        NodeKind::Compute => "#e8f1fb",
        NodeKind::Effect => "#fdf0e2",
        NodeKind::Reducer => "#eaf6ea",
        NodeKind::Orchestrator => "#f1e9f7",
    };
    let (shape, style, extra) = if step.conditional {
        ("hexagon", "dashed,filled", "")
    } else if step.map {
        ("box3d", "filled", "")
    } else {
        match step.kind {
            NodeKind::Compute => ("box", "filled", ""),
            NodeKind::Effect => ("box", "rounded,filled", ""),
            NodeKind::Reducer => ("invtrapezium", "filled", ""),
            NodeKind::Orchestrator => ("box", "filled", ", peripheries=2"),
        }
    };
    let pen = if output { ", penwidth=3" } else { "" };
    format!("shape={shape}, style=\"{style}\", fillcolor=\"{fill}\"{extra}{pen}")
}

/// Text safe inside a quoted DOT string. Backslash starts DOT's own escapes (`\n`, `\l`,
/// `\N`), so a literal one is doubled; a raw line break becomes DOT's centered `\n`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::render::fixtures::{awkward_graph, etl_graph};

    // Checked with `dot -Tsvg` (graphviz 2.43): one column per wave, shapes as meant.
    const ETL: &str = r##"digraph "etl" {
    rankdir=LR;
    newrank=true;
    fontname="Helvetica";
    node [fontname="Helvetica", fontsize=11];
    in_0 [label="raw", shape=parallelogram, style=filled, fillcolor="#f4f4f4"];
    subgraph cluster_wave_0 {
        label="wave 0";
        style=dashed;
        color="#999999";
        rank=same;
        s_0 [label="valid\ncompute · validate", shape=box, style="filled", fillcolor="#e8f1fb"];
    }
    subgraph cluster_wave_1 {
        label="wave 1";
        style=dashed;
        color="#999999";
        rank=same;
        s_1 [label="records\neffect · NodeDataFetcherEffect", shape=box, style="rounded,filled", fillcolor="#fdf0e2"];
        s_2 [label="pages\neffect · fetch_page\nmap", shape=box3d, style="filled", fillcolor="#fdf0e2"];
    }
    subgraph cluster_wave_2 {
        label="wave 2";
        style=dashed;
        color="#999999";
        rank=same;
        s_3 [label="clean\ncompute", shape=box, style="filled", fillcolor="#e8f1fb"];
    }
    subgraph cluster_wave_3 {
        label="wave 3";
        style=dashed;
        color="#999999";
        rank=same;
        s_4 [label="quality\ncompute · assess", shape=box, style="filled", fillcolor="#e8f1fb"];
        s_5 [label="totals\nreducer · aggregate\noutput", shape=invtrapezium, style="filled", fillcolor="#eaf6ea", penwidth=3];
        s_8 [label="enriched\norchestrator · Enrich", shape=box, style="filled", fillcolor="#f1e9f7", peripheries=2];
    }
    subgraph cluster_wave_4 {
        label="wave 4";
        style=dashed;
        color="#999999";
        rank=same;
        s_6 [label="fast\ncompute · fast_track\nwhen", shape=hexagon, style="dashed,filled", fillcolor="#e8f1fb"];
    }
    subgraph cluster_wave_5 {
        label="wave 5";
        style=dashed;
        color="#999999";
        rank=same;
        s_7 [label="saved\neffect · save", shape=box, style="rounded,filled", fillcolor="#fdf0e2"];
    }
    in_0 -> s_0;
    s_0 -> s_1;
    s_0 -> s_2;
    s_1 -> s_3;
    s_2 -> s_3;
    s_3 -> s_4;
    s_3 -> s_5;
    s_5 -> s_6;
    s_4 -> s_6;
    s_5 -> s_7;
    s_6 -> s_7 [style=dashed];
    s_3 -> s_8;
}
"##;

    #[test]
    fn etl_dot_is_exact() {
        assert_eq!(etl_graph().to_dot(), ETL);
    }

    #[test]
    fn names_are_quoted_and_escaped() {
        let dot = awkward_graph().to_dot();
        assert!(dot.starts_with("digraph \"quote \\\"wf\\\"\" {\n"), "{dot}");
        assert!(dot.contains(r#"in_0 [label="a<b>","#), "{dot}");
        assert!(
            dot.contains(r#"s_0 [label="say \"hi\" [now]\ncompute · Wrap<T> & #1","#),
            "{dot}"
        );
        assert!(
            dot.contains(r#"s_1 [label="back\\slash\nnew line `x`\neffect · end\noutput","#),
            "{dot}"
        );
    }
}
