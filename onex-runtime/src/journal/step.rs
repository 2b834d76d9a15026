//! What the journal holds per step call, and the rules every backend enforces on it.
//!
//! A step call goes intent → outcome; a completed effect may go on compensation intent →
//! compensation outcome. [`StepEntry::apply`] is the one place those transitions are
//! checked, so that every backend refuses the same mistakes with the same
//! [`StepConflict`].
//!
//! Over 500 lines: the entry types and the one function that changes them belong together;
//! apart, a reader would check the rules against state defined in another file.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::{ErrorCode, NodeError};

/// Which step call an entry is about: the step's index in the workflow, its name, and for
/// a `map` step the element.
///
/// Backends key entries by `(index, item)`; the name is kept so people can read the
/// journal.
///
/// # Examples
///
/// ```
/// use onex::journal::StepKey;
///
/// let key = StepKey::new(2, "fetch").item(7);
/// assert_eq!(key.to_string(), "step 2 `fetch`[7]");
/// assert_eq!(key.idempotency_key("order-42"), "order-42/2/7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StepKey {
    /// The step's index in the workflow (stable for a given graph fingerprint).
    pub index: u32,
    /// The step's name, as written in the workflow.
    pub name: Arc<str>,
    /// The element of a `map` step; `None` for other steps.
    pub item: Option<u32>,
}

impl StepKey {
    /// The key of step `index` named `name`.
    pub fn new(index: u32, name: impl Into<Arc<str>>) -> Self {
        StepKey {
            index,
            name: name.into(),
            item: None,
        }
    }

    /// The key of element `item` of this `map` step.
    pub fn item(mut self, item: u32) -> Self {
        self.item = Some(item);
        self
    }

    /// The call as people name it: the step's name, with `[item]` for an element of a
    /// `map` step.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::journal::StepKey;
    ///
    /// assert_eq!(StepKey::new(2, "fetch").call_name(), "fetch");
    /// assert_eq!(StepKey::new(2, "fetch").item(7).call_name(), "fetch[7]");
    /// ```
    pub fn call_name(&self) -> String {
        match self.item {
            Some(item) => format!("{}[{item}]", self.name),
            None => self.name.to_string(),
        }
    }

    /// A key for external systems, the same across every attempt and resume of this call
    /// in run `run_id`: `run/index` or `run/index/item`.
    pub fn idempotency_key(&self, run_id: &str) -> String {
        match self.item {
            Some(item) => format!("{run_id}/{}/{item}", self.index),
            None => format!("{run_id}/{}", self.index),
        }
    }
}

impl fmt::Display for StepKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} `{}`", self.index, self.name)?;
        if let Some(item) = self.item {
            write!(f, "[{item}]")?;
        }
        Ok(())
    }
}

/// A call about to be made: written, and durable, before the call starts.
///
/// # Examples
///
/// ```
/// use onex::journal::{Clock, Intent, ManualClock};
///
/// let intent = Intent { attempt: 1, at: ManualClock::new().now(), holder: Some("host-a:7".into()) };
/// assert_eq!(intent.attempt, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The attempt about to be made, from 1; each retry writes a newer one.
    pub attempt: u32,
    /// When the intent was written: when the call started.
    pub at: SystemTime,
    /// Who wrote it: the holder of the run's lease, i.e. the process that made the call.
    /// `None` when written through [`StepEntry::apply`] without a holder, or read from a
    /// journal kept before holders were recorded.
    pub holder: Option<Arc<str>>,
}

/// How a call ended: its serialized output (`T = ()` for a compensation) or its error.
///
/// # Examples
///
/// ```
/// use onex::journal::{Clock, ManualClock, Outcome};
///
/// let done: Outcome = Outcome { result: Ok(b"42".to_vec()), attempts: 2, at: ManualClock::new().now() };
/// assert_eq!(done.output(), Some(&b"42"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<T = Vec<u8>> {
    /// The output, or the error the last attempt ended with.
    pub result: Result<T, NodeError>,
    /// How many attempts were made in all.
    pub attempts: u32,
    /// When the outcome was written.
    pub at: SystemTime,
}

impl Outcome {
    /// The serialized output, if the call succeeded.
    pub fn output(&self) -> Option<&[u8]> {
        self.result.as_deref().ok()
    }
}

/// Where a step call stands in the journal ([`StepEntry::state`]); its compensation is
/// apart.
///
/// # Examples
///
/// ```
/// use onex::journal::CallState;
///
/// assert_eq!(CallState::InDoubt.as_str(), "IN_DOUBT");
/// assert_eq!(serde_json::to_value(CallState::ToRetry).unwrap(), "TO_RETRY");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallState {
    /// The call's output is journaled.
    Completed,
    /// The call's error is journaled.
    Failed,
    /// Its intent is journaled and its outcome is not: it may or may not have happened.
    InDoubt,
    /// Nothing is journaled about the call but its key: an operator's `Retry` resolution
    /// cleared its intent, so it is made again on resume.
    ToRetry,
}

impl CallState {
    /// The state as printed in JSON, e.g. `"IN_DOUBT"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CallState::Completed => "COMPLETED",
            CallState::Failed => "FAILED",
            CallState::InDoubt => "IN_DOUBT",
            CallState::ToRetry => "TO_RETRY",
        }
    }
}

/// Everything journaled about one step call.
///
/// # Examples
///
/// ```
/// use onex::journal::{Clock, ManualClock, StepChange, StepEntry, StepKey};
///
/// let now = ManualClock::new().now();
/// let mut entry = StepEntry::new(StepKey::new(0, "charge"));
/// entry.apply(StepChange::Intent { attempt: 1 }, now).unwrap();
/// assert!(entry.is_in_doubt());
/// entry.apply(StepChange::Outcome { result: Ok(b"\"ch_1\"".to_vec()), attempts: 1 }, now).unwrap();
/// assert_eq!(entry.output(), Some(&b"\"ch_1\""[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEntry {
    /// Which call.
    pub step: StepKey,
    /// The latest intent, unless a `Retry` resolution cleared it.
    pub intent: Option<Intent>,
    /// How the call ended.
    pub outcome: Option<Outcome>,
    /// The latest intent to compensate the call's output.
    pub compensation_intent: Option<Intent>,
    /// How the compensation ended.
    pub compensation_outcome: Option<Outcome<()>>,
}

impl StepEntry {
    /// An entry with nothing journaled yet.
    pub fn new(step: StepKey) -> Self {
        StepEntry {
            step,
            intent: None,
            outcome: None,
            compensation_intent: None,
            compensation_outcome: None,
        }
    }

    /// An intent without an outcome: the call may or may not have happened.
    pub fn is_in_doubt(&self) -> bool {
        self.intent.is_some() && self.outcome.is_none()
    }

    /// A compensation intent without a compensation outcome.
    pub fn is_compensation_in_doubt(&self) -> bool {
        self.compensation_intent.is_some() && self.compensation_outcome.is_none()
    }

    /// The serialized output, if the call completed.
    pub fn output(&self) -> Option<&[u8]> {
        self.outcome.as_ref().and_then(Outcome::output)
    }

    /// Where the call stands, from its intent and outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::journal::{CallState, Clock, ManualClock, StepChange, StepEntry, StepKey};
    ///
    /// let mut entry = StepEntry::new(StepKey::new(0, "charge"));
    /// entry.apply(StepChange::Intent { attempt: 1 }, ManualClock::new().now()).unwrap();
    /// assert_eq!(entry.state(), CallState::InDoubt);
    /// ```
    pub fn state(&self) -> CallState {
        match (&self.intent, &self.outcome) {
            (_, Some(outcome)) if outcome.result.is_ok() => CallState::Completed,
            (_, Some(_)) => CallState::Failed,
            (Some(_), None) => CallState::InDoubt,
            (None, None) => CallState::ToRetry,
        }
    }

    /// Applies `change` at time `now`, or says why it does not fit what is journaled
    /// (leaving the entry unchanged).
    ///
    /// The rules: an outcome follows an intent, and a call with an outcome gets no new
    /// intent (a completed step is never called again); attempts only grow; only a
    /// successful output is compensated, once; a resolution settles an in-doubt call
    /// (the forward call first, else its compensation).
    ///
    /// The intents it writes name no holder; [`apply_by`](Self::apply_by) names one.
    pub fn apply(&mut self, change: StepChange, now: SystemTime) -> Result<(), StepConflict> {
        self.apply_by(change, now, None)
    }

    /// [`apply`](Self::apply), with the intents it writes naming `holder` as the process
    /// that makes the call: what a timeline of the run across processes is drawn from.
    /// [`RunRecord::apply`](super::RunRecord::apply) passes the lease's holder.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::journal::{Clock, ManualClock, StepChange, StepEntry, StepKey};
    /// use std::sync::Arc;
    ///
    /// let mut entry = StepEntry::new(StepKey::new(0, "charge"));
    /// let holder: Arc<str> = Arc::from("host-a:7");
    /// entry.apply_by(StepChange::Intent { attempt: 1 }, ManualClock::new().now(), Some(&holder)).unwrap();
    /// assert_eq!(entry.intent.unwrap().holder.as_deref(), Some("host-a:7"));
    /// ```
    pub fn apply_by(
        &mut self,
        change: StepChange,
        now: SystemTime,
        holder: Option<&Arc<str>>,
    ) -> Result<(), StepConflict> {
        let intent = |attempt| Intent {
            attempt,
            at: now,
            holder: holder.cloned(),
        };
        match change {
            StepChange::Intent { attempt } => {
                if self.outcome.is_some() {
                    return Err(StepConflict::HasOutcome);
                }
                newer(self.intent.as_ref(), attempt)?;
                self.intent = Some(intent(attempt));
            }
            StepChange::Outcome { result, attempts } => {
                if self.outcome.is_some() {
                    return Err(StepConflict::HasOutcome);
                }
                if self.intent.is_none() {
                    return Err(StepConflict::NoIntent);
                }
                self.outcome = Some(Outcome {
                    result,
                    attempts,
                    at: now,
                });
            }
            StepChange::CompensationIntent { attempt } => {
                if self.output().is_none() {
                    return Err(StepConflict::NotCompleted);
                }
                if self.compensation_outcome.is_some() {
                    return Err(StepConflict::Compensated);
                }
                newer(self.compensation_intent.as_ref(), attempt)?;
                self.compensation_intent = Some(intent(attempt));
            }
            StepChange::CompensationOutcome { result, attempts } => {
                if self.compensation_outcome.is_some() {
                    return Err(StepConflict::Compensated);
                }
                if self.compensation_intent.is_none() {
                    return Err(StepConflict::NoCompensationIntent);
                }
                self.compensation_outcome = Some(Outcome {
                    result,
                    attempts,
                    at: now,
                });
            }
            StepChange::Resolve(resolution) => self.resolve(resolution, now)?,
            StepChange::Forget => {
                self.outcome = None;
                self.compensation_intent = None;
                self.compensation_outcome = None;
            }
        }
        Ok(())
    }

    fn resolve(&mut self, resolution: Resolution, now: SystemTime) -> Result<(), StepConflict> {
        if let Some(intent) = self.intent.as_ref().filter(|_| self.outcome.is_none()) {
            let attempts = intent.attempt;
            match resolution {
                Resolution::Done(output) => {
                    self.outcome = Some(Outcome {
                        result: Ok(output),
                        attempts,
                        at: now,
                    });
                }
                Resolution::Retry => self.intent = None,
                Resolution::Abort(reason) => {
                    self.outcome = Some(Outcome {
                        result: Err(aborted(reason)),
                        attempts,
                        at: now,
                    });
                }
            }
            return Ok(());
        }
        let Some(intent) = self
            .compensation_intent
            .as_ref()
            .filter(|_| self.compensation_outcome.is_none())
        else {
            return Err(StepConflict::NotInDoubt);
        };
        let attempts = intent.attempt;
        let result = match resolution {
            Resolution::Done(_) => Ok(()),
            Resolution::Retry => {
                self.compensation_intent = None;
                return Ok(());
            }
            Resolution::Abort(reason) => Err(aborted(reason)),
        };
        self.compensation_outcome = Some(Outcome {
            result,
            attempts,
            at: now,
        });
        Ok(())
    }
}

fn newer(journaled: Option<&Intent>, attempt: u32) -> Result<(), StepConflict> {
    match journaled {
        Some(intent) if attempt <= intent.attempt => Err(StepConflict::AttemptNotNewer {
            journaled: intent.attempt,
            given: attempt,
        }),
        _ => Ok(()),
    }
}

fn aborted(reason: String) -> NodeError {
    NodeError::permanent(format!("aborted by an operator: {reason}"))
        .with_code(ErrorCode::Cancelled)
}

/// One change to a step's entry; see [`StepEntry::apply`] for the rules.
///
/// # Examples
///
/// ```
/// use onex::journal::StepChange;
///
/// let change = StepChange::Intent { attempt: 1 };
/// assert_eq!(change.kind(), "intent");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepChange {
    /// The call's attempt `attempt` is about to start.
    Intent {
        /// The attempt, from 1.
        attempt: u32,
    },
    /// The call ended.
    Outcome {
        /// The serialized output, or the error.
        result: Result<Vec<u8>, NodeError>,
        /// How many attempts were made in all.
        attempts: u32,
    },
    /// The compensation's attempt `attempt` is about to start.
    CompensationIntent {
        /// The attempt, from 1.
        attempt: u32,
    },
    /// The compensation ended.
    CompensationOutcome {
        /// `Ok(())` or the compensation's error.
        result: Result<(), NodeError>,
        /// How many attempts were made in all.
        attempts: u32,
    },
    /// An operator settles the in-doubt call.
    Resolve(Resolution),
    /// The step changed in the graph of a run resumed with a changed graph: its outcome
    /// and compensation are forgotten so that it runs again. Its intent stays, so the
    /// attempt numbers keep growing.
    Forget,
}

impl StepChange {
    /// What kind of change this is, for messages: `intent`, `outcome`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            StepChange::Intent { .. } => "intent",
            StepChange::Outcome { .. } => "outcome",
            StepChange::CompensationIntent { .. } => "compensation intent",
            StepChange::CompensationOutcome { .. } => "compensation outcome",
            StepChange::Resolve(_) => "resolution",
            StepChange::Forget => "forget",
        }
    }
}

/// An operator's decision about an in-doubt call (intent journaled, outcome not).
///
/// # Examples
///
/// ```
/// use onex::journal::Resolution;
///
/// // The payment provider's dashboard shows the charge went through.
/// let done = Resolution::Done(br#""ch_1""#.to_vec());
/// assert!(matches!(done, Resolution::Done(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The call did happen and produced this serialized output (for a compensation: the
    /// compensation did happen; the bytes are ignored).
    Done(Vec<u8>),
    /// The call did not happen: clear the intent, so it is made again on resume.
    Retry,
    /// Give up on the call: it fails with `CANCELLED` and this reason, so the run fails
    /// (and compensates, under that strategy).
    Abort(String),
}

/// Why a change does not fit what is journaled for a step.
///
/// # Examples
///
/// ```
/// use onex::journal::StepConflict;
///
/// assert_eq!(
///     StepConflict::NoIntent.to_string(),
///     "has no intent: an outcome is only journaled after its intent"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepConflict {
    /// An outcome without an intent before it.
    #[error("has no intent: an outcome is only journaled after its intent")]
    NoIntent,
    /// A new intent or outcome for a call that already has an outcome.
    #[error("already has an outcome: a completed call is never made again")]
    HasOutcome,
    /// An intent whose attempt is not newer than the journaled one.
    #[error("attempt {given} is not newer than the journaled attempt {journaled}")]
    AttemptNotNewer {
        /// The attempt already journaled.
        journaled: u32,
        /// The attempt given.
        given: u32,
    },
    /// A compensation of a call with no successful output.
    #[error("has no successful output to compensate")]
    NotCompleted,
    /// A compensation outcome without a compensation intent.
    #[error(
        "has no compensation intent: a compensation outcome is only journaled after its intent"
    )]
    NoCompensationIntent,
    /// A compensation of a call already compensated.
    #[error("is already compensated: a compensation runs once per output")]
    Compensated,
    /// A resolution for a call that is not in doubt.
    #[error("is not in doubt (no intent without an outcome): nothing to resolve")]
    NotInDoubt,
}
