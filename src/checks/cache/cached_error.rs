//! Cached error responses (cache-poisoned denial of service, CPDoS).
//!
//! A request the origin rejects — a method-override header asking for
//! DELETE, a header larger than the origin accepts — yields an error page.
//! If the cache stores that error under the normal URL's key, one attacker
//! request takes the URL down for everyone until the entry expires. Rampart
//! sends the trigger to a fresh busted URL and shows that a clean request to
//! that URL then receives the error while a fresh URL still works.

use async_trait::async_trait;

use super::poisonable_url;
use crate::checks::probe::{poison, Taint};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
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

fn triggers() -> Vec<(&'static str, String, String)> {
    vec![
        (
            "method-override",
            "X-HTTP-Method-Override".into(),
            "DELETE".into(),
        ),
        ("method-override", "X-HTTP-Method".into(), "DELETE".into()),
        (
            "method-override",
            "X-Method-Override".into(),
            "DELETE".into(),
        ),
        (
            "oversized-header",
            "X-Rampart-Oversized".into(),
            "a".repeat(OVERSIZED_HEADER_BYTES[0]),
        ),
        (
            "oversized-header",
            "X-Rampart-Oversized".into(),
            "a".repeat(OVERSIZED_HEADER_BYTES[1]),
        ),
        ("meta-character", "X-Rampart-Meta".into(), "\\".into()),
    ]
}

#[async_trait]
impl Check for CachedError {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let url = poisonable_url(ctx, endpoint)?;
        let caller = Caller::Anonymous;
        let Some(clean) = ctx.baseline(&caller) else {
            return Err(Skip::Missing("no anonymous baseline"));
        };
        if !(200..300).contains(&clean.response.status) {
            return Err(Skip::NoSuccessfulAnswer);
        }
        let mut drafts = Vec::new();
        let mut reported_kinds: Vec<&str> = Vec::new();
        for (kind, header, value) in triggers() {
            if reported_kinds.contains(&kind) {
                continue;
            }
            let target = ctx.fresh(&url);
            let attack = ctx.request(
                endpoint,
                &target,
                &caller,
                &[(header.clone(), value.clone())],
            );
            let taint = Taint::Status(&|status| status >= 400);
            let Some(poisoned) = poison(ctx, endpoint, attack, &target, taint).await? else {
                continue;
            };
            let fresh = ctx.get(endpoint, &ctx.fresh(&url), &caller, &[]).await?;
            if fresh.response.status >= 400 {
                continue;
            }
            reported_kinds.push(kind);
            let shown = if value.len() > 40 {
                format!("{} bytes", value.len())
            } else {
                value.clone()
            };
            drafts.push(
                poisoned
                    .draft(
                        Severity::Medium,
                        &format!("Attacker request with {header}"),
                        "Clean request to the same URL gets the error",
                    )
                    .title(format!(
                        "Error response cached for everyone after one request with {header} (CPDoS)"
                    ))
                    .description(format!(
                        "{header} ({shown}) makes the origin answer HTTP {} and the cache stores that error under the \
                         plain URL's key; a fresh URL still answers HTTP {}.",
                        poisoned.attack.response.status, fresh.response.status
                    ))
                    .parameter(header.clone())
                    .key(kind)
                    .evidence("Clean request to a fresh URL still works", &fresh, None),
            );
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use axum::routing::get;
    use axum::Router;
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{
        me, reply, reply_raw, scan, serve, Scanned, Setup, SharedCache,
    };

    /// An origin whose `/api/items` refuses a DELETE override (405) and
    /// headers over 8 KiB (431), behind `cache`; `/api/me` refuses
    /// anonymous callers.
    async fn run(cache: Option<SharedCache>, origin_refuses: bool) -> Scanned {
        let origin = me().route(
            "/api/items",
            get(move |headers: HeaderMap| async move {
                let header = |name: &str| headers.get(name).map(|v| v.len()).unwrap_or_default();
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
        assert_eq!(oversized.parameter.as_deref(), Some("X-Rampart-Oversized"));
        assert!(
            oversized.description.contains("(12288 bytes)"),
            "{}",
            oversized.description
        );
        let statuses: Vec<u16> = oversized
            .evidence
            .iter()
            .map(|e| e.exchange.response.status)
            .collect();
        assert_eq!(statuses, [431, 431, 200], "attack, clean victim, fresh URL");
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
