//! Missing authentication.
//!
//! An endpoint that returns a user's data to a request with no credential,
//! or with a credential no server could have issued, is open to the
//! internet. Rampart compares the anonymous baseline and a request with a
//! garbage credential against the identities' own data.
//!
//! The severity follows what is exposed and where: an endpoint the spec
//! requires a credential for that answers without one is a breach (high);
//! an endpoint public by design (`security: []`, a status page) that lists
//! usernames is a low note, with email addresses a medium one; personal
//! data and secrets in it are the exposure checks' findings.

use async_trait::async_trait;

use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

use super::{caller, identity_names};
use crate::checks::probe::success_json;

pub struct MissingAuth;

/// How bad an anonymous answer that identifies `whose` is, for this
/// endpoint: its severity, title and description.
fn exposed(endpoint: &Endpoint, emails: bool, whose: &str) -> (Severity, String, String) {
    let what = if emails { "email addresses" } else { "names" };
    if endpoint.public_by_design() {
        let why = if endpoint.requires_auth == Some(false) {
            "the spec declares it public (`security: []`)"
        } else {
            "it is a documentation, health or status page"
        };
        return (
            if emails { Severity::Medium } else { Severity::Low },
            format!("Public endpoint lists users' {what}"),
            format!(
                "The endpoint is public by design ({why}) and its answer names {whose} by their {what}: \
                 anyone can list the API's users{}.",
                if emails {
                    ", and email addresses invite phishing and credential stuffing"
                } else {
                    ", a first step for password guessing"
                }
            ),
        );
    }
    if endpoint.requires_auth == Some(true) || emails {
        let declared = if endpoint.requires_auth == Some(true) {
            "The spec requires a credential here, but a"
        } else {
            "A"
        };
        return (
            Severity::High,
            "Endpoint returns users' data without any credential".into(),
            format!("{declared} request without any credential returned data identifying {whose}."),
        );
    }
    (
        Severity::Medium,
        "Endpoint names users without any credential".into(),
        format!(
            "A request without any credential returned {whose}'s {what}; nothing says the endpoint is meant \
             to be public."
        ),
    )
}

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
            let emails = facts.shows_email_of(&anonymous, &leaked);
            let whose = leaked.into_iter().collect::<Vec<_>>().join(" and ");
            let (severity, title, why) = exposed(endpoint, emails, &whose);
            return Ok(vec![FindingDraft::at_exchange(
                &anonymous,
                severity,
                Confidence::Confirmed,
            )
            .title(title)
            .description(why)
            .key("anonymous")
            .evidence(
                format!(
                    "Request without any credential (HTTP {})",
                    anonymous.response.status
                ),
                &anonymous,
                None,
            )]);
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
    use crate::discover::EndpointSource;

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
        assert!(open.drafts[0]
            .head
            .description
            .contains("identifying alice"));

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

    fn endpoint(path: &str, requires_auth: Option<bool>) -> Endpoint {
        let mut endpoint = Endpoint::discovered(path, EndpointSource::Spec);
        endpoint.requires_auth = requires_auth;
        endpoint
    }

    #[test]
    fn the_severity_follows_what_is_exposed_and_whether_it_is_meant_to_be() {
        let severity = |path: &str, requires_auth, emails| {
            exposed(&endpoint(path, requires_auth), emails, "alice").0
        };
        // Public by design: a list of usernames is a note, emails more.
        assert_eq!(severity("/api/users", Some(false), false), Severity::Low);
        assert_eq!(severity("/api/users", Some(false), true), Severity::Medium);
        assert_eq!(severity("/api/status", None, false), Severity::Low);
        // Meant to need a credential: a breach whatever it shows.
        assert_eq!(severity("/api/report", Some(true), false), Severity::High);
        // Nothing says: names are a medium, emails a high.
        assert_eq!(severity("/api/report", None, false), Severity::Medium);
        assert_eq!(severity("/api/report", None, true), Severity::High);
        let (_, title, why) = exposed(&endpoint("/api/users", Some(false)), false, "alice");
        assert_eq!(title, "Public endpoint lists users' names");
        assert!(
            why.contains("`security: []`") && why.contains("alice"),
            "{why}"
        );
    }
}
