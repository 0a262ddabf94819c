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

use crate::checks::probe::{cache_note, is_success, same_response};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct AuthAfterLookup;

static META: CheckMeta = CheckMeta {
    id: "cache.auth-after-lookup",
    category: Category::CachePoisoning,
    severity: Severity::High,
    summary: "Cached 200 served to requests with an invalid or missing credential",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::NOTHING,
};

fn refused(status: u16) -> bool {
    matches!(status, 401 | 403)
}

#[async_trait]
impl Check for AuthAfterLookup {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let url = super::read_url(ctx, endpoint)?;
        let Some(owner) = ctx.identities().into_iter().next() else {
            return Err(Skip::NoIdentity);
        };
        let garbage = ctx.garbage_credentials(&owner);

        // Does this endpoint refuse a bad credential at all? Ask on a fresh URL.
        let control = ctx
            .get(endpoint, &ctx.fresh(&url), &Caller::Anonymous, &garbage)
            .await?;
        if !refused(control.response.status) {
            return Ok(Vec::new());
        }
        let shared = ctx.fresh(&url);
        let primed = ctx.get(endpoint, &shared, &owner, &[]).await?;
        if !is_success(&primed) {
            return Err(Skip::NoSuccessfulAnswer);
        }
        let with_garbage = ctx
            .get(endpoint, &shared, &Caller::Anonymous, &garbage)
            .await?;
        if !same_response(&primed, &with_garbage) {
            return Ok(Vec::new());
        }
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
        let anonymous = ctx.get(endpoint, &shared, &Caller::Anonymous, &[]).await?;
        if same_response(&primed, &anonymous) {
            draft = draft.evidence(
                "A request without any credential gets it too",
                &anonymous,
                None,
            );
        }
        Ok(vec![draft])
    }
}
