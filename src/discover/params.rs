//! Hidden parameters: query parameters and headers an endpoint reads
//! although no document names them (`?debug=1`, `?owner_id=`, `X-User-Id`).
//!
//! Guessing them one request per name would cost hundreds of requests per
//! endpoint, so names go in batches, in the spirit of Arjun and Param
//! Miner: one request carries a whole batch, and only a batch that changes
//! the answer is split in halves until the names that matter are left.
//! Answers are compared as the scan's volatility allows (request ids and
//! times set aside). A control batch of made-up names comes first: an
//! endpoint that answers differently to any unknown parameter (strict
//! validation) teaches nothing and is left alone.
//!
//! What is found becomes a parameter of the endpoint, with no sample (so
//! nothing else sends it unasked): the authorization checks try identifier
//! parameters with other identities' values and the cache checks probe
//! query parameters for being unkeyed.

use std::sync::Arc;

use futures::stream::{self, StreamExt};

use super::{is_credential_header, Discovered, Endpoint, ParamLocation, Parameter};
use crate::engine::{Caller, Engine, Exchange, Probe};
use crate::facts::cache_profile::{CacheProfile, KeyComponent, Keying};
use crate::facts::{Baselines, Volatility};

/// Query parameter names APIs read without documenting them.
pub const QUERY_NAMES: &[&str] = &[
    "debug",
    "test",
    "admin",
    "internal",
    "verbose",
    "trace",
    "preview",
    "draft",
    "all",
    "show_all",
    "include_deleted",
    "fields",
    "include",
    "expand",
    "user_id",
    "userId",
    "uid",
    "owner_id",
    "account_id",
    "customer_id",
    "tenant",
    "tenant_id",
    "org_id",
    "role",
    "is_admin",
    "as_user",
    "impersonate",
    "format",
    "callback",
    "env",
];

/// Header names APIs (or the proxies in front of them) read without
/// documenting them. None carries a credential.
pub const HEADER_NAMES: &[&str] = &[
    "X-Debug",
    "X-User-Id",
    "X-User",
    "X-Role",
    "X-Admin",
    "X-Tenant-Id",
    "X-Internal",
    "X-Forwarded-For",
    "X-Real-IP",
    "X-Client-IP",
    "X-Original-URL",
    "X-Rewrite-URL",
    "X-Api-Version",
    "Accept-Version",
];

/// At most this many endpoints are mined.
const MAX_ENDPOINTS: usize = 8;
/// At most this many requests per endpoint and location.
const MAX_REQUESTS: usize = 12;

/// A hidden parameter found on an endpoint, with the answer that showed it.
#[derive(Debug, Clone)]
pub struct Hidden {
    pub endpoint: String,
    pub name: String,
    pub location: ParamLocation,
    pub exchange: Arc<Exchange>,
}

/// One endpoint's mining: its URL, its reference answer and who asked.
struct Miner<'a> {
    engine: &'a Engine,
    volatility: &'a Volatility,
    endpoint: &'a Endpoint,
    path: String,
    reference: Arc<Exchange>,
    caller: Caller,
    sent: std::sync::atomic::AtomicUsize,
}

impl Miner<'_> {
    /// The answer with `names` added at `location` (each set to `1`), or
    /// `None` when the request could not be sent or the budget is spent.
    async fn ask(&self, names: &[&str], location: ParamLocation) -> Option<Arc<Exchange>> {
        if self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= MAX_REQUESTS {
            return None;
        }
        let mut url = self.engine.url_for(&self.path).ok()?;
        let mut probe_headers = self.endpoint.sample_headers();
        match location {
            ParamLocation::Query => {
                let mut pairs = url.query_pairs_mut();
                for name in names {
                    pairs.append_pair(name, "1");
                }
            }
            _ => probe_headers.extend(names.iter().map(|n| (n.to_string(), "1".to_string()))),
        }
        let mut probe = Probe::get(self.engine.buster().bust(&url))
            .as_caller(self.caller.clone())
            .template(Some(self.endpoint.path.clone()));
        probe.headers = probe_headers;
        self.engine.send(probe).await.ok()
    }

    fn changed(&self, answer: &Exchange) -> bool {
        !self
            .volatility
            .same_data(&self.endpoint.label(), &self.reference, answer)
    }

    /// The names of `batch` that change the answer, found by halving.
    async fn mine(
        &self,
        batch: Vec<&str>,
        location: ParamLocation,
    ) -> Vec<(String, Arc<Exchange>)> {
        let mut found = Vec::new();
        let Some(answer) = self.ask(&batch, location).await else {
            return found;
        };
        if !self.changed(&answer) {
            return found;
        }
        let mut pending = vec![(batch, answer)];
        while let Some((names, answer)) = pending.pop() {
            if names.len() == 1 {
                found.push((names[0].to_string(), answer));
                continue;
            }
            let (left, right) = names.split_at(names.len() / 2);
            for half in [left.to_vec(), right.to_vec()] {
                match self.ask(&half, location).await {
                    Some(answer) if self.changed(&answer) => pending.push((half, answer)),
                    Some(_) => {}
                    None => return found,
                }
            }
        }
        found
    }
}

/// The endpoints worth mining: reads that answered `caller` with success,
/// at most [`MAX_ENDPOINTS`] (the cache must be profiled on these).
pub fn candidates(
    discovered: &Discovered,
    baselines: &Baselines,
    caller: &Caller,
) -> Vec<Endpoint> {
    mining_plan(discovered, baselines, caller)
        .into_iter()
        .map(|(at, _, _)| discovered.endpoints[at].clone())
        .collect()
}

fn mining_plan(
    discovered: &Discovered,
    baselines: &Baselines,
    caller: &Caller,
) -> Vec<(usize, String, Arc<Exchange>)> {
    let base_path = &discovered.base_path;
    discovered
        .endpoints
        .iter()
        .enumerate()
        .filter(|(_, e)| e.method == "GET")
        .filter_map(|(at, e)| {
            let reference = baselines.get(&e.label())?.iter().find(|x| {
                x.request.identity.as_deref()
                    == match caller {
                        Caller::Identity(name) => Some(name.as_str()),
                        Caller::Anonymous => None,
                    }
            })?;
            let useful =
                (200..300).contains(&reference.response.status) && !reference.response.truncated;
            let path = e.concrete_path_and_query(base_path)?;
            useful.then(|| (at, path, Arc::clone(reference)))
        })
        .take(MAX_ENDPOINTS)
        .collect()
}

/// A guessed name may change what a cache stores: a path is mined only
/// where no cache was seen storing its answers, or where the buster query
/// is proven to be part of the cache key (each guess then has a key of its
/// own that no visitor reads).
fn cache_safe(cache: &CacheProfile, label: &str) -> bool {
    cache.path(label).is_some_and(|path| {
        !path.is_broken()
            && match &path.keying {
                Keying::NotCached(_) => true,
                Keying::Keyed(component) => *component == KeyComponent::Query,
                Keying::Unsafe(_) => false,
            }
    })
}

/// Mines the [`candidates`] that `cache` says are safe to send guesses to,
/// `concurrency` at a time, and adds what it finds to `discovered`'s
/// endpoints.
pub async fn mine(
    engine: &Engine,
    discovered: &mut Discovered,
    baselines: &Baselines,
    volatility: &Volatility,
    cache: &CacheProfile,
    caller: &Caller,
    concurrency: usize,
) -> Vec<Hidden> {
    let candidates: Vec<(usize, String, Arc<Exchange>)> =
        mining_plan(discovered, baselines, caller)
            .into_iter()
            .filter(|(at, _, _)| cache_safe(cache, &discovered.endpoints[*at].label()))
            .collect();
    let endpoints = discovered.endpoints.clone();
    let found = stream::iter(candidates)
        .map(|(at, path, reference)| {
            let endpoint = &endpoints[at];
            async move {
                let miner = Miner {
                    engine,
                    volatility,
                    endpoint,
                    path,
                    reference,
                    caller: caller.clone(),
                    sent: Default::default(),
                };
                let token = engine.buster().next_token();
                let control = [format!("rampart{token}a"), format!("rampart{token}b")];
                let control: Vec<&str> = control.iter().map(String::as_str).collect();
                let mut hidden = Vec::new();
                for (location, names) in [
                    (ParamLocation::Query, QUERY_NAMES),
                    (ParamLocation::Header, HEADER_NAMES),
                ] {
                    miner.sent.store(0, std::sync::atomic::Ordering::Relaxed);
                    // An endpoint that reacts to any unknown name teaches nothing.
                    match miner.ask(&control, location).await {
                        Some(answer) if !miner.changed(&answer) => {}
                        _ => continue,
                    }
                    let batch: Vec<&str> = names
                        .iter()
                        .copied()
                        .filter(|n| {
                            !endpoint
                                .parameters
                                .iter()
                                .any(|p| p.name.eq_ignore_ascii_case(n))
                        })
                        .filter(|n| location != ParamLocation::Header || !is_credential_header(n))
                        .collect();
                    for (name, exchange) in miner.mine(batch, location).await {
                        hidden.push((at, name, location, exchange));
                    }
                }
                hidden
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut out = Vec::new();
    for (at, name, location, exchange) in found.into_iter().flatten() {
        let endpoint = &mut discovered.endpoints[at];
        // Found by guessing: the endpoint answers without it too.
        endpoint.parameters.push(Parameter {
            required: false,
            ..Parameter::new(&name, location, None)
        });
        out.push(Hidden {
            endpoint: endpoint.label(),
            name,
            location,
            exchange,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::serve;
    use crate::discover::EndpointSource;
    use axum::extract::Query;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use std::collections::HashMap;

    /// `/items` reads `debug` and the `X-Role` header; `/strict` refuses any
    /// parameter it does not know; `/plain` reads nothing.
    fn app() -> axum::Router {
        axum::Router::new()
            .route(
                "/items",
                get(
                    |Query(q): Query<HashMap<String, String>>, h: HeaderMap| async move {
                        let debug = q.contains_key("debug");
                        let role = h.get("x-role").is_some();
                        format!(r#"{{"items": [1, 2], "debug": {debug}, "role": {role}}}"#)
                    },
                ),
            )
            .route(
                "/strict",
                get(|Query(q): Query<HashMap<String, String>>| async move {
                    if q.keys().any(|k| k != "rampart_cb") {
                        (axum::http::StatusCode::BAD_REQUEST, "unknown parameter")
                    } else {
                        (axum::http::StatusCode::OK, "[1]")
                    }
                }),
            )
            .route("/plain", get(|| async { "[1, 2, 3]" }))
    }

    #[tokio::test]
    async fn batches_are_halved_down_to_the_names_that_change_the_answer() {
        let target = serve(app()).await;
        let mut config = crate::engine::EngineConfig::new(target.url.clone());
        config.rate_per_second = None;
        let engine = Engine::new(config).unwrap();
        let mut discovered = Discovered::of(
            ["/items", "/strict", "/plain"]
                .iter()
                .map(|p| Endpoint::discovered(p, EndpointSource::Spec))
                .collect(),
        );
        let mut baselines = Baselines::new();
        for endpoint in &discovered.endpoints {
            let url = engine.url_for(&endpoint.path).unwrap();
            let exchange = engine
                .send(Probe::get(engine.buster().bust(&url)))
                .await
                .unwrap();
            baselines.keep(endpoint.label(), exchange);
        }
        let mining = candidates(&discovered, &baselines, &Caller::Anonymous);
        let cache = CacheProfile::learn(&engine, &mining, &baselines).await;
        let before = engine.requests_sent();
        let hidden = mine(
            &engine,
            &mut discovered,
            &baselines,
            &Volatility::default(),
            &cache,
            &Caller::Anonymous,
            4,
        )
        .await;
        let mut found: Vec<(String, String, ParamLocation)> = hidden
            .iter()
            .map(|h| (h.endpoint.clone(), h.name.clone(), h.location))
            .collect();
        found.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            found,
            vec![
                ("GET /items".into(), "X-Role".into(), ParamLocation::Header),
                ("GET /items".into(), "debug".into(), ParamLocation::Query),
            ]
        );
        assert!(discovered.endpoints[0]
            .parameters
            .iter()
            .any(|p| p.name == "debug" && p.sample.is_none()));
        assert!(
            discovered.endpoints[1].parameters.is_empty(),
            "strict teaches nothing"
        );
        // Controls and batches: 4 per endpoint, plus two halvings of about
        // five requests each on /items.
        let sent = engine.requests_sent() - before;
        assert!(sent <= 3 * 4 + 2 * 10, "{sent} requests");
    }
}
