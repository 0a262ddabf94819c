//! Cached error responses (cache-poisoned denial of service, CPDoS).
//!
//! A request the origin rejects — a method-override header asking for
//! DELETE, a header larger than the origin accepts, a malformed value, a
//! path the cache normalises but the origin does not (`//x`, `/x%2e`,
//! `/a/..;/x`) — yields an error page or a redirect. If the cache stores
//! that answer under the normal URL's key, one attacker request takes the
//! URL down for everyone until the entry expires. Rampart sends each
//! trigger to a fresh key the scan proved to be one of its own, shows that
//! a clean request to that key then receives the error while yet another
//! fresh key still works, and replays it on one more key.

use async_trait::async_trait;

use super::{key_note, keyed, prove_poisoning, with_path, Attempt, Keyed, Taint};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::facts::cache_profile::Key;
use crate::facts::Needs;
use crate::finding::{Category, Severity};

pub struct CachedError;

pub static META: CheckMeta = CheckMeta {
    check: &CachedError,
    id: "cache.cached-error",
    category: Category::CachePoisoning,
    severity: Severity::Medium,
    summary: "Error responses triggered by one request are cached for everyone (CPDoS)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::CACHE_PROFILE,
};

/// Header sizes between common origin limits and common cache limits
/// (origins often stop at 4-8 KiB, CDNs accept 16-20 KiB).
const OVERSIZED_HEADER_BYTES: [usize; 2] = [4 * 1024, 12 * 1024];
/// More headers than many origins accept (100 is a common limit).
const MANY_HEADERS: usize = 120;

/// One way to make the origin fail while the cache still files the answer
/// under the victim's key.
#[derive(Debug, Clone)]
enum Trigger {
    /// Extra request headers on the victim's URL.
    Headers(Vec<(String, String)>),
    /// The victim's path rewritten (`{path}` stands for it); the cache must
    /// normalise it back to the victim's key.
    Path(&'static str),
    /// A query parameter added to the victim's URL.
    Param(&'static str, &'static str),
}

/// The triggers, each with the kind a finding reports once per endpoint.
fn triggers() -> Vec<(&'static str, Trigger)> {
    let header = |name: &str, value: String| Trigger::Headers(vec![(name.into(), value)]);
    let mut out = vec![
        (
            "method-override",
            header("X-HTTP-Method-Override", "DELETE".into()),
        ),
        ("method-override", header("X-HTTP-Method", "DELETE".into())),
        (
            "method-override",
            header("X-Method-Override", "DELETE".into()),
        ),
        (
            "method-override",
            header("X-Original-Method", "DELETE".into()),
        ),
        ("method-override", Trigger::Param("_method", "DELETE")),
    ];
    for bytes in OVERSIZED_HEADER_BYTES {
        out.push((
            "oversized-header",
            header("X-Rampart-Oversized", "a".repeat(bytes)),
        ));
    }
    out.push((
        "many-headers",
        Trigger::Headers(
            (0..MANY_HEADERS)
                .map(|i| (format!("X-Rampart-{i}"), "1".to_string()))
                .collect(),
        ),
    ));
    out.extend([
        ("meta-character", header("X-Rampart-Meta", "\\".into())),
        (
            "malformed-header",
            header("X-Forwarded-Port", "rampart".into()),
        ),
        (
            "malformed-header",
            header("X-Forwarded-Host", "rampart invalid host".into()),
        ),
        (
            "malformed-header",
            header("Accept", "rampart/unacceptable".into()),
        ),
        (
            "malformed-header",
            header("Range", "bytes=999999999-".into()),
        ),
        (
            "malformed-header",
            header("If-Match", "\"rampart-no-such-etag\"".into()),
        ),
        ("path-normalisation", Trigger::Path("/{path}")),
        ("path-normalisation", Trigger::Path("{path}/")),
        ("path-normalisation", Trigger::Path("{path}.")),
        ("path-normalisation", Trigger::Path("{path}%2e")),
        ("path-normalisation", Trigger::Path("{path};")),
        ("path-normalisation", Trigger::Path("{path}-")),
        ("path-normalisation", Trigger::Path("{path}/x-")),
        ("path-normalisation", Trigger::Path("{path}%00")),
        ("path-normalisation", Trigger::Path("/rampart/..;{path}")),
        ("path-normalisation", Trigger::Path("{upper}")),
        ("path-normalisation", Trigger::Path("{encoded-slash}")),
    ]);
    out
}

impl Trigger {
    /// The attacker's request against `key` (whose clean form the victim
    /// asks for), or `None` when it does not apply.
    fn attack(&self, keyed: &Keyed<'_>, key: &Key) -> Option<Attempt> {
        let probe = match self {
            Trigger::Headers(headers) => keyed.request(key, headers),
            Trigger::Param(name, value) => {
                let mut url = key.url.clone();
                url.query_pairs_mut().append_pair(name, value);
                keyed.request(
                    &Key {
                        url,
                        headers: key.headers.clone(),
                    },
                    &[],
                )
            }
            Trigger::Path(pattern) => {
                // Only where the key does not live in the path itself.
                if !keyed.component()?.keeps_path() {
                    return None;
                }
                let path = key.url.path();
                let rewritten = match *pattern {
                    "{upper}" => path.to_ascii_uppercase(),
                    "{encoded-slash}" => {
                        let at = path.trim_end_matches('/').rfind('/').filter(|at| *at > 0)?;
                        format!("{}%2f{}", &path[..at], &path[at + 1..])
                    }
                    pattern => pattern.replace("{path}", path),
                };
                if rewritten == path {
                    return None;
                }
                let url = with_path(&key.url, &rewritten)?;
                keyed.request(
                    &Key {
                        url,
                        headers: key.headers.clone(),
                    },
                    &[],
                )
            }
        };
        Some(Attempt {
            attack: probe,
            victim: key.clone(),
            shows: String::new(),
        })
    }

    /// How the trigger reads in a finding.
    fn describe(&self, attack_url: &str) -> (String, String) {
        match self {
            Trigger::Headers(headers) if headers.len() > 1 => (
                format!("{} extra headers", headers.len()),
                format!("{} headers", headers.len()),
            ),
            Trigger::Headers(headers) => {
                let (name, value) = &headers[0];
                let shown = if value.len() > 40 {
                    format!("{} bytes", value.len())
                } else {
                    value.clone()
                };
                (format!("{name} ({shown})"), name.clone())
            }
            Trigger::Param(name, value) => (format!("`{name}={value}`"), name.to_string()),
            Trigger::Path(_) => {
                let path = crate::engine::exchange::url_path(attack_url);
                (format!("the path `{path}`"), path.to_string())
            }
        }
    }
}

#[async_trait]
impl Check for CachedError {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let keyed = keyed(ctx, endpoint)?;
        let clean = keyed
            .reference()
            .map(|r| r.response.status)
            .ok_or(super::NO_REFERENCE)?;
        // Only a working page can be taken down.
        if clean >= 400 {
            return Err(Skip::NoSuccessfulAnswer);
        }
        // An error, or a redirect where the page normally answers.
        let broken = |status: u16| {
            status != clean && (status >= 400 || ((300..400).contains(&status) && clean < 300))
        };
        let mut drafts = Vec::new();
        let mut reported_kinds: Vec<&str> = Vec::new();
        let mut first_failure = None;
        for (kind, trigger) in triggers() {
            if reported_kinds.contains(&kind) {
                continue;
            }
            let plan = |key: &Key, _: &str| trigger.attack(&keyed, key);
            // An origin or cache may drop the connection on a trigger (an
            // oversized header); the other triggers still get their turn.
            let proven = match prove_poisoning(&keyed, plan, Taint::Status(&broken)).await {
                Ok(Some(proven)) => proven,
                Ok(None) => continue,
                Err(error) => {
                    first_failure.get_or_insert(error);
                    continue;
                }
            };
            reported_kinds.push(kind);
            let (what, parameter) = trigger.describe(&proven.attack.request.url);
            let status = proven.attack.response.status;
            let fresh = proven.control.as_ref().map_or(clean, |c| c.response.status);
            drafts.push(
                proven
                    .draft(
                        Severity::Medium,
                        &format!("Attacker request with {what}"),
                        "Clean request to the same key gets the error",
                    )
                    .title(format!(
                        "Error response cached for everyone after one request with {what} (CPDoS)"
                    ))
                    .description(format!(
                        "{what} makes the origin answer HTTP {status} and the cache stores that answer under the key a \
                         clean request uses; a fresh key still answers HTTP {fresh}. {}",
                        key_note(&keyed)
                    ))
                    .parameter(parameter)
                    .key(kind),
            );
        }
        match first_failure {
            Some(error) if drafts.is_empty() => Err(error.into()),
            _ => Ok(drafts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_are_distinct_and_bounded() {
        let all = triggers();
        assert!(all.len() >= 20);
        let many = all
            .iter()
            .find_map(|(kind, t)| match (kind, t) {
                (&"many-headers", Trigger::Headers(h)) => Some(h.len()),
                _ => None,
            })
            .unwrap();
        assert_eq!(many, MANY_HEADERS);
        let paths: Vec<&str> = all
            .iter()
            .filter_map(|(_, t)| match t {
                Trigger::Path(p) => Some(*p),
                _ => None,
            })
            .collect();
        let unique: std::collections::HashSet<&&str> = paths.iter().collect();
        assert_eq!(unique.len(), paths.len());
    }

    use crate::facts::cache_profile::fixture::{Config, KeyRule, TestCache};

    fn site(store_errors: bool) -> Config {
        Config {
            key: KeyRule::NormalisedPathAndQuery,
            store_errors,
            paths: &["/", "/contact-us"],
            links: &["/contact-us"],
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn a_path_the_cache_normalises_but_the_origin_refuses_is_a_cached_error() {
        let cache = TestCache::start(site(true)).await;
        let report = cache.scan("cache.cached-error").await;
        let finding = report
            .findings
            .iter()
            .find(|f| f.head.path == "/contact-us" && f.head.title.contains("the path"))
            .unwrap_or_else(|| panic!("{:?}", report.findings));
        assert_eq!(finding.head.confidence.as_str(), "confirmed");
        // Attack, victim, the replay's attack and victim, and the control.
        assert_eq!(finding.evidence.len(), 5);
        assert_eq!(finding.evidence[0].response.status, 404);
        assert_eq!(finding.evidence[1].response.status, 404);
        assert_eq!(finding.evidence[4].response.status, 200);

        let fixed = TestCache::start(site(false)).await;
        let report = fixed.scan("cache.cached-error").await;
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    mod on_the_shared_fixtures {
        use axum::http::HeaderMap;
        use axum::routing::get;
        use axum::Router;
        use serde_json::json;

        use super::super::*;
        use crate::checks::probe::fixtures::{
            me, reply, reply_raw, scan, serve, statuses, Scanned, Setup, SharedCache,
        };

        /// An origin whose `/api/items` refuses a DELETE override (405) and
        /// headers over 8 KiB (431), behind `cache`; `/api/me` refuses
        /// anonymous callers.
        async fn run(cache: Option<SharedCache>, origin_refuses: bool) -> Scanned {
            let origin = me().route(
                "/api/items",
                get(move |headers: HeaderMap| async move {
                    let header =
                        |name: &str| headers.get(name).map(|v| v.len()).unwrap_or_default();
                    let delete = headers
                        .get("x-http-method-override")
                        .is_some_and(|v| v == "DELETE");
                    match origin_refuses {
                        true if delete => reply(405, json!({"error": "method not allowed"})),
                        true if header("x-rampart-oversized") > 8 * 1024 => {
                            reply_raw(431, "text/plain", "Request Header Fields Too Large")
                        }
                        _ => reply(200, json!({"items": [1, 2]})),
                    }
                }),
            );
            let app: Router = match cache {
                Some(cache) => cache.in_front_of(origin),
                None => origin,
            };
            let target = serve(app).await;
            let setup = Setup::new(&[], &["GET /api/items", "GET /api/me"]);
            scan(&META, &target, setup).await
        }

        const CDN: SharedCache = SharedCache {
            keyed_headers: &[],
            stores_errors: true,
        };

        #[tokio::test]
        async fn errors_one_request_provokes_and_the_cache_keeps_are_reported_once_per_kind() {
            let outcome = run(Some(CDN), true).await;
            assert_eq!(
                outcome.keys(),
                ["method-override", "oversized-header"],
                "{:#?}",
                outcome.drafts
            );
            let oversized = &outcome.drafts[1];
            assert_eq!(
                oversized.head.parameter.as_deref(),
                Some("X-Rampart-Oversized")
            );
            assert!(
                oversized.head.description.contains("(12288 bytes)"),
                "{}",
                oversized.head.description
            );
            let statuses = statuses(oversized);
            assert_eq!(
                statuses,
                [431, 431, 431, 431, 200],
                "attack, clean victim, their replay, a fresh key"
            );
            assert!(oversized.evidence[1]
                .exchange
                .request_header("x-rampart-oversized")
                .is_none());
        }

        #[tokio::test]
        async fn caches_that_keep_errors_out_origins_that_ignore_the_triggers_or_no_cache_are_no_finding(
        ) {
            for (cache, origin_refuses) in [
                (Some(SharedCache::URL_ONLY), true),
                (Some(CDN), false),
                (None, true),
            ] {
                let outcome = run(cache, origin_refuses).await;
                assert!(
                    outcome.drafts.is_empty(),
                    "{cache:?}, {origin_refuses}: {:#?}",
                    outcome.drafts
                );
                if cache.is_none() {
                    assert_eq!(outcome.sent, 0, "no cache proven: no poisoning attempt");
                }
            }
        }
    }
}
