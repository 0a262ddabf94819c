//! Mass assignment.
//!
//! Frameworks make it easy to copy a request body into a record. If the API
//! does that without an allow-list, a caller can set fields the UI never
//! shows — `role`, `is_admin`, `balance`, `owner_id` — and promote
//! themselves. Rampart (only with `--active`) sends such fields on an update
//! of the first identity's own object, reads the object back, and puts the
//! fields back as they were (the report's changes say whether it could).
//! It never sends a credential and never probes an endpoint that changes
//! one (a password or email change).

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use url::Url;

use super::throwaway::{flows, is_sign_up, own_profile, register};
use super::{caller, identity_names, most_privileged, url_as};
use crate::checks::probe::{is_error_body, send_body, success_json};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::safety::{credential_in_path, is_credential_field};
use crate::discover::Endpoint;
use crate::engine::{Caller, Exchange};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct MassAssignment;

pub static META: CheckMeta = CheckMeta {
    check: &MassAssignment,
    id: "authz.mass-assignment",
    category: Category::PropertyAuthorization,
    severity: Severity::High,
    summary: "Privileged properties (role, is_admin, balance) accepted on creates, sign-ups and updates (needs --active)",
    mode: Mode::StateChanging,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::IDENTITIES,
};

/// Fields a caller must never set, whatever the spec says, with the value
/// tried when neither the spec nor the record says more.
fn privileged() -> Vec<(&'static str, Value)> {
    vec![
        ("role", json!("admin")),
        ("is_admin", json!(true)),
        ("isAdmin", json!(true)),
        ("balance", json!(999999)),
    ]
}

/// Names that grant something when a caller sets them.
pub(crate) fn privilege_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    matches!(
        n.as_str(),
        "role"
            | "roles"
            | "user_role"
            | "userrole"
            | "is_admin"
            | "isadmin"
            | "admin"
            | "is_staff"
            | "isstaff"
            | "is_superuser"
            | "superuser"
            | "balance"
            | "credit"
            | "credits"
            | "verified"
            | "is_verified"
            | "isverified"
            | "plan"
            | "tier"
            | "level"
            | "permissions"
            | "account_type"
            | "user_type"
            | "usertype"
            | "group"
            | "groups"
            | "approved"
            | "is_approved"
            | "premium"
            | "is_premium"
    )
}

/// Fields that name who the record is: never changed by a probe.
fn identifying(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "id"
        || n.ends_with("_id")
        || n.ends_with("id") && name.chars().any(|c| c.is_ascii_uppercase())
        || matches!(
            n.as_str(),
            "username" | "login" | "email" | "owner" | "user"
        )
}

/// What Rampart tries to set on `record` through `endpoint`: privilege-like
/// names, properties the spec marks `readOnly`, and properties the record
/// has but the request schema leaves out whose values are flags or from a
/// list — each with the value that would grant the most: the most
/// privileged of the spec's enum values (`Chef` of `Customer|Employee|Chef`,
/// not "admin"), `true` for a flag, a large number for a balance.
pub(crate) fn candidates(endpoint: &Endpoint, record: &Map<String, Value>) -> Vec<(String, Value)> {
    let record = inner(record);
    let described = |name: &str| {
        endpoint
            .request_fields
            .iter()
            .chain(&endpoint.response_fields)
            .find(|f| f.name == name)
    };
    let writable: Vec<&str> = endpoint
        .request_fields
        .iter()
        .filter(|f| !f.read_only)
        .map(|f| f.name.as_str())
        .collect();
    let mut names: Vec<String> = privileged().iter().map(|(n, _)| n.to_string()).collect();
    let spec_names = endpoint
        .request_fields
        .iter()
        .chain(&endpoint.response_fields);
    for name in spec_names
        .filter(|f| f.read_only)
        .map(|f| f.name.clone())
        .chain(record.keys().cloned())
    {
        let response_only = !writable.is_empty() && !writable.contains(&name.as_str());
        let listed = described(&name).is_some_and(|f| !f.enum_values.is_empty());
        let flag = matches!(record.get(&name), Some(Value::Bool(_)));
        let read_only = described(&name).is_some_and(|f| f.read_only);
        let wanted = privilege_like(&name) || read_only || response_only && (listed || flag);
        if wanted && !names.contains(&name) {
            names.push(name);
        }
    }
    let mut out = Vec::new();
    for name in names {
        if identifying(&name)
            || is_credential_field(&name)
            || writable.contains(&name.as_str()) && !privilege_like(&name)
        {
            continue;
        }
        let now = record.get(&name);
        let enum_values = described(&name)
            .map(|f| f.enum_values.as_slice())
            .unwrap_or_default();
        let value = if let Some(top) = most_privileged(enum_values) {
            top.clone()
        } else {
            match (now, privileged().into_iter().find(|(n, _)| *n == name)) {
                (Some(Value::Bool(_)), _) => Value::Bool(true),
                (Some(Value::Number(_)), _) if privilege_like(&name) => json!(999999),
                (Some(Value::String(_)), _) if privilege_like(&name) => json!("admin"),
                (None | Some(Value::Null), _)
                    if described(&name).and_then(|f| f.schema_type.as_deref())
                        == Some("boolean") =>
                {
                    Value::Bool(true)
                }
                (None, Some((_, value))) => value,
                _ => continue,
            }
        };
        if now != Some(&value) {
            out.push((name, value));
        }
    }
    out
}

/// The record itself when an answer wraps it (`{"user": {...}}`,
/// `{"data": {...}}`).
fn inner(record: &Map<String, Value>) -> &Map<String, Value> {
    for key in ["user", "data"] {
        if let Some(Value::Object(found)) = record.get(key) {
            if !record.contains_key("id") {
                return found;
            }
        }
    }
    record
}

pub(crate) fn field<'a>(exchange: &'a crate::engine::Exchange, name: &str) -> Option<&'a Value> {
    match exchange.body_json()? {
        Value::Object(map) => map.get(name).or_else(|| inner(map).get(name)),
        _ => None,
    }
}

#[async_trait]
impl Check for MassAssignment {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        if is_sign_up(endpoint) {
            return sign_up(ctx, endpoint).await;
        }
        if endpoint.method == "POST" {
            return super::mass_create::probe(ctx, endpoint).await;
        }
        if !matches!(endpoint.method.as_str(), "PATCH" | "PUT") {
            return Err(Skip::NotApplicable(
                "not a create (POST), an update (PATCH or PUT) or a sign-up",
            ));
        }
        // An endpoint that exists to change a credential is never probed
        // on the user's identities.
        if let Some(word) = credential_in_path(endpoint) {
            return Err(Skip::ChangesCredentials(word.to_string()));
        }
        let Some(owner) = identity_names(ctx).into_iter().next() else {
            return Err(Skip::NoIdentity);
        };
        let Some((url, _)) = url_as(ctx, endpoint, &owner, true) else {
            return Err(Skip::NoSampleValue);
        };
        let who = caller(&owner);
        let before = ctx.get(endpoint, &url, &who, &[]).await?;
        let Some(Value::Object(record)) = before.body_json().filter(|_| success_json(&before))
        else {
            return Err(Skip::Missing("the record cannot be read back"));
        };
        let tried = candidates(endpoint, record);
        if tried.is_empty() {
            return Err(Skip::Missing("no privileged property to try"));
        }
        let body = Value::Object(update_body(endpoint, record, &tried));
        let update = send_body(ctx, endpoint, &endpoint.method, &url, who.clone(), &body).await?;
        if update.response.status >= 400 || update.body_json().is_some_and(is_error_body) {
            return Ok(Vec::new());
        }
        let label = endpoint.label();
        let change = ctx.engine.journal().made(
            &label,
            format!("privileged fields sent to {owner}'s record"),
        );
        let after = ctx.get(endpoint, &ctx.fresh(&url), &who, &[]).await?;
        let stuck: Vec<String> = tried
            .iter()
            .filter(|(name, value)| {
                field(&after, name) == Some(value) && field(&before, name) != Some(value)
            })
            .map(|(name, _)| name.clone())
            .collect();
        let set = shown(tried.iter().filter(|(name, _)| stuck.contains(name)));
        let restored = restore(ctx, endpoint, &url, &who, &before, &after, &tried).await?;
        let journal = ctx.engine.journal();
        match (stuck.is_empty(), &restored) {
            (true, Ok(())) => journal.unchanged(change),
            (_, Ok(())) => journal.restored(
                change,
                Some(format!(
                    "{} set on {owner}'s record and put back",
                    stuck.join(", ")
                )),
            ),
            (_, Err(left)) => journal.describe(
                change,
                format!(
                    "{} set on {owner}'s record; {} could not be put back",
                    stuck.join(", "),
                    left.join(", ")
                ),
            ),
        }
        if stuck.is_empty() {
            return Ok(Vec::new());
        }
        let aftermath = match &restored {
            Ok(()) => "Rampart put the record back as it was.".to_string(),
            Err(left) => format!(
                "Rampart could not put {} back on {owner}'s record: restore it.",
                left.join(", ")
            ),
        };
        Ok(vec![FindingDraft::at_exchange(&update, Severity::High, Confidence::Confirmed)
            .title(format!("Mass assignment: {owner} set {} on its own record", set.join(", ")))
            .description(format!(
                "An {} with {} was accepted and reading the record back shows the new values: the API copies \
                 request fields into the record without an allow-list. {aftermath}",
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

/// A sign-up that takes privileged fields: a throwaway account registered
/// with them (never one of the user's identities), logged in, and its own
/// profile read back.
async fn sign_up(ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
    let tried = candidates(endpoint, &Map::new());
    if tried.is_empty() {
        return Err(Skip::Missing("no privileged property to try"));
    }
    let extra: Map<String, Value> = tried.iter().cloned().collect();
    let Some(account) = register(ctx, endpoint, "elevated", &extra).await? else {
        return Ok(Vec::new());
    };
    let Some((_, login)) = flows(ctx) else {
        return Err(Skip::Missing("no login to read the new account back"));
    };
    let Some(profile) = own_profile(ctx, login, &account.username, &account.password).await? else {
        return Err(Skip::Missing(
            "no credential or profile to read the new account back",
        ));
    };
    let (names, stuck) = shows_set(&profile, &tried);
    if stuck.is_empty() || !success_json(&profile) {
        return Ok(Vec::new());
    }
    let who = &account.username;
    // Replaying the sign-up would register a second account; the login and
    // the profile read back are the proof.
    Ok(vec![FindingDraft::at_exchange(&account.signed_up, Severity::High, Confidence::Confirmed)
        .repeated()
        .title(format!("Mass assignment on sign-up: a new account sets {}", stuck.join(", ")))
        .description(format!(
            "Rampart registered the throwaway account {who} with {} in the sign-up body, logged in as it and read its \
             own profile: the values stuck. Anyone can register with the privileges they choose. The account is \
             Rampart's own (see the report's changes); none of the user's identities was touched.",
            stuck.join(", ")
        ))
        .parameter(names.join(","))
        .key("sign-up")
        .evidence(format!("Sign-up of {who} with privileged fields"), &account.signed_up, None)
        .evidence(format!("{who}'s own profile: the fields stuck"), &profile, None)])
}

/// The tried fields `proof` shows with the value sent: their names, and
/// each as a title shows it (`role = "Chef"`).
pub(crate) fn shows_set(proof: &Exchange, tried: &[(String, Value)]) -> (Vec<String>, Vec<String>) {
    let set: Vec<&(String, Value)> = tried
        .iter()
        .filter(|(name, value)| field(proof, name) == Some(value))
        .collect();
    let names = set.iter().map(|(name, _)| name.clone()).collect();
    (names, shown(set.into_iter()))
}

fn shown<'a>(fields: impl Iterator<Item = &'a (String, Value)>) -> Vec<String> {
    fields
        .map(|(name, value)| match value {
            Value::String(text) => format!("{name} = \"{text}\""),
            _ => name.clone(),
        })
        .collect()
}

/// The update Rampart sends: the privileged fields, and — so that a PUT
/// replaces nothing and a PATCH changes nothing else — every other field
/// the record has (PUT) or the spec's sample names (PATCH) with the value it
/// has now. Credentials are never sent, not even unchanged.
fn update_body(
    endpoint: &Endpoint,
    record: &Map<String, Value>,
    tried: &[(String, Value)],
) -> Map<String, Value> {
    let record = inner(record);
    let named: Vec<&String> = match (&endpoint.body_sample, endpoint.method.as_str()) {
        (_, "PUT") => record.keys().collect(),
        (Some(Value::Object(sample)), _) => sample.keys().collect(),
        _ => Vec::new(),
    };
    let mut body = Map::new();
    for name in named {
        if is_credential_field(name) {
            continue;
        }
        if let Some(value) = record.get(name) {
            body.insert(name.clone(), value.clone());
        }
    }
    for (name, value) in tried {
        body.insert(name.clone(), value.clone());
    }
    body
}

/// Puts the privileged fields of the record back as `before` had them
/// (a flag it did not have is set to false), then reads it back. The
/// fields still not as they were, when some are.
async fn restore(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    url: &Url,
    who: &Caller,
    before: &Exchange,
    after: &Exchange,
    tried: &[(String, Value)],
) -> Result<Result<(), Vec<String>>, Skip> {
    let mut body = Map::new();
    for (name, _) in tried {
        let name = name.as_str();
        let (then, now) = (field(before, name), field(after, name));
        if then == now {
            continue;
        }
        match (then, now) {
            (Some(then), _) => body.insert(name.to_string(), then.clone()),
            (None, Some(Value::Bool(_))) => body.insert(name.to_string(), Value::Bool(false)),
            (None, _) => None,
        };
    }
    if body.is_empty() {
        return Ok(Ok(()));
    }
    let mut put_back = match (endpoint.method.as_str(), before.body_json()) {
        ("PUT", Some(Value::Object(record))) => update_body(endpoint, record, &[]),
        _ => Map::new(),
    };
    for (name, _) in tried {
        put_back.remove(name);
    }
    put_back.extend(body);
    let body = Value::Object(put_back);
    send_body(ctx, endpoint, &endpoint.method, url, who.clone(), &body).await?;
    let again = ctx.get(endpoint, &ctx.fresh(url), who, &[]).await?;
    let left: Vec<String> = tried
        .iter()
        .filter(|(name, _)| {
            let (then, now) = (field(before, name), field(&again, name));
            then != now && !(then.is_none() && now == Some(&Value::Bool(false)))
        })
        .map(|(name, _)| name.clone())
        .collect();
    Ok(if left.is_empty() { Ok(()) } else { Err(left) })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use axum::extract::{Path, State};
    use axum::http::HeaderMap;
    use axum::routing::get;
    use axum::Json;

    use super::*;
    use crate::checks::coverage::ALL_ENDPOINTS;
    use crate::checks::probe::fixtures::{
        caller, me, reply, reply_raw, scan, serve, Scanned, Setup, ALICE,
    };

    /// What `PATCH /api/users/{user_id}` does with the fields it is sent.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Update {
        /// Copies every field into the record.
        CopiesAll,
        /// Copies `display_name` only (the fixed twin).
        AllowList,
        /// Refuses unknown fields with 422.
        Refuses,
        /// Copies every field, but reads answer with cut-short JSON.
        CopiesAllGarbledReads,
    }

    type Records = Arc<Mutex<HashMap<String, Value>>>;

    async fn run(update: Update, setup: Setup) -> (Scanned, Value) {
        let records: Records = Arc::new(Mutex::new(HashMap::from([(
            ALICE.user_id.to_string(),
            json!({"user_id": ALICE.user_id, "display_name": "Alice", "role": "user"}),
        )])));
        let read = move |State(records): State<Records>,
                         headers: HeaderMap,
                         Path(id): Path<String>| async move {
            let record = records.lock().ok().and_then(|r| r.get(&id).cloned());
            match (record, caller(&headers)) {
                (Some(_), Some(p))
                    if update == Update::CopiesAllGarbledReads && p.user_id == id =>
                {
                    reply_raw(200, "application/json", "{\"user_id\": \"u-10")
                }
                (Some(record), Some(p)) if p.user_id == id => reply(200, record),
                _ => reply(404, json!({"error": "no such user"})),
            }
        };
        let write = move |State(records): State<Records>,
                          headers: HeaderMap,
                          Path(id): Path<String>,
                          Json(fields): Json<serde_json::Map<String, Value>>| async move {
            if caller(&headers).is_none_or(|p| p.user_id != id) {
                return reply(403, json!({"error": "not yours"}));
            }
            if update == Update::Refuses && fields.keys().any(|k| k != "display_name") {
                return reply(422, json!({"error": "unknown field"}));
            }
            let mut records = records.lock().unwrap_or_else(|p| p.into_inner());
            let Some(Value::Object(record)) = records.get_mut(&id) else {
                return reply(404, json!({"error": "no such user"}));
            };
            for (name, value) in fields {
                if update != Update::AllowList || name == "display_name" {
                    record.insert(name, value);
                }
            }
            reply(200, json!({"updated": true}))
        };
        let app = axum::Router::new()
            .route("/api/users/{user_id}", get(read).patch(write))
            .with_state(Arc::clone(&records))
            .merge(me());
        let target = serve(app).await;
        let outcome = scan(&META, &target, setup).await;
        let record = records
            .lock()
            .ok()
            .and_then(|r| r.get(ALICE.user_id).cloned());
        (outcome, record.unwrap_or_default())
    }

    fn setup() -> Setup {
        let mut setup = Setup::new(&[&ALICE], &["GET /api/me", "PATCH /api/users/{user_id}"]);
        setup.endpoint_mut("PATCH /api/users/{user_id}").body_sample =
            Some(json!({"display_name": "Alice A."}));
        setup
    }

    #[tokio::test]
    async fn privileged_fields_that_stick_are_reported_with_the_record_before_and_after() {
        let (outcome, record) = run(Update::CopiesAll, setup().active(false)).await;
        assert_eq!(
            outcome.keys(),
            ["privileged-fields"],
            "{:#?}",
            outcome.drafts
        );
        let draft = &outcome.drafts[0];
        assert_eq!(
            draft.head.parameter.as_deref(),
            Some("role,is_admin,isAdmin,balance")
        );
        let steps: Vec<&str> = draft
            .evidence
            .iter()
            .map(|e| e.exchange.request.method.as_ref())
            .collect();
        assert_eq!(steps, ["GET", "PATCH", "GET"]);
        // Put back what can be: the role it had, flags it lacked as false;
        // a balance it never had cannot be unset, and the finding says so.
        assert_eq!(record["role"], "user");
        assert_eq!(record["is_admin"], false);
        assert!(
            draft
                .head
                .description
                .contains("could not put balance back"),
            "{}",
            draft.head.description
        );
    }

    #[test]
    fn candidates_come_from_the_schema_with_their_most_privileged_real_value() {
        use crate::discover::BodyField;
        let field = |name: &str, values: &[&str], read_only: bool| BodyField {
            name: name.into(),
            enum_values: values.iter().map(|v| json!(v)).collect(),
            read_only,
            ..BodyField::default()
        };
        let mut endpoint = crate::checks::probe::fixtures::endpoint("PATCH /api/me");
        endpoint.request_fields = vec![field("display_name", &[], false)];
        endpoint.response_fields = vec![
            field("display_name", &[], false),
            field("role", &["Customer", "Employee", "Chef"], false),
            field("loyalty_points", &[], true),
            field("tier", &["bronze", "silver", "gold"], false),
        ];
        let record = json!({"data": {"id": 4, "username": "ann", "display_name": "Ann", "role": "Customer",
            "newsletter": false, "tier": "bronze", "password_hash": "x"}});
        let Value::Object(record) = record else {
            unreachable!()
        };
        // A read-only field the record lacks has nothing to try; the
        // password hash and the identifying fields are never touched.
        let tried = candidates(&endpoint, &record);
        let tried: Vec<(&str, &Value)> = tried.iter().map(|(n, v)| (n.as_str(), v)).collect();
        assert_eq!(
            tried,
            [
                ("role", &json!("Chef")),
                ("is_admin", &json!(true)),
                ("isAdmin", &json!(true)),
                ("balance", &json!(999999)),
                ("newsletter", &json!(true)),
                ("tier", &json!("gold")),
            ]
        );
    }

    #[tokio::test]
    async fn allow_lists_refusals_garbled_reads_and_passive_scans_are_no_finding() {
        for update in [
            Update::AllowList,
            Update::Refuses,
            Update::CopiesAllGarbledReads,
        ] {
            let (outcome, _) = run(update, setup().active(false)).await;
            assert!(
                outcome.drafts.is_empty(),
                "{update:?}: {:#?}",
                outcome.drafts
            );
        }
        // Without --active the check never runs: nothing is sent, nothing changes.
        let (outcome, record) = run(Update::CopiesAll, setup()).await;
        assert!(outcome.drafts.is_empty() && outcome.sent == 0);
        let switched_off = (ALL_ENDPOINTS.to_string(), Skip::NeedsActive);
        assert_eq!(outcome.skipped, [switched_off]);
        assert_eq!(record["role"], "user");
    }
}
