//! The `onex_cli` example's command line answers `--help`, on its own and per command,
//! with exit code 0 (feature `cli`).

#[path = "../examples/common/etl_nodes.rs"]
mod etl_nodes;

use onex::cli::{CliError, execute};

fn help(args: &[&str]) -> String {
    let mut out = Vec::new();
    let all = std::iter::once("onex_cli").chain(args.iter().copied());
    match execute(&etl_nodes::registry(), all, &mut out) {
        Err(CliError::Usage(e)) => {
            assert_eq!(e.exit_code(), 0, "{args:?}: {e}");
            e.to_string()
        }
        other => panic!("{args:?}: expected help, got {other:?}"),
    }
}

#[test]
fn help_lists_the_commands_and_each_command_its_options() {
    let top = help(&["--help"]);
    for command in ["validate", "plan", "run", "graph", "runs"] {
        assert!(top.contains(command), "{top}");
    }
    assert_eq!(help(&["-h"]), help(&["help"]));
    assert!(help(&["run", "--help"]).contains("--mode"));
    assert!(help(&["graph", "--help"]).contains("--format"));
    let runs = help(&["runs", "--help"]);
    for command in [
        "list",
        "show",
        "resolve",
        "prune",
        "trace",
        "resume",
        "--journal",
    ] {
        assert!(runs.contains(command), "{runs}");
    }
}
