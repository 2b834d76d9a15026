//! `runs prune [--older-than 7d] [--keep N]`: deletes finished runs.

use std::time::Duration;

use clap::Args;
use onex_runtime::journal::{Journal, Retention};

use super::Opened;
use crate::cli::CliError;

#[derive(Args)]
#[command(group = clap::ArgGroup::new("policy").required(true).multiple(true))]
pub(super) struct PruneArgs {
    /// Delete finished runs last written longer ago than this (`7d`, `12h`, `30min`).
    #[arg(long, value_name = "AGE", group = "policy", value_parser = parse_age)]
    older_than: Option<Duration>,
    /// Keep only the newest N finished runs.
    #[arg(long, value_name = "N", group = "policy")]
    keep: Option<usize>,
}

fn parse_age(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (write an age like 7d, 12h or 30min)"))
}

/// Prunes by the policy given (at least one of the two); unfinished runs are kept.
pub(super) fn execute(journal: &Opened, args: &PruneArgs) -> Result<String, CliError> {
    let retention = Retention {
        max_age: args.older_than,
        keep_last: args.keep,
    };
    let pruned = journal.wait(|j| j.prune(&retention))?;
    let runs = if pruned == 1 { "run" } else { "runs" };
    Ok(format!("pruned {pruned} finished {runs}\n"))
}
