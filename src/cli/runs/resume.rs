//! `runs resume ID`: not from this command line yet.
//!
//! Resuming runs the workflow's nodes, so it needs the workflow's code and a runtime
//! with the journal (`Runtime::resume` / `Wf::resume`): only the program that defines
//! the workflow has them. The command checks the run and says so.

use clap::Args;
use onex_runtime::journal::RunStatus;

use super::Opened;
use crate::cli::CliError;

#[derive(Args)]
pub(super) struct ResumeArgs {
    /// The run id.
    id: String,
}

/// Says why the run cannot be resumed from here, and what to do instead.
pub(super) fn execute(journal: &Opened, args: &ResumeArgs) -> Result<String, CliError> {
    let run = journal.run(&args.id)?;
    let status = run.record.status;
    if status.is_finished() {
        return Err(CliError::NotResumable {
            run_id: args.id.clone(),
            why: format!("it is {status}: a finished run has nothing left to do"),
        });
    }
    let in_doubt = if status == RunStatus::InDoubt || run.in_doubt().next().is_some() {
        " It has calls in doubt: settle them first with `runs resolve`."
    } else {
        ""
    };
    Err(CliError::NotResumable {
        run_id: args.id.clone(),
        why: format!(
            "resuming runs workflow `{}`'s nodes, and this command line has no registry of \
             workflows to find them in; resume it from the program that defines the \
             workflow, with a runtime on this journal.{in_doubt}",
            run.record.workflow
        ),
    })
}
