//! [`CliError`]: why a command failed, and the exit code it maps to.

use std::path::PathBuf;

use onex_runtime::WorkflowError;
use onex_runtime::journal::JournalError;
use onex_spec::SpecErrors;

/// Why a command failed.
///
/// # Examples
///
/// ```
/// # use onex::dynamic::NodeRegistry;
/// let mut out = Vec::new();
/// let e = onex::cli::execute(&NodeRegistry::new(), ["onex", "validate", "no/such/spec.yaml"], &mut out).unwrap_err();
/// assert_eq!(e.exit_code(), 2);
/// assert!(e.to_string().starts_with("cannot read no/such/spec.yaml"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum CliError {
    /// Bad arguments, or `--help`/`--version` (clap prints those itself).
    Usage(clap::Error),
    /// The spec file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The input file is neither JSON nor YAML.
    Input {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The spec does not parse or validate.
    Spec {
        /// The file.
        path: PathBuf,
        /// Every error found.
        errors: SpecErrors,
    },
    /// The run did not produce its output (its report was printed).
    Run(Box<WorkflowError>),
    /// Writing the output failed.
    Output(std::io::Error),
    /// Writing a file the command was asked to write failed.
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// No journal file at the path `runs` was given (it never creates one).
    NoJournal {
        /// The path.
        path: PathBuf,
    },
    /// The journal refused: the file is not a journal, is corrupt or locked, the run is
    /// leased or finished, the call is not in doubt...
    Journal {
        /// The journal file.
        path: PathBuf,
        /// What the journal said.
        error: JournalError,
    },
    /// The journal has no run with that id.
    UnknownRun {
        /// The journal file.
        path: PathBuf,
        /// The id asked for.
        run_id: String,
    },
    /// The run has no journaled call by that name, or several.
    UnknownStep {
        /// The run.
        run_id: String,
        /// The step as given.
        step: String,
        /// What is journaled instead.
        why: String,
    },
    /// `runs resume` cannot resume the run.
    NotResumable {
        /// The run.
        run_id: String,
        /// Why, and what to do instead.
        why: String,
    },
}

impl CliError {
    /// 2 for usage errors, invalid specs and unknown journals, runs or steps (0 for
    /// `--help`), 1 for failed runs, refusals of the journal and failed writes.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(e) => u8::try_from(e.exit_code()).unwrap_or(2),
            CliError::Read { .. }
            | CliError::Input { .. }
            | CliError::Spec { .. }
            | CliError::NoJournal { .. }
            | CliError::UnknownRun { .. }
            | CliError::UnknownStep { .. }
            | CliError::NotResumable { .. } => 2,
            CliError::Run(_)
            | CliError::Output(_)
            | CliError::Write { .. }
            | CliError::Journal { .. } => 1,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(e) => write!(f, "{e}"),
            CliError::Read { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            CliError::Input { path, message } => {
                write!(f, "cannot parse the input {}: {message}", path.display())
            }
            CliError::Spec { path, errors } => write!(f, "{}: {errors}", path.display()),
            CliError::Run(e) => write!(f, "{e}"),
            CliError::Output(e) => write!(f, "cannot write the output: {e}"),
            CliError::Write { path, error } => {
                write!(f, "cannot write {}: {error}", path.display())
            }
            CliError::NoJournal { path } => write!(
                f,
                "no journal at {} (give one with --journal FILE or ONEX_JOURNAL)",
                path.display()
            ),
            CliError::Journal { path, error } => write!(f, "{}: {error}", path.display()),
            CliError::UnknownRun { path, run_id } => {
                write!(f, "no run `{run_id}` in {}", path.display())
            }
            CliError::UnknownStep { run_id, step, why } => {
                write!(f, "run `{run_id}` has no call `{step}`: {why}")
            }
            CliError::NotResumable { run_id, why } => {
                write!(f, "cannot resume run `{run_id}` here: {why}")
            }
        }
    }
}

impl std::error::Error for CliError {}
