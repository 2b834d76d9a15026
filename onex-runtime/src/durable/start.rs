//! Starting the runs of a durable `run` / `run_batch`: each input's run is recorded in the
//! journal, or attached to if its id is journaled already, before any of its calls
//! (`runtime/durable.rs` then executes them).

use std::sync::Arc;

use super::Durable;
use super::fingerprint::{diff, unchanged};
use super::heartbeat::LeaseCell;
use super::run_driver::Opened;
use crate::journal::{
    GraphFingerprint, Journal, JournalError, NewRun, RunSnapshot, RunStatus, Started, Write,
};
use crate::model::DurableError;
use crate::model::RunOptions;
use crate::program::erased::{AnyInput, Erased};

/// The run ids of `n` inputs: those given per input, else the one given (with `-index`
/// for a batch), else fresh UUIDs.
pub(crate) fn run_ids(options: &RunOptions, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match (&options.run_ids, &options.run_id) {
            (Some(ids), _) if i < ids.len() => ids[i].clone(),
            (_, Some(id)) if n == 1 => id.clone(),
            (_, Some(id)) => format!("{id}-{i}"),
            _ => uuid::Uuid::new_v4().to_string(),
        })
        .collect()
}

/// Records or attaches to run `run_id`; returns the input to run it on (the journaled one
/// when attached) and what the journal holds.
pub(crate) async fn open(
    durable: &Durable,
    program: &Erased,
    fp: &GraphFingerprint,
    run_id: String,
    input: AnyInput,
    options: &RunOptions,
) -> Result<(AnyInput, Opened), DurableError> {
    let journal = durable.journal.as_ref();
    let failed = |error: JournalError| DurableError::journal(run_id.clone(), error);
    let bytes = match program.serialize_input(&input) {
        Some(Ok(value)) => serde_json::to_vec(&value).map_err(|e| e.to_string()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("the workflow does not serialize its input: it is not `#[durable]`".into()),
    }
    .map_err(|detail| DurableError::Input {
        run_id: run_id.clone(),
        detail,
    })?;
    let graph = program.graph();
    let new = NewRun::new(run_id.clone(), graph.name(), bytes).fingerprint(fp.clone());
    let started = journal
        .start_run(new, &durable.holder, durable.ttl)
        .await
        .map_err(failed)?;
    if let Some(hook) = &options.on_started {
        hook.fire();
    }
    let id: Arc<str> = Arc::from(run_id.as_str());
    let (lease, run) = match started {
        Started::Created(lease) => {
            let opened = Opened {
                run_id: id,
                lease: Some(LeaseCell::new(lease)),
                entries: Vec::new(),
                status: RunStatus::Running,
            };
            return Ok((input, opened));
        }
        Started::Attached { lease, run } => (Some(lease), run),
        Started::Finished(run) => (None, run),
    };
    let give_back = async |error: DurableError| {
        if let Some(lease) = &lease {
            let _ = journal.release_lease(lease).await;
        }
        error
    };
    let mut entries = run.steps.clone();
    if run.fingerprint.digest != fp.digest {
        if !options.allow_changed_graph {
            let error = DurableError::GraphChanged {
                run_id: run_id.clone(),
                workflow: graph.name().to_owned(),
                diff: diff(&run.fingerprint, fp),
            };
            return Err(give_back(error).await);
        }
        // A changed step's journaled output is forgotten, in the journal too, so it runs
        // again; its intent stays, so the journal's attempt numbers keep growing, and one
        // in doubt is treated as any call in doubt.
        let keep = unchanged(&run.fingerprint, graph);
        let mut forget = Vec::new();
        for entry in &mut entries {
            let kept = keep
                .get(entry.step.index as usize)
                .copied()
                .unwrap_or(false);
            if !kept && (entry.outcome.is_some() || entry.compensation_intent.is_some()) {
                entry.outcome = None;
                entry.compensation_intent = None;
                entry.compensation_outcome = None;
                forget.push(Write::forget(entry.step.clone()));
            }
        }
        if let (Some(lease), false) = (&lease, forget.is_empty())
            && let Err(error) = journal.write(lease, forget).await
        {
            return Err(give_back(failed(error)).await);
        }
    }
    let input = match journaled_input(program, &run) {
        Ok(input) => input,
        Err(error) => return Err(give_back(error).await),
    };
    let opened = Opened {
        run_id: id,
        lease: lease.map(LeaseCell::new),
        entries,
        status: run.record.status,
    };
    Ok((input, opened))
}

/// The run's journaled input, loaded.
pub(crate) fn journaled_input(
    program: &Erased,
    run: &RunSnapshot,
) -> Result<AnyInput, DurableError> {
    let input = |detail: String| DurableError::Input {
        run_id: run.record.run_id.clone(),
        detail,
    };
    let value: serde_json::Value = serde_json::from_slice(&run.input)
        .map_err(|e| input(format!("the journaled input is not JSON: {e}")))?;
    program.load_input(value).map_err(|e| input(e.to_string()))
}

/// The journal's error for a run id it does not know.
pub(crate) fn unknown(run_id: &str) -> DurableError {
    DurableError::journal(
        run_id,
        JournalError::UnknownRun {
            run_id: run_id.to_owned(),
        },
    )
}

/// Loads run `run_id`, or says it is unknown.
pub(crate) async fn load(journal: &dyn Journal, run_id: &str) -> Result<RunSnapshot, DurableError> {
    match journal.load_run(run_id).await {
        Ok(Some(run)) => Ok(run),
        Ok(None) => Err(unknown(run_id)),
        Err(error) => Err(DurableError::journal(run_id.to_owned(), error)),
    }
}
