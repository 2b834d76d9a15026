//! Changing a run: read its state (the cached one, else the head then the steps touched),
//! apply the journal's rules, and commit the new head and step entries on condition that
//! the head is still at the revision read — again on a fresh read when it is not.
//!
//! A commit is one message when it can be: the changed entries go into the head's buffer
//! while that stays small ([`KvJournalOptions::max_buffered`] entries, [`BUFFER_BYTES`]);
//! when it would not,
//! the buffer and the changed entries are written to their own keys and the head emptied,
//! in one atomic batch. nats-server syncs a file-backed atomic batch to disk before it
//! answers, which costs a disk flush; a single message is written as any other publish.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

use futures_util::future::try_join_all;
use onex_runtime::journal::{JournalError, RunRecord, StepEntry, StepKey};

use super::KvJournal;
#[cfg(doc)]
use super::KvJournalOptions;
use super::codec::{self, Values};
use super::held::{Held, Slot, slot};
use super::keys::RunKeys;
use super::store::Refused;

/// How many commits in a row may lose their CAS before the operation gives up: each loss
/// means another commit on the run went through, which the journal's rules then see.
const MAX_ATTEMPTS: usize = 64;

/// The most bytes (roughly) of entries a head holds before they are written to their keys.
pub(crate) const BUFFER_BYTES: usize = 16 * 1024;

/// What a change computed: its answer, and the step entries it changed.
pub(crate) type Changed<T> = (T, Vec<StepEntry>);

impl KvJournal {
    /// The run's head, then the entries of `steps`: read in that order, so that each entry
    /// is at least as new as the head (a commit writes the head last).
    pub(crate) async fn read_fresh(
        &self,
        keys: &RunKeys,
        steps: &[StepKey],
    ) -> Result<Option<Held>, JournalError> {
        let Some(head) = self.store.get(&keys.head()).await? else {
            return Ok(None);
        };
        let decoded =
            codec::decode_head(&head.bytes).map_err(|e| self.store.corrupt(&head.key, e))?;
        let buffered: BTreeSet<Slot> = decoded.buffer.iter().map(|e| slot(&e.step)).collect();
        let unbuffered: Vec<StepKey> = steps
            .iter()
            .filter(|s| !buffered.contains(&slot(s)))
            .cloned()
            .collect();
        let mut steps = self.read_steps(keys, &unbuffered).await?;
        steps.extend(decoded.buffer.into_iter().map(|e| (slot(&e.step), e)));
        Ok(Some(Held {
            revision: head.revision,
            record: decoded.record,
            input: decoded.input,
            steps,
            buffered,
            complete: false,
        }))
    }

    /// The entries of `steps` that exist, their chunks fetched when they have any.
    async fn read_steps(
        &self,
        keys: &RunKeys,
        steps: &[StepKey],
    ) -> Result<BTreeMap<Slot, StepEntry>, JournalError> {
        let reads = steps.iter().map(|step| async move {
            let key = keys.step(step);
            let Some(value) = self.store.get(&key).await? else {
                return Ok::<_, JournalError>(None);
            };
            let corrupt = |e: String| self.store.corrupt(&key, e);
            let mut chunks = HashMap::new();
            if let Some((names, _)) = codec::chunk_keys(keys, &value.bytes).map_err(corrupt)? {
                for name in names {
                    if let Some(chunk) = self.store.get(&name).await? {
                        chunks.insert(name, chunk.bytes);
                    }
                }
            }
            let doc = codec::resolve(keys, value.bytes, &chunks).map_err(corrupt)?;
            let entry = codec::decode_step(&doc).map_err(corrupt)?;
            Ok(Some(entry))
        });
        Ok(try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .map(|entry| (slot(&entry.step), entry))
            .collect())
    }

    /// Applies `change` to the run's state at the journal's time and commits the result:
    /// the head (always rewritten, so that its revision moves with every commit) and the
    /// entries it returns. The entries of `touched` are looked up for it.
    pub(crate) async fn change<T>(
        &self,
        run_id: &str,
        touched: &[StepKey],
        mut change: impl FnMut(
            &mut RunRecord,
            &HashMap<Slot, StepEntry>,
            SystemTime,
        ) -> Result<Changed<T>, JournalError>,
    ) -> Result<T, JournalError> {
        let keys = RunKeys::new(run_id);
        let mut locked = self.held.lock(run_id).await;
        let mut use_cache = true;
        for _ in 0..MAX_ATTEMPTS {
            let from_cache = use_cache && locked.cached().is_some();
            if !from_cache {
                let Some(held) = self.read_fresh(&keys, touched).await? else {
                    locked.set(None);
                    return Err(JournalError::UnknownRun {
                        run_id: run_id.to_owned(),
                    });
                };
                locked.set(Some(held));
            }
            let held = locked
                .cached()
                .expect("the state was just read or is cached");
            let mut found = HashMap::new();
            let mut unknown = Vec::new();
            for step in touched {
                match held.steps.get(&slot(step)) {
                    Some(entry) => {
                        found.insert(slot(step), entry.clone());
                    }
                    None if !held.complete => unknown.push(step.clone()),
                    None => {}
                }
            }
            let (revision, mut record) = (held.revision, held.record.clone());
            // Read after `revision` was current: if the commit below goes through,
            // nothing changed them since.
            found.extend(self.read_steps(&keys, &unknown).await?);
            let now = self.clock.now();
            let (answer, changed) = match change(&mut record, &found, now) {
                Ok(changed) => changed,
                // The cache may be behind: refuse only what the stored state refuses.
                Err(_) if from_cache => {
                    use_cache = false;
                    continue;
                }
                Err(refused) => return Err(refused),
            };
            let held = locked.cached().expect("the state read above");
            let mut buffer: BTreeMap<Slot, &StepEntry> = held
                .buffered
                .iter()
                .filter_map(|s| held.steps.get(s).map(|e| (*s, e)))
                .collect();
            buffer.extend(changed.iter().map(|e| (slot(&e.step), e)));
            let size: usize = buffer.values().map(|e| codec::buffered_size(e)).sum();
            let fits =
                buffer.len() <= self.max_buffered && size <= BUFFER_BYTES.min(self.max_value / 2);
            let mut values = Values::new(&keys, revision.to_string(), self.max_value);
            let head = if fits {
                codec::encode_head(&record, &held.input, buffer.values().copied())
            } else {
                for entry in buffer.values() {
                    values.add(keys.step(&entry.step), codec::encode_step(entry));
                }
                codec::encode_head(&record, &held.input, [])
            };
            let buffered: BTreeSet<Slot> = if fits {
                buffer.keys().copied().collect()
            } else {
                BTreeSet::new()
            };
            match self
                .store
                .commit((&keys.head(), head), revision, values.out)
                .await
            {
                Ok(new_revision) => {
                    let held = locked.cached_mut().expect("the state read above");
                    held.revision = new_revision;
                    held.record = record;
                    held.buffered = buffered;
                    held.steps.extend(found);
                    held.steps
                        .extend(changed.into_iter().map(|e| (slot(&e.step), e)));
                    return Ok(answer);
                }
                Err(Refused::Conflict) => {
                    locked.set(None);
                    use_cache = false;
                }
                Err(Refused::Failed(error)) => {
                    locked.set(None);
                    return Err(error);
                }
            }
        }
        Err(self.store.failed(
            &format!("changing run `{run_id}`"),
            format!("{MAX_ATTEMPTS} commits in a row lost to concurrent commits; try again"),
        ))
    }
}
