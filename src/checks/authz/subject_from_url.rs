//! Identity taken from the URL instead of the token.
//!
//! `/api/users/{user_id}/orders` or `?owner_id=` lets the caller say whose
//! data to return. If the server believes the parameter instead of the
//! identity in the verified token, any caller becomes any user by editing
//! the URL. Rampart asks as identity A with B's subject id in the parameter
//! and reports when the answer belongs to B.

use async_trait::async_trait;

use super::{caller, identity_names};
use crate::checks::probe::success_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::{Endpoint, ParamLocation};
use crate::facts::identities::is_subject_param;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct SubjectFromUrl;

static META: CheckMeta = CheckMeta {
    id: "authz.subject-from-url",
    category: Category::Bola,
    severity: Severity::High,
    summary: "The subject (user id) is taken from a path or query parameter instead of the caller's token",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 2,
    needs: Needs::IDENTITIES,
};

#[async_trait]
impl Check for SubjectFromUrl {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let Some(subject_param) = endpoint.parameters.iter().find(|p| {
            matches!(p.location, ParamLocation::Path | ParamLocation::Query)
                && is_subject_param(&p.name)
        }) else {
            return Err(Skip::NoIdentifier);
        };
        if !endpoint.is_read_only() {
            return Err(Skip::NotApplicable("not a read"));
        }
        let facts = &ctx.facts.identities;
        let names = identity_names(ctx);
        let mut unjudged = Skip::Missing("no other identity's subject id is known");
        let mut judged = false;
        for me in &names {
            for other in names.iter().filter(|n| *n != me) {
                let Some(other_subject) = facts.subject.get(other) else {
                    continue;
                };
                let mut aimed = endpoint.clone();
                for param in aimed
                    .parameters
                    .iter_mut()
                    .filter(|p| p.name == subject_param.name)
                {
                    param.sample = Some(other_subject.clone());
                }
                let Some(url) = ctx.url(&aimed) else {
                    unjudged = Skip::NoSampleValue;
                    continue;
                };
                let url = ctx.fresh(&url);
                judged = true;
                let answer = ctx.get(endpoint, &url, &caller(me), &[]).await?;
                let owners = facts.owners_of(&answer);
                if !success_json(&answer) || !owners.contains(other) || owners.contains(me) {
                    continue;
                }
                let draft = FindingDraft::at_exchange(&answer, Severity::High, Confidence::Confirmed)
                    .title(format!("Subject taken from `{}`: {me} gets {other}'s data", subject_param.name))
                    .description(format!(
                        "{me}'s credential with `{}` set to {other}'s id returned {other}'s data: the server trusts the \
                         parameter, not the identity in the token.",
                        subject_param.name
                    ))
                    .parameter(subject_param.name.clone())
                    .key("subject")
                    .evidence(format!("{me} asks for {other}'s id in `{}`", subject_param.name), &answer, None);
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
