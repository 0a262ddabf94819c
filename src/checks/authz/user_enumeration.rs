//! User enumeration on login.
//!
//! When a login answers "unknown user" differently from "wrong password" —
//! another status, another message — an attacker learns which accounts exist
//! and can aim password guessing or phishing at them. Rampart (only with
//! `--active`, since it POSTs) compares a made-up user with a known user and
//! a wrong password.

use async_trait::async_trait;
use serde_json::Value;

use super::{identity_names, login_fields};
use crate::checks::probe::send_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UserEnumeration;

static META: CheckMeta = CheckMeta {
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
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let Some((user_field, password_field)) = login_fields(endpoint) else {
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
        let attempt = |user: &str| {
            let mut body = match &endpoint.body_sample {
                Some(Value::Object(map)) => map.clone(),
                _ => serde_json::Map::new(),
            };
            body.insert(user_field.clone(), Value::String(user.to_string()));
            body.insert(password_field.clone(), Value::String(wrong.clone()));
            Value::Object(body)
        };
        let unknown = send_json(
            ctx,
            endpoint,
            "POST",
            &url,
            Caller::Anonymous,
            &attempt(&nobody),
        )
        .await?;
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
        let unknown_body = unknown.body_text().replace(&nobody, "USER");
        let existing_body = existing.body_text().replace(&known, "USER");
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
        .parameter(user_field.clone())
        .key("login")
        .evidence("Login as a user that does not exist", &unknown, None)
        .evidence(
            "Login as an existing user with a wrong password",
            &existing,
            None,
        )])
    }
}
