//! Broken function level authorization (BFLA).
//!
//! The API checks who is logged in but not what they may do: an ordinary
//! customer calls `GET /admin/users`, an operation the spec reserves to an
//! `admin` scope, or a "staff only" report. Rampart ranks the identities by
//! privilege — the roles the identity file gives (`role = "admin"`), else
//! the roles their own profiles name, else on how many endpoints each got
//! data — and asks for every operation that looks administrative as the
//! least privileged one. It reports when that identity gets the data (an
//! error answered as `200 {"status": "fail"}` is a refusal), while a caller
//! without credentials does not (otherwise the data is simply public, and
//! `authz.missing-auth` judges it).

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::admin_writes::{role_change, role_update, shared_delete, Ranked};
use super::{by_privilege, caller, privilege, url_as};
use crate::checks::probe::success_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct FunctionLevel;

pub static META: CheckMeta = CheckMeta {
    check: &FunctionLevel,
    id: "authz.function-level",
    category: Category::FunctionAuthorization,
    severity: Severity::High,
    summary: "An ordinary identity calls an administrative operation (admin paths, admin scopes)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::IDENTITIES,
};

/// Path segments that name an administrative area.
const ADMIN_SEGMENTS: &[&str] = &[
    "admin",
    "admins",
    "administrator",
    "administration",
    "internal",
    "manage",
    "management",
    "backoffice",
    "back-office",
    "superuser",
    "sudo",
    "staff",
    "moderation",
    "ops",
];

/// Why an operation looks administrative, if it does: its path, the scope
/// the spec reserves it to, or what its summary says.
pub(crate) fn administrative(
    endpoint: &Endpoint,
    common_scopes: &BTreeSet<String>,
) -> Option<String> {
    let segment = endpoint
        .path
        .split('/')
        .map(|s| s.to_ascii_lowercase())
        .find(|s| ADMIN_SEGMENTS.contains(&s.as_str()));
    if let Some(segment) = segment {
        return Some(format!("its path is under /{segment}"));
    }
    if let Some(scope) = endpoint.scopes.iter().find(|s| {
        let s = s.to_ascii_lowercase();
        privilege(&s) == 3
            || ["admin", "manage", "staff", "superuser"]
                .iter()
                .any(|w| s.contains(w))
    }) {
        return Some(format!("the spec reserves it to the `{scope}` scope"));
    }
    if let Some(scope) = endpoint.scopes.iter().find(|s| !common_scopes.contains(*s)) {
        return Some(format!(
            "the spec reserves it to the `{scope}` scope, which most operations do not need"
        ));
    }
    let words = [
        endpoint.summary.as_deref(),
        endpoint.operation_id.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::to_ascii_lowercase)
    .collect::<Vec<_>>()
    .join(" ");
    [
        "admin",
        "administrator",
        "staff only",
        "superuser",
        "privileged",
        "librarians only",
        "managers only",
    ]
    .iter()
    .find(|w| words.contains(*w))
    .map(|w| format!("the spec describes it as `{w}`"))
}

/// The least privileged identity and one the privilege order really ranks
/// above it (by role, or by reach when no identity has a role). An error
/// when nothing shows that the least privileged one is not privileged
/// itself: with one identity of unknown role, it may well be the admin.
fn least_and_above(ctx: &ProbeContext<'_>) -> Result<(Ranked, Option<Ranked>), Skip> {
    let ranked = by_privilege(ctx);
    let Some((least, least_role)) = ranked.first().cloned() else {
        return Err(Skip::NoIdentity);
    };
    let rank = |role: &Option<String>| role.as_deref().map_or(1, privilege);
    let reach = |name: &str| ctx.facts.identities.reach.get(name).copied().unwrap_or(0);
    let above = ranked
        .iter()
        .rev()
        .find(|(name, role)| {
            name != &least
                && (rank(role) > rank(&least_role)
                    || role.is_none() && least_role.is_none() && reach(name) > reach(&least))
        })
        .cloned();
    let below_admin = least_role.as_deref().is_some_and(|r| privilege(r) < 3);
    if above.is_none() && !below_admin {
        return Err(Skip::Missing("no identity known to be less privileged"));
    }
    Ok(((least, least_role), above))
}

#[async_trait]
impl Check for FunctionLevel {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let role_update = role_update(endpoint);
        let why = administrative(endpoint, &ctx.facts.identities.common_scopes).or_else(|| {
            role_update
                .as_ref()
                .map(|(_, field, _)| format!("it sets a user's `{field}`"))
        });
        let Some(why) = why else {
            return Err(Skip::NotApplicable("not an administrative operation"));
        };
        let ((least, least_role), above) = least_and_above(ctx)?;
        // Writes reach this point only under --active (the runner's rule).
        if let Some(update) = role_update {
            return role_change(ctx, endpoint, &why, &(least, least_role), update).await;
        }
        if endpoint.method == "DELETE" {
            return shared_delete(ctx, endpoint, &why, &(least, least_role), above.as_ref()).await;
        }
        if !endpoint.is_read_only() {
            return Err(Skip::NotApplicable(
                "an administrative write other than a delete or a role change",
            ));
        }
        let Some((url, _)) = url_as(ctx, endpoint, &least, true) else {
            return Err(Skip::NoSampleValue);
        };
        let answer = ctx.get(endpoint, &url, &caller(&least), &[]).await?;
        if !success_json(&answer) {
            return Ok(Vec::new());
        }
        let anonymous = ctx
            .get(endpoint, &ctx.fresh(&url), &Caller::Anonymous, &[])
            .await?;
        if success_json(&anonymous) {
            return Ok(Vec::new());
        }
        // A more privileged identity's view of the same operation: both
        // names in the evidence.
        let privileged = above;
        let mut elevated = None;
        if let Some((name, role)) = &privileged {
            let view = ctx
                .get(endpoint, &ctx.fresh(&url), &caller(name), &[])
                .await?;
            elevated = Some((name.clone(), role.clone(), view));
        }
        let shown_role = |role: &Option<String>| match role {
            Some(role) => format!(" (role {role})"),
            None => String::new(),
        };
        let confidence = match (&least_role, &elevated) {
            (Some(_), _) => Confidence::Confirmed,
            (None, Some((_, Some(role), _))) if privilege(role) > 1 => Confidence::Confirmed,
            _ => Confidence::Firm,
        };
        let mut draft = FindingDraft::at_exchange(&answer, Severity::High, confidence)
            .title(format!(
                "{least}{} can call the administrative operation {}",
                shown_role(&least_role),
                endpoint.label()
            ))
            .description(format!(
                "{} looks administrative ({why}), yet {least}, the least privileged identity{}, got its data \
                 (HTTP {}), while a request without credentials was refused (HTTP {}): the API checks that the \
                 caller is logged in, not what the caller may do.",
                endpoint.label(),
                shown_role(&least_role),
                answer.response.status,
                anonymous.response.status,
            ))
            .key("read");
        if let Some((name, role, view)) = &elevated {
            draft = draft.evidence(
                format!(
                    "{name}{} calls it (HTTP {})",
                    shown_role(role),
                    view.response.status
                ),
                view,
                None,
            );
        }
        Ok(vec![draft
            .evidence(
                format!(
                    "{least}{} calls it and gets the data",
                    shown_role(&least_role)
                ),
                &answer,
                None,
            )
            .evidence(
                format!(
                    "The same request without any credential is refused (HTTP {})",
                    anonymous.response.status
                ),
                &anonymous,
                None,
            )])
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use axum::routing::get;
    use axum::Router;
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{
        caller as persona, reply, scan, serve, Setup, ALICE, BOB,
    };

    /// How `GET /api/admin/users` treats an ordinary user (bob; alice is
    /// the admin, as her profile says).
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Guard {
        /// Any logged-in caller.
        LoggedIn,
        /// Admins only, 403 for others (the fixed twin).
        AdminOnly,
        /// Admins only, others get 200 with an error body.
        AdminOnlyIn200,
    }

    fn app(guard: Guard) -> Router {
        Router::new()
            .route(
                "/api/me",
                get(|headers: HeaderMap| async move {
                    match persona(&headers) {
                        Some(p) => {
                            let role = if p.name == "alice" {
                                "Chef"
                            } else {
                                "Customer"
                            };
                            let mut profile = p.profile();
                            profile["role"] = json!(role);
                            reply(200, profile)
                        }
                        None => reply(401, json!({"error": "login"})),
                    }
                }),
            )
            .route(
                "/api/admin/users",
                get(move |headers: HeaderMap| async move {
                    let Some(p) = persona(&headers) else {
                        return reply(401, json!({"error": "login"}));
                    };
                    let users = json!({"users": [ALICE.profile(), BOB.profile()]});
                    match guard {
                        Guard::LoggedIn => reply(200, users),
                        _ if p.name == "alice" => reply(200, users),
                        Guard::AdminOnly => reply(403, json!({"error": "chefs only"})),
                        Guard::AdminOnlyIn200 => {
                            reply(200, json!({"status": "fail", "message": "chefs only"}))
                        }
                    }
                }),
            )
    }

    #[tokio::test]
    async fn an_ordinary_identity_reading_an_admin_area_is_reported_naming_both() {
        let target = serve(app(Guard::LoggedIn)).await;
        let setup = Setup::new(&[&ALICE, &BOB], &["GET /api/me", "GET /api/admin/users"]);
        let drafts = scan(&META, &target, setup).await.drafts;
        assert_eq!(drafts.len(), 1, "{drafts:#?}");
        assert_eq!(
            drafts[0].head.title,
            "bob (role Customer) can call the administrative operation GET /api/admin/users"
        );
        let who: Vec<Option<&str>> = drafts[0]
            .evidence
            .iter()
            .map(|e| e.exchange.request.identity.as_deref())
            .collect();
        assert_eq!(who, [Some("alice"), Some("bob"), None]);
    }

    #[tokio::test]
    async fn refusals_as_403_or_as_200_with_an_error_body_are_no_finding() {
        for guard in [Guard::AdminOnly, Guard::AdminOnlyIn200] {
            let target = serve(app(guard)).await;
            let setup = Setup::new(&[&ALICE, &BOB], &["GET /api/me", "GET /api/admin/users"]);
            let drafts = scan(&META, &target, setup).await.drafts;
            assert!(drafts.is_empty(), "{guard:?}: {drafts:#?}");
        }
    }

    #[tokio::test]
    async fn one_identity_of_unknown_role_may_be_the_admin_and_is_not_claimed() {
        let target = serve(app(Guard::LoggedIn)).await;
        // No profile endpoint: nothing says what alice may do.
        let setup = Setup::new(&[&ALICE], &["GET /api/admin/users"]);
        let scanned = scan(&META, &target, setup).await;
        assert!(scanned.drafts.is_empty(), "{:#?}", scanned.drafts);
        assert!(
            scanned.skipped.iter().any(|(_, why)| why
                .to_string()
                .contains("no identity known to be less privileged")),
            "{:?}",
            scanned.skipped
        );
    }

    #[test]
    fn administrative_operations_and_privileged_values_are_recognised() {
        use crate::checks::authz::most_privileged;
        use crate::checks::probe::fixtures::endpoint;
        let common = BTreeSet::from(["orders".to_string()]);
        assert!(administrative(&endpoint("GET /api/admin/users"), &common).is_some());
        let mut scoped = endpoint("GET /api/reports");
        assert!(administrative(&scoped, &common).is_none());
        scoped.scopes = vec!["orders".into()];
        assert!(administrative(&scoped, &common).is_none());
        scoped.scopes = vec!["admin".into()];
        assert!(administrative(&scoped, &common).is_some());
        // A scope most operations do not need, whatever its name.
        scoped.scopes = vec!["chef".into()];
        assert!(administrative(&scoped, &common).is_some());
        let roles = [json!("Customer"), json!("Employee"), json!("Chef")];
        assert_eq!(most_privileged(&roles), Some(&json!("Chef")));
        let roles = [json!("admin"), json!("user")];
        assert_eq!(most_privileged(&roles), Some(&json!("admin")));
    }
}
