//! Mass assignment on create operations (part of `authz.mass-assignment`,
//! only with `--active`): the least privileged identity creates an object
//! with the privileged properties the schema names (readOnly, response-only
//! ones with their most privileged real enum value, privilege-like names),
//! reads it back through the spec's read operation (or the create's own
//! answer), and deletes it.

use serde_json::{Map, Value};

use super::created_objects::{accepted, create_body, item_operations, make};
use super::mass_assignment::{candidates, shows_set};
use super::{by_privilege, caller, login_fields};
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
    // The record to come, as the spec describes it: what it will hold is
    // unknown, which names it will have is not.
    let record: Map<String, Value> = endpoint
        .response_fields
        .iter()
        .map(|f| (f.name.clone(), Value::Null))
        .collect();
    let tried: Vec<(String, Value)> = candidates(endpoint, &record)
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
    let marker = ctx.canary();
    let mut sent = create_body(endpoint, &marker, &param);
    sent.extend(tried.iter().cloned());
    let what = format!("{owner} created an object ({marker}) with privileged properties");
    let Some(made) = make(ctx, endpoint, &owner, (&param, &marker), &sent, what).await? else {
        return Ok(Vec::new());
    };
    let who = caller(&owner);
    // The object as the API keeps it: its read operation, else the
    // create's own answer.
    let readback = match read {
        Some(read) => made.read(read, &who).await?,
        None => None,
    };
    let create = made.exchange.clone();
    let proof = readback.clone().unwrap_or_else(|| create.clone());
    let (names, stuck) = shows_set(&proof, &tried);
    // Without a read operation, a 2xx to the delete is all there is to go by.
    let gone = match read {
        Some(read) => made.remove((delete, read), &who).await?,
        None => made
            .object
            .send(delete, &who, None)
            .await?
            .is_some_and(|d| accepted(&d)),
    };
    made.settle(gone);
    if stuck.is_empty() {
        return Ok(Vec::new());
    }
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
