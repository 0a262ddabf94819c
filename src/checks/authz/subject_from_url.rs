//! Identity taken from the URL instead of the token.
//!
//! `/api/users/{user_id}/orders` or `?owner_id=` lets the caller say whose
//! data to return. If the server believes the parameter instead of the
//! identity in the verified token, any caller becomes any user by editing
//! the URL. Rampart asks as identity A with B's subject id in the parameter
//! and reports when the answer belongs to B — and the same request without
//! a credential does not get it (otherwise the data is simply public).

use async_trait::async_trait;

use super::{caller, identity_names, outranks, read_across, Pairs};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::{Endpoint, ParamLocation};
use crate::facts::identities::is_subject_param;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct SubjectFromUrl;

pub static META: CheckMeta = CheckMeta {
    check: &SubjectFromUrl,
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
        let mut pairs = Pairs::new(Skip::Missing("no other identity's subject id is known"));
        for me in &names {
            // Staff may look users up by id by design.
            for other in names.iter().filter(|n| *n != me && !outranks(ctx, me, n)) {
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
                    pairs.unjudged(Skip::NoSampleValue);
                    continue;
                };
                let url = ctx.fresh(&url);
                pairs.judged();
                let answer = ctx.get(endpoint, &url, &caller(me), &[]).await?;
                let Some(control) = read_across(ctx, endpoint, (&url, &answer), me, other).await?
                else {
                    continue;
                };
                let name = &subject_param.name;
                return control.prove(FindingDraft::at_exchange(&answer, Severity::High, Confidence::Confirmed)
                    .title(format!("Subject taken from `{name}`: {me} gets {other}'s data"))
                    .description(format!(
                        "{me}'s credential with `{name}` set to {other}'s id returned {other}'s data, while the same \
                         request without a credential does not: the server trusts the parameter, not the identity \
                         in the token."
                    ))
                    .parameter(name.clone())
                    .key("subject")
                    .evidence(format!("{me} asks for {other}'s id in `{name}`"), &answer, None));
            }
        }
        pairs.outcome()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::extract::Query;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{
        caller, me, reply, reply_raw, scan, serve, Setup, ALICE, BOB, PERSONAS,
    };

    /// Whose orders `GET /api/orders?user_id=` returns.
    #[derive(Debug, Clone, Copy)]
    enum Subject {
        /// The one the parameter names.
        FromUrl,
        /// The caller's own, whatever the parameter says (the fixed twin).
        FromKey,
        /// A parameter naming someone else fails with an HTML error page.
        Crashes,
    }

    async fn run(subject: Subject) -> Vec<FindingDraft> {
        let app = me().route(
            "/api/orders",
            get(
                move |headers: HeaderMap, Query(query): Query<HashMap<String, String>>| async move {
                    let Some(me) = caller(&headers) else {
                        return reply(401, json!({"error": "login"}));
                    };
                    let named = query
                        .get("user_id")
                        .and_then(|id| PERSONAS.into_iter().find(|p| p.user_id == id))
                        .unwrap_or(me);
                    let owner = match subject {
                        Subject::FromUrl => named,
                        Subject::FromKey => me,
                        Subject::Crashes if named.name != me.name => {
                            return reply_raw(500, "text/html", "<h1>Internal Server Error</h1>")
                        }
                        Subject::Crashes => me,
                    };
                    reply(
                        200,
                        json!({"orders": [{"order_id": 7, "owner_id": owner.user_id}]}),
                    )
                },
            ),
        );
        let target = serve(app).await;
        let setup = Setup::new(
            &[&ALICE, &BOB],
            &["GET /api/me", "GET /api/orders?user_id=u-1001"],
        );
        scan(&META, &target, setup).await.drafts
    }

    #[tokio::test]
    async fn a_user_id_believed_from_the_query_is_reported() {
        let drafts = run(Subject::FromUrl).await;
        assert_eq!(drafts.len(), 1, "{drafts:#?}");
        assert_eq!(
            drafts[0].title,
            "Subject taken from `user_id`: alice gets bob's data"
        );
        let asked = &drafts[0].evidence[0].exchange.request;
        assert_eq!(asked.identity.as_deref(), Some("alice"));
        assert!(asked.url.contains("user_id=u-1002"), "{}", asked.url);
    }

    #[tokio::test]
    async fn the_callers_own_data_or_an_error_page_is_no_finding() {
        for subject in [Subject::FromKey, Subject::Crashes] {
            let drafts = run(subject).await;
            assert!(drafts.is_empty(), "{subject:?}: {drafts:#?}");
        }
    }
}
