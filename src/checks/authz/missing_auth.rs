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

pub static META: CheckMeta = CheckMeta {
    check: &MissingAuth,
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

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use axum::routing::get;
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{
        caller, me, reply, reply_raw, scan, serve, Scanned, Setup, ALICE, BOB, KEY_HEADER,
    };

    /// Who `GET /api/orders` answers, and with what.
    #[derive(Debug, Clone, Copy)]
    enum Gate {
        /// Nobody is refused: anonymous callers get alice's orders.
        Open,
        /// Any value in the key header passes as alice.
        AnyKey,
        /// Known keys only (the fixed twin).
        KnownKeys,
        /// Open, but with nothing that identifies anyone (a public page).
        OpenEmpty,
        /// Open, with a text body.
        OpenText,
    }

    async fn run(gate: Gate) -> Scanned {
        let app = me().route(
            "/api/orders",
            get(move |headers: HeaderMap| async move {
                let who = match (caller(&headers), gate) {
                    (Some(known), _) => known,
                    (None, Gate::Open) => &ALICE,
                    (None, Gate::AnyKey) if headers.contains_key(KEY_HEADER) => &ALICE,
                    (None, Gate::OpenEmpty) => return reply(200, json!({"orders": []})),
                    (None, Gate::OpenText) => {
                        return reply_raw(200, "text/plain", "alice's orders: 7")
                    }
                    (None, _) => return reply(401, json!({"error": "login"})),
                };
                reply(
                    200,
                    json!([{"order_id": 7, "owner_id": who.user_id, "email": who.email}]),
                )
            }),
        );
        let target = serve(app).await;
        let setup = Setup::new(&[&ALICE, &BOB], &["GET /api/me", "GET /api/orders"]);
        scan(&META, &target, setup).await
    }

    #[tokio::test]
    async fn data_without_a_credential_or_with_a_made_up_one_is_reported() {
        let open = run(Gate::Open).await;
        assert_eq!(open.keys(), ["anonymous"], "{:#?}", open.drafts);
        assert!(open.drafts[0].description.contains("identifying alice"));

        let any_key = run(Gate::AnyKey).await;
        assert_eq!(
            any_key.keys(),
            ["invalid-credential"],
            "{:#?}",
            any_key.drafts
        );
        let made_up = &any_key.drafts[0].evidence[1].exchange;
        assert_eq!(made_up.response.status, 200);
        let sent = made_up.request_header(KEY_HEADER).unwrap_or_default();
        assert!(sent != ALICE.key && !sent.is_empty(), "{sent}");
    }

    #[tokio::test]
    async fn refusals_and_open_pages_without_anyones_data_are_no_finding() {
        for gate in [Gate::KnownKeys, Gate::OpenEmpty, Gate::OpenText] {
            let outcome = run(gate).await;
            assert!(outcome.drafts.is_empty(), "{gate:?}: {:#?}", outcome.drafts);
        }
    }
}
