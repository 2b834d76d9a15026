//! Where a run's records live in the journal bucket: one key prefix per run.

use onex_runtime::journal::StepKey;

/// The keys of one run, all under `<run token>.`, so that the run's records are listed
/// and purged by one subject filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunKeys {
    token: String,
}

impl RunKeys {
    pub(crate) fn new(run_id: &str) -> Self {
        RunKeys {
            token: token(run_id),
        }
    }

    /// The run's head: its record and lease, rewritten by every commit.
    pub(crate) fn head(&self) -> String {
        format!("{}.h", self.token)
    }

    /// The run's input and graph fingerprint, written once when the run starts, under a
    /// `nonce` of that start (the head names it), so that a start that loses the race to
    /// create the run overwrites nothing.
    pub(crate) fn input(&self, nonce: &str) -> String {
        format!("{}.i.{nonce}", self.token)
    }

    /// The entry of one step call.
    pub(crate) fn step(&self, step: &StepKey) -> String {
        match step.item {
            Some(item) => format!("{}.s.{}.{item}", self.token, step.index),
            None => format!("{}.s.{}", self.token, step.index),
        }
    }

    /// Chunk `part` of the `doc`-th large value written by the commit tagged `tag`:
    /// the head revision it is made on (only one commit succeeds on a revision), or the
    /// input nonce of a start.
    pub(crate) fn chunk(&self, tag: &str, doc: usize, part: usize) -> String {
        format!("{}.c.{tag}.{doc}.{part}", self.token)
    }

    /// The prefix of the run's step keys.
    pub(crate) fn step_prefix(&self) -> String {
        format!("{}.s.", self.token)
    }

    /// The prefix of the run's chunk keys.
    pub(crate) fn chunk_prefix(&self) -> String {
        format!("{}.c.", self.token)
    }

    /// Every key of the run: `<token>.>`.
    pub(crate) fn all(&self) -> String {
        format!("{}.>", self.token)
    }
}

/// The keys of every run's head: `*.h`.
pub(crate) const ALL_HEADS: &str = "*.h";

/// A run id as one key token: itself when it is made of ASCII letters, digits, `-` and
/// `_`; otherwise `=` and the hex of its UTF-8 bytes (`=` never starts a plain id, so two
/// ids never share a token).
pub(crate) fn token(run_id: &str) -> String {
    let plain = !run_id.is_empty()
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        return run_id.to_owned();
    }
    let mut encoded = String::with_capacity(1 + 2 * run_id.len());
    encoded.push('=');
    for byte in run_id.bytes() {
        encoded.push_str(&format!("{byte:02x}"));
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_and_others_encoded_apart() {
        assert_eq!(token("order-42_a"), "order-42_a");
        assert_eq!(token("a.b"), "=612e62");
        assert_eq!(token(""), "=");
        assert_ne!(token("=61"), token("a"));
        let keys = RunKeys::new("a b");
        assert_eq!(keys.head(), "=612062.h");
        assert_eq!(keys.step(&StepKey::new(3, "x").item(7)), "=612062.s.3.7");
        assert_eq!(keys.chunk("9", 1, 2), "=612062.c.9.1.2");
        assert_eq!(keys.input("f00"), "=612062.i.f00");
    }
}
