//! Mass assignment.
//!
//! Frameworks make it easy to copy a request body into a record. If the API
//! does that without an allow-list, a caller can set fields the UI never
//! shows — `role`, `is_admin`, `balance`, `owner_id` — and promote
//! themselves. Rampart (only with `--active`) sends such fields on an update
//! of the first identity's own object and reads the object back.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{caller, identity_names, url_as};
use crate::checks::probe::send_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct MassAssignment;

static META: CheckMeta = CheckMeta {
    id: "authz.mass-assignment",
    category: Category::PropertyAuthorization,
    severity: Severity::High,
    summary: "Privileged properties (role, is_admin, balance) accepted on updates (needs --active)",
    mode: Mode::StateChanging,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::IDENTITIES,
};

/// Fields a caller must never set, with the value Rampart tries.
fn privileged() -> Vec<(&'static str, Value)> {
    vec![
        ("role", json!("admin")),
        ("is_admin", json!(true)),
        ("isAdmin", json!(true)),
        ("balance", json!(999999)),
    ]
}

fn field<'a>(exchange: &'a crate::engine::Exchange, name: &str) -> Option<&'a Value> {
    match exchange.body_json()? {
        Value::Object(map) => map
            .get(name)
            .or_else(|| map.get("user").and_then(|u| u.get(name))),
        _ => None,
    }
}

#[async_trait]
impl Check for MassAssignment {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        if !matches!(endpoint.method.as_str(), "PATCH" | "PUT") {
            return Err(Skip::NotApplicable("not an update (PATCH or PUT)"));
        }
        let Some(owner) = identity_names(ctx).into_iter().next() else {
            return Err(Skip::NoIdentity);
        };
        let Some((url, _)) = url_as(ctx, endpoint, &owner, true) else {
            return Err(Skip::NoSampleValue);
        };
        let before = ctx.get(endpoint, &url, &caller(&owner), &[]).await?;
        let mut body = match &endpoint.body_sample {
            Some(Value::Object(map)) => map.clone(),
            _ => serde_json::Map::new(),
        };
        for (name, value) in privileged() {
            body.insert(name.to_string(), value);
        }
        let body = Value::Object(body);
        let update =
            send_json(ctx, endpoint, &endpoint.method, &url, caller(&owner), &body).await?;
        if update.response.status >= 400 {
            return Ok(Vec::new());
        }
        let after = ctx
            .get(endpoint, &ctx.fresh(&url), &caller(&owner), &[])
            .await?;
        let stuck: Vec<&str> = privileged()
            .into_iter()
            .filter(|(name, value)| {
                field(&after, name) == Some(value) && field(&before, name) != Some(value)
            })
            .map(|(name, _)| name)
            .collect();
        if stuck.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![FindingDraft::at_exchange(&update, Severity::High, Confidence::Confirmed)
            .title(format!("Mass assignment: {owner} set {} on its own record", stuck.join(", ")))
            .description(format!(
                "An {} with {} was accepted and reading the record back shows the new values: the API copies \
                 request fields into the record without an allow-list. (Rampart changed {owner}'s record; restore it.)",
                endpoint.method,
                stuck.join(", ")
            ))
            .parameter(stuck.join(","))
            .key("privileged-fields")
            .evidence("The record before", &before, None)
            .evidence("Update carrying privileged fields", &update, None)
            .evidence("The record after: the fields stuck", &after, None)])
    }
}
