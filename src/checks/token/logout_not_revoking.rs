//! Sessions that survive logout.
//!
//! Logging out should end the session on the server: a stateless JWT that
//! the API merely asks the client to forget stays valid until it expires,
//! so a token stolen before the user logged out keeps working after it.
//!
//! State-changing, so only with `--active`, and only on a throwaway
//! session: Rampart logs in once more with an identity's login recipe,
//! checks that the new token works, logs that session out, and asks again
//! with it. The identities' own sessions are never logged out; without a
//! login recipe there is no throwaway session, and the check says so.

use async_trait::async_trait;

use super::{send_header, shows};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip, TargetContext};
use crate::engine::{Caller, EngineError, Exchange, Probe};
use crate::facts::tokens::is_logout_path;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct LogoutNotRevoking;

pub static META: CheckMeta = CheckMeta {
    check: &LogoutNotRevoking,
    id: "token.logout-not-revoking",
    category: Category::Authentication,
    severity: Severity::Medium,
    summary: "Tokens still accepted after logout (tested on a throwaway login, --active)",
    mode: Mode::StateChanging,
    runs_on: RunsOn::Target,
    min_identities: 1,
    needs: Needs::TOKENS.and(Needs::IDENTITIES),
};

/// Where APIs put logout, tried in order when the spec names none.
const LOGOUT_PATHS: &[&str] = &[
    "/api/logout",
    "/logout",
    "/api/auth/logout",
    "/auth/logout",
    "/api/v1/logout",
];

#[async_trait]
impl Check for LogoutNotRevoking {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let Some(identity) = ctx
            .engine
            .identities()
            .into_iter()
            .map(|i| i.name)
            .find(|name| ctx.engine.logs_in(name))
        else {
            return Err(Skip::Missing(
                "no identity logs in with a recipe: a throwaway session is needed, and the identities' own are never logged out",
            ));
        };
        let Some(point) = ctx.facts.tokens.points_of(&identity).into_iter().next() else {
            return Err(Skip::Missing(
                "no caller-specific answer to test the token on",
            ));
        };
        let ((header, value), login) = ctx.engine.throwaway_login(&identity).await?;
        let change = ctx
            .engine
            .journal()
            .made(login, format!("a throwaway session of {identity} created"));
        let before = send_header(ctx, point, &header, &value, None).await?;
        if !shows(ctx.facts, &identity, &point.template, &before) {
            return Err(Skip::Missing(
                "the throwaway session's token is not accepted",
            ));
        }
        let Some(logout) = log_out(ctx, &header, &value).await? else {
            return Err(Skip::Missing("no logout endpoint answered"));
        };
        let after = send_header(ctx, point, &header, &value, None).await?;
        let replay = send_header(ctx, point, &header, &value, None).await?;
        let revoked = !shows(ctx.facts, &identity, &point.template, &after);
        if revoked {
            ctx.engine.journal().restored(
                change,
                Some(format!(
                    "a throwaway session of {identity} created and logged out"
                )),
            );
            return Ok(Vec::new());
        }
        if !shows(ctx.facts, &identity, &point.template, &replay) {
            return Ok(Vec::new());
        }
        Ok(vec![FindingDraft::at_exchange(&after, Severity::Medium, Confidence::Confirmed)
            .title("Token still accepted after logout")
            .description(format!(
                "A throwaway session of {identity} was logged out ({} {} answered HTTP {}), and its token still returns \
                 {identity}'s data from {}: logout does not revoke the token, so one stolen before logout keeps \
                 working until it expires.",
                logout.request.method,
                logout.endpoint_path(),
                logout.response.status,
                point.template
            ))
            .key("logout")
            .evidence("The throwaway session's token gets the identity's data", &before, None)
            .evidence("Logout with that token", &logout, None)
            .evidence("After logout, the same token still gets the data", &after, None)
            .evidence("Again, on a fresh URL", &replay, None)])
    }
}

/// Logs the throwaway session out: the spec's logout operation if it has
/// one, else the usual paths; POST first, GET when POST is not allowed.
/// The first 2xx or 3xx answer.
async fn log_out(
    ctx: &TargetContext<'_>,
    header: &str,
    value: &str,
) -> Result<Option<std::sync::Arc<Exchange>>, EngineError> {
    let mut candidates: Vec<String> = ctx.facts.tokens.logout_paths.to_vec();
    for path in LOGOUT_PATHS {
        if !candidates.iter().any(|c| c == path) {
            candidates.push(path.to_string());
        }
    }
    for path in candidates.iter().filter(|p| is_logout_path(p)).take(6) {
        let Ok(url) = ctx.engine.url_for(path) else {
            continue;
        };
        for method in ["POST", "GET"] {
            let mut probe = Probe::get(ctx.engine.buster().bust(&url))
                .as_caller(Caller::Anonymous)
                .header(header, value)
                .template(Some(path.clone()));
            probe.method = method.to_owned().into();
            let answer = ctx.engine.send(probe).await?;
            match answer.response.status {
                200..=399 => return Ok(Some(answer)),
                405 => continue,
                _ => break,
            }
        }
    }
    Ok(None)
}
