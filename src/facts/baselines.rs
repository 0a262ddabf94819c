//! The baselines: every read-only endpoint requested once per caller before
//! the checks run, which later checks compare their probes with.
//!
//! Memory is bounded by design. A baseline is kept whole — its request,
//! head and body bytes, never the JSON tree or text copy reading it built
//! ([`Exchange::unparsed`]) — while the baselines' memory budget lasts
//! ([`DEFAULT_BASELINE_MEMORY`]). Past the budget a baseline is kept
//! [compact](Exchange::compact) — request, status and headers, no body —
//! and [`Baselines::materialise`] sends its request again right before the
//! endpoint's checks run, for as long as they run. The checks get copies
//! of their own to read ([`Baselines::materialise`]), so what they parse
//! goes with the endpoint's last check. What is read from every baseline
//! (the stack's fingerprint, the identities' facts, signed links) is read
//! while the whole exchange is in hand, as it arrives. So the baselines
//! cost at most the budget plus a small, body-independent amount per
//! endpoint, however many endpoints the API has and however large its
//! answers; the answers being read cost `--concurrency` times one parsed
//! answer.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use url::Url;

use crate::discover::Endpoint;
use crate::engine::{Caller, Engine, Exchange, Probe};

/// Memory the whole baselines may hold (bodies and heads) before later
/// ones are kept compact.
pub const DEFAULT_BASELINE_MEMORY: usize = 16 * 1024 * 1024;

/// What one kept exchange costs beyond the bytes of its strings: the
/// structure itself and the allocator's share of each string.
const EXCHANGE_OVERHEAD: usize = 512;

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
    /// lasts, compact after; never with what reading it built.
    pub fn keep(&mut self, label: String, exchange: Arc<Exchange>) {
        let cost = retained_cost(&exchange);
        let kept = if self.used + cost <= self.budget {
            self.used += cost;
            Arc::new(exchange.unparsed())
        } else {
            self.compacted += 1;
            Arc::new(exchange.compact())
        };
        self.by_endpoint.entry(label).or_default().push(kept);
    }

    /// Every baseline, as a copy to read: what a reader of all of them
    /// parses goes with each copy, instead of staying with every baseline
    /// for the rest of the scan.
    pub fn each_read(&self) -> impl Iterator<Item = Exchange> + '_ {
        self.by_endpoint
            .values()
            .flatten()
            .map(|exchange| exchange.unparsed())
    }

    /// Bytes of bodies and heads kept whole.
    pub fn retained_bytes(&self) -> usize {
        self.used
    }

    /// Baselines kept compact for lack of budget.
    pub fn compacted(&self) -> usize {
        self.compacted
    }

    /// The endpoint's baselines whole: copies of those kept whole (what the
    /// endpoint's checks parse in them goes with the copies), the compact
    /// ones requested again (fresh cache buster, same caller and headers).
    /// A baseline whose request fails again is left out, as a failed
    /// baseline always was; the engine counts the failure.
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
                whole.push(Arc::new(exchange.unparsed()));
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
    probe.method = endpoint.method.clone().into();
    probe.headers = endpoint.sample_headers();
    probe
}

/// What keeping `exchange` whole costs: its body and its head (URL,
/// headers), as [`Exchange::unparsed`] keeps them.
fn retained_cost(exchange: &Exchange) -> usize {
    let request = &exchange.request;
    exchange.response.body.len()
        + request.url.len()
        + request.body.as_ref().map_or(0, |body| body.len())
        + request
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum::<usize>()
        + exchange.response.headers.text_len()
        + exchange.endpoint_template.as_ref().map_or(0, String::len)
        + EXCHANGE_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{endpoint, engine, exchange};

    #[test]
    fn baselines_past_the_budget_are_kept_compact() {
        let body = format!("{{\"data\":\"{}\"}}", "x".repeat(1000));
        let mut baselines = Baselines::with_budget(4_000);
        for i in 0..5 {
            let url = format!("http://h/r{i}?rampart_cb={i}");
            baselines.keep(format!("GET /r{i}"), exchange(&url, None, 200, &[], &body));
        }
        // Each costs its 1 KB body, its head and the exchange's overhead,
        // about 1.6 KB: two fit.
        assert_eq!(baselines.compacted(), 3);
        assert!(baselines.retained_bytes() <= 4_000);
        let compact = &baselines["GET /r4"][0];
        assert!(compact.is_compact() && compact.response.body.is_empty());
        assert_eq!(compact.response.status, 200);
        assert!(!baselines["GET /r0"][0].is_compact());
        assert_eq!(baselines.values().flatten().count(), 5);
    }

    #[tokio::test]
    async fn a_kept_baseline_holds_its_body_never_what_reading_it_built() {
        // Checks parse every answer as it arrives (and again as they probe):
        // the tree takes several times the body, and 10,000 endpoints' trees
        // were most of a large scan's memory.
        let body = r#"{"items":[{"id":1,"name":"lamp"},{"id":2,"name":"desk"}]}"#;
        let answer = exchange("http://h/items?rampart_cb=1", None, 200, &[], body);
        assert!(answer.body_json().is_some() && answer.is_parsed());
        let mut baselines = Baselines::new();
        baselines.keep("GET /items".into(), Arc::clone(&answer));
        let kept = &baselines["GET /items"][0];
        assert!(!kept.is_compact() && !kept.is_parsed());
        assert_eq!(kept.body_text(), body);
        assert_eq!(
            baselines.retained_bytes(),
            retained_cost(&answer),
            "charged for its bytes"
        );
        assert!(retained_cost(&answer) < body.len() + 1024);
        // The checks read copies: what they parse goes with them.
        let engine = engine();
        let whole = baselines
            .materialise(&engine, &endpoint("GET /items"), "")
            .await;
        assert_eq!(whole.len(), 1);
        assert!(whole[0].body_json().is_some());
        drop(whole);
        assert!(!baselines["GET /items"][0].is_parsed());
        assert_eq!(
            engine.requests_sent(),
            0,
            "a whole baseline is not sent again"
        );
        // So do readers of every baseline.
        for read in baselines.each_read() {
            assert!(read.body_json().is_some());
        }
        assert!(!baselines["GET /items"][0].is_parsed());
    }
}
