//! Authorization after the cache lookup.
//!
//! When the cache answers before the credential is checked — a CDN in front
//! of an API that authenticates at the origin, or a view decorated with a
//! cache before its auth check — any request for a cached URL succeeds, with
//! a garbage, expired or missing credential. Rampart primes a fresh URL with a
//! valid identity, then shows that an invalid credential and no credential
//! get the cached 200 while the same invalid credential on another fresh URL
//! is refused.

use async_trait::async_trait;

use super::{private_key, served_across};
use crate::checks::probe::{cache_note, same_response};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct AuthAfterLookup;

pub static META: CheckMeta = CheckMeta {
    check: &AuthAfterLookup,
    id: "cache.auth-after-lookup",
    category: Category::CachePoisoning,
    severity: Severity::High,
    summary: "Cached 200 served to requests with an invalid or missing credential",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::CACHE_PROFILE,
};

fn refused(status: u16) -> bool {
    matches!(status, 401 | 403)
}

#[async_trait]
impl Check for AuthAfterLookup {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let url = super::read_url(ctx, endpoint)?;
        let Some(owner) = ctx.identities().into_iter().next() else {
            return Err(Skip::NoIdentity);
        };
        let garbage = ctx.garbage_credentials(&owner);

        // Does this endpoint refuse a bad credential at all? Ask on a fresh URL.
        let control_key = private_key(ctx, endpoint, &url)?;
        let control = ctx
            .get(
                endpoint,
                &control_key.url,
                &Caller::Anonymous,
                &[control_key.headers.clone(), garbage.clone()].concat(),
            )
            .await?;
        if !refused(control.response.status) {
            return Ok(Vec::new());
        }
        let anonymous = Caller::Anonymous;
        let across = || served_across(ctx, endpoint, &url, (&owner, &[]), (&anonymous, &garbage));
        let Some((key, primed, with_garbage)) = across().await? else {
            return Ok(Vec::new());
        };
        // Once more on another fresh key before it is reported.
        let Some((_, _, replayed)) = across().await? else {
            return Ok(Vec::new());
        };
        let mut draft = FindingDraft::at_exchange(&with_garbage, Severity::High, Confidence::Confirmed)
            .title("Cached response served to a request with an invalid credential")
            .description(format!(
                "A request with an invalid credential was refused (HTTP {}) on a fresh URL, but received the cached 200 \
                 that {} had just put in the cache for another URL: authorization happens after the cache lookup.",
                control.response.status,
                owner.label()
            ))
            .key("invalid-credential")
            .evidence("An invalid credential on a fresh URL is refused", &control, None)
            .evidence(format!("{} fetches a fresh URL{}", owner.label(), cache_note(&primed)), &primed, None)
            .evidence(
                format!("The invalid credential on that URL gets the cached 200{}", cache_note(&with_garbage)),
                &with_garbage,
                None,
            );
        let without = ctx
            .get(endpoint, &key.url, &Caller::Anonymous, &key.headers)
            .await?;
        draft = draft.evidence(
            "Replayed on another fresh key: the invalid credential gets the cached 200 again",
            &replayed,
            None,
        );
        if same_response(&primed, &without) {
            draft = draft.evidence(
                "A request without any credential gets it too",
                &without,
                None,
            );
        }
        Ok(vec![draft])
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::get;

    use super::*;
    use crate::checks::probe::fixtures::{
        me, reply_raw, safe_fronts, scan, serve, statuses, Front, Setup, SharedCache, ALICE,
        KEY_HEADER,
    };

    /// Scans `/api/me` (refuses unknown keys) and `/api/news` (text for
    /// everyone) with `front` between the callers and the origin.
    async fn run(front: Front) -> Vec<FindingDraft> {
        let origin = me().route(
            "/api/news",
            get(|| async { reply_raw(200, "text/plain", "no news") }),
        );
        let target = serve(front(origin)).await;
        let setup = Setup::new(&[&ALICE], &["GET /api/me", "GET /api/news"]);
        scan(&META, &target, setup).await.drafts
    }

    #[tokio::test]
    async fn a_cached_answer_handed_to_a_made_up_key_and_to_nobody_is_reported() {
        let drafts = run(|o| SharedCache::URL_ONLY.in_front_of(o)).await;
        assert_eq!(drafts.len(), 1, "{drafts:#?}");
        let draft = &drafts[0];
        assert_eq!(draft.head.path, "/api/me");
        let statuses = statuses(draft);
        assert_eq!(
            statuses,
            [401, 200, 200, 200, 200],
            "control, primed, made-up key, its replay, no key"
        );
        let made_up = &draft.evidence[2].exchange;
        assert!(made_up
            .request_header(KEY_HEADER)
            .is_some_and(|k| k != ALICE.key));
        assert!(made_up.body_text().contains(ALICE.email));
        assert!(
            draft.evidence[3]
                .step
                .starts_with("Replayed on another fresh key"),
            "{}",
            draft.evidence[3].step
        );
        assert_eq!(
            draft.evidence[4].step,
            "A request without any credential gets it too"
        );
    }

    #[tokio::test]
    async fn caches_that_key_on_the_credential_or_keep_private_answers_out_are_no_finding() {
        for (front, wrap) in safe_fronts() {
            let drafts = run(wrap).await;
            assert!(drafts.is_empty(), "{front}: {drafts:#?}");
        }
    }
}
