//! The limits of a spec document, checked on its text before a parser sees it.
//!
//! libyaml (under `serde_yaml`) loads a whole document as events before anything looks at
//! its depth, keeps a few hundred bytes per event, and rechecks every open flow collection
//! at each token: text of nested `[` or `{a: ` takes time quadratic in its size to reject,
//! and aliases replay their anchor's values as often as they are named. So the text is
//! scanned first, the way libyaml's scanner tokenizes it (quoted and plain scalars,
//! comments, block scalars, the indentation of block collections, flow collections), and a
//! document nesting deeper than [`MAX_DEPTH`] or holding more than [`MAX_VALUES`] values is
//! rejected there, in one linear pass. JSON is YAML's flow syntax, so JSON text is held to
//! the same limits with the same messages. Values that aliases add are counted while the
//! document is built (`parse::yaml_value`).
//!
//! Where the scan cannot tell what libyaml will do with text that is not valid YAML, it
//! counts rather than skips: an invalid document may be rejected here for its depth
//! instead of by the parser, never let through to be slow.

use crate::error::{SpecError, SpecErrorKind};

/// How deep collections may nest: serde_json's and serde_yaml's own recursion limit, so
/// every document they would accept passes.
pub(crate) const MAX_DEPTH: usize = 128;

/// How many values (scalars, and collections) a document may hold, aliases expanded. A
/// spec of 10,000 thunks holds about 150,000; serde_yaml builds a million in a fraction of a
/// second, with a few hundred bytes each.
pub(crate) const MAX_VALUES: usize = 1_000_000;

/// Checks `text` against [`MAX_DEPTH`] and [`MAX_VALUES`].
pub(crate) fn check(text: &str) -> Result<(), SpecError> {
    Scan::new(text).run()
}

/// The error for a document holding more than [`MAX_VALUES`] values; `at` says where the
/// count passed it.
pub(crate) fn too_many_values(at: &str) -> String {
    format!("the document holds more than {MAX_VALUES} values{at}")
}

struct Scan<'a> {
    text: &'a [u8],
    pos: usize,
    /// Line and column (in characters) of `pos`, from 0.
    line: usize,
    col: usize,
    /// Columns of the open block collections, innermost last (libyaml's indent stack).
    indents: Vec<usize>,
    /// Open flow collections.
    flow: usize,
    values: usize,
    /// Column of the first token of the node being read on this line, before its `:`:
    /// where a block mapping starts when the `:` comes.
    node_col: Option<usize>,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text).as_bytes();
        Scan {
            text,
            pos: 0,
            line: 0,
            col: 0,
            indents: Vec::new(),
            flow: 0,
            values: 0,
            node_col: None,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) {
        if let Some(&b) = self.text.get(self.pos) {
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
                self.col = 0;
            } else if b & 0xC0 != 0x80 {
                // One column per character, not per UTF-8 byte.
                self.col += 1;
            }
        }
    }

    /// Whether the byte `ahead` of `pos` is a space, a tab, a line break or the end.
    fn blank_or_end(&self, ahead: usize) -> bool {
        matches!(self.peek(ahead), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
    }

    fn flow_indicator(b: Option<u8>) -> bool {
        matches!(b, Some(b',' | b'[' | b']' | b'{' | b'}'))
    }

    fn error(&self, what: String) -> SpecError {
        SpecError::new(
            SpecErrorKind::Parse,
            "",
            format!("{what} at line {} column {}", self.line + 1, self.col + 1),
        )
    }

    fn count(&mut self, values: usize) -> Result<(), SpecError> {
        self.values += values;
        if self.values > MAX_VALUES {
            return Err(self.error(too_many_values("")));
        }
        Ok(())
    }

    fn nest(&mut self) -> Result<(), SpecError> {
        if self.indents.len() + self.flow > MAX_DEPTH {
            return Err(self.error(format!(
                "the document nests more than {MAX_DEPTH} levels deep"
            )));
        }
        self.count(2)
    }

    /// A block collection starts at `col` unless one already starts there or further right.
    fn roll(&mut self, col: usize) -> Result<(), SpecError> {
        if self.flow == 0 && self.indents.last().is_none_or(|&top| col > top) {
            self.indents.push(col);
            return self.nest();
        }
        Ok(())
    }

    fn node_start(&mut self) {
        if self.flow == 0 && self.node_col.is_none() {
            self.node_col = Some(self.col);
        }
    }

    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|b| b != b'\n') {
            self.bump();
        }
    }

    /// Skips blanks, line breaks and comments up to the next token.
    fn skip_to_token(&mut self) {
        loop {
            match self.peek(0) {
                Some(b' ' | b'\t' | b'\r') => self.bump(),
                Some(b'\n') => {
                    self.bump();
                    self.node_col = None;
                }
                // Only reached at a token's start, so the `#` follows a blank or a line start.
                Some(b'#') => self.skip_line(),
                _ => return,
            }
        }
    }

    fn run(mut self) -> Result<(), SpecError> {
        loop {
            self.skip_to_token();
            let Some(b) = self.peek(0) else {
                return Ok(());
            };
            if self.flow == 0 {
                // A token left of a block collection's column closes it.
                while self.indents.last().is_some_and(|&top| top > self.col) {
                    self.indents.pop();
                }
            }
            if self.col == 0 {
                if b == b'%' {
                    self.skip_line();
                    continue;
                }
                let marker = self.text[self.pos..].starts_with(b"---")
                    || self.text[self.pos..].starts_with(b"...");
                if marker && self.blank_or_end(3) {
                    self.indents.clear();
                    self.node_col = None;
                    (0..3).for_each(|_| self.bump());
                    continue;
                }
            }
            match b {
                b'[' | b'{' => {
                    self.node_start();
                    self.flow += 1;
                    self.nest()?;
                    self.bump();
                }
                b']' | b'}' => {
                    self.flow = self.flow.saturating_sub(1);
                    self.bump();
                }
                b',' => self.bump(),
                b'-' if self.flow == 0 && self.blank_or_end(1) => {
                    self.roll(self.col)?;
                    self.node_col = None;
                    self.bump();
                }
                b'?' if self.blank_or_end(1) => {
                    self.roll(self.col)?;
                    self.node_col = None;
                    self.bump();
                }
                b':' if self.flow > 0 || self.blank_or_end(1) => {
                    let key = self.node_col.take().unwrap_or(self.col);
                    self.roll(key)?;
                    self.bump();
                }
                b'*' | b'&' | b'!' => {
                    // An alias is a value; an anchor or a tag comes before one.
                    self.node_start();
                    if b == b'*' {
                        self.count(1)?;
                    }
                    while !(self.blank_or_end(0)
                        || (self.flow > 0 && Self::flow_indicator(self.peek(0))))
                    {
                        self.bump();
                    }
                }
                b'|' | b'>' if self.flow == 0 => {
                    self.count(1)?;
                    self.block_scalar();
                }
                b'\'' | b'"' => {
                    self.node_start();
                    self.count(1)?;
                    self.quoted(b);
                }
                _ => {
                    self.node_start();
                    self.count(1)?;
                    self.plain();
                }
            }
        }
    }

    /// A single- or double-quoted scalar, over as many lines as it takes.
    fn quoted(&mut self, quote: u8) {
        self.bump();
        while let Some(b) = self.peek(0) {
            if b == quote {
                self.bump();
                // `''` is a quote inside a single-quoted scalar.
                if quote == b'\'' && self.peek(0) == Some(b'\'') {
                    self.bump();
                    continue;
                }
                return;
            }
            if quote == b'"' && b == b'\\' {
                self.bump();
            }
            self.bump();
        }
    }

    /// A plain scalar, with the lines that continue it.
    fn plain(&mut self) {
        loop {
            let mut after_blank = false;
            while let Some(b) = self.peek(0) {
                let ends = match b {
                    b'\n' => true,
                    b':' => {
                        self.blank_or_end(1)
                            || (self.flow > 0 && Self::flow_indicator(self.peek(1)))
                    }
                    b'#' => after_blank,
                    _ => self.flow > 0 && Self::flow_indicator(Some(b)),
                };
                if ends {
                    break;
                }
                after_blank = matches!(b, b' ' | b'\t');
                self.bump();
            }
            if self.peek(0) != Some(b'\n') || !self.continues() {
                return;
            }
        }
    }

    /// At the line break inside a plain scalar: whether the next line that is not blank
    /// continues it (libyaml: in a flow collection, or right of the block collection's
    /// column; not a comment nor a document marker). If so, moves to its first character.
    fn continues(&mut self) -> bool {
        let mut at = self.pos;
        let (mut lines, mut col) = (0, 0);
        while let Some(&b) = self.text.get(at) {
            match b {
                b'\n' => (lines, col) = (lines + 1, 0),
                b' ' | b'\t' | b'\r' => col += 1,
                _ => break,
            }
            at += 1;
        }
        let rest = &self.text[at..];
        let ends = rest.is_empty()
            || rest[0] == b'#'
            || (col == 0 && (rest.starts_with(b"---") || rest.starts_with(b"...")))
            || (self.flow == 0 && self.indents.last().is_some_and(|&top| col <= top))
            || (self.flow == 0 && self.indents.is_empty() && col == 0);
        if ends {
            return false;
        }
        self.pos = at;
        self.line += lines;
        self.col = col;
        true
    }

    /// A literal (`|`) or folded (`>`) block scalar: its header line, then every line that
    /// is blank or indented at least as much as its first, which must be right of the
    /// enclosing block collection.
    fn block_scalar(&mut self) {
        self.skip_line();
        let floor = self.indents.last().copied();
        let mut content: Option<usize> = None;
        while self.peek(0) == Some(b'\n') {
            let start = self.pos + 1;
            let indent = self.text[start..]
                .iter()
                .take_while(|&&b| b == b' ')
                .count();
            let blank = self.text[start + indent..]
                .iter()
                .take_while(|&&b| b != b'\n')
                .all(|b| b.is_ascii_whitespace());
            let inside = match content {
                _ if blank => true,
                Some(at) => indent >= at,
                None => floor.is_none_or(|top| indent > top),
            };
            if !inside {
                return;
            }
            if !blank && content.is_none() {
                content = Some(indent);
            }
            self.bump();
            self.skip_line();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_error(text: &str) -> Option<String> {
        check(text).err().map(|e| e.message)
    }

    #[test]
    fn ordinary_specs_pass() {
        for text in [
            "workflow_id: w\nsteps:\n  - step_id: s\n    thunks:\n      - { thunk_id: a, target_node_type: A, dependencies: [$input] }\noutput: a\n",
            r#"{"workflow_id": "w", "steps": [{"step_id": "s", "thunks": []}]}"#,
            "a: |\n  [[[[ not [ a flow\n  {{{{\nb: >-\n  ]]]]\n",
            "a: 'it''s [ quoted'\nb: \"[ \\\" [\"\nc: plain [ text # [ comment\n",
            "key: a plain scalar\n  continued [[[[ on the next line\nnext: 1\n",
            "- &anchor [1, 2]\n- *anchor\n- !tag x\n",
            "---\na: 1\n...\n---\nb: [2]\n",
        ] {
            assert_eq!(check(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn depth_is_counted_in_flow_and_block_collections_alike() {
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(check(&at_limit), Ok(()));
        let message = "the document nests more than 128 levels deep";
        for deep in [
            "[".repeat(MAX_DEPTH + 1),
            "{a: ".repeat(MAX_DEPTH + 1),
            "{\"a\":".repeat(MAX_DEPTH + 1),
            "- ".repeat(MAX_DEPTH + 1),
            (0..=MAX_DEPTH)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect(),
            format!("a: b\n? {}", "[".repeat(MAX_DEPTH)),
        ] {
            let found = depth_error(&deep).unwrap_or_default();
            assert!(
                found.starts_with(message),
                "{found:?} for {:?}",
                &deep[..40]
            );
        }
        assert_eq!(
            depth_error(&"[".repeat(1000)).unwrap(),
            format!("{message} at line 1 column 129")
        );
    }

    #[test]
    fn quotes_comments_and_plain_text_cannot_hide_flow_collections() {
        // In a flow collection a plain scalar ends at `[`, even on its next line.
        let hidden = format!("[a\n 'b {}", "[".repeat(MAX_DEPTH));
        assert!(depth_error(&hidden).is_some());
        // A quote inside a plain scalar is text: the `: [` after it is a value.
        let hidden = format!("a 'b: {}", "[".repeat(MAX_DEPTH));
        assert!(depth_error(&hidden).is_some());
        // A quote on a line that continues a plain scalar is text, and the scalar ends
        // where a line starts left of its block collection.
        let hidden = format!("key: value\n  'x\n? {}", "[".repeat(MAX_DEPTH));
        assert!(depth_error(&hidden).is_some());
    }

    #[test]
    fn values_are_counted() {
        let many = format!("[{}1]", "1,".repeat(MAX_VALUES));
        let e = depth_error(&many).unwrap();
        assert!(
            e.starts_with("the document holds more than 1000000 values at line 1"),
            "{e}"
        );
        let fewer = format!("[{}1]", "1,".repeat(MAX_VALUES - 10));
        assert_eq!(check(&fewer), Ok(()));
    }
}
