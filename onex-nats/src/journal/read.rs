//! Reading runs whole: a run's snapshot, the list of run heads, and pruning.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use onex_runtime::journal::{JournalError, Retention, RunFilter, RunRecord, RunSnapshot};

use super::KvJournal;
use super::codec;
use super::held::{Slot, slot};
use super::keys::{ALL_HEADS, RunKeys};

/// A run as [`KvJournal::snapshot`] read it.
pub(crate) struct Loaded {
    pub(crate) snapshot: RunSnapshot,
    /// The head's revision.
    pub(crate) revision: u64,
    /// The suffix of the input's key.
    pub(crate) input: String,
    /// The entries in the head's buffer.
    pub(crate) buffered: BTreeSet<Slot>,
}

impl KvJournal {
    /// Everything journaled about `run_id`, read by one scan of the run's keys (a
    /// consistent state: commits are atomic).
    pub(crate) async fn snapshot(&self, run_id: &str) -> Result<Option<Loaded>, JournalError> {
        let keys = RunKeys::new(run_id);
        let values = self.store.scan(&keys.all()).await?;
        let head_key = keys.head();
        let (steps_prefix, chunks_prefix) = (keys.step_prefix(), keys.chunk_prefix());
        let mut head = None;
        let mut inputs = HashMap::new();
        let mut steps = Vec::new();
        let mut chunks = HashMap::new();
        for value in values {
            if value.key == head_key {
                head = Some(value);
            } else if value.key.starts_with(&steps_prefix) {
                steps.push(value);
            } else if value.key.starts_with(&chunks_prefix) {
                chunks.insert(value.key, value.bytes);
            } else {
                inputs.insert(value.key, value.bytes);
            }
        }
        let Some(head) = head else {
            return Ok(None);
        };
        let corrupt = |key: &str| {
            let key = key.to_owned();
            move |e: String| self.store.corrupt(&key, e)
        };
        let decoded = codec::decode_head(&head.bytes).map_err(corrupt(&head.key))?;
        let input_key = keys.input(&decoded.input);
        let input = inputs.remove(&input_key).ok_or_else(|| {
            self.store.corrupt(
                &head.key,
                format!("the run's input `{input_key}` is missing"),
            )
        })?;
        let doc = codec::resolve(&keys, input, &chunks).map_err(corrupt(&input_key))?;
        let (input, fingerprint) = codec::decode_input(&doc).map_err(corrupt(&input_key))?;
        let mut entries = BTreeMap::new();
        for step in steps {
            let doc = codec::resolve(&keys, step.bytes, &chunks).map_err(corrupt(&step.key))?;
            let entry = codec::decode_step(&doc).map_err(corrupt(&step.key))?;
            entries.insert(slot(&entry.step), entry);
        }
        // The head's buffer is newer than the keys of the entries in it.
        let buffered = decoded.buffer.iter().map(|e| slot(&e.step)).collect();
        entries.extend(decoded.buffer.into_iter().map(|e| (slot(&e.step), e)));
        Ok(Some(Loaded {
            snapshot: RunSnapshot {
                record: decoded.record,
                input,
                fingerprint,
                steps: entries.into_values().collect(),
            },
            revision: head.revision,
            input: decoded.input,
            buffered,
        }))
    }

    /// Every run's head and its revision, read by one scan of the head keys.
    async fn heads(&self) -> Result<Vec<(RunRecord, u64)>, JournalError> {
        let values = self.store.scan(ALL_HEADS).await?;
        values
            .into_iter()
            .map(|value| {
                codec::decode_head(&value.bytes)
                    .map(|head| (head.record, value.revision))
                    .map_err(|e| self.store.corrupt(&value.key, e))
            })
            .collect()
    }

    /// The heads `filter` selects, oldest first (then by id).
    pub(crate) async fn list(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, JournalError> {
        let mut records: Vec<RunRecord> = self
            .heads()
            .await?
            .into_iter()
            .map(|(record, _)| record)
            .filter(|r| !filter.unfinished_only || !r.status.is_finished())
            .filter(|r| filter.workflow.as_ref().is_none_or(|w| *w == r.workflow))
            .collect();
        records.sort_by(|a, b| (a.created_at, &a.run_id).cmp(&(b.created_at, &b.run_id)));
        records.truncate(filter.limit.unwrap_or(usize::MAX));
        Ok(records)
    }

    /// Purges the finished runs `retention` selects; how many.
    pub(crate) async fn prune_runs(&self, retention: &Retention) -> Result<usize, JournalError> {
        let now = self.clock.now();
        let mut finished: Vec<(RunRecord, u64)> = self
            .heads()
            .await?
            .into_iter()
            .filter(|(record, _)| record.status.is_finished())
            .collect();
        // Newest first: the ones `keep_last` keeps.
        finished
            .sort_by(|(a, _), (b, _)| (b.updated_at, &b.run_id).cmp(&(a.updated_at, &a.run_id)));
        let keep = retention.keep_last.unwrap_or(usize::MAX);
        let cutoff = retention.max_age.and_then(|age| now.checked_sub(age));
        let mut pruned = 0;
        for (rank, (record, revision)) in finished.into_iter().enumerate() {
            let old = cutoff.is_some_and(|cutoff| record.updated_at < cutoff);
            if rank >= keep || old {
                // A finished run's head is its last commit, the highest revision of its
                // keys: purging below it leaves a run started since under the same id.
                self.store
                    .purge(&RunKeys::new(&record.run_id).all(), revision + 1)
                    .await?;
                pruned += 1;
            }
        }
        Ok(pruned)
    }
}
