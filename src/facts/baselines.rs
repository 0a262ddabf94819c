//! The baselines: every read-only endpoint requested once per caller before
//! the checks run, which later checks compare their probes with.
//!
//! Memory is bounded by design. A baseline is kept whole while the
//! baselines' memory budget lasts ([`DEFAULT_BASELINE_MEMORY`]; a body
//! counts with the parsed JSON it may grow into). Past the budget a baseline
//! is kept [compact](Exchange::compact) — request, status and headers, no
//! body — and [`Baselines::materialise`] sends its request again right
//! before the endpoint's checks run, for as long as they run. What is read
//! from every baseline (the stack's fingerprint, the identities' facts,
//! signed links) is read while the whole exchange is in hand, as it
//! arrives. So the baselines cost at most the budget plus a small,
//! body-independent amount per endpoint, however many endpoints the API
//! has and however large its answers.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use url::Url;

use crate::discover::Endpoint;
use crate::engine::{Caller, Engine, Exchange, Probe};

/// Memory the whole baselines may hold (bodies, their text and parsed
/// JSON) before later ones are kept compact.
pub const DEFAULT_BASELINE_MEMORY: usize = 48 * 1024 * 1024;

/// Parsed JSON takes several times the text it came from; a baseline is
/// charged for it up front, since any check may parse it later.
const JSON_GROWTH: usize = 4;

/// The baseline exchanges of each endpoint, keyed by its label (`GET
/// /path`): one per caller, identities first, then anonymous. Reads like
/// the map it wraps.
#[derive(Debug)]
pub struct Baselines {
    by_endpoint: BTreeMap<String, Vec<Arc<Exchange>>>,
    budget: usize,
    used: usize,
    compacted: usize,
}

impl Default for Baselines {
    fn default() -> Self {
        Baselines::new()
    }
}

impl Deref for Baselines {
    type Target = BTreeMap<String, Vec<Arc<Exchange>>>;

    fn deref(&self) -> &Self::Target {
        &self.by_endpoint
    }
}

impl Baselines {
    pub fn new() -> Self {
        Baselines::with_budget(DEFAULT_BASELINE_MEMORY)
    }

    /// Baselines that keep at most `budget` bytes of bodies whole.
    pub fn with_budget(budget: usize) -> Self {
        Baselines {
            by_endpoint: BTreeMap::new(),
            budget,
            used: 0,
            compacted: 0,
        }
    }

    /// Keeps the baseline of endpoint `label`: whole while the budget
    /// lasts, compact after.
    pub fn keep(&mut self, label: String, exchange: Arc<Exchange>) {
        let cost = retained_cost(&exchange);
        let kept = if self.used + cost <= self.budget {
            self.used += cost;
            exchange
        } else {
            self.compacted += 1;
            Arc::new(exchange.compact())
        };
        self.by_endpoint.entry(label).or_default().push(kept);
    }

    /// Bytes of bodies (with their expected JSON) kept whole.
    pub fn retained_bytes(&self) -> usize {
        self.used
    }

    /// Baselines kept compact for lack of budget.
    pub fn compacted(&self) -> usize {
        self.compacted
    }

    /// The endpoint's baselines whole: those kept whole as they are, the
    /// compact ones requested again (fresh cache buster, same caller and
    /// headers). A baseline whose request fails again is left out, as a
    /// failed baseline always was; the engine counts the failure.
    pub async fn materialise(
        &self,
        engine: &Engine,
        endpoint: &Endpoint,
        base_path: &str,
    ) -> Vec<Arc<Exchange>> {
        let Some(kept) = self.by_endpoint.get(&endpoint.label()) else {
            return Vec::new();
        };
        let url = endpoint
            .concrete_path_and_query(base_path)
            .and_then(|path| engine.url_for(&path).ok());
        let mut whole = Vec::with_capacity(kept.len());
        for exchange in kept {
            if !exchange.is_compact() {
                whole.push(Arc::clone(exchange));
                continue;
            }
            let Some(url) = &url else { continue };
            let caller = match &exchange.request.identity {
                Some(name) => Caller::Identity(name.clone()),
                None => Caller::Anonymous,
            };
            if let Ok(again) = engine
                .send(baseline_probe(engine, endpoint, url, caller))
                .await
            {
                whole.push(again);
            }
        }
        whole
    }
}

/// The baseline request of `endpoint` at `url` as `caller`: the endpoint's
/// method and sample headers, on a fresh cache-busted URL, so a baseline
/// never creates or reads a cache entry that real users (or the other
/// callers' baselines) share.
pub fn baseline_probe(engine: &Engine, endpoint: &Endpoint, url: &Url, caller: Caller) -> Probe {
    let mut probe = Probe::get(engine.buster().bust(url))
        .as_caller(caller)
        .template(Some(endpoint.path.clone()));
    probe.method = endpoint.method.clone();
    probe.headers = endpoint.sample_headers();
    probe
}

/// What keeping `exchange` whole costs: its body, the JSON it may be
/// parsed into, and a lossy text copy when it is not UTF-8.
fn retained_cost(exchange: &Exchange) -> usize {
    let body = &exchange.response.body;
    let looks_json = exchange
        .content_type()
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"))
        || body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| matches!(b, b'{' | b'['));
    let mut cost = body.len();
    if looks_json {
        cost += JSON_GROWTH * body.len();
    }
    if std::str::from_utf8(body).is_err() {
        cost += body.len();
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::exchange;

    #[test]
    fn baselines_past_the_budget_are_kept_compact() {
        let body = format!("{{\"data\":\"{}\"}}", "x".repeat(1000));
        let mut baselines = Baselines::with_budget(12_000);
        for i in 0..5 {
            let url = format!("http://h/r{i}?rampart_cb={i}");
            baselines.keep(format!("GET /r{i}"), exchange(&url, None, 200, &[], &body));
        }
        // Each body costs about 5 KB with its JSON: two fit.
        assert_eq!(baselines.compacted(), 3);
        assert!(baselines.retained_bytes() <= 12_000);
        let compact = &baselines["GET /r4"][0];
        assert!(compact.is_compact() && compact.response.body.is_empty());
        assert_eq!(compact.response.status, 200);
        assert!(!baselines["GET /r0"][0].is_compact());
        assert_eq!(baselines.values().flatten().count(), 5);
    }
}
