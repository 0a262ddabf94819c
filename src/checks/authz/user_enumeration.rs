//! User enumeration on login.
//!
//! When a login answers "unknown user" differently from "wrong password" —
//! another status, another message — an attacker learns which accounts exist
//! and can aim password guessing or phishing at them. Rampart (only with
//! `--active`, since it POSTs) compares a made-up user with a known user and
//! a wrong password — by status, by message (an error answered as `200
//! {"status": "fail"}` is still a refusal) and, when both read alike, by
//! how long each takes — in whatever encoding the login reads (JSON, a
//! form, multipart).

use std::time::Duration;

use async_trait::async_trait;

use super::{identity_names, FailedLogins, LoginForm, OnLogins};
use crate::checks::probe::{is_error_body, refuses_encoding, send_failed_login, throttled};
use crate::checks::{CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::engine::Exchange;
use crate::facts::{Needs, Varies};
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UserEnumeration;

pub static META: CheckMeta = CheckMeta {
    check: &OnLogins(UserEnumeration),
    id: "authz.user-enumeration",
    category: Category::Authentication,
    severity: Severity::Medium,
    summary: "Login answers differ for unknown users and wrong passwords (needs --active)",
    mode: Mode::StateChanging,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::IDENTITIES,
};

/// Extra failed logins per side when the answers read alike: enough for
/// the slowest and fastest to say whether one side is always slower.
const TIMING_ROUNDS: usize = 5;
/// One side must be at least this much slower than the other on every
/// try (and twice as slow) before the difference counts.
const TIMING_GAP: Duration = Duration::from_millis(30);

/// A login answer that refuses the attempt, whatever its status: a 4xx or
/// 5xx, or a 2xx whose body says it failed (`{"status": "fail"}`).
fn refused(exchange: &Exchange) -> bool {
    exchange.response.status >= 400 || exchange.body_json().is_some_and(is_error_body)
}

#[async_trait]
impl FailedLogins for UserEnumeration {
    async fn probe_login(&self, ctx: &ProbeContext<'_>, login: &LoginForm<'_>) -> Outcome {
        let endpoint = login.endpoint;
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
        let attempt = |user: &str| login.body(user, &wrong);
        let try_as = |user: &str| {
            let body = attempt(user);
            let url = url.clone();
            async move { send_failed_login(ctx, endpoint, &url, &body).await }
        };
        let unknown = try_as(&nobody).await?;
        // The same failed login once more: what changes between the two
        // (a request id, a time) says nothing about the account.
        let unknown_again = try_as(&nobody).await?;
        let varies = Varies::between(&unknown, &unknown_again);
        let existing = try_as(&known).await?;
        if [&unknown, &unknown_again, &existing]
            .iter()
            .any(|e| refuses_encoding(e))
        {
            return Err(Skip::Missing("the login refused every body encoding"));
        }
        // A throttled answer tells nothing about the account it named.
        if [&unknown, &unknown_again, &existing]
            .iter()
            .any(|e| throttled(e))
        {
            return Err(Skip::Missing("the login throttled this client"));
        }
        if !refused(&unknown) || !refused(&existing) {
            return Ok(Vec::new());
        }
        let unknown_body = varies.stable_text(&unknown).replace(&nobody, "USER");
        let existing_body = varies.stable_text(&existing).replace(&known, "USER");
        let (unknown_status, existing_status) = (unknown.response.status, existing.response.status);
        if unknown_status != existing_status || unknown_body != existing_body {
            return Ok(vec![FindingDraft::at_exchange(
                &existing,
                Severity::Medium,
                Confidence::Firm,
            )
            .title("Login reveals which accounts exist")
            .description(format!(
                "A made-up user gets HTTP {unknown_status} and a known user with a wrong password gets HTTP \
                 {existing_status}{}.",
                if unknown_body != existing_body {
                    " with a different message"
                } else {
                    ""
                }
            ))
            .parameter(login.user_field())
            .key("login")
            .evidence("Login as a user that does not exist", &unknown, None)
            .evidence(
                match varies.note() {
                    Some(note) => {
                        format!("Login as an existing user with a wrong password ({note})")
                    }
                    None => "Login as an existing user with a wrong password".to_string(),
                },
                &existing,
                None,
            )]);
        }
        // The answers read alike: does one kind take longer (a password
        // hash computed only for accounts that exist)?
        let mut unknowns = vec![unknown, unknown_again];
        let mut existings = vec![existing];
        for _ in 0..TIMING_ROUNDS {
            let (unknown, existing) = (try_as(&nobody).await?, try_as(&known).await?);
            // The login throttles this client: the rounds can no longer
            // time a password check, and more attempts only prolong it.
            if throttled(&unknown) || throttled(&existing) {
                return Err(Skip::Missing("the login throttled the timing rounds"));
            }
            unknowns.push(unknown);
            existings.push(existing);
        }
        let slowest_unknown = unknowns.iter().max_by_key(|e| e.elapsed);
        let fastest_existing = existings.iter().min_by_key(|e| e.elapsed);
        let (Some(slowest_unknown), Some(fastest_existing)) = (slowest_unknown, fastest_existing)
        else {
            return Ok(Vec::new());
        };
        let (slow, fast) = (slowest_unknown.elapsed, fastest_existing.elapsed);
        if fast < slow * 2 || fast < slow + TIMING_GAP {
            return Ok(Vec::new());
        }
        Ok(vec![FindingDraft::at_exchange(
            fastest_existing,
            Severity::Medium,
            Confidence::Firm,
        )
        .title("Login reveals which accounts exist by how long it takes")
        .description(format!(
            "Failed logins read alike, but each of {} tries for a known user with a wrong password took at least \
             {} ms and each of {} tries for a made-up user at most {} ms: the server does work (a password hash) \
             only for accounts that exist.",
            existings.len(),
            fast.as_millis(),
            unknowns.len(),
            slow.as_millis()
        ))
        .parameter(login.user_field())
        .key("login-timing")
        .evidence(
            format!("The slowest login as a made-up user ({} ms)", slow.as_millis()),
            slowest_unknown,
            None,
        )
        .evidence(
            format!(
                "The fastest login as an existing user with a wrong password ({} ms)",
                fast.as_millis()
            ),
            fastest_existing,
            None,
        )])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use axum::routing::post;
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
        /// 200 for every failure, with a message that tells them apart.
        TellingIn200,
        /// 200 for every failure, one message (the fixed twin of the above).
        UniformIn200,
        /// One message, but a password hash is computed for known users only.
        SlowForKnownUsers,
        /// Reads a form only (JSON gets FastAPI's 422) and tells them apart.
        TellingFormOnly,
        /// Slow for known users, and from the sixth failure on 429 with a
        /// minute's `Retry-After` for every login of this client.
        SlowThenThrottled,
    }

    /// The user a login names: a JSON body's or, for a form, its field.
    fn user_of(headers: &HeaderMap, body: &[u8], form_only: bool) -> Option<String> {
        let form = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if form {
            return url::form_urlencoded::parse(body)
                .find(|(k, _)| k == "username")
                .map(|(_, v)| v.into_owned());
        }
        let json: Value = serde_json::from_slice(body).ok().filter(|_| !form_only)?;
        json["username"].as_str().map(String::from)
    }

    async fn run(refusal: Refusal, setup: Setup) -> Scanned {
        let failures = Arc::new(AtomicUsize::new(0));
        let app = me().route(
            "/api/login",
            post(move |headers: HeaderMap, body: Bytes| async move {
                let seen = failures.fetch_add(1, Ordering::SeqCst);
                let form_only = matches!(refusal, Refusal::TellingFormOnly);
                let Some(user) = user_of(&headers, &body, form_only) else {
                    return reply(
                        422,
                        json!({"detail": [{"type": "missing", "loc": ["body", "username"], "msg": "Field required"}]}),
                    );
                };
                let known = PERSONAS.into_iter().any(|p| p.name == user);
                match (refusal, known) {
                    (Refusal::TellingIn200, false) => {
                        reply(200, json!({"status": "fail", "message": "no such user"}))
                    }
                    (Refusal::TellingIn200, true) => {
                        reply(200, json!({"status": "fail", "message": "wrong password"}))
                    }
                    (Refusal::UniformIn200, _) => {
                        reply(200, json!({"status": "fail", "message": "invalid credentials"}))
                    }
                    (Refusal::SlowThenThrottled, _) if seen >= 5 => {
                        let mut throttled = reply(429, json!({"error": "too many attempts"}));
                        throttled
                            .headers_mut()
                            .insert("retry-after", "60".parse().expect("a header value"));
                        throttled
                    }
                    (Refusal::SlowForKnownUsers | Refusal::SlowThenThrottled, known) => {
                        if known {
                            tokio::time::sleep(std::time::Duration::from_millis(120)).await;
                        }
                        reply(401, json!({"error": "invalid credentials"}))
                    }
                    (Refusal::TellingFormOnly, false) => reply(401, json!({"detail": "no such user"})),
                    (Refusal::TellingFormOnly, true) => reply(401, json!({"detail": "wrong password"})),
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
    async fn a_login_that_starts_throttling_ends_the_timing_rounds_without_a_pause() {
        let outcome = run(Refusal::SlowThenThrottled, setup().active(false)).await;
        assert!(outcome.drafts.is_empty(), "{:#?}", outcome.drafts);
        assert!(
            outcome.skipped.iter().any(|(_, skip)| matches!(
                skip,
                Skip::Missing("the login throttled the timing rounds")
            )),
            "{:?}",
            outcome.skipped
        );
        // The 429s were handed back, not waited out and sent again.
        assert!(outcome.sent <= 12, "{} requests", outcome.sent);
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
    async fn errors_answered_as_200_forms_and_timing_are_judged_by_what_they_say() {
        let outcome = run(Refusal::TellingIn200, setup().active(false)).await;
        assert_eq!(outcome.keys(), ["login"], "{:#?}", outcome.drafts);
        assert!(outcome.drafts[0]
            .description
            .ends_with("gets HTTP 200 and a known user with a wrong password gets HTTP 200 with a different message."));
        // A login that reads forms only: the JSON attempt's 422 is never
        // compared; the form attempt is.
        let outcome = run(Refusal::TellingFormOnly, setup().active(false)).await;
        assert_eq!(outcome.keys(), ["login"], "{:#?}", outcome.drafts);
        let sent = &outcome.drafts[0].evidence[1].exchange.request;
        assert_eq!(
            crate::engine::exchange::header_value(&sent.headers, "content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(outcome.drafts[0].evidence[1].exchange.response.status, 401);
        let outcome = run(Refusal::SlowForKnownUsers, setup().active(false)).await;
        assert_eq!(outcome.keys(), ["login-timing"], "{:#?}", outcome.drafts);
        let outcome = run(Refusal::UniformIn200, setup().active(false)).await;
        assert!(outcome.drafts.is_empty(), "{:#?}", outcome.drafts);
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
