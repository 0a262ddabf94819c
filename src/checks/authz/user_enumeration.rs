//! User enumeration on login.
//!
//! When a login answers "unknown user" differently from "wrong password" —
//! another status, another message — an attacker learns which accounts exist
//! and can aim password guessing or phishing at them. Rampart (only with
//! `--active`, since it POSTs) compares a made-up user with a known user and
//! a wrong password.

use async_trait::async_trait;

use super::{identity_names, login_body, login_fields};
use crate::checks::probe::send_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::{Needs, Varies};
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UserEnumeration;

pub static META: CheckMeta = CheckMeta {
    check: &UserEnumeration,
    id: "authz.user-enumeration",
    category: Category::Authentication,
    severity: Severity::Medium,
    summary: "Login answers differ for unknown users and wrong passwords (needs --active)",
    mode: Mode::StateChanging,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::IDENTITIES,
};

#[async_trait]
impl Check for UserEnumeration {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let Some(fields) = login_fields(endpoint) else {
            return Err(Skip::NotApplicable("not a login endpoint"));
        };
        let known = identity_names(ctx)
            .iter()
            .find_map(|name| ctx.facts.identities.login_names.get(name).cloned());
        let Some(known) = known else {
            return Err(Skip::Missing("no identity's login name is known"));
        };
        let Some(url) = ctx.url(endpoint) else {
            return Err(Skip::NoSampleValue);
        };
        let token = ctx.engine.buster().next_token();
        let nobody = format!("rampart-nobody-{token}");
        let wrong = format!("rampart-wrong-{token}");
        let attempt = |user: &str| login_body(endpoint, &fields, user, &wrong);
        let unknown = send_json(
            ctx,
            endpoint,
            "POST",
            &url,
            Caller::Anonymous,
            &attempt(&nobody),
        )
        .await?;
        // The same failed login once more: what changes between the two
        // (a request id, a time) says nothing about the account.
        let unknown_again = send_json(
            ctx,
            endpoint,
            "POST",
            &url,
            Caller::Anonymous,
            &attempt(&nobody),
        )
        .await?;
        let varies = Varies::between(&unknown, &unknown_again);
        let existing = send_json(
            ctx,
            endpoint,
            "POST",
            &url,
            Caller::Anonymous,
            &attempt(&known),
        )
        .await?;
        if unknown.response.status < 400 || existing.response.status < 400 {
            return Ok(Vec::new());
        }
        let unknown_body = varies.stable_text(&unknown).replace(&nobody, "USER");
        let existing_body = varies.stable_text(&existing).replace(&known, "USER");
        if unknown.response.status == existing.response.status && unknown_body == existing_body {
            return Ok(Vec::new());
        }
        Ok(vec![FindingDraft::at_exchange(
            &existing,
            Severity::Medium,
            Confidence::Firm,
        )
        .title("Login reveals which accounts exist")
        .description(format!(
            "A made-up user gets HTTP {} and a known user with a wrong password gets HTTP {}{}.",
            unknown.response.status,
            existing.response.status,
            if unknown_body != existing_body {
                " with a different message"
            } else {
                ""
            }
        ))
        .parameter(fields.0.clone())
        .key("login")
        .evidence("Login as a user that does not exist", &unknown, None)
        .evidence(
            match varies.note() {
                Some(note) => format!("Login as an existing user with a wrong password ({note})"),
                None => "Login as an existing user with a wrong password".to_string(),
            },
            &existing,
            None,
        )])
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::post;
    use axum::Json;
    use serde_json::{json, Value};

    use super::*;
    use crate::checks::coverage::ALL_ENDPOINTS;
    use crate::checks::probe::fixtures::{
        me, reply, reply_raw, scan, serve, Scanned, Setup, ALICE, PERSONAS,
    };

    /// How `POST /api/login` refuses a wrong password.
    #[derive(Debug, Clone, Copy)]
    enum Refusal {
        /// 404 "no such user" for unknown users, 401 for a wrong password.
        Telling,
        /// The same status, but another message.
        TellingMessage,
        /// One answer for both (the fixed twin).
        Uniform,
        /// One answer for both, naming the user it was given.
        UniformEcho,
        /// Text error pages, identical for both.
        UniformText,
    }

    async fn run(refusal: Refusal, setup: Setup) -> Scanned {
        let app = me().route(
            "/api/login",
            post(move |Json(body): Json<Value>| async move {
                let user = body["username"].as_str().unwrap_or_default().to_string();
                let known = PERSONAS.into_iter().any(|p| p.name == user);
                match (refusal, known) {
                    (Refusal::Telling, false) => reply(404, json!({"error": "no such user"})),
                    (Refusal::TellingMessage, false) => {
                        reply(401, json!({"error": "no such user"}))
                    }
                    (Refusal::Telling | Refusal::TellingMessage, true) => {
                        reply(401, json!({"error": "wrong password"}))
                    }
                    (Refusal::Uniform, _) => reply(401, json!({"error": "invalid credentials"})),
                    (Refusal::UniformEcho, _) => reply(
                        401,
                        json!({"error": format!("invalid credentials for {user}")}),
                    ),
                    (Refusal::UniformText, _) => reply_raw(401, "text/html", "<p>Login failed</p>"),
                }
            }),
        );
        let target = serve(app).await;
        scan(&META, &target, setup).await
    }

    fn setup() -> Setup {
        let mut setup = Setup::new(&[&ALICE], &["GET /api/me", "POST /api/login"]);
        setup.endpoint_mut("POST /api/login").body_sample =
            Some(json!({"username": "someone", "password": "secret"}));
        setup
    }

    #[tokio::test]
    async fn different_answers_for_unknown_users_and_wrong_passwords_are_reported() {
        for (refusal, wording) in [
            (Refusal::Telling, "gets HTTP 404 and a known user with a wrong password gets HTTP 401 with a different message"),
            (Refusal::TellingMessage, "gets HTTP 401 and a known user with a wrong password gets HTTP 401 with a different message"),
        ] {
            let outcome = run(refusal, setup().active(false)).await;
            assert_eq!(outcome.keys(), ["login"], "{refusal:?}: {:#?}", outcome.drafts);
            let draft = &outcome.drafts[0];
            assert!(draft.description.ends_with(&format!("{wording}.")), "{}", draft.description);
            let tried = draft.evidence[1].exchange.request.body.clone().unwrap_or_default();
            assert!(String::from_utf8_lossy(&tried).contains("\"username\":\"alice\""));
        }
    }

    #[tokio::test]
    async fn uniform_answers_even_when_they_echo_the_user_are_no_finding() {
        for refusal in [Refusal::Uniform, Refusal::UniformEcho, Refusal::UniformText] {
            let outcome = run(refusal, setup().active(false)).await;
            assert!(
                outcome.drafts.is_empty(),
                "{refusal:?}: {:#?}",
                outcome.drafts
            );
        }
        let passive = run(Refusal::Telling, setup()).await;
        assert!(passive.drafts.is_empty() && passive.sent == 0);
        let switched_off = (ALL_ENDPOINTS.to_string(), Skip::NeedsActive);
        assert_eq!(passive.skipped, [switched_off]);
    }
}
