//! JSON field map: byte spans of the scalar values in a body and the key that
//! holds each, so field-name rules can apply to positions found by regex.

use std::borrow::Cow;

use serde_json::Value;

/// Nesting deeper than this is not tracked (keys of deeper values are
/// attributed to the deepest tracked container).
const MAX_JSON_DEPTH: usize = 512;

#[derive(Debug, Clone, Copy)]
pub(super) struct Leaf {
    /// Index into `Fields::keys`.
    key: Option<usize>,
    /// Span of the value: for strings the raw text between the quotes.
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) string: bool,
}

/// State of the fallback walk: where to search next, misses still allowed.
struct Walk {
    cursor: usize,
    misses_left: usize,
}

/// Scalars of a parsed value that may go unfound in the body before the
/// fallback walk gives up.
const FALLBACK_MISSES: usize = 16;

pub(super) struct Fields<'a> {
    body: &'a str,
    keys: Vec<Cow<'a, str>>,
    /// Sorted by `start`, non-overlapping.
    pub(super) leaves: Vec<Leaf>,
}

impl<'a> Fields<'a> {
    pub(super) fn build(body: &'a str, json: Option<&'a Value>) -> Option<Self> {
        let json = json?;
        let mut fields = Fields {
            body,
            keys: Vec::new(),
            leaves: Vec::new(),
        };
        fields.tokenize();
        // The tokenizer read exactly the text the value was parsed from when
        // both see the same number of scalars; otherwise locate by search.
        if fields.leaves.len() != count_scalars(json, 0) {
            fields.leaves.clear();
            fields.keys.clear();
            let mut walk = Walk {
                cursor: 0,
                misses_left: FALLBACK_MISSES,
            };
            fields.walk_value(json, None, &mut walk, 0);
            fields.leaves.sort_by_key(|l| l.start);
            fields.leaves.dedup_by_key(|l| l.start);
        }
        Some(fields)
    }

    /// One lenient pass over the raw body: tracks the current key per
    /// object, emits string and number values. Never fails; junk bytes
    /// outside strings (JSONP wrappers, XSSI prefixes) are skipped.
    fn tokenize(&mut self) {
        struct Frame {
            object: bool,
            key: Option<usize>,
            want_key: bool,
        }
        let b = self.body.as_bytes();
        let mut stack: Vec<Frame> = Vec::new();
        let mut untracked = 0usize;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                c @ (b'{' | b'[') => {
                    if stack.len() >= MAX_JSON_DEPTH {
                        untracked += 1;
                    } else {
                        let object = c == b'{';
                        let inherited = stack.last().and_then(|f| f.key);
                        stack.push(Frame {
                            object,
                            key: if object { None } else { inherited },
                            want_key: object,
                        });
                    }
                    i += 1;
                }
                b'}' | b']' => {
                    if untracked > 0 {
                        untracked -= 1;
                    } else {
                        stack.pop();
                    }
                    i += 1;
                }
                b',' => {
                    if let Some(top) = stack.last_mut() {
                        top.want_key = top.object;
                    }
                    i += 1;
                }
                b'"' => {
                    let mut j = i + 1;
                    let mut escaped = false;
                    while j < b.len() && b[j] != b'"' {
                        if b[j] == b'\\' {
                            escaped = true;
                            j += 2;
                        } else {
                            j += 1;
                        }
                    }
                    if j >= b.len() {
                        break; // unterminated string: stop
                    }
                    let (start, end) = (i + 1, j);
                    match stack.last_mut() {
                        Some(top) if top.object && top.want_key && untracked == 0 => {
                            let raw = &self.body[start..end];
                            let key = if escaped {
                                serde_json::from_str::<String>(&self.body[i..=j])
                                    .map(Cow::Owned)
                                    .unwrap_or(Cow::Borrowed(raw))
                            } else {
                                Cow::Borrowed(raw)
                            };
                            self.keys.push(key);
                            top.key = Some(self.keys.len() - 1);
                            top.want_key = false;
                        }
                        Some(top) => {
                            self.leaves.push(Leaf {
                                key: top.key,
                                start,
                                end,
                                string: true,
                            });
                        }
                        None => {} // a top-level scalar: left to the fallback
                    }
                    i = j + 1;
                }
                b'-' | b'0'..=b'9' => {
                    let mut j = i + 1;
                    while j < b.len()
                        && matches!(b[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                    {
                        j += 1;
                    }
                    if let Some(top) = stack.last() {
                        self.leaves.push(Leaf {
                            key: top.key,
                            start: i,
                            end: j,
                            string: false,
                        });
                    }
                    i = j;
                }
                c if c.is_ascii_alphabetic() => {
                    while i < b.len() && b[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
    }

    /// Fallback: walk the parsed value and find each scalar in the body,
    /// searching forward from the previous one (preserve_order keeps
    /// document order). Gives up after a few misses, so a value that does
    /// not match the text costs a bounded number of scans.
    fn walk_value(&mut self, v: &'a Value, key: Option<usize>, walk: &mut Walk, depth: usize) {
        if depth > MAX_JSON_DEPTH || walk.misses_left == 0 {
            return;
        }
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    self.keys.push(Cow::Borrowed(k.as_str()));
                    let idx = self.keys.len() - 1;
                    self.walk_value(child, Some(idx), walk, depth + 1);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk_value(item, key, walk, depth + 1);
                }
            }
            Value::String(s) => {
                let quoted = serde_json::to_string(s).unwrap_or_default();
                match self.body[walk.cursor..].find(&quoted) {
                    Some(p) => {
                        let pos = walk.cursor + p;
                        self.leaves.push(Leaf {
                            key,
                            start: pos + 1,
                            end: pos + quoted.len() - 1,
                            string: true,
                        });
                        walk.cursor = pos + quoted.len();
                    }
                    None => walk.misses_left -= 1,
                }
            }
            Value::Number(n) => {
                let text = n.to_string();
                let b = self.body.as_bytes();
                let standalone = |pos: usize| {
                    let before = pos.checked_sub(1).map(|p| b[p]);
                    let after = b.get(pos + text.len()).copied();
                    !before.is_some_and(|c| c.is_ascii_digit() || c == b'.' || c == b'-')
                        && !after.is_some_and(|c| {
                            c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'E'
                        })
                };
                let found = self.body[walk.cursor..]
                    .match_indices(text.as_str())
                    .map(|(p, _)| p + walk.cursor)
                    .find(|&p| standalone(p));
                match found {
                    Some(pos) => {
                        self.leaves.push(Leaf {
                            key,
                            start: pos,
                            end: pos + text.len(),
                            string: false,
                        });
                        walk.cursor = pos + text.len();
                    }
                    None => walk.misses_left -= 1,
                }
            }
            _ => {}
        }
    }

    pub(super) fn key(&self, leaf: &Leaf) -> Option<&str> {
        leaf.key.map(|k| self.keys[k].as_ref())
    }

    pub(super) fn text(&self, leaf: &Leaf) -> &'a str {
        &self.body[leaf.start..leaf.end]
    }

    /// The leaf whose span contains `start..end`.
    fn leaf_at(&self, start: usize, end: usize) -> Option<&Leaf> {
        let idx = self.leaves.partition_point(|l| l.start <= start);
        let leaf = self.leaves.get(idx.checked_sub(1)?)?;
        (end <= leaf.end).then_some(leaf)
    }

    pub(super) fn key_at(&self, start: usize, end: usize) -> Option<&str> {
        self.leaf_at(start, end).and_then(|l| self.key(l))
    }
}

fn count_scalars(v: &Value, depth: usize) -> usize {
    if depth > MAX_JSON_DEPTH {
        return 0;
    }
    match v {
        Value::Object(map) => map.values().map(|c| count_scalars(c, depth + 1)).sum(),
        Value::Array(items) => items.iter().map(|c| count_scalars(c, depth + 1)).sum(),
        Value::String(_) | Value::Number(_) => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::test_support::*;
    use super::super::{find_pii, PiiKind};
    use super::*;

    #[test]
    fn fields_from_tokenizer_handle_nesting_escapes_and_wrappers() {
        let body = r#")]}',
{"a": {"k\"ey": "v1", "arr": [1, {"inner": "v2"}, "v3"]}, "n": -1.5e3}"#;
        let value: Value = serde_json::from_str(&body[6..]).unwrap();
        let fields = Fields::build(body, Some(&value)).unwrap();
        let pairs: Vec<(Option<&str>, &str)> = fields
            .leaves
            .iter()
            .map(|l| (fields.key(l), fields.text(l)))
            .collect();
        assert_eq!(
            pairs,
            [
                (Some("k\"ey"), "v1"),
                (Some("arr"), "1"),
                (Some("inner"), "v2"),
                (Some("arr"), "v3"),
                (Some("n"), "-1.5e3")
            ]
        );
    }

    #[test]
    fn fields_fall_back_to_the_parsed_value() {
        // The caller's value does not come from this exact text (e.g. a
        // pretty-printed copy): scalars are located by search.
        let body = "ssn was 536221234 and card 4111111111111111";
        let value = json!({"ssn": "536221234", "card": 4111111111111111u64});
        let found = find_pii(body, Some(&value));
        consistent(body, &found);
        assert_eq!(kinds(&found), [PiiKind::PaymentCard]);
        assert_eq!(found[0].field.as_deref(), Some("card"));
        // Strings must appear quoted to be located.
        let body = r#"value "536221234" here"#;
        let found = find_pii(body, Some(&value));
        assert_eq!(matched(&found), ["536221234"]);
        assert_eq!(found[0].field.as_deref(), Some("ssn"));
    }
}
