//! Broken object level authorization (BOLA / IDOR).
//!
//! The API checks that a caller is logged in but not that the object asked
//! for is theirs: change the id in `/orders/{order_id}`, `/users/{id}/posts`
//! or `?owner_id=` and you read someone else's data. Rampart fills the
//! identifiers with identity A's own values, asks as identity B, and reports
//! when B's answer carries values that identify A (not merely a 200: a 200
//! with an error body is not a leak).

use async_trait::async_trait;

use super::{
    addresses_object, caller, identity_names, outranks, read_across, url_as, url_of_owned, Pairs,
};
use crate::checks::probe::success_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
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
        let has_ids = endpoint.parameters.iter().any(addresses_object);
        if !endpoint.is_read_only() {
            return Err(Skip::NotApplicable("not a read"));
        }
        if !has_ids {
            return Err(Skip::NoIdentifier);
        }
        let names = identity_names(ctx);
        let facts = &ctx.facts.identities;
        let mut pairs = Pairs::new(Skip::NoIdentifier);
        // Each ordered pair: B asks for A's objects. An identity privileged
        // over the owner (a librarian, an admin) may read others' objects by
        // design: that is not a BOLA.
        for owner in &names {
            for intruder in names
                .iter()
                .filter(|n| *n != owner && !outranks(ctx, n, owner))
            {
                let Some((url, substituted)) = url_of_owned(ctx, endpoint, owner)
                    .filter(|(_, filled)| !filled.is_empty())
                    .or_else(|| url_as(ctx, endpoint, owner, true))
                else {
                    pairs.unjudged(Skip::NoSampleValue);
                    continue;
                };
                let owner_view = ctx.get(endpoint, &url, &caller(owner), &[]).await?;
                if !success_json(&owner_view) || !facts.owners_of(&owner_view).contains(owner) {
                    pairs.unjudged(Skip::Missing("no answer identifies its owner"));
                    continue;
                }
                pairs.judged();
                let intruder_view = ctx.get(endpoint, &url, &caller(intruder), &[]).await?;
                let Some(control) =
                    read_across(ctx, endpoint, (&url, &intruder_view), intruder, owner).await?
                else {
                    continue;
                };
                let parameters: Vec<String> = endpoint
                    .parameters
                    .iter()
                    .filter(|p| addresses_object(p))
                    .map(|p| p.name.clone())
                    .collect();
                let source = if substituted.is_empty() {
                    "the spec's example"
                } else {
                    "identifiers harvested from its own responses"
                };
                return control.prove(FindingDraft::at_exchange(&intruder_view, Severity::High, Confidence::Confirmed)
                    .title(format!("{intruder} can read {owner}'s object through {}", parameters.join(", ")))
                    .description(format!(
                        "With {owner}'s identifiers ({source}), {intruder}'s request returned data that identifies {owner}, \
                         while the same request without a credential does not: authentication works but object ownership \
                         is not checked."
                    ))
                    .parameter(parameters.join(","))
                    .key("read")
                    .evidence(format!("{owner} reads its own object"), &owner_view, None)
                    .evidence(format!("{intruder} requests the same object and receives {owner}'s data"), &intruder_view, None));
            }
        }
        pairs.outcome()
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::Path;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use axum::Router;
    use serde_json::{json, Value};

    use super::*;
    use crate::checks::probe::fixtures::{
        caller, me, reply, reply_raw, scan, serve, Persona, Setup, ALICE, BOB, PERSONAS,
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

    /// The order `ord-<persona>`, owned by that persona.
    fn order(id: &str) -> Option<Value> {
        PERSONAS
            .into_iter()
            .find(|p| id == format!("ord-{}", p.name))
            .map(|p| json!({"order_id": id, "owner_id": p.user_id, "total": 12}))
    }

    fn shop(orders: Orders) -> Router {
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

    /// A library whose books are addressed by title and name no owner: who
    /// owns a book shows only in each caller's own `GET /api/my/books`.
    fn library(checked: bool) -> Router {
        let title = |p: &str| format!("The {p} Diaries, volume {}", p.len());
        me().route(
            "/api/my/books",
            get(move |headers: HeaderMap| async move {
                match caller(&headers) {
                    Some(p) => reply(
                        200,
                        json!({"books": [{"title": title(p.name), "pages": 120}]}),
                    ),
                    None => reply(401, json!({"error": "login"})),
                }
            }),
        )
        .route(
            "/api/books/{title}",
            get(
                move |headers: HeaderMap, Path(wanted): Path<String>| async move {
                    let Some(who) = caller(&headers) else {
                        return reply(401, json!({"error": "login"}));
                    };
                    let owner = PERSONAS.into_iter().find(|p| title(p.name) == wanted);
                    match owner {
                        Some(owner) if !checked || owner.name == who.name => reply(
                            200,
                            json!({"title": wanted, "pages": 120, "notes": "private"}),
                        ),
                        // Errors as 200 with an error body, as some APIs do.
                        _ => reply(
                            200,
                            json!({"status": "fail", "message": format!("no book {wanted}")}),
                        ),
                    }
                },
            ),
        )
    }

    #[tokio::test]
    async fn objects_addressed_by_title_are_owned_by_what_each_collection_shows() {
        for (checked, expected) in [(false, 1), (true, 0)] {
            let target = serve(library(checked)).await;
            let setup = Setup::new(
                &[&ALICE, &BOB],
                &["GET /api/me", "GET /api/my/books", "GET /api/books/{title}"],
            );
            let drafts = scan(&META, &target, setup).await.drafts;
            assert_eq!(drafts.len(), expected, "checked: {checked}: {drafts:#?}");
            if let Some(draft) = drafts.first() {
                assert_eq!(draft.parameter.as_deref(), Some("title"));
                let intruder = &draft.evidence[1].exchange.request;
                assert_eq!(intruder.identity.as_deref(), Some("bob"));
                assert!(
                    intruder.url.contains("/api/books/The%20alice%20Diaries"),
                    "{}",
                    intruder.url
                );
            }
        }
    }

    /// A shop where bob is staff, reading every order, while his profile
    /// fails to load, so no role names him. With `refuses_customers`, the
    /// staff report refuses alice: the baselines saw bob served where alice
    /// is refused.
    fn shop_with_staff(refuses_customers: bool) -> Router {
        let is_staff = |p: &Persona| p.name == BOB.name;
        Router::new()
            .route(
                "/api/me",
                get(move |headers: HeaderMap| async move {
                    match caller(&headers) {
                        Some(p) if is_staff(p) => {
                            reply(500, json!({"error": "profile service down"}))
                        }
                        Some(p) => reply(200, p.profile()),
                        None => reply(401, json!({"error": "login"})),
                    }
                }),
            )
            .route(
                "/api/reports/daily",
                get(move |headers: HeaderMap| async move {
                    match caller(&headers) {
                        Some(p) if is_staff(p) || !refuses_customers => {
                            reply(200, json!({"orders": 2, "revenue": 24}))
                        }
                        Some(_) => reply(403, json!({"error": "staff only"})),
                        None => reply(401, json!({"error": "login"})),
                    }
                }),
            )
            .route(
                "/api/orders/{order_id}",
                get(
                    move |headers: HeaderMap, Path(id): Path<String>| async move {
                        let (Some(found), Some(who)) = (order(&id), caller(&headers)) else {
                            return reply(401, json!({"error": "login"}));
                        };
                        if is_staff(who) || found["owner_id"] == who.user_id {
                            reply(200, found)
                        } else {
                            reply(404, json!({"error": "no such order"}))
                        }
                    },
                ),
            )
    }

    #[tokio::test]
    async fn an_identity_served_where_the_owner_is_refused_is_staff_not_an_intruder() {
        // Without the refusal nothing tells bob's reading apart from a
        // BOLA, and it is reported: the refusal alone is what spares him.
        for (refuses_customers, expected) in [(false, 1), (true, 0)] {
            let target = serve(shop_with_staff(refuses_customers)).await;
            let mut setup = Setup::new(
                &[&ALICE, &BOB],
                &[
                    "GET /api/me",
                    "GET /api/reports/daily",
                    "GET /api/orders/{order_id}",
                ],
            );
            setup.endpoint_mut("GET /api/orders/{order_id}").parameters[0].sample =
                Some("ord-alice".into());
            let drafts = scan(&META, &target, setup).await.drafts;
            assert_eq!(
                drafts.len(),
                expected,
                "refuses customers: {refuses_customers}: {drafts:#?}"
            );
        }
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
