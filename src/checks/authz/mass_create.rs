//! Mass assignment on create operations (part of `authz.mass-assignment`,
//! only with `--active`): the least privileged identity creates an object
//! with the privileged properties the schema names (readOnly, response-only
//! ones with their most privileged real enum value, privilege-like names),
//! reads it back through the spec's read operation (or the create's own
//! answer), and deletes it.

use serde_json::{Map, Value};

use super::created_objects::{create_body, created_id, item_operations, shows, Object};
use super::mass_assignment::{candidates, field};
use super::{by_privilege, caller, login_fields, url_as};
use crate::checks::probe::{is_error_body, refuses_encoding, send_body};
use crate::checks::{Outcome, ProbeContext, Skip};
use crate::discover::safety::credential_in_path;
use crate::discover::Endpoint;
use crate::finding::{Confidence, FindingDraft, Severity};

pub(crate) async fn probe(ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
    if login_fields(endpoint).is_some() {
        return Err(Skip::NotApplicable("a login"));
    }
    if let Some(word) = credential_in_path(endpoint) {
        return Err(Skip::ChangesCredentials(word.to_string()));
    }
    let operations = item_operations(&ctx.facts.endpoints, &endpoint.path);
    let find = |method: &str| {
        operations
            .iter()
            .find(|(e, _)| e.method == method)
            .map(|(e, p)| (*e, p.clone()))
    };
    // Only what Rampart can remove again is created.
    let Some((delete, param)) = find("DELETE") else {
        return Err(Skip::Missing("no operation deletes what it creates"));
    };
    let read = find("GET").filter(|(_, p)| *p == param).map(|(e, _)| e);
    let tried: Vec<(String, Value)> = candidates(endpoint, &Map::new())
        .into_iter()
        // Only what the schema names: a create is a write, not a guess.
        .filter(|(name, _)| {
            *name != param
                && endpoint
                    .request_fields
                    .iter()
                    .chain(&endpoint.response_fields)
                    .any(|f| f.name == *name)
        })
        .collect();
    if tried.is_empty() {
        return Err(Skip::Missing("no privileged property to try"));
    }
    // The least privileged identity: what it sets, it may not.
    let Some((owner, _)) = by_privilege(ctx).into_iter().next() else {
        return Err(Skip::NoIdentity);
    };
    let Some((url, _)) = url_as(ctx, endpoint, &owner, true) else {
        return Err(Skip::NoSampleValue);
    };
    let marker = ctx.canary();
    let mut sent = create_body(endpoint, &marker, &param);
    sent.extend(tried.iter().cloned());
    let who = caller(&owner);
    let create = send_body(
        ctx,
        endpoint,
        "POST",
        &url,
        who.clone(),
        &Value::Object(sent.clone()),
    )
    .await?;
    let accepted = (200..300).contains(&create.response.status)
        && !create.body_json().is_some_and(is_error_body)
        && !refuses_encoding(&create);
    if !accepted {
        return Ok(Vec::new());
    }
    let journal = ctx.engine.journal();
    let change = journal.made(
        endpoint.label(),
        format!("{owner} created an object ({marker}) with privileged properties"),
    );
    let Some(id) = created_id(&create, &param, &sent) else {
        journal.describe(
            change,
            format!("{owner} created an object ({marker}) Rampart cannot address to remove"),
        );
        return Err(Skip::Missing(
            "the created object's identifier is not in the answer",
        ));
    };
    let object = Object {
        ctx,
        param: param.clone(),
        id,
    };
    // The object as the API keeps it: its read operation, else the
    // create's own answer.
    let readback = match read {
        Some(read) => object.read(read, &who).await?.filter(|r| shows(r, &marker)),
        None => None,
    };
    let proof = readback.clone().unwrap_or_else(|| create.clone());
    let stuck: Vec<String> = tried
        .iter()
        .filter(|(name, value)| field(&proof, name) == Some(value))
        .map(|(name, value)| match value {
            Value::String(text) => format!("{name} = \"{text}\""),
            _ => name.clone(),
        })
        .collect();
    object.send(delete, &who, None).await?;
    let gone = match read {
        Some(read) => object
            .read(read, &who)
            .await?
            .is_some_and(|r| !shows(&r, &marker)),
        None => false,
    };
    if gone {
        journal.restored(
            change,
            Some(format!(
                "{owner} created an object ({marker}); it was deleted again"
            )),
        );
    } else {
        journal.describe(
            change,
            format!(
                "{owner} created an object ({marker}) that Rampart could not see deleted: remove it"
            ),
        );
    }
    if stuck.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = tried
        .iter()
        .filter(|(name, value)| field(&proof, name) == Some(value))
        .map(|(name, _)| name.as_str())
        .collect();
    let read_how = match &readback {
        Some(_) => "reading it back shows them",
        None => "the create's answer shows them",
    };
    // Replaying the create would make a second object; the read-back is
    // the proof.
    let mut draft = FindingDraft::at_exchange(&create, Severity::High, Confidence::Confirmed)
        .repeated()
        .title(format!(
            "Mass assignment on create: {owner} creates an object with {}",
            stuck.join(", ")
        ))
        .description(format!(
            "{owner} created an object through {} with {} in the body — properties the spec does not let a caller \
             set — and {read_how}: the API copies request fields into the new record without an allow-list. The \
             object was Rampart's own and was deleted again.",
            endpoint.label(),
            stuck.join(", ")
        ))
        .parameter(names.join(","))
        .key("create")
        .evidence(
            format!("{owner} creates an object with privileged properties"),
            &create,
            None,
        );
    if let Some(readback) = &readback {
        draft = draft.evidence(
            format!("{owner} reads it back: the properties stuck"),
            readback,
            None,
        );
    }
    Ok(vec![draft])
}
