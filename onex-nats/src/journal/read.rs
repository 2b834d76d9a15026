//! Reading runs whole: a run's snapshot, the list of run heads, and pruning.

use std::collections::HashMap;

use onex_runtime::journal::{JournalError, Retention, RunFilter, RunRecord, RunSnapshot};

use super::KvJournal;
use super::codec;
use super::keys::{ALL_HEADS, RunKeys};

impl KvJournal {
    /// Everything journaled about `run_id` and its head's revision, read by one scan of
    /// the run's keys (a consistent state: commits are atomic).
    pub(crate) async fn snapshot(
        &self,
        run_id: &str,
    ) -> Result<Option<(RunSnapshot, u64)>, JournalError> {
        let keys = RunKeys::new(run_id);
        let values = self.store.scan(&keys.all()).await?;
        let head_key = keys.head();
        let (input_key, steps_prefix, chunks_prefix) =
            (keys.input(), keys.step_prefix(), keys.chunk_prefix());
        let mut head = None;
        let mut input = None;
        let mut steps = Vec::new();
        let mut chunks = HashMap::new();
        for value in values {
            if value.key == head_key {
                head = Some(value);
            } else if value.key == input_key {
                input = Some(value);
            } else if value.key.starts_with(&steps_prefix) {
                steps.push(value);
            } else if value.key.starts_with(&chunks_prefix) {
                chunks.insert(value.key, value.bytes);
            }
        }
        let Some(head) = head else {
            return Ok(None);
        };
        let corrupt = |key: &str| {
            let key = key.to_owned();
            move |e: String| self.store.corrupt(&key, e)
        };
        let record = codec::decode_head(&head.bytes).map_err(corrupt(&head.key))?;
        let input =
            input.ok_or_else(|| self.store.corrupt(&input_key, "the run's input is missing"))?;
        let doc = codec::resolve(&keys, input.bytes, &chunks).map_err(corrupt(&input_key))?;
        let (input, fingerprint) = codec::decode_input(&doc).map_err(corrupt(&input_key))?;
        let mut entries = Vec::with_capacity(steps.len());
        for step in steps {
            let doc = codec::resolve(&keys, step.bytes, &chunks).map_err(corrupt(&step.key))?;
            entries.push(codec::decode_step(&doc).map_err(corrupt(&step.key))?);
        }
        entries.sort_by_key(|e| (e.step.index, e.step.item));
        let snapshot = RunSnapshot {
            record,
            input,
            fingerprint,
            steps: entries,
        };
        Ok(Some((snapshot, head.revision)))
    }

    /// Every run's head and its revision, read by one scan of the head keys.
    async fn heads(&self) -> Result<Vec<(RunRecord, u64)>, JournalError> {
        let values = self.store.scan(ALL_HEADS).await?;
        values
            .into_iter()
            .map(|value| {
                codec::decode_head(&value.bytes)
                    .map(|record| (record, value.revision))
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
