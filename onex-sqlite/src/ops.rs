//! The journal's write operations, each run inside the writer's transaction: load the
//! run's rows, apply the journal's rules (`onex_runtime::journal`), store what changed.

use std::time::{Duration, SystemTime};

use onex_runtime::journal::{JournalError, Lease, NewRun, Retention, RunRecord, Started, Write};
use rusqlite::Connection;

use crate::fault::OpError;
use crate::rows;

fn known(conn: &Connection, run_id: &str) -> Result<(i64, RunRecord), OpError> {
    rows::head(conn, run_id)?.ok_or_else(|| {
        OpError::Refused(JournalError::UnknownRun {
            run_id: run_id.to_owned(),
        })
    })
}

fn snapshot(
    conn: &Connection,
    run_id: &str,
) -> Result<Box<onex_runtime::journal::RunSnapshot>, OpError> {
    rows::snapshot(conn, run_id)?
        .map(Box::new)
        .ok_or_else(|| OpError::Corrupt(format!("run `{run_id}` vanished while it was read")))
}

pub(crate) fn start(
    conn: &Connection,
    now: SystemTime,
    run: &NewRun,
    holder: &str,
    ttl: Duration,
) -> Result<Started, OpError> {
    if let Some((id, mut record)) = rows::head(conn, &run.run_id)? {
        let lease = record.attach(&run.workflow, holder, now, ttl)?;
        if lease.is_some() {
            rows::save_head(conn, id, &record)?;
        }
        let journaled = snapshot(conn, &run.run_id)?;
        return Ok(match lease {
            Some(lease) => Started::Attached {
                lease,
                run: journaled,
            },
            None => Started::Finished(journaled),
        });
    }
    let mut record = RunRecord::new(run.run_id.clone(), run.workflow.clone(), now);
    let lease = record.acquire(holder, now, ttl)?;
    rows::insert_run(conn, run, &record)?;
    Ok(Started::Created(lease))
}

pub(crate) fn acquire(
    conn: &Connection,
    now: SystemTime,
    run_id: &str,
    holder: &str,
    ttl: Duration,
) -> Result<Lease, OpError> {
    let (id, mut record) = known(conn, run_id)?;
    let lease = record.acquire(holder, now, ttl)?;
    rows::save_head(conn, id, &record)?;
    Ok(lease)
}

pub(crate) fn renew(
    conn: &Connection,
    now: SystemTime,
    lease: &Lease,
    ttl: Duration,
) -> Result<Lease, OpError> {
    let (id, mut record) = known(conn, &lease.run_id)?;
    let renewed = record.renew(lease, now, ttl)?;
    rows::save_head(conn, id, &record)?;
    Ok(renewed)
}

pub(crate) fn release(conn: &Connection, lease: &Lease) -> Result<(), OpError> {
    let (id, mut record) = known(conn, &lease.run_id)?;
    record.release(lease)?;
    rows::save_head(conn, id, &record)
}

pub(crate) fn write(
    conn: &Connection,
    now: SystemTime,
    lease: &Lease,
    writes: Vec<Write>,
) -> Result<(), OpError> {
    let (id, journaled) = known(conn, &lease.run_id)?;
    let mut record = journaled.clone();
    let changed = record.apply(lease, writes, now, |step| {
        rows::entry(conn, &lease.run_id, id, step)
    })?;
    for entry in &changed {
        rows::save_entry(conn, id, entry)?;
    }
    // Most writes are step writes, which leave the head as it was: not rewriting it
    // keeps their commit to the step's own page.
    if record != journaled {
        rows::save_head(conn, id, &record)?;
    }
    Ok(())
}

pub(crate) fn prune(
    conn: &Connection,
    now: SystemTime,
    retention: &Retention,
) -> Result<usize, OpError> {
    let cutoff = retention.max_age.and_then(|age| now.checked_sub(age));
    rows::prune(conn, cutoff, retention.keep_last)
}
