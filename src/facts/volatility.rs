//! Volatile answers: endpoints whose answer changes between two identical
//! requests (a timestamp, a request id, a nonce, a counter).
//!
//! A check that compares two answers — "is this the same data?" — must not
//! read a new request id as new data. The scan repeats one baseline request
//! per endpoint right after the baseline, and once more when the repeat
//! differs from it: the JSON fields that differ between the two repeats,
//! sent back to back, are the endpoint's volatile fields, and comparisons
//! ignore them ([`Volatility::same_data`]), saying so in the evidence
//! ([`Volatility::note`]). What else differs between the baseline and the
//! repeats is a change of data during the baseline.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use serde_json::Value;

use super::watch::Watch;
use super::Baselines;
use crate::discover::Endpoint;
use crate::engine::{Caller, Engine, Exchange, Probe};

/// How one endpoint's answer varies between identical requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Varies {
    /// Byte for byte the same (or never compared).
    #[default]
    Not,
    /// These JSON fields change (paths like `/meta/request_id`, array items
    /// as `*`); the rest is stable.
    Fields(BTreeSet<String>),
    /// A body that is not JSON changed: only masked comparisons hold.
    Text,
}

/// What the scan learned about every endpoint's volatility.
#[derive(Debug, Clone, Default)]
pub struct Volatility {
    by_endpoint: BTreeMap<String, Varies>,
}

/// What repeating the baseline taught.
#[derive(Default)]
pub struct Learned {
    pub volatility: Volatility,
    /// The few endpoints watched for a change of data, chosen among the
    /// repeats as they came (only those are kept, so repeating every
    /// endpoint holds no more answers than the requests in flight).
    pub watch: Watch,
    /// Endpoints whose data changed between the baseline and the repeats.
    pub changed_during_baseline: Vec<String>,
}

/// The baseline request `first` of `endpoint` once more.
async fn repeat(engine: &Engine, first: &Exchange, endpoint: &Endpoint) -> Option<Arc<Exchange>> {
    engine
        .send(replay(engine, first, Some(endpoint))?)
        .await
        .ok()
}

/// Where a leaf or a value sits in a JSON document; array items as `*`.
fn paths(value: &Value, at: &str, out: &mut BTreeMap<String, Vec<Value>>, depth: usize) {
    if depth > 16 || out.len() > 5000 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                paths(item, &format!("{at}/{key}"), out, depth + 1);
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(200) {
                paths(item, &format!("{at}/*"), out, depth + 1);
            }
        }
        leaf => out.entry(at.to_string()).or_default().push(leaf.clone()),
    }
}

/// The fields whose values differ between two answers of one request.
fn changed_fields(a: &Value, b: &Value) -> BTreeSet<String> {
    let (mut left, mut right) = (BTreeMap::new(), BTreeMap::new());
    paths(a, "", &mut left, 0);
    paths(b, "", &mut right, 0);
    let keys: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    keys.into_iter()
        .filter(|k| left.get(*k) != right.get(*k))
        .cloned()
        .collect()
}

/// `value` with every field in `volatile` blanked.
fn without(value: &Value, volatile: &BTreeSet<String>, at: &str, depth: usize) -> Value {
    if volatile.contains(at) {
        return Value::Null;
    }
    if depth > 16 {
        return value.clone();
    }
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        without(v, volatile, &format!("{at}/{k}"), depth + 1),
                    )
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| without(v, volatile, &format!("{at}/*"), depth + 1))
                .collect(),
        ),
        leaf => leaf.clone(),
    }
}

/// Text with what commonly varies between identical requests replaced by
/// one placeholder: UUIDs, long hex and digit runs, ISO timestamps.
fn masked_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let hexish = run.len() >= 8 && run.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        let digits = run.chars().filter(|c| c.is_ascii_digit()).count();
        if hexish && digits > 0 || digits >= 6 {
            out.push('#');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '+') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Whether the baseline answer `first` carried other data than its repeat
/// `once`. A baseline kept compact (past the memory budget) has no body to
/// compare field by field: it tells only when the answer never varies.
fn changed_since(varies: &Varies, first: &Exchange, once: &Exchange) -> bool {
    if first.is_compact() {
        return first.response.status != once.response.status
            || (*varies == Varies::Not && !first.same_body(once));
    }
    !varies.same_data(first, once)
}

impl Volatility {
    /// Repeats, for every endpoint with a successful baseline, the first
    /// such request (same caller, fresh buster), and once more back to back
    /// when the repeat differs: what differs between the two repeats is
    /// volatile, what else differs from the baseline changed meanwhile.
    pub async fn learn(
        engine: &Engine,
        endpoints: &[Endpoint],
        baselines: &Baselines,
        concurrency: usize,
    ) -> Learned {
        let jobs: Vec<(String, Arc<Exchange>, &Endpoint)> = endpoints
            .iter()
            .filter_map(|endpoint| {
                let label = endpoint.label();
                let first = baselines
                    .get(&label)?
                    .iter()
                    .find(|e| (200..300).contains(&e.response.status))?;
                Some((label, Arc::clone(first), endpoint))
            })
            .collect();
        let mut learned = Learned::default();
        let repeated = stream::iter(jobs)
            .map(|(label, first, endpoint)| async move {
                let once = repeat(engine, &first, endpoint).await;
                let twice = match &once {
                    Some(once) if !once.same_body(&first) => repeat(engine, &first, endpoint).await,
                    _ => None,
                };
                (label, first, once, twice)
            })
            .buffered(concurrency.max(1));
        futures::pin_mut!(repeated);
        // Each endpoint's answers are judged as they come and let go.
        while let Some((label, first, once, twice)) = repeated.next().await {
            let Some(once) = once else { continue };
            let varies = match &twice {
                Some(twice) => Varies::between(&once, twice),
                None => Varies::Not,
            };
            if changed_since(&varies, &first, &once) {
                learned.changed_during_baseline.push(label.clone());
            }
            learned.volatility.by_endpoint.insert(label, varies);
            let latest = twice.unwrap_or(once);
            learned.watch.offer(&latest, endpoints, &learned.volatility);
        }
        learned
    }

    /// How many endpoints vary between identical requests.
    pub fn volatile_count(&self) -> usize {
        self.by_endpoint
            .values()
            .filter(|v| **v != Varies::Not)
            .count()
    }

    /// How the endpoint labelled `label` (`GET /path`) varies.
    pub fn of(&self, label: &str) -> &Varies {
        static NOT: Varies = Varies::Not;
        self.by_endpoint.get(label).unwrap_or(&NOT)
    }

    /// Records how `label` varies (for tests and for what a check learns).
    pub fn set(&mut self, label: &str, varies: Varies) {
        self.by_endpoint.insert(label.to_string(), varies);
    }

    /// Two answers of the endpoint carry the same data: same status, and
    /// bodies equal once its volatile parts are set aside.
    pub fn same_data(&self, label: &str, a: &Exchange, b: &Exchange) -> bool {
        self.of(label).same_data(a, b)
    }

    /// What a finding's evidence should say about a comparison on a
    /// volatile endpoint, if it is one.
    pub fn note(&self, label: &str) -> Option<String> {
        self.of(label).note()
    }
}

impl Varies {
    /// How two answers to one request differ.
    pub fn between(a: &Exchange, b: &Exchange) -> Varies {
        if a.response.body == b.response.body {
            return Varies::Not;
        }
        match (a.body_json(), b.body_json()) {
            (Some(x), Some(y)) => Varies::Fields(changed_fields(x, y)),
            _ => Varies::Text,
        }
    }

    /// See [`Volatility::same_data`].
    pub fn same_data(&self, a: &Exchange, b: &Exchange) -> bool {
        if a.response.status != b.response.status || a.response.truncated || b.response.truncated {
            return false;
        }
        if a.response.body == b.response.body {
            return true;
        }
        match self {
            Varies::Not => false,
            Varies::Fields(fields) => match (a.body_json(), b.body_json()) {
                (Some(x), Some(y)) => without(x, fields, "", 0) == without(y, fields, "", 0),
                _ => false,
            },
            Varies::Text => masked_text(a.body_text()) == masked_text(b.body_text()),
        }
    }

    /// The answer's body with what varies set aside, as text: what two
    /// answers are compared by when they are compared as text.
    pub fn stable_text(&self, exchange: &Exchange) -> String {
        match (self, exchange.body_json()) {
            (Varies::Fields(fields), Some(json)) => without(json, fields, "", 0).to_string(),
            (Varies::Text, _) => masked_text(exchange.body_text()),
            _ => exchange.body_text().to_string(),
        }
    }

    /// "Compared without …" for evidence, when something varies.
    pub fn note(&self) -> Option<String> {
        match self {
            Varies::Not => None,
            Varies::Fields(fields) => {
                let names: Vec<&str> = fields
                    .iter()
                    .take(6)
                    .map(|f| f.trim_start_matches('/'))
                    .collect();
                Some(format!(
                    "compared without {} (they change between identical requests)",
                    names.join(", ")
                ))
            }
            Varies::Text => Some(
                "compared with ids, timestamps and counters masked (the answer changes between \
                 identical requests)"
                    .into(),
            ),
        }
    }
}

/// The request of a captured exchange, to be sent again: same method, URL
/// (with a fresh buster) and caller, and the sample headers of its
/// endpoint when it has one.
pub fn replay(engine: &Engine, exchange: &Exchange, endpoint: Option<&Endpoint>) -> Option<Probe> {
    let url = url::Url::parse(&exchange.request.url).ok()?;
    let caller = match &exchange.request.identity {
        Some(name) => Caller::Identity(name.clone()),
        None => Caller::Anonymous,
    };
    let mut probe = Probe::get(engine.buster().rebust(&url))
        .as_caller(caller)
        .template(exchange.endpoint_template.clone());
    probe.method = exchange.request.method.clone();
    probe.headers = endpoint.map(Endpoint::sample_headers).unwrap_or_default();
    Some(probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::exchange;

    /// The anonymous caller's answer at `URL`.
    fn answer(status: u16, body: &str) -> Arc<Exchange> {
        exchange(URL, None, status, &[], body)
    }

    const URL: &str = "http://h/api/me?rampart_cb=1";

    #[test]
    fn a_baseline_kept_compact_is_compared_by_its_digest() {
        let first = answer(200, r#"{"user":"ana"}"#);
        let compact = first.compact();
        let same = answer(200, r#"{"user":"ana"}"#);
        let other = answer(200, r#"{"user":"bob"}"#);
        assert!(!changed_since(&Varies::Not, &compact, &same));
        assert!(changed_since(&Varies::Not, &compact, &other));
        // Where the answer varies, a body-less baseline cannot tell.
        let fields = Varies::Fields(BTreeSet::from(["/at".to_string()]));
        assert!(!changed_since(&fields, &compact, &other));
        assert!(changed_since(&fields, &first, &other));
    }

    #[test]
    fn only_the_fields_that_changed_are_set_aside() {
        let a = answer(
            200,
            r#"{"user":"ana","meta":{"request_id":"r1","at":"10:00"},"items":[{"n":1,"seen":5}]}"#,
        );
        let b = answer(
            200,
            r#"{"user":"ana","meta":{"request_id":"r2","at":"10:01"},"items":[{"n":1,"seen":6}]}"#,
        );
        let varies = Varies::between(&a, &b);
        let fields: BTreeSet<String> = ["/meta/request_id", "/meta/at", "/items/*/seen"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(varies, Varies::Fields(fields));
        // Another caller's answer with other volatile values: same data.
        let c = exchange(
            URL,
            Some("bob"),
            200,
            &[],
            r#"{"user":"ana","meta":{"request_id":"r9","at":"11:00"},"items":[{"n":1,"seen":9}]}"#,
        );
        assert!(varies.same_data(&a, &c));
        // Other data: not the same.
        let d = answer(
            200,
            r#"{"user":"bob","meta":{"request_id":"r9","at":"11:00"},"items":[{"n":1,"seen":9}]}"#,
        );
        assert!(!varies.same_data(&a, &d));
        assert!(!Varies::Not.same_data(&a, &c));
        let note = varies.note().unwrap();
        assert!(note.contains("meta/request_id") && note.contains("identical requests"));
    }

    #[test]
    fn text_answers_are_compared_with_ids_and_times_masked() {
        let a = answer(200, "<p>ok at 2026-12-01T10:00:00Z id 9f8e7d6c5b4a3921</p>");
        let b = answer(200, "<p>ok at 2026-12-01T10:00:07Z id 0a1b2c3d4e5f6789</p>");
        let varies = Varies::between(&a, &b);
        assert_eq!(varies, Varies::Text);
        assert!(varies.same_data(&a, &b));
        let c = answer(200, "<p>denied at 2026-12-01T10:00:07Z id 0a</p>");
        assert!(!varies.same_data(&a, &c));
        let other_status = answer(500, "<p>ok at 2026-12-01T10:00:00Z id 9f8e7d6c5b4a3921</p>");
        assert!(!varies.same_data(&a, &other_status));
    }
}
