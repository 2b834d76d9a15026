//! `runs trace ID [-o FILE]`: a run's timeline across the processes that worked on it.

use std::path::PathBuf;

use clap::Args;

use super::Opened;
use crate::cli::CliError;

#[derive(Args)]
pub(super) struct TraceArgs {
    /// The run id.
    id: String,
    /// Write the trace to this file (open it in https://ui.perfetto.dev) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The trace JSON (see `RunSnapshot::to_chrome_trace_value`), to `--output` or printed.
pub(super) fn execute(journal: &Opened, args: &TraceArgs) -> Result<String, CliError> {
    let run = journal.run(&args.id)?;
    let mut trace = run.to_chrome_trace_value().to_string();
    trace.push('\n');
    match &args.output {
        None => Ok(trace),
        Some(path) => {
            std::fs::write(path, trace).map_err(|error| CliError::Write {
                path: path.clone(),
                error,
            })?;
            Ok(format!(
                "wrote the trace of run `{}` to {} (open it in https://ui.perfetto.dev)\n",
                args.id,
                path.display()
            ))
        }
    }
}
