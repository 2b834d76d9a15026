//! A command line for workflow specs over a registry of your nodes, and for the durable
//! runs in a journal (feature `cli`).
//!
//! Your binary registers its nodes and hands over:
//!
//! ```no_run
//! use onex::dynamic::NodeRegistry;
//!
//! fn main() -> std::process::ExitCode {
//!     let mut registry = NodeRegistry::new();
//!     registry.compute_infallible("NodeDoubler", |n: &i64| n * 2);
//!     onex::cli::main(registry)
//! }
//! ```
//!
//! and gets these commands:
//!
//! ```text
//! validate <spec>                      check a spec; print every error with its location
//! plan <spec>                          print the thunks a run would emit, as JSON
//! run <spec> [--input FILE] [--mode sequential|parallel|batch] [--max-parallel N]
//!            [--strategy fail_fast|continue_on_error|compensate] [--json]
//!                                      run it and print the report and the output
//! graph <spec> [--format mermaid|dot|waves]
//!                                      draw the graph (Mermaid by default)
//! runs [--journal FILE] list|show|resolve|prune|trace|resume ...
//!                                      inspect and settle durable runs in a journal
//! ```
//!
//! `runs` reads and edits a SQLite journal (`onex::sqlite`) directly; see its `--help`:
//!
//! ```text
//! runs list [--status S] [--workflow W] [--limit N]   the runs, oldest first
//! runs show ID [--json]                 the run's calls as a table, input and outputs
//! runs resolve ID STEP (--done JSON | --retry | --abort [REASON])
//!                                       settle a call in doubt
//! runs prune [--older-than 7d] [--keep N]
//!                                       delete finished runs
//! runs trace ID [-o FILE]               Perfetto timeline, one track per process
//! runs resume ID                        says what resuming needs (your program)
//! ```
//!
//! The journal is `--journal FILE`, else `$ONEX_JOURNAL`, else `./onex-runs.db`.
//!
//! A spec is read as JSON when its file ends in `.json`, as YAML when it ends in `.yaml` or
//! `.yml`, and otherwise as whichever of the two parses. Exit codes: 0 success, 1 the run
//! failed or the journal refused, 2 a usage error, an invalid spec, or an unknown journal,
//! run or step.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use onex_runtime::{ExecutionMode, FailureStrategy};
use onex_spec::{DynamicWorkflow, NodeRegistry};

mod error;
mod runs;

#[derive(Parser)]
#[command(about = "Validate, plan, run and draw onex workflow specs; inspect durable runs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a spec against the registered nodes; print every error with its location.
    Validate {
        /// The spec file (JSON or YAML).
        spec: PathBuf,
    },
    /// Print the thunks a run would emit, as JSON, without running anything.
    Plan {
        /// The spec file (JSON or YAML).
        spec: PathBuf,
    },
    /// Run a spec and print its report and output.
    Run {
        /// The spec file (JSON or YAML).
        spec: PathBuf,
        /// Override the spec's execution mode.
        #[arg(long)]
        mode: Option<ModeArg>,
        /// Override the spec's max_parallel_steps (parallel mode).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        max_parallel: Option<u64>,
        /// Override the spec's failure strategy.
        #[arg(long)]
        strategy: Option<StrategyArg>,
        /// A JSON or YAML file whose value is the run's input (`$input` in the spec).
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// Print `{"output": .., "report": ..}` as JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Print the spec's graph.
    Graph {
        /// The spec file (JSON or YAML).
        spec: PathBuf,
        /// The picture to print: a Mermaid flowchart, Graphviz DOT, or the waves as text.
        #[arg(long, default_value = "mermaid")]
        format: GraphFormat,
    },
    /// Inspect and settle the durable runs in a journal file.
    Runs(runs::RunsArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Sequential,
    Parallel,
    Batch,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum StrategyArg {
    #[value(name = "fail_fast", alias = "fail-fast")]
    FailFast,
    #[value(name = "continue_on_error", alias = "continue-on-error")]
    ContinueOnError,
    #[value(name = "compensate")]
    Compensate,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
    Waves,
}

pub use error::CliError;

/// Runs the command line of `std::env::args` over `registry`, printing to stdout and
/// errors to stderr; returns the process's exit code.
pub fn main(registry: NodeRegistry) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match execute(&registry, std::env::args_os(), &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(e)) => {
            // clap sends help to stdout and mistakes to stderr, with its own exit code.
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs one command line (`args[0]` is the program name) over `registry`, writing what it
/// prints to `out`. [`main`] is this with the process's arguments and stdout.
///
/// # Errors
///
/// See [`CliError`].
///
/// # Examples
///
/// ```
/// # use onex::dynamic::NodeRegistry;
/// let dir = std::env::temp_dir().join(format!("onex-cli-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let spec = dir.join("double.yaml");
/// std::fs::write(&spec, "workflow_id: double\nsteps:\n  - step_id: s\n    thunks:\n      - { thunk_id: twice, target_node_type: Double, operation_data: 21 }\noutput: twice\n").unwrap();
///
/// let mut registry = NodeRegistry::new();
/// registry.compute_infallible("Double", |n: &i64| n * 2);
/// let mut out = Vec::new();
/// onex::cli::execute(&registry, ["onex".as_ref(), "run".as_ref(), spec.as_os_str()], &mut out).unwrap();
/// assert!(String::from_utf8(out).unwrap().contains("output:\n42"));
/// ```
pub fn execute<I, T>(registry: &NodeRegistry, args: I, out: &mut dyn Write) -> Result<(), CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(CliError::Usage)?;
    let text = match &cli.command {
        Command::Validate { spec } => {
            let wf = load(registry, spec)?;
            let g = wf.graph();
            format!(
                "spec `{}` is valid: {} thunks in {} waves, output `{}`\n",
                wf.spec().workflow_id,
                g.steps().len(),
                g.wave_count(),
                g.step(g.output()).name
            )
        }
        Command::Plan { spec } => {
            let wf = load(registry, spec)?;
            let mut text = to_json(&wf.plan());
            text.push('\n');
            text
        }
        Command::Graph { spec, format } => {
            let wf = load(registry, spec)?;
            match format {
                GraphFormat::Mermaid => wf.graph().to_mermaid(),
                GraphFormat::Dot => wf.graph().to_dot(),
                GraphFormat::Waves => waves(&wf),
            }
        }
        Command::Run {
            spec,
            mode,
            max_parallel,
            strategy,
            input,
            json,
        } => {
            let wf = load(registry, spec)?;
            let input = match input {
                Some(path) => read_input(path)?,
                None => serde_json::Value::Null,
            };
            let options = options(&wf, *mode, *max_parallel, *strategy);
            let result = tokio_runtime()
                .map_err(CliError::Output)?
                .block_on(wf.run_on(&onex_runtime::Runtime::default(), input, options));
            let (output, report) = match &result {
                Ok(run) => (Some(&run.output), Some(&run.report)),
                Err(e) => (None, e.report()),
            };
            let text = if *json {
                let mut text = to_json(&serde_json::json!({ "output": output, "report": report }));
                text.push('\n');
                text
            } else {
                let mut text = report.map(|r| format!("{r}\n")).unwrap_or_default();
                if let Some(output) = output {
                    let _ = writeln!(text, "output:\n{}", to_json(output));
                }
                text
            };
            out.write_all(text.as_bytes()).map_err(CliError::Output)?;
            return result.map(drop).map_err(|e| CliError::Run(Box::new(e)));
        }
        Command::Runs(args) => return runs::execute(args, out),
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

fn load(registry: &NodeRegistry, path: &Path) -> Result<DynamicWorkflow, CliError> {
    let text = std::fs::read_to_string(path).map_err(|error| CliError::Read {
        path: path.to_owned(),
        error,
    })?;
    let spec_error = |errors| CliError::Spec {
        path: path.to_owned(),
        errors,
    };
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => registry.load_json(&text),
        Some("yaml" | "yml") => registry.load_yaml(&text),
        // Any JSON document is also YAML, but JSON's messages are better for JSON.
        _ if serde_json::from_str::<serde_json::Value>(&text).is_ok() => registry.load_json(&text),
        _ => registry.load_yaml(&text),
    }
    .map_err(spec_error)
}

/// The run's input from a JSON or YAML file (by extension; otherwise whichever parses).
fn read_input(path: &Path) -> Result<serde_json::Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(|error| CliError::Read {
        path: path.to_owned(),
        error,
    })?;
    let yaml = || serde_yaml::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string());
    let json = || serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string());
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json { json() } else { yaml() }.map_err(|message| CliError::Input {
        path: path.to_owned(),
        message,
    })
}

fn options(
    wf: &DynamicWorkflow,
    mode: Option<ModeArg>,
    max_parallel: Option<u64>,
    strategy: Option<StrategyArg>,
) -> onex_runtime::RunOptions {
    let spec = wf.spec();
    let max_parallel = max_parallel
        .map_or(spec.max_parallel_steps, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        })
        .max(1);
    let mut options = wf.run_options();
    let mode = match mode {
        Some(ModeArg::Sequential) => Some(ExecutionMode::Sequential),
        Some(ModeArg::Parallel) => Some(ExecutionMode::Parallel { max_parallel }),
        Some(ModeArg::Batch) => Some(ExecutionMode::Batch),
        None => match options.get_mode() {
            ExecutionMode::Parallel { .. } => Some(ExecutionMode::Parallel { max_parallel }),
            _ => None,
        },
    };
    if let Some(mode) = mode {
        options = options.mode(mode);
    }
    if let Some(strategy) = strategy {
        options = options.failure_strategy(strategy.get());
    }
    options
}

impl StrategyArg {
    /// The failure strategy the flag names.
    pub(crate) fn get(self) -> FailureStrategy {
        match self {
            StrategyArg::FailFast => FailureStrategy::FailFast,
            StrategyArg::ContinueOnError => FailureStrategy::ContinueOnError,
            StrategyArg::Compensate => FailureStrategy::Compensate,
        }
    }
}

fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("<not JSON: {e}>"))
}

fn waves(wf: &DynamicWorkflow) -> String {
    let g = wf.graph();
    let mut text = format!(
        "workflow `{}`: {} thunks in {} waves, output `{}`\n",
        g.name(),
        g.steps().len(),
        g.wave_count(),
        g.step(g.output()).name
    );
    for (w, wave) in g.waves().enumerate() {
        let steps: Vec<String> = wave
            .iter()
            .map(|&s| {
                let step = g.step(s);
                let deps: Vec<&str> = step.deps.iter().map(|&d| g.step(d).name.as_ref()).collect();
                if deps.is_empty() {
                    format!("{} ({})", step.name, step.node_type)
                } else {
                    format!("{} ({}) <- {}", step.name, step.node_type, deps.join(", "))
                }
            })
            .collect();
        let _ = writeln!(text, "  wave {w}: {}", steps.join("; "));
    }
    text
}
