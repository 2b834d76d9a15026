//! The journal's records as stored values, and back.
//!
//! A value is a *document*: a compact JSON header, and for a value with bytes (an input,
//! an output) a newline and the raw bytes. A document larger than the journal's value
//! limit is stored in chunk keys written by the same commit (or, for an input, before the
//! head that names it), and its own key holds a pointer,
//! `@{"tag":…,"doc":…,"chunks":…,"len":…}`.

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

/// A run's head as stored: its record, the key of its input, and the entries changed
/// since they were last written to their own keys (their outputs are the body, in order).
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
    input: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    buffer: Vec<StepHeader>,
}

/// A run's head as read: the record, the suffix of its input key, and its buffered entries.
pub(crate) struct DecodedHead {
    pub(crate) record: RunRecord,
    pub(crate) input: String,
    pub(crate) buffer: Vec<StepEntry>,
}

/// Encodes a run's head, with `buffer`'s entries inside it.
pub(crate) fn encode_head<'a>(
    record: &RunRecord,
    input: &str,
    buffer: impl IntoIterator<Item = &'a StepEntry>,
) -> Bytes {
    let mut body = Vec::new();
    let buffer = buffer
        .into_iter()
        .map(|entry| {
            let output = entry.output().unwrap_or_default();
            body.extend_from_slice(output);
            let mut header = step_header(entry);
            header.len = Some(output.len());
            header
        })
        .collect();
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
        input: input.to_owned(),
        buffer,
    };
    document(&head, &body)
}

/// Decodes a run's head, or says why it does not decode.
pub(crate) fn decode_head(bytes: &[u8]) -> Result<DecodedHead, String> {
    let (header, mut body) = split(bytes).unwrap_or((bytes, &[]));
    // The version first: a newer stored form may not parse as this one.
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let version: Version =
        serde_json::from_slice(header).map_err(|e| format!("not a run head: {e}"))?;
    if version.v > VERSION {
        return Err(format!(
            "written by a newer onex (stored form {}, this onex reads up to {VERSION}); \
             upgrade onex to read it",
            version.v
        ));
    }
    let head: Head = serde_json::from_slice(header).map_err(|e| format!("not a run head: {e}"))?;
    let mut buffer = Vec::with_capacity(head.buffer.len());
    for header in head.buffer {
        let len = header.len.unwrap_or(0);
        if len > body.len() {
            return Err(format!(
                "its buffered step {} says its output has {len} bytes, {} are left",
                header.index,
                body.len()
            ));
        }
        let (output, rest) = body.split_at(len);
        body = rest;
        buffer.push(step_entry(header, output));
    }
    let record = RunRecord {
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
    };
    Ok(DecodedHead {
        record,
        input: head.input,
        buffer,
    })
}

/// The size a step entry takes in a head's buffer, roughly: its header and its output.
pub(crate) fn buffered_size(entry: &StepEntry) -> usize {
    fn error<T>(outcome: &Option<Outcome<T>>) -> usize {
        outcome
            .as_ref()
            .and_then(|o| o.result.as_ref().err())
            .map_or(0, |e| e.message().len() + 64)
    }
    160 + entry.step.name.len()
        + entry.output().map_or(0, <[u8]>::len)
        + error(&entry.outcome)
        + error(&entry.compensation_outcome)
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
    /// Who wrote the intent; absent in entries stored before holders were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder: Option<String>,
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
    /// In a head's buffer: the length of the output, which is in the head's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    len: Option<usize>,
}

fn intent(intent: &Option<Intent>) -> Option<StoredIntent> {
    intent.as_ref().map(|i| StoredIntent {
        attempt: i.attempt,
        at: unix_millis(i.at),
        holder: i.holder.as_deref().map(str::to_owned),
    })
}

fn outcome<T>(outcome: &Option<Outcome<T>>) -> Option<StoredOutcome> {
    outcome.as_ref().map(|o| StoredOutcome {
        attempts: o.attempts,
        at: unix_millis(o.at),
        error: o.result.as_ref().err().cloned(),
    })
}

fn step_header(entry: &StepEntry) -> StepHeader {
    StepHeader {
        index: entry.step.index,
        name: entry.step.name.to_string(),
        item: entry.step.item,
        intent: intent(&entry.intent),
        outcome: outcome(&entry.outcome),
        comp_intent: intent(&entry.compensation_intent),
        comp_outcome: outcome(&entry.compensation_outcome),
        len: None,
    }
}

/// Encodes a step entry.
pub(crate) fn encode_step(entry: &StepEntry) -> Bytes {
    document(&step_header(entry), entry.output().unwrap_or_default())
}

/// Decodes a step entry.
pub(crate) fn decode_step(doc: &[u8]) -> Result<StepEntry, String> {
    let (header, body) = split(doc)?;
    let header: StepHeader =
        serde_json::from_slice(header).map_err(|e| format!("not a step entry: {e}"))?;
    Ok(step_entry(header, body))
}

fn step_entry(h: StepHeader, body: &[u8]) -> StepEntry {
    let mut step = StepKey::new(h.index, h.name);
    step.item = h.item;
    let intent = |i: Option<StoredIntent>| {
        i.map(|i| Intent {
            attempt: i.attempt,
            at: from_unix_millis(i.at),
            holder: i.holder.map(Arc::from),
        })
    };
    StepEntry {
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
    }
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
    tag: String,
    doc: usize,
    chunks: usize,
    len: usize,
}

/// The values one commit writes besides the head: each document under its key, those
/// over `limit` bytes as chunks with a pointer under the key.
pub(crate) struct Values<'a> {
    keys: &'a RunKeys,
    tag: String,
    limit: usize,
    docs: usize,
    pub(crate) out: Vec<(String, Bytes)>,
}

impl<'a> Values<'a> {
    /// Values whose chunks are named after `tag`, unique to one commit.
    pub(crate) fn new(keys: &'a RunKeys, tag: String, limit: usize) -> Self {
        Values {
            keys,
            tag,
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
            self.out.push((self.keys.chunk(&self.tag, n, part), chunk));
            chunks += 1;
        }
        let pointer = Pointer {
            tag: self.tag.clone(),
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
        .map(|part| keys.chunk(&p.tag, p.doc, part))
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
