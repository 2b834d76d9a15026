//! `runs`: the operator's side of durable runs, reading and editing a journal file
//! directly (no runtime needed, the runs' processes may be gone).
//!
//! ```text
//! runs [--journal FILE] list [--status S] [--workflow W] [--limit N]
//! runs [--journal FILE] show ID [--json]
//! runs [--journal FILE] resolve ID STEP (--done JSON | --retry | --abort [REASON])
//! runs [--journal FILE] prune [--older-than 7d] [--keep N]
//! runs [--journal FILE] trace ID [-o FILE]
//! runs [--journal FILE] resume ID
//! ```
//!
//! The journal is `--journal`, else the `ONEX_JOURNAL` environment variable, else
//! `./onex-runs.db`; it must exist (the commands never create an empty one).

mod list;
mod prune;
mod resolve;
mod resume;
mod show;
mod trace;

use std::ffi::OsString;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use onex_runtime::journal::{Journal, JournalError, RunSnapshot};
use onex_sqlite::SqliteJournal;

use super::CliError;

/// The journal file when neither `--journal` nor `ONEX_JOURNAL` names one.
const DEFAULT_JOURNAL: &str = "onex-runs.db";

/// `runs` and its options.
#[derive(Args)]
pub(super) struct RunsArgs {
    /// The journal file [default: $ONEX_JOURNAL, else ./onex-runs.db].
    #[arg(long, global = true, value_name = "FILE")]
    journal: Option<PathBuf>,
    #[command(subcommand)]
    command: RunsCommand,
}

#[derive(Subcommand)]
enum RunsCommand {
    /// List the runs, oldest first: id, workflow, status, times, steps done.
    List(list::ListArgs),
    /// Print a run's step calls as a table and its journaled input and outputs as JSON.
    Show(show::ShowArgs),
    /// Settle a call in doubt (journaled as started, never as ended).
    Resolve(resolve::ResolveArgs),
    /// Delete finished runs by age and count (unfinished runs are never pruned).
    Prune(prune::PruneArgs),
    /// Write a run's timeline as Perfetto / chrome://tracing JSON, one track per process.
    Trace(trace::TraceArgs),
    /// Resume an unfinished run (needs the workflow's code: see the message).
    Resume(resume::ResumeArgs),
}

/// Runs a `runs` command, writing what it prints to `out`.
pub(super) fn execute(args: &RunsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let env = std::env::var_os("ONEX_JOURNAL");
    let journal = open(&journal_path(args.journal.as_deref(), env))?;
    let text = match &args.command {
        RunsCommand::List(list) => list::execute(&journal, list)?,
        RunsCommand::Show(show) => show::execute(&journal, show)?,
        RunsCommand::Resolve(resolve) => resolve::execute(&journal, resolve)?,
        RunsCommand::Prune(prune) => prune::execute(&journal, prune)?,
        RunsCommand::Trace(trace) => trace::execute(&journal, trace)?,
        RunsCommand::Resume(resume) => resume::execute(&journal, resume)?,
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

/// `--journal`, else `$ONEX_JOURNAL` (`env`), else `./onex-runs.db`.
fn journal_path(given: Option<&Path>, env: Option<OsString>) -> PathBuf {
    given
        .map(Path::to_owned)
        .or_else(|| env.filter(|e| !e.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_JOURNAL))
}

/// The journal at `path`, which must exist: a typo must not create an empty journal
/// that then lists no runs.
fn open(path: &Path) -> Result<Opened, CliError> {
    if !path.is_file() {
        return Err(CliError::NoJournal {
            path: path.to_owned(),
        });
    }
    let journal = SqliteJournal::open(path).map_err(|error| CliError::Journal {
        path: path.to_owned(),
        error,
    })?;
    Ok(Opened {
        path: path.to_owned(),
        journal,
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(CliError::Output)?,
    })
}

/// An open journal and a runtime to wait on its operations.
struct Opened {
    path: PathBuf,
    journal: SqliteJournal,
    runtime: tokio::runtime::Runtime,
}

impl Opened {
    /// Waits for one journal operation; its error names the journal file.
    fn wait<'a, T, F>(&'a self, op: impl FnOnce(&'a SqliteJournal) -> F) -> Result<T, CliError>
    where
        F: Future<Output = Result<T, JournalError>>,
    {
        self.runtime
            .block_on(op(&self.journal))
            .map_err(|error| CliError::Journal {
                path: self.path.clone(),
                error,
            })
    }

    /// Everything journaled about run `id`; an unknown id is an error.
    fn run(&self, id: &str) -> Result<RunSnapshot, CliError> {
        self.wait(|j| j.load_run(id))?
            .ok_or_else(|| CliError::UnknownRun {
                path: self.path.clone(),
                run_id: id.to_owned(),
            })
    }
}

/// A journaled payload (input or output) as JSON: the runtime stores JSON; anything else
/// is shown for what it is rather than refused.
fn payload(bytes: &[u8]) -> serde_json::Value {
    match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(_) if bytes.is_empty() => serde_json::Value::Null,
        Err(_) => match std::str::from_utf8(bytes) {
            Ok(text) => serde_json::Value::String(text.to_owned()),
            Err(_) => serde_json::Value::String(format!("<{} bytes, not JSON>", bytes.len())),
        },
    }
}

/// A time as operators read it in logs: RFC 3339 in UTC, to the second.
fn utc(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use serde_json::json;

    use super::{journal_path, payload};

    #[test]
    fn the_journal_is_the_flag_else_the_environment_else_the_default() {
        let env = || Some("from-env.db".into());
        let flag = Some(Path::new("flag.db"));
        assert_eq!(journal_path(flag, env()), PathBuf::from("flag.db"));
        assert_eq!(journal_path(None, env()), PathBuf::from("from-env.db"));
        assert_eq!(journal_path(None, None), PathBuf::from("onex-runs.db"));
        assert_eq!(
            journal_path(None, Some("".into())),
            PathBuf::from("onex-runs.db")
        );
    }

    #[test]
    fn payloads_that_are_not_json_are_shown_not_refused() {
        assert_eq!(payload(br#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(payload(b""), json!(null));
        assert_eq!(payload(b"plain text"), json!("plain text"));
        assert_eq!(payload(&[0xff, 0xfe, 0x00]), json!("<3 bytes, not JSON>"));
    }
}
