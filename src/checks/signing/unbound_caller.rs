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

pub static META: CheckMeta = CheckMeta {
    check: &UnboundCaller,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{scan, serve, Persona, ALICE, BOB};
    use crate::checks::signing::fixture::{setup, Desk};

    async fn run(desk: Desk, personas: &[&Persona]) -> Vec<FindingDraft> {
        let target = serve(desk.app()).await;
        scan(&META, &target, setup(personas)).await.drafts
    }

    #[tokio::test]
    async fn a_link_that_works_for_another_identity_or_anonymously_is_reported() {
        for (personas, stranger) in [([&ALICE, &BOB].as_slice(), "bob"), (&[&ALICE], "anonymous")] {
            let drafts = run(Desk::default(), personas).await;
            assert_eq!(drafts.len(), 1, "{drafts:#?}");
            let draft = &drafts[0];
            assert_eq!(
                draft.head.title,
                format!("alice's signed link is accepted from {stranger}")
            );
            assert_eq!(draft.head.parameter.as_deref(), Some("token"));
            let [genuine, replayed] = [&draft.evidence[0].exchange, &draft.evidence[1].exchange];
            assert_eq!(genuine.request.identity.as_deref(), Some("alice"));
            assert_eq!(
                replayed.request.identity.as_deref().unwrap_or("anonymous"),
                stranger
            );
            assert_eq!(replayed.response.status, 200);
        }
    }

    #[tokio::test]
    async fn a_link_bound_to_its_user_or_one_that_never_worked_is_no_finding() {
        let bound = Desk {
            binds_caller: true,
            ..Desk::default()
        };
        assert!(run(bound, &[&ALICE, &BOB]).await.is_empty());
        // Expired before the owner could use it: nothing genuine to replay.
        let stale = Desk {
            expires: true,
            issued_ago: 7200,
            ..Desk::default()
        };
        assert!(run(stale, &[&ALICE, &BOB]).await.is_empty());
    }
}
