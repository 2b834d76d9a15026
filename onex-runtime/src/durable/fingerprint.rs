//! A workflow graph's [`GraphFingerprint`]: what a resume compares, and the diff it prints
//! when the graph changed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::journal::GraphFingerprint;
use crate::model::Graph;

/// The fingerprint of `graph`: one line per step (index, name, node type, kind, its
/// dependencies by name, its node's types as written, whether it maps, has a condition,
/// is async), and a digest of those lines.
///
/// # Examples
///
/// ```
/// use onex::durable::fingerprint;
/// use onex::{Graph, NodeKind, StepSpec};
///
/// let steps = vec![
///     StepSpec::new("parse", "Parse", NodeKind::Compute),
///     StepSpec::new("save", "Save", NodeKind::Effect).with_deps(vec![0]),
/// ];
/// let graph = Graph::new("Load", vec![], steps, 1).unwrap();
/// let fp = fingerprint(&graph);
/// assert_eq!(fp.description.lines().nth(1), Some("1 save: Save effect <- [parse]"));
/// assert_eq!(fp.digest.len(), 16);
/// ```
pub fn fingerprint(graph: &Graph) -> GraphFingerprint {
    let mut description = String::new();
    for (index, step) in graph.steps().iter().enumerate() {
        let names = |deps: &[usize]| {
            deps.iter()
                .map(|&d| graph.step(d).name.as_ref())
                .collect::<Vec<_>>()
                .join(",")
        };
        let _ = write!(
            description,
            "{index} {}: {} {} <- [{}]",
            step.name,
            step.node_type,
            step.kind.as_str().to_ascii_lowercase(),
            names(&step.deps)
        );
        if !step.optional_deps.is_empty() {
            let _ = write!(description, " optional [{}]", names(&step.optional_deps));
        }
        if !step.signature.is_empty() {
            let _ = write!(description, " {}", step.signature);
        }
        for (flag, word) in [
            (step.map, "map"),
            (step.conditional, "when"),
            (step.is_async, "async"),
        ] {
            if flag {
                description.push(' ');
                description.push_str(word);
            }
        }
        description.push('\n');
    }
    let _ = writeln!(description, "output {}", graph.step(graph.output()).name);
    GraphFingerprint::new(
        format!("{:016x}", fnv1a(description.as_bytes())),
        description,
    )
}

/// FNV-1a, 64 bits: stable across Rust versions and platforms, unlike `DefaultHasher`,
/// which a digest stored in a file needs. It need not resist attack: the journal is
/// written by the workflow's own processes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The lines of two fingerprints' descriptions that differ, `- journaled` then `+ now`,
/// by step index.
///
/// # Examples
///
/// ```
/// use onex::durable::diff;
/// use onex::journal::GraphFingerprint;
///
/// let old = GraphFingerprint::new("a", "0 parse: Parse compute <- []\n1 save: Save effect <- [parse]\n");
/// let new = GraphFingerprint::new("b", "0 parse: Parse compute <- []\n1 save: Upsert effect <- [parse]\n");
/// assert_eq!(diff(&old, &new), "- 1 save: Save effect <- [parse]\n+ 1 save: Upsert effect <- [parse]\n");
/// ```
pub fn diff(journaled: &GraphFingerprint, now: &GraphFingerprint) -> String {
    let (old, new) = (by_index(&journaled.description), by_index(&now.description));
    let mut keys: Vec<&str> = old.keys().chain(new.keys()).copied().collect();
    keys.sort_by_key(|k| (k.parse::<usize>().unwrap_or(usize::MAX), *k));
    keys.dedup();
    let mut out = String::new();
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        if let Some(a) = a {
            let _ = writeln!(out, "- {a}");
        }
        if let Some(b) = b {
            let _ = writeln!(out, "+ {b}");
        }
    }
    out
}

/// Which steps of `graph` are unchanged since `journaled`: their own line is the same, and
/// so is every step upstream of them. Only those keep their journaled outputs when a run
/// resumes on a changed graph.
pub(crate) fn unchanged(journaled: &GraphFingerprint, graph: &Graph) -> Vec<bool> {
    let now = fingerprint(graph);
    let (old, new) = (by_index(&journaled.description), by_index(&now.description));
    let mut same = vec![false; graph.steps().len()];
    for &step in graph.order() {
        let key = step.to_string();
        let spec = graph.step(step);
        let line = old.get(key.as_str());
        same[step] = line.is_some()
            && line == new.get(key.as_str())
            && spec
                .deps
                .iter()
                .chain(spec.optional_deps.iter())
                .all(|&d| same[d]);
    }
    same
}

/// A description's lines keyed by their first word (the step index, or `output`).
fn by_index(description: &str) -> BTreeMap<&str, &str> {
    description
        .lines()
        .filter_map(|line| Some((line.split_whitespace().next()?, line)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NodeKind, StepSpec};

    fn graph(save_type: &'static str) -> Graph {
        let steps = vec![
            StepSpec::new("parse", "Parse", NodeKind::Compute),
            StepSpec::new("save", save_type, NodeKind::Effect).with_deps(vec![0]),
            StepSpec::new("notify", "Notify", NodeKind::Effect).with_deps(vec![1]),
            StepSpec::new("count", "Count", NodeKind::Compute).with_deps(vec![0]),
        ];
        Graph::new("Load", vec![], steps, 2).unwrap()
    }

    #[test]
    fn a_changed_step_and_its_downstream_lose_their_outputs_the_rest_keep_them() {
        let old = fingerprint(&graph("Save"));
        let new = graph("Upsert");
        assert_ne!(old.digest, fingerprint(&new).digest);
        assert_eq!(unchanged(&old, &new), [true, false, false, true]);
        assert_eq!(unchanged(&old, &graph("Save")), [true; 4]);
    }

    #[test]
    fn the_digest_is_stable() {
        assert_eq!(fingerprint(&graph("Save")), fingerprint(&graph("Save")));
        assert_eq!(format!("{:016x}", fnv1a(b"")), "cbf29ce484222325");
    }
}
