//! The journal's records as stored values, and back.
//!
//! A value is a *document*: a compact JSON header, and for a value with bytes (an input,
//! an output) a newline and the raw bytes. A document larger than the journal's value
//! limit is stored in chunk keys written by the same commit, and its own key holds a
//! pointer, `@{"generation":…,"doc":…,"chunks":…,"len":…}`.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use onex_runtime::NodeError;
use onex_runtime::journal::{
    GraphFingerprint, Intent, LeaseState, Outcome, RunRecord, RunStatus, StepEntry, StepKey,
    from_unix_millis, unix_millis,
};
use serde::{Deserialize, Serialize};

use super::keys::RunKeys;

/// The version of the stored form, in every head.
const VERSION: u32 = 1;

/// A run's head as stored.
#[derive(Serialize, Deserialize)]
struct Head {
    v: u32,
    run_id: String,
    workflow: String,
    status: RunStatus,
    created_at: i64,
    updated_at: i64,
    holder: Option<String>,
    token: u64,
    until: i64,
}

/// Encodes a run's head.
pub(crate) fn encode_head(record: &RunRecord) -> Bytes {
    let head = Head {
        v: VERSION,
        run_id: record.run_id.clone(),
        workflow: record.workflow.clone(),
        status: record.status,
        created_at: unix_millis(record.created_at),
        updated_at: unix_millis(record.updated_at),
        holder: record.lease.holder.as_deref().map(str::to_owned),
        token: record.lease.token,
        until: unix_millis(record.lease.until),
    };
    Bytes::from(serde_json::to_vec(&head).expect("a head serializes"))
}

/// Decodes a run's head, or says why it does not decode.
pub(crate) fn decode_head(bytes: &[u8]) -> Result<RunRecord, String> {
    let head: Head = serde_json::from_slice(bytes).map_err(|e| format!("not a run head: {e}"))?;
    if head.v > VERSION {
        return Err(format!(
            "written by a newer onex (stored form {}, this onex reads up to {VERSION}); \
             upgrade onex to read it",
            head.v
        ));
    }
    Ok(RunRecord {
        run_id: head.run_id,
        workflow: head.workflow,
        status: head.status,
        created_at: from_unix_millis(head.created_at),
        updated_at: from_unix_millis(head.updated_at),
        lease: LeaseState {
            holder: head.holder.map(Arc::from),
            token: head.token,
            until: from_unix_millis(head.until),
        },
    })
}

/// A run's input and fingerprint, as stored (the input is the body).
#[derive(Serialize, Deserialize)]
struct InputHeader {
    digest: String,
    description: String,
}

/// Encodes a run's input document.
pub(crate) fn encode_input(input: &[u8], fingerprint: &GraphFingerprint) -> Bytes {
    document(
        &InputHeader {
            digest: fingerprint.digest.clone(),
            description: fingerprint.description.clone(),
        },
        input,
    )
}

/// Decodes a run's input document.
pub(crate) fn decode_input(doc: &[u8]) -> Result<(Vec<u8>, GraphFingerprint), String> {
    let (header, body) = split(doc)?;
    let header: InputHeader =
        serde_json::from_slice(header).map_err(|e| format!("not a run input: {e}"))?;
    Ok((
        body.to_vec(),
        GraphFingerprint::new(header.digest, header.description),
    ))
}

#[derive(Serialize, Deserialize)]
struct StoredIntent {
    attempt: u32,
    at: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredOutcome {
    attempts: u32,
    at: i64,
    /// The error; none means success (a forward call's output is the body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<NodeError>,
}

/// A step entry as stored (a successful output is the body).
#[derive(Serialize, Deserialize)]
struct StepHeader {
    index: u32,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    item: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    intent: Option<StoredIntent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<StoredOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comp_intent: Option<StoredIntent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comp_outcome: Option<StoredOutcome>,
}

fn intent(intent: &Option<Intent>) -> Option<StoredIntent> {
    intent.as_ref().map(|i| StoredIntent {
        attempt: i.attempt,
        at: unix_millis(i.at),
    })
}

fn outcome<T>(outcome: &Option<Outcome<T>>) -> Option<StoredOutcome> {
    outcome.as_ref().map(|o| StoredOutcome {
        attempts: o.attempts,
        at: unix_millis(o.at),
        error: o.result.as_ref().err().cloned(),
    })
}

/// Encodes a step entry.
pub(crate) fn encode_step(entry: &StepEntry) -> Bytes {
    let header = StepHeader {
        index: entry.step.index,
        name: entry.step.name.to_string(),
        item: entry.step.item,
        intent: intent(&entry.intent),
        outcome: outcome(&entry.outcome),
        comp_intent: intent(&entry.compensation_intent),
        comp_outcome: outcome(&entry.compensation_outcome),
    };
    document(&header, entry.output().unwrap_or_default())
}

/// Decodes a step entry.
pub(crate) fn decode_step(doc: &[u8]) -> Result<StepEntry, String> {
    let (header, body) = split(doc)?;
    let h: StepHeader =
        serde_json::from_slice(header).map_err(|e| format!("not a step entry: {e}"))?;
    let mut step = StepKey::new(h.index, h.name);
    step.item = h.item;
    let intent = |i: Option<StoredIntent>| {
        i.map(|i| Intent {
            attempt: i.attempt,
            at: from_unix_millis(i.at),
        })
    };
    Ok(StepEntry {
        step,
        intent: intent(h.intent),
        outcome: h.outcome.map(|o| Outcome {
            result: o.error.map_or_else(|| Ok(body.to_vec()), Err),
            attempts: o.attempts,
            at: from_unix_millis(o.at),
        }),
        compensation_intent: intent(h.comp_intent),
        compensation_outcome: h.comp_outcome.map(|o| Outcome {
            result: o.error.map_or(Ok(()), Err),
            attempts: o.attempts,
            at: from_unix_millis(o.at),
        }),
    })
}

fn document(header: &impl Serialize, body: &[u8]) -> Bytes {
    let mut doc = serde_json::to_vec(header).expect("a header serializes");
    doc.push(b'\n');
    doc.extend_from_slice(body);
    Bytes::from(doc)
}

fn split(doc: &[u8]) -> Result<(&[u8], &[u8]), String> {
    // Compact JSON escapes newlines in strings: the first one ends the header.
    let end = doc
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("a document without its header line")?;
    Ok((&doc[..end], &doc[end + 1..]))
}

/// Where a large document's chunks are.
#[derive(Serialize, Deserialize)]
struct Pointer {
    generation: u64,
    doc: usize,
    chunks: usize,
    len: usize,
}

/// The values one commit writes besides the head: each document under its key, those
/// over `limit` bytes as chunks with a pointer under the key.
pub(crate) struct Values<'a> {
    keys: &'a RunKeys,
    generation: u64,
    limit: usize,
    docs: usize,
    pub(crate) out: Vec<(String, Bytes)>,
}

impl<'a> Values<'a> {
    /// Values for the commit made on top of head revision `generation`.
    pub(crate) fn new(keys: &'a RunKeys, generation: u64, limit: usize) -> Self {
        Values {
            keys,
            generation,
            limit: limit.max(1),
            docs: 0,
            out: Vec::new(),
        }
    }

    /// Adds `doc` under `key`, chunked if it is over the limit.
    pub(crate) fn add(&mut self, key: String, doc: Bytes) {
        if doc.len() <= self.limit {
            self.out.push((key, doc));
            return;
        }
        let n = self.docs;
        self.docs += 1;
        let mut chunks = 0;
        for (part, chunk) in doc.chunks(self.limit).enumerate() {
            let chunk = doc.slice_ref(chunk);
            self.out
                .push((self.keys.chunk(self.generation, n, part), chunk));
            chunks += 1;
        }
        let pointer = Pointer {
            generation: self.generation,
            doc: n,
            chunks,
            len: doc.len(),
        };
        let mut value = b"@".to_vec();
        value.extend(serde_json::to_vec(&pointer).expect("a pointer serializes"));
        self.out.push((key, Bytes::from(value)));
    }
}

/// The chunks a stored value points to, if it is a pointer: their keys and total length.
pub(crate) fn chunk_keys(
    keys: &RunKeys,
    value: &[u8],
) -> Result<Option<(Vec<String>, usize)>, String> {
    let Some(pointer) = value.strip_prefix(b"@") else {
        return Ok(None);
    };
    let p: Pointer =
        serde_json::from_slice(pointer).map_err(|e| format!("not a chunk pointer: {e}"))?;
    let names = (0..p.chunks)
        .map(|part| keys.chunk(p.generation, p.doc, part))
        .collect();
    Ok(Some((names, p.len)))
}

/// The document a stored value holds, its chunks looked up in `chunks` when it is a pointer.
pub(crate) fn resolve(
    keys: &RunKeys,
    value: Bytes,
    chunks: &HashMap<String, Bytes>,
) -> Result<Bytes, String> {
    let Some((names, len)) = chunk_keys(keys, &value)? else {
        return Ok(value);
    };
    let mut doc = BytesMut::with_capacity(len);
    for name in &names {
        let chunk = chunks
            .get(name)
            .ok_or_else(|| format!("its chunk `{name}` is missing"))?;
        doc.extend_from_slice(chunk);
    }
    if doc.len() != len {
        return Err(format!(
            "its chunks hold {} bytes, its pointer says {len}",
            doc.len()
        ));
    }
    Ok(doc.freeze())
}
