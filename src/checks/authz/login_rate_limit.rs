//! Missing rate limiting on login.
//!
//! A login that never slows down lets an attacker try passwords as fast as
//! the network allows (credential stuffing, brute force). Rampart (only with
//! `--active --login-burst`) sends a bounded burst of failed logins for a
//! made-up user and reports when none is throttled.

use async_trait::async_trait;

use super::{FailedLogins, LoginForm, OnLogins};
use crate::checks::probe::{refuses_encoding, throttled, Encoding};
use crate::checks::{CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::engine::Probe;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct LoginRateLimit;

/// Failed attempts sent; a sane limiter throttles well before this.
pub const BURST: usize = 20;

pub static META: CheckMeta = CheckMeta {
    check: &OnLogins(LoginRateLimit),
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
impl FailedLogins for LoginRateLimit {
    async fn probe_login(&self, ctx: &ProbeContext<'_>, login: &LoginForm<'_>) -> Outcome {
        let endpoint = login.endpoint;
        if !ctx.allow_burst {
            return Err(Skip::Missing("needs --login-burst"));
        }
        let Some(url) = ctx.url(endpoint) else {
            return Err(Skip::NoSampleValue);
        };
        let token = ctx.engine.buster().next_token();
        let nobody = format!("rampart-nobody-{token}");
        let body = login.body(&nobody, &format!("rampart-wrong-{token}"));
        let mut first = None;
        let mut last = None;
        for _ in 0..BURST {
            // The 429 this burst hopes for is the answer, not a reason for
            // the engine to pause the scan and send the login again. The
            // body goes in the encoding the login reads (a form for an
            // OAuth2 token endpoint).
            let encoding = Encoding::of(endpoint.body_content_type.as_deref());
            let boundary = format!("rampart{}", ctx.engine.buster().next_token());
            let (content_type, bytes) = encoding.encode(&body, &boundary);
            let mut probe = Probe::get(url.clone())
                .template(Some(endpoint.path.clone()))
                .header("Content-Type", content_type)
                .expecting_throttling();
            probe.method = "POST".into();
            probe.body = Some(bytes.into());
            let attempt = ctx.engine.send(probe).await?;
            // A login that cannot read the body refused nothing: no
            // password was tried.
            if refuses_encoding(&attempt) {
                return Err(Skip::Missing("the login refused the body's encoding"));
            }
            if throttled(&attempt) {
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
            .parameter(login.user_field())
            .key("burst")
            .evidence("First failed login", &first, None)
            .evidence(format!("Failed login #{BURST}, still not throttled"), &last, None)])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::routing::post;
    use axum::Router;
    use serde_json::{json, Value};

    use super::*;
    use crate::checks::probe::fixtures::{reply, reply_raw, scan, serve, Scanned, Setup};

    /// What `POST /api/login` does after a few failures.
    #[derive(Debug, Clone, Copy)]
    enum Limit {
        /// Nothing: every failure is a plain 401.
        None,
        /// 429 from the sixth failure on (the fixed twin).
        TooMany,
        /// 401 with `Retry-After` from the sixth failure on.
        RetryAfter,
        /// Locks the account (423) from the sixth failure on, as text.
        Lockout,
    }

    async fn run(limit: Limit, burst: bool) -> (Scanned, usize) {
        let failures = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&failures);
        let app = Router::new().route(
            "/api/login",
            post(move || async move {
                let seen = counted.fetch_add(1, Ordering::SeqCst);
                let mut refused = reply(401, json!({"error": "invalid credentials"}));
                match limit {
                    _ if seen < 5 => refused,
                    Limit::None => refused,
                    Limit::TooMany => reply(429, json!({"error": "slow down"})),
                    Limit::RetryAfter => {
                        refused
                            .headers_mut()
                            .insert("retry-after", "30".parse().expect("a header value"));
                        refused
                    }
                    Limit::Lockout => reply_raw(423, "text/plain", "locked"),
                }
            }),
        );
        let target = serve(app).await;
        let mut setup = Setup::new(&[], &["POST /api/login"]).active(burst);
        setup.endpoint_mut("POST /api/login").body_sample =
            Some(json!({"email": "someone@example.test", "password": "secret", "remember": true}));
        let outcome = scan(&META, &target, setup).await;
        (outcome, failures.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_whole_burst_of_failed_logins_answered_normally_is_reported() {
        let (outcome, attempts) = run(Limit::None, true).await;
        assert_eq!(outcome.keys(), ["burst"], "{:#?}", outcome.drafts);
        assert_eq!(attempts, BURST);
        let draft = &outcome.drafts[0];
        assert_eq!(draft.parameter.as_deref(), Some("email"));
        let body = draft.evidence[0]
            .exchange
            .request
            .body
            .clone()
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or_default();
        assert!(body["email"]
            .as_str()
            .is_some_and(|u| u.starts_with("rampart-nobody-")));
        assert_eq!(body["remember"], true, "the sample's other fields are kept");
    }

    #[tokio::test]
    async fn throttling_stops_the_burst_and_no_burst_is_sent_unless_allowed() {
        for limit in [Limit::TooMany, Limit::RetryAfter, Limit::Lockout] {
            let (outcome, attempts) = run(limit, true).await;
            assert!(
                outcome.drafts.is_empty(),
                "{limit:?}: {:#?}",
                outcome.drafts
            );
            assert_eq!(
                attempts, 6,
                "{limit:?}: the burst stops at the first throttled answer"
            );
        }
        // --active without --login-burst: the check runs but sends nothing.
        let (outcome, attempts) = run(Limit::None, false).await;
        assert!(outcome.drafts.is_empty());
        assert_eq!(attempts, 0);
        let why = (
            "POST /api/login".to_string(),
            Skip::Missing("needs --login-burst"),
        );
        assert_eq!(outcome.skipped, [why]);
    }
}
