//! Broken object level authorization (BOLA / IDOR).
//!
//! The API checks that a caller is logged in but not that the object asked
//! for is theirs: change the id in `/orders/{order_id}`, `/users/{id}/posts`
//! or `?owner_id=` and you read someone else's data. Rampart fills the
//! identifiers with identity A's own values, asks as identity B, and reports
//! when B's answer carries values that identify A (not merely a 200: a 200
//! with an error body is not a leak).

use async_trait::async_trait;

use super::{anonymous_control, caller, identity_names, url_as};
use crate::checks::probe::success_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::{Endpoint, ParamLocation};
use crate::facts::identities::is_id_param;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Bola;

pub static META: CheckMeta = CheckMeta {
    check: &Bola,
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
                let Some((anonymous, refused)) =
                    anonymous_control(ctx, endpoint, &url, owner).await?
                else {
                    continue;
                };
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
                        "With {owner}'s identifiers ({source}), {intruder}'s request returned data that identifies {owner}, \
                         while the same request without a credential does not: authentication works but object ownership \
                         is not checked."
                    ))
                    .parameter(parameters.join(","))
                    .key("read")
                    .evidence(format!("{owner} reads its own object"), &owner_view, None)
                    .evidence(format!("{intruder} requests the same object and receives {owner}'s data"), &intruder_view, None)
                    .evidence(refused, &anonymous, None);
                return Ok(vec![draft]);
            }
        }
        judged.then(Vec::new).ok_or(unjudged)
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::Path;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use axum::Router;
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{
        caller, me, reply, reply_raw, scan, serve, Setup, ALICE, BOB, PERSONAS,
    };

    /// How the target answers `GET /api/orders/{order_id}`.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Orders {
        /// Any logged-in caller reads any order.
        Unchecked,
        /// Only the order's owner does (the fixed twin).
        OwnerOnly,
        /// Everyone does, logged in or not: public, not a BOLA.
        Public,
        /// Any logged-in caller, but the body is cut short mid-JSON.
        Garbled,
    }

    fn shop(orders: Orders) -> Router {
        let order = |id: &str| {
            PERSONAS
                .into_iter()
                .find(|p| id == format!("ord-{}", p.name))
                .map(|p| json!({"order_id": id, "owner_id": p.user_id, "total": 12}))
        };
        me().route(
            "/api/orders",
            get(move |headers: HeaderMap| async move {
                match caller(&headers) {
                    Some(p) => reply(200, json!([order(&format!("ord-{}", p.name))])),
                    None => reply(401, json!({"error": "login"})),
                }
            }),
        )
        .route(
            "/api/orders/{order_id}",
            get(
                move |headers: HeaderMap, Path(id): Path<String>| async move {
                    let (Some(found), who) = (order(&id), caller(&headers)) else {
                        return reply(404, json!({"error": "no such order"}));
                    };
                    let owns = who.is_some_and(|p| found["owner_id"] == p.user_id);
                    match (orders, who) {
                        (Orders::Public, _) | (Orders::Unchecked, Some(_)) => reply(200, found),
                        (Orders::OwnerOnly, Some(_)) if owns => reply(200, found),
                        (Orders::Garbled, Some(_)) => {
                            reply_raw(200, "application/json", &found.to_string()[..20])
                        }
                        (_, Some(_)) => reply(404, json!({"error": "no such order"})),
                        (_, None) => reply(401, json!({"error": "login"})),
                    }
                },
            ),
        )
    }

    async fn run(
        orders: Orders,
        personas: &[&crate::checks::probe::fixtures::Persona],
    ) -> Vec<FindingDraft> {
        let target = serve(shop(orders)).await;
        let setup = Setup::new(
            personas,
            &[
                "GET /api/me",
                "GET /api/orders",
                "GET /api/orders/{order_id}",
            ],
        );
        scan(&META, &target, setup).await.drafts
    }

    #[tokio::test]
    async fn an_identity_reading_anothers_order_is_reported_with_the_anonymous_control() {
        let drafts = run(Orders::Unchecked, &[&ALICE, &BOB]).await;
        assert_eq!(drafts.len(), 1, "{drafts:#?}");
        let draft = &drafts[0];
        assert_eq!(draft.title, "bob can read alice's object through order_id");
        assert_eq!(draft.parameter.as_deref(), Some("order_id"));
        let statuses: Vec<(Option<&str>, u16)> = draft
            .evidence
            .iter()
            .map(|e| {
                (
                    e.exchange.request.identity.as_deref(),
                    e.exchange.response.status,
                )
            })
            .collect();
        assert_eq!(
            statuses,
            [(Some("alice"), 200), (Some("bob"), 200), (None, 401)]
        );
        assert!(draft.evidence[1]
            .exchange
            .request
            .url
            .contains("/api/orders/ord-alice"));
    }

    #[tokio::test]
    async fn owner_checks_public_data_garbled_answers_and_a_lone_identity_are_not_bola() {
        for (orders, personas) in [
            (Orders::OwnerOnly, [&ALICE, &BOB].as_slice()),
            (Orders::Public, &[&ALICE, &BOB]),
            (Orders::Garbled, &[&ALICE, &BOB]),
            (Orders::Unchecked, &[&ALICE]),
        ] {
            let drafts = run(orders, personas).await;
            assert!(
                drafts.is_empty(),
                "{orders:?} with {}: {drafts:#?}",
                personas.len()
            );
        }
    }
}
