//! The journal's records as rows, and back.
//!
//! Decoding checks what the schema cannot (a known status, an error that is valid JSON,
//! integers in range) and reports a row that fails as corrupt, naming the run and step.

use std::sync::Arc;
use std::time::SystemTime;

use onex_runtime::NodeError;
use onex_runtime::journal::{
    GraphFingerprint, Intent, LeaseState, NewRun, Outcome, RunFilter, RunRecord, RunSnapshot,
    RunStatus, StepEntry, StepKey, from_unix_millis, unix_millis,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::fault::OpError;

/// The columns of a run's head, in [`decode_head`]'s order.
const HEAD: &str = "id, run_id, workflow, status, created_at, updated_at, \
                    lease_holder, lease_token, lease_until";

/// The head of run `run_id` and its row id.
pub(crate) fn head(conn: &Connection, run_id: &str) -> Result<Option<(i64, RunRecord)>, OpError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {HEAD} FROM runs WHERE run_id = ?1"))?;
    let row = stmt
        .query_row([run_id], |row| Ok(decode_head(row)))
        .optional()?;
    row.transpose()
}

fn decode_head(row: &Row<'_>) -> Result<(i64, RunRecord), OpError> {
    let run_id: String = row.get(1)?;
    let status: String = row.get(3)?;
    let status = status
        .parse::<RunStatus>()
        .map_err(|e| OpError::Corrupt(format!("run `{run_id}`: {e}")))?;
    let token: i64 = row.get(7)?;
    let token = u64::try_from(token)
        .map_err(|_| OpError::Corrupt(format!("run `{run_id}`: negative lease token {token}")))?;
    let holder: Option<String> = row.get(6)?;
    let record = RunRecord {
        workflow: row.get(2)?,
        status,
        created_at: time(row, 4)?,
        updated_at: time(row, 5)?,
        lease: LeaseState {
            holder: holder.map(Arc::from),
            token,
            until: time(row, 8)?,
        },
        run_id,
    };
    Ok((row.get(0)?, record))
}

fn time(row: &Row<'_>, column: usize) -> rusqlite::Result<SystemTime> {
    row.get::<_, i64>(column).map(from_unix_millis)
}

fn optional_time(row: &Row<'_>, column: usize) -> rusqlite::Result<Option<SystemTime>> {
    Ok(row.get::<_, Option<i64>>(column)?.map(from_unix_millis))
}

/// Stores what a run's head says (the run must exist).
pub(crate) fn save_head(conn: &Connection, id: i64, record: &RunRecord) -> Result<(), OpError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE runs SET status = ?2, finished = ?3, updated_at = ?4, \
         lease_holder = ?5, lease_token = ?6, lease_until = ?7 WHERE id = ?1",
    )?;
    stmt.execute(params![
        id,
        record.status.as_str(),
        record.status.is_finished(),
        unix_millis(record.updated_at),
        record.lease.holder.as_deref(),
        token(record.lease.token)?,
        unix_millis(record.lease.until),
    ])?;
    Ok(())
}

fn token(token: u64) -> Result<i64, OpError> {
    i64::try_from(token).map_err(|_| OpError::Corrupt(format!("lease token {token} overflows")))
}

/// Records a new run; returns its row id.
pub(crate) fn insert_run(
    conn: &Connection,
    run: &NewRun,
    record: &RunRecord,
) -> Result<i64, OpError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO runs (run_id, workflow, status, finished, created_at, updated_at, \
         lease_holder, lease_token, lease_until, fp_digest, fp_description, input) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    stmt.execute(params![
        record.run_id,
        record.workflow,
        record.status.as_str(),
        record.status.is_finished(),
        unix_millis(record.created_at),
        unix_millis(record.updated_at),
        record.lease.holder.as_deref(),
        token(record.lease.token)?,
        unix_millis(record.lease.until),
        run.fingerprint.digest,
        run.fingerprint.description,
        run.input,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The columns of a step entry, in [`decode_entry`]'s order.
const ENTRY: &str = "step, item, name, intent_attempt, intent_at, outcome_ok, attempts, \
                     outcome_at, comp_attempt, comp_at, comp_ok, comp_attempts, \
                     comp_outcome_at, comp_error, error, output, intent_holder, comp_holder";

/// The entry of `step` in the run with row id `run`.
pub(crate) fn entry(
    conn: &Connection,
    run_id: &str,
    run: i64,
    step: &StepKey,
) -> Result<Option<StepEntry>, OpError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY} FROM steps WHERE run = ?1 AND step = ?2 AND item = ?3"
    ))?;
    let row = stmt
        .query_row(params![run, step.index, item(step)], |row| {
            Ok(decode_entry(run_id, row))
        })
        .optional()?;
    row.transpose()
}

fn item(step: &StepKey) -> i64 {
    step.item.map_or(-1, i64::from)
}

fn decode_entry(run_id: &str, row: &Row<'_>) -> Result<StepEntry, OpError> {
    let index: u32 = row.get(0)?;
    let item = match row.get::<_, i64>(1)? {
        -1 => None,
        item => Some(u32::try_from(item).map_err(|_| {
            OpError::Corrupt(format!(
                "run `{run_id}`, step {index}: item {item} is out of range"
            ))
        })?),
    };
    let step = StepKey {
        index,
        name: Arc::from(row.get::<_, String>(2)?),
        item,
    };
    let corrupt = |what: &str, e: serde_json::Error| {
        OpError::Corrupt(format!(
            "run `{run_id}`, {step}: the {what} is not valid: {e}"
        ))
    };
    let intent = read_intent(row, 3, 4, 16)?;
    let outcome = match row.get::<_, Option<bool>>(5)? {
        None => None,
        Some(ok) => Some(Outcome {
            result: if ok {
                Ok(row.get::<_, Option<Vec<u8>>>(15)?.unwrap_or_default())
            } else {
                Err(error(row, 14)?.map_err(|e| corrupt("error", e))?)
            },
            attempts: row.get::<_, Option<u32>>(6)?.unwrap_or_default(),
            at: optional_time(row, 7)?.unwrap_or(SystemTime::UNIX_EPOCH),
        }),
    };
    let compensation_intent = read_intent(row, 8, 9, 17)?;
    let compensation_outcome = match row.get::<_, Option<bool>>(10)? {
        None => None,
        Some(ok) => Some(Outcome {
            result: if ok {
                Ok(())
            } else {
                Err(error(row, 13)?.map_err(|e| corrupt("compensation error", e))?)
            },
            attempts: row.get::<_, Option<u32>>(11)?.unwrap_or_default(),
            at: optional_time(row, 12)?.unwrap_or(SystemTime::UNIX_EPOCH),
        }),
    };
    Ok(StepEntry {
        step,
        intent,
        outcome,
        compensation_intent,
        compensation_outcome,
    })
}

fn read_intent(
    row: &Row<'_>,
    attempt: usize,
    at: usize,
    holder: usize,
) -> rusqlite::Result<Option<Intent>> {
    Ok(
        match (row.get::<_, Option<u32>>(attempt)?, optional_time(row, at)?) {
            (Some(attempt), Some(at)) => Some(Intent {
                attempt,
                at,
                holder: row.get::<_, Option<String>>(holder)?.map(Arc::from),
            }),
            _ => None,
        },
    )
}

/// A `NodeError` stored as JSON; the outer error is SQLite's, the inner one the decoding.
fn error(row: &Row<'_>, column: usize) -> rusqlite::Result<Result<NodeError, serde_json::Error>> {
    let text: Option<String> = row.get(column)?;
    Ok(serde_json::from_str(text.as_deref().unwrap_or("null")))
}

/// Stores `entry` for the run with row id `run`, updating its row in place.
pub(crate) fn save_entry(conn: &Connection, run: i64, entry: &StepEntry) -> Result<(), OpError> {
    let json = |error: &NodeError| {
        serde_json::to_string(error)
            .map_err(|e| OpError::Corrupt(format!("{}: cannot encode the error: {e}", entry.step)))
    };
    let (outcome_ok, error, output) = match entry.outcome.as_ref().map(|o| &o.result) {
        None => (None, None, None),
        Some(Ok(output)) => (Some(true), None, Some(output.as_slice())),
        Some(Err(error)) => (Some(false), Some(json(error)?), None),
    };
    let (comp_ok, comp_error) = match entry.compensation_outcome.as_ref().map(|o| &o.result) {
        None => (None, None),
        Some(Ok(())) => (Some(true), None),
        Some(Err(error)) => (Some(false), Some(json(error)?)),
    };
    let millis = |t: Option<SystemTime>| t.map(unix_millis);
    let mut stmt = conn.prepare_cached(
        "INSERT INTO steps (run, step, item, name, intent_attempt, intent_at, \
         outcome_ok, attempts, outcome_at, comp_attempt, comp_at, comp_ok, comp_attempts, \
         comp_outcome_at, comp_error, error, output, intent_holder, comp_holder) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19) \
         ON CONFLICT (run, step, item) DO UPDATE SET name = ?4, \
         intent_attempt = ?5, intent_at = ?6, outcome_ok = ?7, attempts = ?8, \
         outcome_at = ?9, comp_attempt = ?10, comp_at = ?11, comp_ok = ?12, \
         comp_attempts = ?13, comp_outcome_at = ?14, comp_error = ?15, error = ?16, \
         output = ?17, intent_holder = ?18, comp_holder = ?19",
    )?;
    stmt.execute(params![
        run,
        entry.step.index,
        item(&entry.step),
        &*entry.step.name,
        entry.intent.as_ref().map(|i| i.attempt),
        millis(entry.intent.as_ref().map(|i| i.at)),
        outcome_ok,
        entry.outcome.as_ref().map(|o| o.attempts),
        millis(entry.outcome.as_ref().map(|o| o.at)),
        entry.compensation_intent.as_ref().map(|i| i.attempt),
        millis(entry.compensation_intent.as_ref().map(|i| i.at)),
        comp_ok,
        entry.compensation_outcome.as_ref().map(|o| o.attempts),
        millis(entry.compensation_outcome.as_ref().map(|o| o.at)),
        comp_error,
        error,
        output,
        entry.intent.as_ref().and_then(|i| i.holder.as_deref()),
        entry
            .compensation_intent
            .as_ref()
            .and_then(|i| i.holder.as_deref()),
    ])?;
    Ok(())
}

/// Everything journaled about run `run_id`.
pub(crate) fn snapshot(conn: &Connection, run_id: &str) -> Result<Option<RunSnapshot>, OpError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {HEAD}, fp_digest, fp_description, input FROM runs WHERE run_id = ?1"
    ))?;
    let found = stmt
        .query_row([run_id], |row| {
            Ok(decode_head(row).and_then(|(id, record)| {
                let fingerprint =
                    GraphFingerprint::new(row.get::<_, String>(9)?, row.get::<_, String>(10)?);
                Ok((id, record, fingerprint, row.get::<_, Vec<u8>>(11)?))
            }))
        })
        .optional()?
        .transpose()?;
    let Some((id, record, fingerprint, input)) = found else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY} FROM steps WHERE run = ?1 ORDER BY step, item"
    ))?;
    let steps = stmt
        .query_map([id], |row| Ok(decode_entry(run_id, row)))?
        .map(|row| row.map_err(OpError::from).and_then(|entry| entry))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(RunSnapshot {
        record,
        input,
        fingerprint,
        steps,
    }))
}

/// The heads `filter` selects, oldest first.
pub(crate) fn list(conn: &Connection, filter: &RunFilter) -> Result<Vec<RunRecord>, OpError> {
    // A literal `finished = 0` (not a parameter) lets SQLite use the partial index of
    // unfinished runs, so `recover` does not scan every finished run.
    let unfinished = if filter.unfinished_only {
        "finished = 0"
    } else {
        "1"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {HEAD} FROM runs WHERE {unfinished} AND (?1 IS NULL OR workflow = ?1) \
         ORDER BY created_at, run_id LIMIT ?2"
    ))?;
    let limit = filter
        .limit
        .map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
    stmt.query_map(params![filter.workflow, limit], |row| Ok(decode_head(row)))?
        .map(|row| {
            row.map_err(OpError::from)
                .and_then(|head| head.map(|(_, record)| record))
        })
        .collect()
}

/// Deletes the finished runs last written before `cutoff`, and those beyond the newest
/// `keep_last`; returns how many.
pub(crate) fn prune(
    conn: &Connection,
    cutoff: Option<SystemTime>,
    keep_last: Option<usize>,
) -> Result<usize, OpError> {
    let mut doomed: Vec<i64> = Vec::new();
    if let Some(cutoff) = cutoff {
        let mut stmt =
            conn.prepare_cached("SELECT id FROM runs WHERE finished = 1 AND updated_at < ?1")?;
        for id in stmt.query_map([unix_millis(cutoff)], |row| row.get(0))? {
            doomed.push(id?);
        }
    }
    if let Some(keep) = keep_last {
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM runs WHERE finished = 1 \
             ORDER BY updated_at DESC, run_id DESC LIMIT -1 OFFSET ?1",
        )?;
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        for id in stmt.query_map([keep], |row| row.get(0))? {
            doomed.push(id?);
        }
    }
    doomed.sort_unstable();
    doomed.dedup();
    let mut steps = conn.prepare_cached("DELETE FROM steps WHERE run = ?1")?;
    let mut runs = conn.prepare_cached("DELETE FROM runs WHERE id = ?1")?;
    for id in &doomed {
        steps.execute([id])?;
        runs.execute([id])?;
    }
    Ok(doomed.len())
}
