//! Broken object level authorization (BOLA / IDOR).
//!
//! The API checks that a caller is logged in but not that the object asked
//! for is theirs: change the id in `/orders/{order_id}`, `/users/{id}/posts`
//! or `?owner_id=` and you read someone else's data. Rampart fills the
//! identifiers with identity A's own values, asks as identity B, and reports
//! when B's answer carries values that identify A (not merely a 200: a 200
//! with an error body is not a leak).

use async_trait::async_trait;

use super::{caller, identity_names, url_as};
use crate::checks::probe::success_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::Caller;
use crate::facts::identities::is_id_param;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Bola;

static META: CheckMeta = CheckMeta {
    id: "authz.bola",
    category: Category::Bola,
    severity: Severity::High,
    summary: "One identity reads another identity's objects by changing an identifier",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 2,
    needs: Needs::IDENTITIES,
};

#[async_trait]
impl Check for Bola {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let has_ids = endpoint.parameters.iter().any(|p| {
            matches!(p.location, ParamLocation::Path | ParamLocation::Query) && is_id_param(&p.name)
        });
        if !endpoint.is_read_only() {
            return Err(Skip::NotApplicable("not a read"));
        }
        if !has_ids {
            return Err(Skip::NoIdentifier);
        }
        let names = identity_names(ctx);
        let facts = &ctx.facts.identities;
        // Why no pair could be compared, if none could.
        let mut unjudged = Skip::NoIdentifier;
        let mut judged = false;
        // Each ordered pair: B asks for A's objects.
        for owner in &names {
            for intruder in names.iter().filter(|n| *n != owner) {
                let Some((url, substituted)) = url_as(ctx, endpoint, owner, true) else {
                    unjudged = Skip::NoSampleValue;
                    continue;
                };
                let owner_view = ctx.get(endpoint, &url, &caller(owner), &[]).await?;
                if !success_json(&owner_view) || !facts.owners_of(&owner_view).contains(owner) {
                    unjudged = Skip::Missing("no answer identifies its owner");
                    continue;
                }
                judged = true;
                let intruder_view = ctx.get(endpoint, &url, &caller(intruder), &[]).await?;
                let owners = facts.owners_of(&intruder_view);
                if !success_json(&intruder_view)
                    || !owners.contains(owner)
                    || owners.contains(intruder)
                {
                    continue;
                }
                // Public data is not a BOLA (missing-auth reports that).
                let anonymous = ctx.get(endpoint, &url, &Caller::Anonymous, &[]).await?;
                if facts.owners_of(&anonymous).contains(owner) {
                    continue;
                }
                let parameters: Vec<String> = endpoint
                    .parameters
                    .iter()
                    .filter(|p| {
                        is_id_param(&p.name)
                            && matches!(p.location, ParamLocation::Path | ParamLocation::Query)
                    })
                    .map(|p| p.name.clone())
                    .collect();
                let source = if substituted.is_empty() {
                    "the spec's example"
                } else {
                    "identifiers harvested from its own responses"
                };
                let draft = FindingDraft::at_exchange(&intruder_view, Severity::High, Confidence::Confirmed)
                    .title(format!("{intruder} can read {owner}'s object through {}", parameters.join(", ")))
                    .description(format!(
                        "With {owner}'s identifiers ({source}), {intruder}'s request returned data that identifies {owner}; \
                         anonymous requests are refused, so authentication works but object ownership is not checked."
                    ))
                    .parameter(parameters.join(","))
                    .key("read")
                    .evidence(format!("{owner} reads its own object"), &owner_view, None)
                    .evidence(format!("{intruder} requests the same object and receives {owner}'s data"), &intruder_view, None)
                    .evidence("Anonymous request is refused", &anonymous, None);
                return Ok(vec![draft]);
            }
        }
        if judged {
            Ok(Vec::new())
        } else {
            Err(unjudged)
        }
    }
}
