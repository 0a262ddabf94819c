//! Parameters outside the signature.
//!
//! When a signature covers only part of a request — a token that signs
//! `{"report": "monthly"}` next to a plain `user_id=1` — the unsigned part
//! can be changed at will and the signature still verifies. Rampart changes
//! each other parameter of a signed link (to another identity's id where it
//! names a user) and watches whether the answer changes with it.

use async_trait::async_trait;

use super::genuine_link;
use crate::checks::probe::success_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn};
use crate::discover::Endpoint;
use crate::engine::buster::BUSTER_PARAM;
use crate::facts::identities::is_subject_param;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UnsignedParams;

pub static META: CheckMeta = CheckMeta {
    check: &UnsignedParams,
    id: "signing.unsigned-params",
    category: Category::Signature,
    severity: Severity::High,
    summary: "Parameters a signature does not cover change which data a signed link returns",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::IDENTITIES.and(Needs::SIGNED_LINKS),
};

#[async_trait]
impl Check for UnsignedParams {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let signed = genuine_link(ctx, endpoint).await?;
        let (link, genuine) = (signed.link, &signed.answer);
        let facts = &ctx.facts.identities;
        let mut drafts = Vec::new();
        let others: Vec<(String, String)> = link
            .url
            .query_pairs()
            .filter(|(n, _)| *n != link.signature_param.as_str() && n != BUSTER_PARAM)
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        for (name, value) in others {
            // Another identity's id where the parameter names a user;
            // otherwise the neighbouring number.
            let other_subject = facts
                .subject
                .iter()
                .find(|(who, id)| **who != link.owner && **id != value)
                .map(|(who, id)| (Some(who.clone()), id.clone()));
            let replacement = match (is_subject_param(&name), other_subject) {
                (true, Some(found)) => found,
                _ => match value.parse::<u64>() {
                    Ok(n) => (None, (n + 1).to_string()),
                    Err(_) => continue,
                },
            };
            let (whose, new_value) = replacement;
            let changed = signed
                .fetch_with(ctx, endpoint, &name, Some(&new_value))
                .await?;
            if !success_json(&changed) || signed.same_data(&changed) {
                continue;
            }
            let proven = whose
                .as_ref()
                .is_some_and(|w| facts.owners_of(&changed).contains(w));
            let confidence = if proven {
                Confidence::Confirmed
            } else {
                Confidence::Firm
            };
            let about = whose
                .map(|w| format!(" — the answer now belongs to {w}"))
                .unwrap_or_default();
            drafts.push(
                FindingDraft::at_exchange(&changed, Severity::High, confidence)
                    .title(format!("`{name}` is not covered by the signature of a signed link"))
                    .description(format!(
                        "Changing `{name}` from {value} to {new_value} kept the signature valid and changed the data returned{about}."
                    ))
                    .parameter(name.clone())
                    .key(format!("param-{name}"))
                    .evidence("The signed link as issued", genuine, None)
                    .evidence(signed.compared(format!("The same signature with `{name}` changed")), &changed, None),
            );
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{assert_contains, scan, serve, ALICE, BOB};
    use crate::checks::signing::fixture::{setup, Desk};

    #[tokio::test]
    async fn a_user_id_outside_the_signature_is_reported_as_confirmed_when_the_data_changes_hands()
    {
        let target = serve(Desk::default().app()).await;
        let outcome = scan(&META, &target, setup(&[&ALICE, &BOB])).await;
        assert_eq!(outcome.facts.signed_links.len(), 2, "one link per persona");
        assert_eq!(outcome.keys(), ["param-user_id"], "{:#?}", outcome.drafts);
        let draft = &outcome.drafts[0];
        assert_eq!(draft.confidence, Confidence::Confirmed);
        assert_contains(&draft.description, "from u-1001 to u-1002");
        assert!(
            draft.description.ends_with("belongs to bob."),
            "{}",
            draft.description
        );
        assert!(draft.evidence[1].exchange.body_text().contains(BOB.email));
    }

    #[tokio::test]
    async fn a_signature_over_every_parameter_or_a_lone_identity_without_a_neighbour_is_no_finding()
    {
        let covered = serve(
            Desk {
                covers_user: true,
                ..Desk::default()
            }
            .app(),
        )
        .await;
        let outcome = scan(&META, &covered, setup(&[&ALICE, &BOB])).await;
        assert!(outcome.drafts.is_empty(), "{:#?}", outcome.drafts);
        // Alone, alice has no other user's id to try and `u-1001` is no
        // number to count on from.
        let alone = serve(Desk::default().app()).await;
        let outcome = scan(&META, &alone, setup(&[&ALICE])).await;
        assert!(outcome.drafts.is_empty(), "{:#?}", outcome.drafts);
    }
}
