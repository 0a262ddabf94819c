//! Signatures not bound to the caller.
//!
//! A signed link minted for one user works for whoever holds it when the
//! signed payload does not name that user, or the server never compares it
//! with the caller. Links leak through logs, Referer headers and shared
//! screens; bound to nobody, each leak is an account's data. Rampart replays
//! one identity's link as another identity and anonymously.

use async_trait::async_trait;

use super::genuine_link;
use crate::checks::probe::same_response;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UnboundCaller;

static META: CheckMeta = CheckMeta {
    id: "signing.unbound-caller",
    category: Category::Signature,
    severity: Severity::Medium,
    summary:
        "A signed link minted for one identity is accepted from another identity or anonymously",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::SIGNED_LINKS,
};

#[async_trait]
impl Check for UnboundCaller {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let signed = genuine_link(ctx, endpoint).await?;
        let (link, owner, genuine) = (signed.link, signed.owner, signed.answer);
        let strangers: Vec<Caller> = ctx
            .identities()
            .into_iter()
            .filter(|c| *c != owner)
            .chain(std::iter::once(Caller::Anonymous))
            .collect();
        for stranger in strangers {
            let replayed = ctx
                .get(endpoint, &ctx.fresh(&link.url), &stranger, &[])
                .await?;
            if !same_response(&genuine, &replayed) {
                continue;
            }
            let who = stranger.label().to_string();
            return Ok(vec![FindingDraft::at_exchange(&replayed, Severity::Medium, Confidence::Confirmed)
                .title(format!("{}'s signed link is accepted from {who}", link.owner))
                .description(format!(
                    "The link {} received in `{}` returned the same data to {who}: the signature does not bind the caller.",
                    link.owner, link.field
                ))
                .parameter(link.signature_param.clone())
                .key("caller")
                .evidence(format!("{} uses its own signed link", link.owner), &genuine, None)
                .evidence(format!("{who} uses the same link"), &replayed, None)]);
        }
        Ok(Vec::new())
    }
}
