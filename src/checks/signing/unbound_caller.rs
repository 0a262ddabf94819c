//! Signatures not bound to the caller.
//!
//! A signed link minted for one user works for whoever holds it when the
//! signed payload does not name that user, or the server never compares it
//! with the caller. Links leak through logs, Referer headers and shared
//! screens; bound to nobody, each leak is an account's data. Rampart replays
//! one identity's link as another identity and anonymously. A link that
//! names its object and expires is a capability — made to be handed on —
//! and is reported as information only.

use async_trait::async_trait;

use super::{capability, expiry_param, genuine_link};
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
        let (link, owner, genuine) = (signed.link, signed.owner.clone(), &signed.answer);
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
            if !signed.same_data(&replayed) {
                continue;
            }
            let who = stranger.label().to_string();
            let (severity, title, description) = match capability(link) {
                Some(why) => (
                    Severity::Info,
                    format!("{}'s signed link works for {who} (a capability link)", link.owner),
                    format!(
                        "The link {} received in `{}` returned the same data to {who}; {why}, so it is a capability \
                         meant to work for whoever holds it until it expires. Keep such links short-lived and out \
                         of logs.",
                        link.owner, link.field
                    ),
                ),
                None => (
                    Severity::Medium,
                    format!("{}'s signed link is accepted from {who}", link.owner),
                    format!(
                        "The link {} received in `{}` returned the same data to {who}: the signature does not bind \
                         the caller{}.",
                        link.owner,
                        link.field,
                        if expiry_param(link).is_none() {
                            ", and the link carries no expiry"
                        } else {
                            ""
                        }
                    ),
                ),
            };
            return Ok(vec![FindingDraft::at_exchange(
                &replayed,
                severity,
                Confidence::Confirmed,
            )
            .title(title)
            .description(description)
            .parameter(link.signature_param.clone())
            .key("caller")
            .evidence(
                format!("{} uses its own signed link", link.owner),
                genuine,
                None,
            )
            .evidence(
                signed.compared(format!("{who} uses the same link")),
                &replayed,
                None,
            )]);
        }
        Ok(Vec::new())
    }
}
