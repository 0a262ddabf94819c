//! Administrative writes tried by the least privileged identity (the
//! write half of `authz.function-level`, only with `--active`).
//!
//! Two kinds, each on something Rampart made for the purpose so that no
//! object or account of the user is ever changed:
//!
//! * a DELETE of a shared resource: the privileged identity creates an
//!   object through the spec's create operation, the least privileged one
//!   deletes it, the creator reads it back (and deletes it itself when the
//!   other's delete was refused);
//! * a role or permission update: a throwaway account registered through
//!   the API's sign-up gets the most privileged value of the role's enum
//!   from the least privileged identity, and the account's own profile,
//!   read after logging in as it, shows whether it took.

use std::sync::Arc;

use serde_json::Value;

use super::created_objects::{accepted, create_body, item_operations, make, shows};
use super::mass_assignment::privilege_like;
use super::throwaway::{address, flows, own_profile, register};
use super::{caller, most_privileged};
use crate::checks::probe::{sample_body_with, send_body};
use crate::checks::{Outcome, ProbeContext, Skip};
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::Exchange;
use crate::facts::identities::is_subject_param;
use crate::finding::{Confidence, FindingDraft, Severity};

/// An identity and the role it has, when known.
pub(crate) type Ranked = (String, Option<String>);

fn shown_role(role: &Option<String>) -> String {
    role.as_ref()
        .map(|r| format!(" (role {r})"))
        .unwrap_or_default()
}

/// The field of a role or permission update and the value that grants the
/// most: the path names a role (`/users/{username}/role`) or the body has
/// a privilege-like field, and a path parameter names the user it changes.
pub(crate) fn role_update(endpoint: &Endpoint) -> Option<(String, String, Value)> {
    if !matches!(endpoint.method.as_str(), "PUT" | "PATCH" | "POST") {
        return None;
    }
    let subject = endpoint
        .parameters
        .iter()
        .find(|p| p.location == ParamLocation::Path && is_subject_param(&p.name))?;
    let field = endpoint
        .request_fields
        .iter()
        .find(|f| privilege_like(&f.name))?;
    let value = match most_privileged(&field.enum_values) {
        Some(top) => top.clone(),
        None if field.schema_type.as_deref() == Some("boolean") => Value::Bool(true),
        // Without an enum Rampart would be guessing the API's words.
        None => return None,
    };
    Some((subject.name.clone(), field.name.clone(), value))
}

/// `least` deletes an object `above` created through the collection's
/// create operation.
pub(crate) async fn shared_delete(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    why: &str,
    (least, least_role): &Ranked,
    above: Option<&Ranked>,
) -> Outcome {
    let Some((collection, param)) = endpoint
        .path
        .rsplit_once('/')
        .and_then(|(c, last)| Some((c, last.strip_prefix('{')?.strip_suffix('}')?)))
    else {
        return Err(Skip::NotApplicable("not a delete of one object"));
    };
    let create = ctx
        .facts
        .endpoints
        .iter()
        .find(|e| e.method == "POST" && e.path == collection);
    let read = item_operations(&ctx.facts.endpoints, collection)
        .into_iter()
        .find(|(e, p)| e.method == "GET" && p == param)
        .map(|(e, _)| e);
    let (Some(create), Some(read)) = (create, read) else {
        return Err(Skip::Missing(
            "no create and read operation to make an object to delete",
        ));
    };
    let Some((owner, owner_role)) = above else {
        return Err(Skip::Missing(
            "no more privileged identity to create the object to delete",
        ));
    };
    let marker = ctx.canary();
    let sent = create_body(create, &marker, param);
    let what = format!("{owner} created an object ({marker}) for a delete test");
    let Some(made) = make(ctx, create, owner, (param, &marker), &sent, what).await? else {
        return Err(Skip::Missing(
            "the privileged identity's create was refused",
        ));
    };
    let as_owner = caller(owner);
    let Some(mine) = made.read(read, &as_owner).await? else {
        return Err(Skip::Missing("the creator cannot read the object back"));
    };
    let Some(attempt) = made.object.send(endpoint, &caller(least), None).await? else {
        return Err(Skip::NoSampleValue);
    };
    let after = made.object.read(read, &as_owner).await?;
    let deleted = accepted(&attempt) && after.as_ref().is_some_and(|a| !shows(a, &marker));
    let gone = deleted || made.remove((endpoint, read), &as_owner).await?;
    made.settle(gone);
    let (true, Some(after)) = (deleted, after) else {
        return Ok(Vec::new());
    };
    let label = endpoint.label();
    Ok(vec![draft(&attempt, least, least_role, &label)
        .description(format!(
            "{label} looks administrative ({why}). {owner}{} created an object through {}, and {least}{}, a less \
             privileged identity, deleted it: {owner} no longer finds it. The API checks that the caller is logged \
             in, not what the caller may do. The object was Rampart's own.",
            shown_role(owner_role),
            create.label(),
            shown_role(least_role),
        ))
        .key("delete")
        .parameter(param.to_string())
        .evidence(format!("{owner} creates an object"), &made.exchange, None)
        .evidence(format!("{owner} reads it"), &mine, None)
        .evidence(format!("{least} deletes it"), &attempt, None)
        .evidence(format!("{owner} reads it back: it is gone"), &after, None)])
}

/// `least` gives a throwaway account the most privileged role.
pub(crate) async fn role_change(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    why: &str,
    (least, least_role): &Ranked,
    (subject, field, value): (String, String, Value),
) -> Outcome {
    let Some((sign_up, login)) = flows(ctx) else {
        return Err(Skip::Missing(
            "no sign-up and login to register a throwaway account",
        ));
    };
    let Some(account) = register(ctx, sign_up, "promoted", &Default::default()).await? else {
        return Err(Skip::Missing(
            "the sign-up refused Rampart's throwaway account",
        ));
    };
    let mut aimed = endpoint.clone();
    for param in aimed.parameters.iter_mut() {
        if param.name == subject {
            param.sample = Some(address(&account, &subject));
        }
    }
    let Some(url) = ctx.url(&aimed).map(|u| ctx.fresh(&u)) else {
        return Err(Skip::NoSampleValue);
    };
    let body = sample_body_with(endpoint, [(field.clone(), value.clone())]);
    let who = &account.username;
    let journal = ctx.engine.journal();
    let change = journal.made(
        endpoint.label(),
        format!("{least} sent a role change of throwaway account {who}"),
    );
    let attempt = send_body(ctx, endpoint, &endpoint.method, &url, caller(least), &body).await?;
    if !accepted(&attempt) {
        journal.unchanged(change);
        return Ok(Vec::new());
    }
    let profile = own_profile(ctx, login, who, &account.password).await?;
    let took = |p: &Arc<Exchange>| {
        p.body_json().is_some_and(|json| {
            let record = json.get("data").filter(|d| d.is_object()).unwrap_or(json);
            record.get(&field) == Some(&value)
        })
    };
    let Some(profile) = profile.filter(took) else {
        journal.describe(
            change,
            format!("{least} sent a role change of throwaway account {who}; it did not take"),
        );
        return Ok(Vec::new());
    };
    let set = match &value {
        Value::String(text) => format!("{field} = \"{text}\""),
        other => format!("{field} = {other}"),
    };
    journal.describe(
        change,
        format!("{least} set {set} on throwaway account {who} (Rampart's own: delete it)"),
    );
    let label = endpoint.label();
    Ok(vec![draft(&attempt, least, least_role, &label)
        .description(format!(
            "{label} looks administrative ({why}). Rampart registered the throwaway account {who}; {least}{}, an \
             ordinary identity, set {set} on it and the account's own profile shows the new value. Anyone can \
             grant any account the highest role. None of the user's identities was changed.",
            shown_role(least_role),
        ))
        .key("role")
        .parameter(field)
        .evidence(format!("Throwaway account {who} signs up"), &account.signed_up, None)
        .evidence(format!("{least} sets {set} on {who}"), &attempt, None)
        .evidence(format!("{who}'s own profile: {set}"), &profile, None)])
}

/// A write's finding: its decisive step changed something, so the
/// runner's confirmation must not send it again (the read-back is the
/// proof).
fn draft(
    decisive: &Arc<Exchange>,
    least: &str,
    role: &Option<String>,
    label: &str,
) -> FindingDraft {
    FindingDraft::at_exchange(decisive, Severity::High, Confidence::Confirmed)
        .repeated()
        .title(format!(
            "{least}{} can call the administrative operation {label}",
            shown_role(role)
        ))
}
