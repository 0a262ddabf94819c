//! Missing rate limiting on login.
//!
//! A login that never slows down lets an attacker try passwords as fast as
//! the network allows (credential stuffing, brute force). Rampart (only with
//! `--active --login-burst`) sends a bounded burst of failed logins for a
//! made-up user and reports when none is throttled.

use async_trait::async_trait;
use serde_json::Value;

use super::login_fields;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Probe;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct LoginRateLimit;

/// Failed attempts sent; a sane limiter throttles well before this.
pub const BURST: usize = 20;

static META: CheckMeta = CheckMeta {
    id: "authz.login-rate-limit",
    category: Category::RateLimiting,
    severity: Severity::Medium,
    summary: "No throttling after a burst of failed logins (needs --active --login-burst)",
    mode: Mode::StateChanging,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::NOTHING,
};

#[async_trait]
impl Check for LoginRateLimit {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let Some((user_field, password_field)) = login_fields(endpoint) else {
            return Err(Skip::NotApplicable("not a login endpoint"));
        };
        if !ctx.allow_burst {
            return Err(Skip::Missing("needs --login-burst"));
        }
        let Some(url) = ctx.url(endpoint) else {
            return Err(Skip::NoSampleValue);
        };
        let token = ctx.engine.buster().next_token();
        let mut body = match &endpoint.body_sample {
            Some(Value::Object(map)) => map.clone(),
            _ => serde_json::Map::new(),
        };
        body.insert(
            user_field.clone(),
            Value::String(format!("rampart-nobody-{token}")),
        );
        body.insert(
            password_field,
            Value::String(format!("rampart-wrong-{token}")),
        );
        let body = Value::Object(body);
        let mut first = None;
        let mut last = None;
        for _ in 0..BURST {
            // The 429 this burst hopes for is the answer, not a reason for
            // the engine to pause the scan and send the login again.
            let mut probe = Probe::get(url.clone())
                .template(Some(endpoint.path.clone()))
                .header("Content-Type", "application/json")
                .expecting_throttling();
            probe.method = "POST".into();
            probe.body = Some(body.to_string().into());
            let attempt = ctx.engine.send(probe).await?;
            let throttled = matches!(attempt.response.status, 429 | 423 | 503)
                || attempt.response_header("retry-after").is_some();
            if throttled {
                return Ok(Vec::new());
            }
            first.get_or_insert_with(|| attempt.clone());
            last = Some(attempt);
        }
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        Ok(vec![FindingDraft::at_exchange(&last, Severity::Medium, Confidence::Firm)
            .title("Login is not rate limited")
            .description(format!(
                "{BURST} failed logins in a row were all answered normally (last: HTTP {}), none with 429 or Retry-After.",
                last.response.status
            ))
            .parameter(user_field)
            .key("burst")
            .evidence("First failed login", &first, None)
            .evidence(format!("Failed login #{BURST}, still not throttled"), &last, None)])
    }
}
