//! The description's text as a JSON value: JSON, or YAML converted to JSON.

use serde_json::Value;

use super::{truncate_chars, SpecError};

/// Keeps error messages one short line even when a parser quotes input back.
const MAX_MESSAGE_CHARS: usize = 200;
/// serde_yaml refuses to nest deeper than 128 anyway.
const MAX_YAML_FLOW_NESTING: usize = 128;

pub(super) fn parse_document(text: &str) -> Result<Value, SpecError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return serde_json::from_str::<Value>(text).or_else(|json_err| {
            // YAML flow mappings (`{openapi: 3.0.0, …}`) start with `{` too; if
            // that also fails, the JSON error is the one that explains the input.
            parse_yaml(text).map_err(|_| SpecError::NotJsonOrYaml(one_line(&json_err)))
        });
    }
    parse_yaml(text).map_err(SpecError::NotJsonOrYaml)
}

/// Whether unclosed `[`/`{` ever exceed `limit`. Brackets inside strings are
/// counted too; a real document would need `limit` unbalanced ones in a row.
fn flow_nesting_exceeds(text: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    for byte in text.bytes() {
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn parse_yaml(text: &str) -> Result<Value, String> {
    // libyaml tokenizes the whole document before serde_yaml's own depth limit
    // applies, and each token costs time proportional to the flow nesting
    // level: 100k nested `[` take tens of seconds. Such documents would be
    // rejected after that anyway, so reject them up front.
    if flow_nesting_exceeds(text, MAX_YAML_FLOW_NESTING) {
        return Err(format!(
            "nesting deeper than {MAX_YAML_FLOW_NESTING} levels"
        ));
    }
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| one_line(&e))?;
    // `<<: *anchor` merge keys are common in hand-written specs. A malformed
    // merge is left as-is rather than rejecting the whole document.
    let _ = value.apply_merge();
    Ok(yaml_to_json(value))
}

/// serde_yaml's mapping is insertion-ordered and serde_json's `preserve_order`
/// keeps it that way, so document order survives the conversion.
fn yaml_to_json(value: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                // JSON has no NaN/Infinity; `.nan`/`.inf` become null.
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .filter_map(|(k, v)| Some((yaml_key(k)?, yaml_to_json(v))))
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

/// YAML keys may be scalars of any type (`200:` in responses is an integer).
/// Collection keys have no JSON equivalent and are dropped.
fn yaml_key(key: serde_yaml::Value) -> Option<String> {
    use serde_yaml::Value as Y;
    match key {
        Y::String(s) => Some(s),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        Y::Null => Some("null".to_owned()),
        Y::Tagged(tagged) => yaml_key(tagged.value),
        Y::Sequence(_) | Y::Mapping(_) => None,
    }
}

fn one_line(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_chars(&collapsed, MAX_MESSAGE_CHARS)
}
