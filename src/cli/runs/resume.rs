//! `runs resume ID`: continues an unfinished run with the workflow linked into this binary.
//!
//! Resuming runs the workflow's nodes, so it needs the workflow's code: a `#[durable]`
//! workflow registers itself in the binary that links it, and this command resumes the run
//! with that registration and a runtime on the journal. Run from a binary that does not
//! link the workflow (the `onex_cli` example links none), it says so and changes nothing.

use clap::Args;
use onex_runtime::__private::DURABLE_WORKFLOWS;
use onex_runtime::journal::RunStatus;
use onex_runtime::{RunOptions, Runtime};
use onex_sqlite::SqliteJournal;

use super::Opened;
use crate::cli::{CliError, StrategyArg};

#[derive(Args)]
pub(super) struct ResumeArgs {
    /// The run id.
    id: String,
    /// The failure strategy to finish it with, which the journal does not keep:
    /// `compensate` for a saga, so a failure undoes its completed effects.
    #[arg(long)]
    strategy: Option<StrategyArg>,
}

/// Resumes the run to its end; an error says why it cannot, and what to do instead.
pub(super) fn execute(journal: &Opened, args: &ResumeArgs) -> Result<String, CliError> {
    let run = journal.run(&args.id)?;
    let status = run.record.status;
    if status.is_finished() {
        return Err(CliError::NotResumable {
            run_id: args.id.clone(),
            why: format!("it is {status}: a finished run has nothing left to do"),
        });
    }
    if status == RunStatus::InDoubt || run.in_doubt().next().is_some() {
        return Err(CliError::NotResumable {
            run_id: args.id.clone(),
            why: "it has calls in doubt: settle them first with `runs resolve`".to_owned(),
        });
    }
    let workflow = &run.record.workflow;
    let Some(entry) = DURABLE_WORKFLOWS
        .iter()
        .find(|w| w.name == workflow.as_str())
    else {
        return Err(CliError::NotResumable {
            run_id: args.id.clone(),
            why: format!(
                "resuming runs workflow `{workflow}`'s nodes, and this binary does not link \
                 it; resume it from the program that defines the workflow (`{workflow}::resume` \
                 or `Runtime::recover`), or run this command line from that program \
                 (`onex::cli::execute`)"
            ),
        });
    };
    // A handle of its own on the file: the runtime holds its journal for as long as it
    // lives, and SQLite in WAL mode lets both be open at once.
    let own = SqliteJournal::open(&journal.path).map_err(|error| CliError::Journal {
        path: journal.path.clone(),
        error,
    })?;
    let rt = Runtime::builder().journal(own).build();
    let mut options = RunOptions::new();
    if let Some(strategy) = args.strategy {
        options = options.failure_strategy(strategy.get());
    }
    journal
        .runtime
        .block_on((entry.resume)(&rt, args.id.clone(), options))
        .map_err(|error| CliError::Run(Box::new(error)))?;
    Ok(format!(
        "resumed run `{}` of `{workflow}`: completed\n",
        args.id
    ))
}
