//! Missing authentication.
//!
//! An endpoint that returns a user's data to a request with no credential,
//! or with a credential no server could have issued, is open to the
//! internet. Rampart compares the anonymous baseline and a request with a
//! garbage credential against the identities' own data.

use async_trait::async_trait;

use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

use super::{caller, identity_names};
use crate::checks::probe::success_json;

pub struct MissingAuth;

static META: CheckMeta = CheckMeta {
    id: "authz.missing-auth",
    category: Category::Authentication,
    severity: Severity::High,
    summary: "Endpoints that return users' data without a credential or with a garbage one",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::IDENTITIES,
};

#[async_trait]
impl Check for MissingAuth {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        if !endpoint.is_read_only() {
            return Err(Skip::NotApplicable("not a read"));
        }
        let facts = &ctx.facts.identities;
        let Some(anonymous) = ctx.baseline(&Caller::Anonymous).cloned() else {
            return Err(Skip::Missing("no anonymous baseline"));
        };
        let leaked = facts.owners_of(&anonymous);
        if success_json(&anonymous) && !leaked.is_empty() {
            let whose: Vec<String> = leaked.into_iter().collect();
            return Ok(vec![FindingDraft::at_exchange(
                &anonymous,
                Severity::High,
                Confidence::Confirmed,
            )
            .title("Endpoint returns users' data without any credential")
            .description(format!(
                "A request without credentials returned data identifying {}.",
                whose.join(" and ")
            ))
            .key("anonymous")
            .evidence("Request without any credential", &anonymous, None)]);
        }
        // Refused anonymously: does any string pass for a credential?
        let Some(name) = identity_names(ctx).into_iter().next() else {
            return Err(Skip::NoIdentity);
        };
        let Some(url) = ctx.url(endpoint) else {
            return Err(Skip::NoSampleValue);
        };
        let garbage = ctx.garbage_credentials(&caller(&name));
        let answer = ctx
            .get(endpoint, &ctx.fresh(&url), &Caller::Anonymous, &garbage)
            .await?;
        let leaked = facts.owners_of(&answer);
        if !success_json(&answer) || leaked.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![FindingDraft::at_exchange(&answer, Severity::High, Confidence::Confirmed)
            .title("Endpoint accepts an invalid credential")
            .description(format!(
                "A credential Rampart made up was accepted (HTTP {}) and the response identifies {}, while a request \
                 without any credential was refused (HTTP {}).",
                answer.response.status,
                leaked.into_iter().collect::<Vec<_>>().join(" and "),
                anonymous.response.status
            ))
            .key("invalid-credential")
            .evidence("Request without any credential is refused", &anonymous, None)
            .evidence("Request with a made-up credential is answered", &answer, None)])
    }
}
