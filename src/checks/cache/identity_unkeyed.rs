//! Identity missing from the cache key.
//!
//! A shared cache (CDN, Varnish, nginx) or an application cache such as
//! Flask-Caching stores an authenticated response under a key made of the URL
//! alone. The next caller of that URL — another user, or nobody at all — is
//! handed the first caller's private data. Rampart proves it on a fresh
//! cache-busted URL: identity A fetches it, identity B (or an anonymous
//! caller) fetches the same URL and receives A's response byte for byte,
//! while B's own fresh request shows B normally gets something else.

use async_trait::async_trait;

use super::{private_key, served_across};
use crate::checks::probe::{cache_note, same_response};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct IdentityUnkeyed;

pub static META: CheckMeta = CheckMeta {
    check: &IdentityUnkeyed,
    id: "cache.identity-unkeyed",
    category: Category::CachePoisoning,
    severity: Severity::High,
    summary: "Authenticated responses cached without the caller's identity in the key and served to others",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::CACHE_PROFILE,
};

#[async_trait]
impl Check for IdentityUnkeyed {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let url = super::read_url(ctx, endpoint)?;
        let ids = ctx.identities();
        let Some(owner) = ids.first().cloned() else {
            return Err(Skip::NoIdentity);
        };
        // Another identity proves a cross-user leak; with one identity, an
        // anonymous caller stands in for "someone else".
        let other = ids.get(1).cloned().unwrap_or(Caller::Anonymous);

        let across = || served_across(ctx, endpoint, &url, (&owner, &[]), (&other, &[]));
        let Some((_, primed, served)) = across().await? else {
            return Ok(Vec::new());
        };
        // Same bytes could simply mean the endpoint is the same for everyone:
        // the other caller's own fresh request must differ.
        let own_key = private_key(ctx, endpoint, &url)?;
        let own = ctx
            .get(endpoint, &own_key.url, &other, &own_key.headers)
            .await?;
        if same_response(&primed, &own) {
            return Ok(Vec::new());
        }
        // Once more on another fresh key before it is reported.
        let Some((_, _, replayed)) = across().await? else {
            return Ok(Vec::new());
        };
        let who = other.label().to_string();
        let draft = FindingDraft::at_exchange(&served, Severity::High, Confidence::Confirmed)
            .title(format!(
                "Response cached without the caller's identity: {}'s data served to {}",
                owner.label(),
                who
            ))
            .description(format!(
                "After {owner} fetched a fresh URL, {who} requesting the same URL received {owner}'s response byte for byte, \
                 while {who}'s own fresh request returned HTTP {}. The cache key does not include the credential.",
                own.response.status,
                owner = owner.label()
            ))
            .key("cross-identity")
            .evidence(format!("{} fetches a fresh cache-busted URL{}", owner.label(), cache_note(&primed)), &primed, None)
            .evidence(format!("{who} fetches the same URL and receives {}'s response{}", owner.label(), cache_note(&served)), &served, None)
            .evidence(format!("{who}'s own fresh request, for comparison"), &own, None)
            .evidence(format!("Replayed on another fresh key: {who} again receives {}'s response", owner.label()), &replayed, None);
        Ok(vec![draft])
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{
        me, reply, reply_raw, safe_fronts, scan, serve, Front, Persona, Setup, SharedCache, ALICE,
        BOB,
    };

    /// Scans `/api/me`, `/api/catalogue` (the same for everyone) and
    /// `/api/status` (down for everyone) with `front` between the callers
    /// and the origin.
    async fn run(front: Front, personas: &[&Persona]) -> Vec<FindingDraft> {
        let origin = me()
            .route(
                "/api/catalogue",
                get(|| async { reply(200, json!({"items": ["tea", "cake"]})) }),
            )
            .route(
                "/api/status",
                get(|| async { reply_raw(503, "text/html", "<h1>down</h1>") }),
            );
        let target = serve(front(origin)).await;
        let endpoints = ["GET /api/me", "GET /api/catalogue", "GET /api/status"];
        let setup = Setup::new(personas, &endpoints);
        scan(&META, &target, setup).await.drafts
    }

    /// Keyed on the URL alone, storing errors too.
    const STORES_ALL: SharedCache = SharedCache {
        keyed_headers: &[],
        stores_errors: true,
    };

    #[tokio::test]
    async fn a_private_answer_served_to_another_caller_is_reported() {
        for (personas, other) in [([&ALICE, &BOB].as_slice(), "bob"), (&[&ALICE], "anonymous")] {
            let drafts = run(|o| STORES_ALL.in_front_of(o), personas).await;
            assert_eq!(drafts.len(), 1, "{other}: {drafts:#?}");
            let draft = &drafts[0];
            assert_eq!(
                draft.head.path, "/api/me",
                "the catalogue is the same for everyone"
            );
            assert_eq!(
                draft.head.title,
                format!(
                    "Response cached without the caller's identity: alice's data served to {other}"
                )
            );
            let served = &draft.evidence[1].exchange;
            assert_eq!(
                served.request.identity.as_deref().unwrap_or("anonymous"),
                other
            );
            assert!(served.body_text().contains(ALICE.email));
            assert!(
                draft.evidence[1].step.ends_with("(x-cache: HIT)"),
                "{}",
                draft.evidence[1].step
            );
        }
    }

    #[tokio::test]
    async fn caches_that_key_on_the_credential_or_keep_private_answers_out_are_no_finding() {
        for (front, wrap) in safe_fronts() {
            let drafts = run(wrap, &[&ALICE, &BOB]).await;
            assert!(drafts.is_empty(), "{front}: {drafts:#?}");
        }
    }
}
