//! Reading answers side by side: whether two answers are the same answer
//! (once the probe's own reflected input and the cache buster are set
//! aside), and which items a list answer holds and whose they are.

use crate::facts::values;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::engine::Exchange;

/// Token overlap (Dice coefficient) above which two bodies count as one answer.
const SAME_ANSWER: f64 = 0.9;

static BUSTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"rampart_cb(=|%3D|%3d)[A-Za-z0-9_-]*").expect("valid regex"));

/// The forms a reflected value takes in a body: as sent, JSON-escaped,
/// URL-encoded (both ways), HTML-escaped.
fn reflected_forms(value: &str) -> Vec<String> {
    let mut forms = vec![value.to_string()];
    if let Ok(json) = serde_json::to_string(value) {
        // Exactly the surrounding quotes: the value may end in an escaped one.
        if let Some(inner) = json.strip_prefix('"').and_then(|j| j.strip_suffix('"')) {
            forms.push(inner.to_string());
        }
    }
    forms.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect());
    forms.push(crate::discover::encode_path_segment(value));
    forms.push(
        value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;"),
    );
    forms.push(value.replace('"', "&quot;").replace('\'', "&#x27;"));
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

/// The body with the reflected values and cache busters blanked out.
pub fn normalise(body: &str, reflected: &[&str]) -> String {
    let mut text = BUSTER.replace_all(body, "rampart_cb").into_owned();
    // Longest first, so a payload is blanked before the base value inside it.
    let mut values: Vec<&str> = reflected.iter().copied().filter(|v| v.len() >= 3).collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for value in values {
        for form in reflected_forms(value) {
            if form.len() >= 3 {
                text = text.replace(&form, "\u{1}");
            }
        }
    }
    text
}

/// A JSON document's outline: object keys and array lengths, not values.
fn outline(value: &Value, depth: usize, out: &mut String) {
    if depth > 4 {
        return;
    }
    match value {
        Value::Object(map) => {
            out.push('{');
            for (key, item) in map {
                out.push_str(key);
                out.push(':');
                outline(item, depth + 1, out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push_str(&format!("[{}:", items.len()));
            if let Some(first) = items.first() {
                outline(first, depth + 1, out);
            }
            out.push(']');
        }
        Value::String(_) => out.push('s'),
        Value::Number(_) => out.push('n'),
        Value::Bool(_) => out.push('b'),
        Value::Null => out.push('0'),
    }
}

fn tokens(text: &str) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for token in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        *counts.entry(token).or_insert(0) += 1;
    }
    counts
}

/// How much two texts share, 0 to 1 (Dice coefficient over word tokens).
pub fn overlap(a: &str, b: &str) -> f64 {
    let (ta, tb) = (tokens(a), tokens(b));
    let total: usize = ta.values().sum::<usize>() + tb.values().sum::<usize>();
    if total == 0 {
        return if a.trim() == b.trim() { 1.0 } else { 0.0 };
    }
    let common: usize = ta
        .iter()
        .map(|(token, n)| tb.get(token).map_or(0, |m| (*n).min(*m)))
        .sum();
    2.0 * common as f64 / total as f64
}

/// The same answer: same status, and the same body once the `reflected`
/// values (what the requests themselves sent) and cache busters are set
/// aside — identical, or of the same JSON outline with nearly all the same
/// words.
pub fn similar(a: &Exchange, b: &Exchange, reflected: &[&str]) -> bool {
    if a.response.status != b.response.status {
        return false;
    }
    let (na, nb) = (
        normalise(a.body_text(), reflected),
        normalise(b.body_text(), reflected),
    );
    if na == nb {
        return true;
    }
    if let (Some(ja), Some(jb)) = (a.body_json(), b.body_json()) {
        let (mut oa, mut ob) = (String::new(), String::new());
        outline(ja, 0, &mut oa);
        outline(jb, 0, &mut ob);
        if oa != ob {
            return false;
        }
    }
    let (la, lb) = (na.len().max(1) as f64, nb.len().max(1) as f64);
    la.min(lb) / la.max(lb) >= 0.8 && overlap(&na, &nb) >= SAME_ANSWER
}

/// The items of a list answer: who owns them and what identifies them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Items {
    pub count: usize,
    pub ids: BTreeSet<String>,
    pub owners: BTreeSet<String>,
}

/// Keys under which APIs name an object's owner.
const OWNER_KEYS: &[&str] = &[
    "owner",
    "ownerid",
    "user",
    "userid",
    "username",
    "createdby",
    "author",
    "authorid",
    "customer",
    "customerid",
    "account",
    "accountid",
    "tenant",
    "tenantid",
    "org",
    "orgid",
    "email",
    "login",
];

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(map) => map
            .iter()
            .find(|(k, _)| matches!(values::normalise(k).as_str(), "id" | "username" | "name"))
            .and_then(|(_, v)| text(v)),
        _ => None,
    }
}

/// The first array of objects in a list answer: the body itself, or under
/// a wrapper key (`data`, `items`, `results`, `Items`, …).
fn list(value: &Value) -> Option<&Vec<Value>> {
    match value {
        Value::Array(items) if items.iter().all(Value::is_object) => Some(items),
        Value::Object(map) => map.values().find_map(|v| match v {
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                Some(items)
            }
            _ => None,
        }),
        _ => None,
    }
}

/// The items of a list answer, when it is one.
pub fn items(exchange: &Exchange) -> Option<Items> {
    if !(200..300).contains(&exchange.response.status) {
        return None;
    }
    let json = exchange.body_json()?;
    let list = match json {
        Value::Object(map) if map.values().all(|v| !v.is_array()) => return None,
        other => list(other)?,
    };
    let mut items = Items {
        count: list.len(),
        ..Items::default()
    };
    for item in list {
        let Value::Object(map) = item else { continue };
        let id = map
            .iter()
            .find(|(k, _)| {
                let k = values::normalise(k);
                k == "id"
                    || k == "pk"
                    || k == "uuid"
                    || k == "key"
                    || k.ends_with("id") && !OWNER_KEYS.contains(&k.as_str())
            })
            .and_then(|(_, v)| text(v))
            .unwrap_or_else(|| item.to_string());
        items.ids.insert(id);
        for (key, value) in map {
            if OWNER_KEYS.contains(&values::normalise(key).as_str()) {
                if let Some(owner) = text(value) {
                    items.owners.insert(owner);
                }
            }
        }
    }
    Some(items)
}

/// What a widened answer showed beyond the ordinary one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widening {
    /// Items the ordinary answer did not hold.
    pub extra: usize,
    /// Owners of those items whom the ordinary answer never showed.
    pub foreign_owners: Vec<String>,
}

/// `probe` lists more items than `base`, among them ones `base` did not.
pub fn widened(base: &Items, probe: &Items) -> Option<Widening> {
    let extra = probe.ids.difference(&base.ids).count();
    (probe.count > base.count && extra > 0).then(|| Widening {
        extra,
        foreign_owners: probe.owners.difference(&base.owners).cloned().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::checks::probe::fixtures::exchange;

    /// The answer to one request for the same list of items.
    fn answer(status: u16, body: &str) -> Arc<Exchange> {
        exchange("http://h/api/items?rampart_cb=1", None, status, &[], body)
    }

    #[test]
    fn reflected_input_and_busters_do_not_make_answers_differ() {
        let a = answer(
            404,
            r#"{"error": "no item named abc' AND 'x'='x and nothing else", "url": "/items?rampart_cb=k1"}"#,
        );
        let b = answer(
            404,
            r#"{"error": "no item named abc' AND 'x'='y and nothing else", "url": "/items?rampart_cb=k2"}"#,
        );
        assert!(similar(&a, &b, &["abc' AND 'x'='x", "abc' AND 'x'='y"]));
        assert_eq!(
            normalise(a.body_text(), &["abc' AND 'x'='x"]),
            normalise(b.body_text(), &["abc' AND 'x'='y"])
        );
        // A reflection JSON-escaped in the body is blanked like a plain one.
        let escaped = r#"{"q": "say \"hi\" now"}"#;
        assert_eq!(
            normalise(escaped, &["\"hi\""]),
            "{\"q\": \"say \u{1} now\"}"
        );
    }

    #[test]
    fn different_data_is_a_different_answer_and_small_noise_is_not() {
        let one = answer(200, r#"[{"id": 1, "title": "Tea"}]"#);
        let none = answer(200, "[]");
        let two = answer(
            200,
            r#"[{"id": 1, "title": "Tea"}, {"id": 2, "title": "Pot"}]"#,
        );
        assert!(!similar(&one, &none, &[]));
        assert!(!similar(&one, &two, &[]));
        let long = |stamp: &str| {
            format!(
                r#"{{"id": 1, "title": "A long descriptive title of the item", "body": "{}", "served_at": "{stamp}"}}"#,
                "lorem ipsum dolor sit amet ".repeat(8)
            )
        };
        let first = answer(200, &long("2026-01-01T00:00:01Z"));
        let second = answer(200, &long("2026-01-01T00:00:02Z"));
        assert!(similar(&first, &second, &[]));
        let other_status = answer(500, &long("2026-01-01T00:00:01Z"));
        assert!(!similar(&first, &other_status, &[]));
    }

    #[test]
    fn list_answers_are_read_as_items_with_owners_and_widening_is_seen() {
        let mine = answer(
            200,
            r#"{"items": [{"order_id": "o1", "owner": "alice"}], "count": 1}"#,
        );
        let all = answer(
            200,
            r#"{"items": [{"order_id": "o1", "owner": "alice"}, {"order_id": "o2", "owner": "bob"}], "count": 2}"#,
        );
        let (mine, all) = (items(&mine).unwrap(), items(&all).unwrap());
        assert_eq!(mine.count, 1);
        assert_eq!(all.owners.len(), 2);
        let widening = widened(&mine, &all).expect("widened");
        assert_eq!(widening.extra, 1);
        assert_eq!(widening.foreign_owners, ["bob"]);
        assert!(widened(&all, &mine).is_none());
        assert!(items(&answer(200, r#"{"id": 1}"#)).is_none());
        assert!(items(&answer(500, "[]")).is_none());
    }
}
