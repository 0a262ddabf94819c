//! Unkeyed header poisoning.
//!
//! Frameworks build absolute links, redirects and script URLs from headers
//! such as `X-Forwarded-Host` that a cache does not include in its key. An
//! attacker sends one request with `X-Forwarded-Host: evil.example`, the
//! cache stores the response that now points at the attacker's host, and
//! every later visitor of that URL receives it. Rampart sends its probe to a
//! fresh cache-busted URL, then shows a clean request to the same URL
//! receives the poisoned response while another fresh URL does not.

use async_trait::async_trait;

use super::poisonable_url;
use crate::checks::probe::{cache_note, poison, Poisoned, Taint};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UnkeyedHeader;

pub static META: CheckMeta = CheckMeta {
    check: &UnkeyedHeader,
    id: "cache.unkeyed-header",
    category: Category::CachePoisoning,
    severity: Severity::High,
    summary: "Headers such as X-Forwarded-Host change a response the cache stores for everyone",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::CACHE_PROFILE,
};

/// How a header's value is written so that a reflection is recognisable.
#[derive(Clone, Copy)]
enum Shape {
    /// A host name: `canary.invalid`.
    Host,
    /// `Forwarded: host=canary.invalid`.
    Forwarded,
    /// A path: `/canary`.
    Path,
}

/// Headers commonly trusted by frameworks and proxies yet left out of cache
/// keys (after the public research on unkeyed inputs).
static HEADERS: &[(&str, Shape)] = &[
    ("X-Forwarded-Host", Shape::Host),
    ("X-Host", Shape::Host),
    ("X-Forwarded-Server", Shape::Host),
    ("X-Original-Host", Shape::Host),
    ("X-HTTP-Host-Override", Shape::Host),
    ("X-Backend-Host", Shape::Host),
    ("Forwarded", Shape::Forwarded),
    ("X-Original-URL", Shape::Path),
    ("X-Rewrite-URL", Shape::Path),
    ("X-Forwarded-Prefix", Shape::Path),
];

/// Headers whose effect is a changed status or redirect, not a reflection.
static SCHEME_HEADERS: &[(&str, &str)] = &[
    ("X-Forwarded-Scheme", "http"),
    ("X-Forwarded-Proto", "http"),
    ("X-Forwarded-Port", "1"),
    ("X-Forwarded-SSL", "off"),
];

fn value_for(shape: Shape, marker: &str) -> String {
    match shape {
        Shape::Host => format!("{marker}.invalid"),
        Shape::Forwarded => format!("host={marker}.invalid"),
        Shape::Path => format!("/{marker}"),
    }
}

#[async_trait]
impl Check for UnkeyedHeader {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let url = poisonable_url(ctx, endpoint)?;
        let anonymous = Caller::Anonymous;
        let mut drafts = Vec::new();

        for (header, shape) in HEADERS {
            let marker = ctx.canary();
            let poisoned_url = ctx.fresh(&url);
            let attack = ctx.request(
                endpoint,
                &poisoned_url,
                &anonymous,
                &[(header.to_string(), value_for(*shape, &marker))],
            );
            let taint = Taint::Marker(&marker);
            let Some(poisoned) = poison(ctx, endpoint, attack, &poisoned_url, taint).await? else {
                continue;
            };
            drafts.push(
                poisoned
                    .draft(
                        Severity::High,
                        &format!("Attacker request with {header}"),
                        "Clean request to the same URL receives the poisoned response",
                    )
                    .title(format!("Cache poisoned through the unkeyed {header} header"))
                    .description(format!(
                        "The response reflects {header} and the cache stores it without keying on the header: a clean \
                         request to the same URL received the attacker-controlled value."
                    ))
                    .parameter(*header)
                    .key(header.to_ascii_lowercase()),
            );
        }

        let Some(clean) = ctx.baseline(&anonymous).map(|b| b.response.status) else {
            return Ok(drafts);
        };
        let redirect_or_error = |status: u16| status != clean && (300..600).contains(&status);
        for (header, value) in SCHEME_HEADERS {
            let poisoned_url = ctx.fresh(&url);
            let attack = ctx.request(
                endpoint,
                &poisoned_url,
                &anonymous,
                &[(header.to_string(), value.to_string())],
            );
            let taint = Taint::Status(&redirect_or_error);
            let Some(Poisoned { attack, victim }) =
                poison(ctx, endpoint, attack, &poisoned_url, taint).await?
            else {
                continue;
            };
            let fresh = ctx.get(endpoint, &ctx.fresh(&url), &anonymous, &[]).await?;
            if fresh.response.status == attack.response.status {
                continue;
            }
            drafts.push(
                FindingDraft::at_exchange(&victim, Severity::High, Confidence::Confirmed)
                    .title(format!("Cache poisoned through the unkeyed {header} header"))
                    .description(format!(
                        "{header}: {value} turns the response into HTTP {} and the cache stores it for the plain URL \
                         (a fresh URL still answers HTTP {}): visitors get a redirect loop or an error.",
                        attack.response.status, fresh.response.status
                    ))
                    .parameter(*header)
                    .key(header.to_ascii_lowercase())
                    .evidence(format!("Attacker request with {header}: {value}"), &attack, None)
                    .evidence(format!("Clean request to the same URL{}", cache_note(&victim)), &victim, None)
                    .evidence("Clean request to a fresh URL, for comparison", &fresh, None),
            );
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;
    use axum::response::Redirect;
    use axum::routing::get;
    use axum::Router;
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{
        marked_private, reply, scan, serve, Scanned, Setup, SharedCache,
    };

    /// An origin whose `/api/items` builds its links from `X-Forwarded-Host`
    /// and redirects to https when `X-Forwarded-Proto` says http.
    fn origin() -> Router {
        Router::new().route(
            "/api/items",
            get(|headers: HeaderMap| async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(String::from)
                };
                if header("x-forwarded-proto").as_deref() == Some("http") {
                    return Redirect::permanent("https://api.example.test/api/items")
                        .into_response();
                }
                let host = header("x-forwarded-host")
                    .or_else(|| header("host"))
                    .unwrap_or_default();
                reply(
                    200,
                    json!({"items": [1], "next": format!("http://{host}/api/items?page=2")}),
                )
            }),
        )
    }

    async fn run(app: Router) -> Scanned {
        let target = serve(app).await;
        scan(&META, &target, Setup::new(&[], &["GET /api/items"])).await
    }

    /// Keyed on the URL alone; stores redirects and errors too.
    const CDN: SharedCache = SharedCache {
        keyed_headers: &[],
        stores_errors: true,
    };

    #[tokio::test]
    async fn reflected_and_redirecting_headers_the_cache_ignores_are_reported() {
        let outcome = run(CDN.in_front_of(origin())).await;
        assert_eq!(
            outcome.keys(),
            ["x-forwarded-host", "x-forwarded-proto"],
            "{:#?}",
            outcome.drafts
        );
        let [reflected, redirected] = [&outcome.drafts[0], &outcome.drafts[1]];
        let victim = &reflected.evidence[1].exchange;
        assert!(victim.request_header("x-forwarded-host").is_none());
        assert!(
            victim.body_text().contains(".invalid/api/items"),
            "{}",
            victim.body_text()
        );
        assert!(
            redirected
                .description
                .contains("turns the response into HTTP 308"),
            "{}",
            redirected.description
        );
        assert_eq!(
            redirected.evidence[2].exchange.response.status, 200,
            "a fresh URL still works"
        );
    }

    #[tokio::test]
    async fn keyed_headers_private_answers_or_no_cache_are_no_finding() {
        let keyed = SharedCache {
            keyed_headers: &["x-forwarded-host", "x-forwarded-proto"],
            stores_errors: true,
        };
        for (front, app) in [
            ("keyed on the headers", keyed.in_front_of(origin())),
            ("private answers", CDN.in_front_of(marked_private(origin()))),
            ("no cache", origin()),
        ] {
            let outcome = run(app).await;
            assert!(outcome.drafts.is_empty(), "{front}: {:#?}", outcome.drafts);
        }
    }
}
