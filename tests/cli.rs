//! The `onex::cli` commands over the example ETL nodes and specs (feature `cli`).

#[path = "../examples/common/etl_nodes.rs"]
mod etl_nodes;

use std::path::PathBuf;

use onex::cli::{CliError, execute};

fn spec(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/specs")
        .join(name)
        .display()
        .to_string()
}

fn cli(args: &[&str]) -> (Result<(), CliError>, String) {
    let mut out = Vec::new();
    let all = std::iter::once("onex").chain(args.iter().copied());
    let result = execute(&etl_nodes::registry(), all, &mut out);
    (result, String::from_utf8(out).unwrap())
}

fn temp_spec(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("onex-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn validate_accepts_the_example_specs() {
    let (result, out) = cli(&["validate", &spec("etl.yaml")]);
    result.unwrap();
    assert_eq!(
        out,
        "spec `etl` is valid: 7 thunks in 5 waves, output `totals`\n"
    );
    let (result, out) = cli(&["validate", &spec("two_sources.json")]);
    result.unwrap();
    assert!(out.contains("spec `two_sources` is valid"), "{out}");
}

#[test]
fn validate_reports_every_error_with_exit_code_2() {
    let path = temp_spec(
        "bad.yaml",
        r#"
workflow_id: bad
execution_mode: paralel
max_parallel_steps: 0
steps:
  - step_id: s
    thunks:
      - { thunk_id: a, target_node_type: NodeDataValidatr, operation_data: {} }
      - { thunk_id: b, target_node_type: NodeDataTransformer, dependencies: [c] }
output: b
"#,
    );
    let (result, _) = cli(&["validate", &path]);
    let e = result.unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let shown = e.to_string();
    assert!(
        shown.contains("invalid workflow spec `bad` (4 errors):"),
        "{shown}"
    );
    assert!(
        shown.contains("execution_mode: unknown variant `paralel`"),
        "{shown}"
    );
    assert!(
        shown.contains("did you mean `NodeDataValidator`?"),
        "{shown}"
    );
    assert!(
        shown.contains("steps[0].thunks[1].dependencies[0]"),
        "{shown}"
    );
}

#[test]
fn run_prints_the_report_and_the_output_in_any_mode() {
    for mode in ["sequential", "parallel", "batch"] {
        let (result, out) = cli(&[
            "run",
            &spec("etl.yaml"),
            "--mode",
            mode,
            "--max-parallel",
            "2",
        ]);
        result.unwrap();
        assert!(out.contains("etl completed in "), "{out}");
        assert!(out.contains("records  effect   completed"), "{out}");
        assert!(out.contains("\"count\": 3"), "{out}");
        let (result, out) = cli(&["run", &spec("etl.yaml"), "--mode", mode, "--json"]);
        result.unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let reported = v["report"]["mode"].to_string();
        assert!(reported.contains(mode), "{reported}");
    }
}

#[test]
fn run_json_is_machine_readable() {
    let (result, out) = cli(&["run", &spec("two_sources.json"), "--json"]);
    result.unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["output"]["count"], 3);
    assert_eq!(v["report"]["state"], "COMPLETED");
}

#[test]
fn a_failed_run_prints_its_report_and_exits_1() {
    let path = temp_spec(
        "empty.yaml",
        r#"
workflow_id: empty
steps:
  - step_id: s
    thunks:
      - { thunk_id: valid, target_node_type: NodeDataValidator, operation_data: { source: none, rows: [] } }
output: valid
"#,
    );
    let (result, out) = cli(&["run", &path, "--strategy", "continue_on_error"]);
    let e = result.unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(out.contains("empty failed in "), "{out}");
    assert!(out.contains("batch `none` has no rows"), "{out}");
}

#[test]
fn plan_prints_thunks_as_json() {
    let (result, out) = cli(&["plan", &spec("etl.yaml")]);
    result.unwrap();
    let thunks: Vec<onex::Thunk> = serde_json::from_str(&out).unwrap();
    assert_eq!(thunks.len(), 7);
    assert_eq!(thunks[0].target_node_type, "NodeDataValidator");
}

#[test]
fn graph_draws_mermaid_dot_or_waves() {
    let (result, out) = cli(&["graph", &spec("etl.yaml")]);
    result.unwrap();
    assert!(out.starts_with("flowchart LR\n"), "{out}");
    let (result, out) = cli(&["graph", &spec("etl.yaml"), "--format", "dot"]);
    result.unwrap();
    assert!(out.starts_with("digraph"), "{out}");
    let (result, out) = cli(&["graph", &spec("etl.yaml"), "--format", "waves"]);
    result.unwrap();
    assert!(
        out.contains(
            "  wave 3: quality (NodeQualityAssessor) <- clean; totals (NodeAggregator) <- clean\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "  wave 4: fast (NodeFastTrack) <- totals, quality; saved (NodeDatabaseWriter) <- totals\n"
        ),
        "{out}"
    );
}

#[test]
fn usage_errors_come_from_clap() {
    let (result, _) = cli(&["run", &spec("etl.yaml"), "--mode", "fast"]);
    let e = result.unwrap_err();
    assert!(matches!(e, CliError::Usage(_)));
    assert_eq!(e.exit_code(), 2);
    let (result, _) = cli(&["run", &spec("etl.yaml"), "--max-parallel", "0"]);
    assert!(matches!(result.unwrap_err(), CliError::Usage(_)));
}

#[test]
fn run_takes_its_input_from_a_file() {
    let (result, out) = cli(&[
        "run",
        &spec("etl_input.yaml"),
        "--input",
        &spec("sales.json"),
        "--json",
    ]);
    result.unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["output"]["sum"], 19.75);

    let bad = temp_spec("bad_input.json", "{ not json");
    let (result, _) = cli(&["run", &spec("etl_input.yaml"), "--input", &bad]);
    let e = result.unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().starts_with("cannot parse the input"), "{e}");
}
