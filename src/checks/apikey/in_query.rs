//! API keys accepted in the query string (or a cookie).
//!
//! A key in a URL ends up in access logs, proxy and CDN logs, browser
//! history, `Referer` headers and cache keys; a key accepted from a cookie
//! can be ridden by cross-site requests. Rampart moves an identity's key
//! from its header into common query parameter names and a cookie and
//! checks whether the API still answers as that identity.

use async_trait::async_trait;

use super::api_key_header;
use crate::checks::probe::{private_view, success_json};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::{Caller, Exchange};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct KeyInQuery;

pub static META: CheckMeta = CheckMeta {
    check: &KeyInQuery,
    id: "apikey.in-query",
    category: Category::ApiKey,
    severity: Severity::Medium,
    summary: "API keys accepted in the query string or a cookie, not only in a header",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::IDENTITIES,
};

const QUERY_NAMES: &[&str] = &["api_key", "apikey", "key", "access_token", "token"];
const COOKIE_NAMES: &[&str] = &["api_key", "apikey"];

#[async_trait]
impl Check for KeyInQuery {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        // One endpoint is enough to show where keys are accepted.
        if ctx.facts.identities.self_endpoint.as_deref() != Some(endpoint.path.as_str()) {
            return Err(Skip::NotApplicable(
                "one self endpoint (`/me`-like) is probed",
            ));
        }
        let Some(identity) = ctx.engine.identities().into_iter().next() else {
            return Err(Skip::NoIdentity);
        };
        let Some((_, key)) = api_key_header(&identity) else {
            return Err(Skip::Missing("the identity sends no API key"));
        };
        let Some(view) = private_view(ctx).filter(|view| success_json(&view.mine)) else {
            return Err(Skip::Missing("no caller-specific answer"));
        };
        let anonymous = view.anonymous;
        let Some(url) = ctx.url(endpoint) else {
            return Err(Skip::NoSampleValue);
        };
        let accepted = |answer: &Exchange| {
            success_json(answer)
                && ctx
                    .facts
                    .identities
                    .owners_of(answer)
                    .contains(&identity.name)
        };
        let mut places: Vec<String> = Vec::new();
        let mut evidence = Vec::new();
        for name in QUERY_NAMES {
            let mut with_key = ctx.fresh(&url);
            with_key.query_pairs_mut().append_pair(name, &key);
            let answer = ctx
                .get(endpoint, &with_key, &Caller::Anonymous, &[])
                .await?;
            if accepted(&answer) {
                places.push(format!("query parameter `{name}`"));
                evidence.push(answer);
                break;
            }
        }
        for name in COOKIE_NAMES {
            let cookie = vec![("Cookie".to_string(), format!("{name}={key}"))];
            let answer = ctx
                .get(endpoint, &ctx.fresh(&url), &Caller::Anonymous, &cookie)
                .await?;
            if accepted(&answer) {
                places.push(format!("cookie `{name}`"));
                evidence.push(answer);
                break;
            }
        }
        let Some(first) = evidence.first().cloned() else {
            return Ok(Vec::new());
        };
        let mut draft = FindingDraft::at_exchange(&first, Severity::Medium, Confidence::Confirmed)
            .title(format!("API key accepted in the {}", places.join(" and the ")))
            .description(format!(
                "{}'s API key, moved out of its header, still authenticated as {}: keys in URLs and cookies leak into \
                 logs, history, Referer headers and caches.",
                identity.name, identity.name
            ))
            .parameter(places.join(", "))
            .key("placement")
            .evidence("Without any credential the endpoint refuses", &anonymous, None);
        for (answer, place) in evidence.iter().zip(&places) {
            draft = draft.evidence(format!("The key in the {place} is accepted"), answer, None);
        }
        Ok(vec![draft])
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::extract::Query;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use axum::Router;
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{
        reply, reply_raw, scan, serve, Setup, ALICE, KEY_HEADER, PERSONAS,
    };

    /// Where `GET /api/me` looks for the key besides its header.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Accepts {
        HeaderOnly,
        /// `?api_key=` too.
        Query,
        /// `?token=` and the `apikey` cookie too.
        TokenAndCookie,
        /// `?api_key=` too, but then it answers in text.
        QueryAsText,
    }

    async fn run(accepts: Accepts) -> Vec<FindingDraft> {
        let app = Router::new().route(
            "/api/me",
            get(
                move |headers: HeaderMap, Query(query): Query<HashMap<String, String>>| async move {
                    let header = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
                    let cookie = headers
                        .get("cookie")
                        .and_then(|v| v.to_str().ok()?.strip_prefix("apikey="));
                    let (in_query, in_cookie) = match accepts {
                        Accepts::HeaderOnly => (None, None),
                        Accepts::Query | Accepts::QueryAsText => (query.get("api_key"), None),
                        Accepts::TokenAndCookie => (query.get("token"), cookie),
                    };
                    let key = header.or(in_query.map(String::as_str)).or(in_cookie);
                    match PERSONAS.into_iter().find(|p| Some(p.key) == key) {
                        Some(_) if header.is_none() && accepts == Accepts::QueryAsText => {
                            reply_raw(200, "text/plain", "hello")
                        }
                        Some(p) => reply(200, p.profile()),
                        None => reply(401, json!({"error": "key required"})),
                    }
                },
            ),
        );
        let target = serve(app).await;
        scan(&META, &target, Setup::new(&[&ALICE], &["GET /api/me"]))
            .await
            .drafts
    }

    #[tokio::test]
    async fn a_key_accepted_from_the_query_or_a_cookie_is_reported_with_each_place() {
        for (accepts, places, evidence) in [
            (Accepts::Query, "query parameter `api_key`", 2),
            (
                Accepts::TokenAndCookie,
                "query parameter `token`, cookie `apikey`",
                3,
            ),
        ] {
            let drafts = run(accepts).await;
            assert_eq!(drafts.len(), 1, "{accepts:?}: {drafts:#?}");
            assert_eq!(drafts[0].head.parameter.as_deref(), Some(places));
            assert_eq!(
                drafts[0].evidence.len(),
                evidence,
                "the refusal, then each accepted place"
            );
            let moved = &drafts[0].evidence[1].exchange;
            assert!(moved.request.identity.is_none() && moved.request_header(KEY_HEADER).is_none());
        }
    }

    #[tokio::test]
    async fn a_header_only_key_or_an_answer_that_is_not_the_identitys_data_is_no_finding() {
        for accepts in [Accepts::HeaderOnly, Accepts::QueryAsText] {
            let drafts = run(accepts).await;
            assert!(drafts.is_empty(), "{accepts:?}: {drafts:#?}");
        }
    }
}
