//! Object-level authorization on objects Rampart creates (create, then
//! cross).
//!
//! Reads are only half of BOLA: an API that checks who may read an order
//! may still let anyone change or delete it. Rampart (only with `--active`)
//! lets one identity create an object through the spec's create operation
//! (a body built from the schema: required fields, enums, formats, a unique
//! marker in its text fields), then a second identity — never one whose
//! role ranks above the creator's — reads, updates and deletes it through
//! the operations on the same path; the creator reads it back after each
//! step to see what really happened, and deletes it at the end. Only
//! objects Rampart created are ever touched; the report's changes list them.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use url::Url;

use super::throwaway::is_sign_up;
use super::{by_privilege, caller, login_fields, privilege, url_as};
use crate::checks::probe::{
    is_error_body, refuses_encoding, sample_body_with, send_body, success_json,
};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::safety::{credential_in_path, is_credential_field};
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::{Caller, ChangeId, Exchange};
use crate::facts::values::located;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct CreatedObjects;

pub static META: CheckMeta = CheckMeta {
    check: &CreatedObjects,
    id: "authz.created-objects",
    category: Category::Bola,
    severity: Severity::High,
    summary: "Another identity reads, changes or deletes an object an identity just created (needs --active)",
    mode: Mode::StateChanging,
    runs_on: RunsOn::Endpoints,
    min_identities: 2,
    needs: Needs::IDENTITIES,
};

/// The operations on one object of the collection `collection`:
/// `{collection}/{param}` with the method, and the parameter's name.
pub(crate) fn item_operations<'a>(
    facts: &'a [Endpoint],
    collection: &str,
) -> Vec<(&'a Endpoint, String)> {
    let prefix = format!("{}/{{", collection.trim_end_matches('/'));
    facts
        .iter()
        .filter_map(|e| {
            let rest = e.path.strip_prefix(&prefix)?;
            let name = rest.strip_suffix('}')?;
            (!name.contains(['/', '{', '}'])).then(|| (e, name.to_string()))
        })
        .filter(|(e, _)| matches!(e.method.as_str(), "GET" | "PUT" | "PATCH" | "DELETE"))
        .collect()
}

/// The new object's identifier for parameter `param`: the last segment of
/// a `Location` header, else the answer's member of that name (or `id`),
/// else the value Rampart gave it.
pub(crate) fn created_id(
    create: &Exchange,
    param: &str,
    sent: &Map<String, Value>,
) -> Option<String> {
    if let Some((_, id)) = create
        .response_header("location")
        .and_then(|l| located(&create.request.url, l))
    {
        return Some(id);
    }
    let text = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(Value::Object(answer)) = create.body_json() {
        let record = match answer.get("data").or_else(|| answer.get("result")) {
            Some(Value::Object(inner)) => inner,
            _ => answer,
        };
        for key in [param, "id"] {
            if let Some(id) = record.get(key).and_then(text) {
                return Some(id);
            }
        }
    }
    sent.get(param).and_then(text)
}

/// The create body: the spec's sample (required fields, enums, formats,
/// examples), each plain text field carrying `marker` so every later answer
/// can be traced to this object, and the field that names the object (the
/// item path's parameter) set to `marker` alone. Credentials are left out.
pub(crate) fn create_body(endpoint: &Endpoint, marker: &str, param: &str) -> Map<String, Value> {
    let Value::Object(mut body) = sample_body_with(endpoint, []) else {
        return Map::new();
    };
    body.retain(|name, _| !is_credential_field(name));
    let plain = |name: &str| {
        endpoint
            .request_fields
            .iter()
            .find(|f| f.name == name)
            .is_none_or(|f| f.enum_values.is_empty() && f.format.is_none())
    };
    for (name, value) in body.iter_mut() {
        if name == param {
            *value = Value::String(marker.to_string());
        } else if value.is_string() && plain(name) {
            *value = Value::String(format!("{marker} {name}"));
        }
    }
    if !body.contains_key(param) && endpoint.request_fields.iter().any(|f| f.name == param) {
        body.insert(param.to_string(), Value::String(marker.to_string()));
    }
    body
}

pub(crate) fn shows(exchange: &Exchange, marker: &str) -> bool {
    success_json(exchange) && exchange.body_text().contains(marker)
}

pub(crate) struct Object<'a> {
    pub ctx: &'a ProbeContext<'a>,
    pub param: String,
    pub id: String,
}

impl Object<'_> {
    fn url(&self, operation: &Endpoint) -> Option<Url> {
        let mut filled = operation.clone();
        for p in filled.parameters.iter_mut() {
            if p.location == ParamLocation::Path && p.name == self.param {
                p.sample = Some(self.id.clone());
            }
        }
        self.ctx.url(&filled).map(|u| self.ctx.fresh(&u))
    }

    pub(crate) async fn read(
        &self,
        operation: &Endpoint,
        who: &Caller,
    ) -> Result<Option<Arc<Exchange>>, Skip> {
        let Some(url) = self.url(operation) else {
            return Ok(None);
        };
        Ok(Some(self.ctx.get(operation, &url, who, &[]).await?))
    }

    pub(crate) async fn send(
        &self,
        operation: &Endpoint,
        who: &Caller,
        body: Option<&Value>,
    ) -> Result<Option<Arc<Exchange>>, Skip> {
        let Some(url) = self.url(operation) else {
            return Ok(None);
        };
        let empty = Value::Object(Map::new());
        let sent = send_body(
            self.ctx,
            operation,
            &operation.method,
            &url,
            who.clone(),
            body.unwrap_or(&empty),
        )
        .await?;
        Ok(Some(sent))
    }
}

/// An object Rampart created for a probe, recorded in the report's changes
/// until [`Made::settle`] says whether it is gone again.
pub(crate) struct Made<'a> {
    pub object: Object<'a>,
    /// The create (evidence).
    pub exchange: Arc<Exchange>,
    pub marker: String,
    change: ChangeId,
    what: String,
}

/// Whether a write was taken: a 2xx that is not an error body, nor a
/// refusal of the body's encoding.
pub(crate) fn accepted(answer: &Exchange) -> bool {
    (200..300).contains(&answer.response.status)
        && !answer.body_json().is_some_and(is_error_body)
        && !refuses_encoding(answer)
}

/// `owner` creates an object through `create` with `body` (its text
/// fields carrying `marker`). `Ok(None)` when the API refuses; an error,
/// with the object recorded as left behind, when its answer does not say
/// how to address it through `param`.
pub(crate) async fn make<'a>(
    ctx: &'a ProbeContext<'a>,
    create: &Endpoint,
    owner: &str,
    (param, marker): (&str, &str),
    body: &Map<String, Value>,
    what: String,
) -> Result<Option<Made<'a>>, Skip> {
    let Some((url, _)) = url_as(ctx, create, owner, true) else {
        return Err(Skip::NoSampleValue);
    };
    let exchange = send_body(
        ctx,
        create,
        "POST",
        &url,
        caller(owner),
        &Value::Object(body.clone()),
    )
    .await?;
    if !accepted(&exchange) {
        return Ok(None);
    }
    let journal = ctx.engine.journal();
    let change = journal.made(create.label(), what.clone());
    let Some(id) = created_id(&exchange, param, body) else {
        journal.describe(
            change,
            format!("{what}, which Rampart cannot address to remove"),
        );
        return Err(Skip::Missing(
            "the created object's identifier is not in the answer",
        ));
    };
    let object = Object {
        ctx,
        param: param.to_string(),
        id,
    };
    Ok(Some(Made {
        object,
        exchange,
        marker: marker.to_string(),
        change,
        what,
    }))
}

impl Made<'_> {
    /// The object as `who` reads it through `read`, when it shows.
    pub(crate) async fn read(
        &self,
        read: &Endpoint,
        who: &Caller,
    ) -> Result<Option<Arc<Exchange>>, Skip> {
        let seen = self.object.read(read, who).await?;
        Ok(seen.filter(|s| shows(s, &self.marker)))
    }

    /// Whether the object is gone as `who` reads it through `read`.
    pub(crate) async fn gone(&self, read: &Endpoint, who: &Caller) -> Result<bool, Skip> {
        let seen = self.object.read(read, who).await?;
        Ok(seen.is_some_and(|s| !shows(&s, &self.marker)))
    }

    /// `who` deletes the object through `delete`; whether it is gone then.
    pub(crate) async fn remove(
        &self,
        (delete, read): (&Endpoint, &Endpoint),
        who: &Caller,
    ) -> Result<bool, Skip> {
        self.object.send(delete, who, None).await?;
        self.gone(read, who).await
    }

    /// The report's entry for the object: deleted again, or left behind.
    pub(crate) fn settle(&self, gone: bool) {
        let journal = self.object.ctx.engine.journal();
        match gone {
            true => journal.restored(
                self.change,
                Some(format!("{}; it was deleted again", self.what)),
            ),
            false => journal.describe(
                self.change,
                format!("{} that Rampart could not delete: remove it", self.what),
            ),
        }
    }
}

#[async_trait]
impl Check for CreatedObjects {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        if endpoint.method != "POST" {
            return Err(Skip::NotApplicable("not a create (POST)"));
        }
        // An account is not an object to cross.
        if login_fields(endpoint).is_some() || is_sign_up(endpoint) {
            return Err(Skip::NotApplicable("a login or a sign-up"));
        }
        if let Some(word) = credential_in_path(endpoint) {
            return Err(Skip::ChangesCredentials(word.to_string()));
        }
        let operations = item_operations(&ctx.facts.endpoints, &endpoint.path);
        let Some(param) = operations.first().map(|(_, p)| p.clone()) else {
            return Err(Skip::Missing("no operation addresses what it creates"));
        };
        let find = |methods: &[&str]| {
            methods.iter().find_map(|m| {
                operations
                    .iter()
                    .find(|(e, p)| e.method == *m && *p == param)
                    .map(|(e, _)| *e)
            })
        };
        let (read, update, delete) = (find(&["GET"]), find(&["PATCH", "PUT"]), find(&["DELETE"]));
        let Some(read) = read else {
            return Err(Skip::Missing("the created object cannot be read back"));
        };
        // The creator: the least privileged identity; the intruder: another
        // that does not outrank it (an admin may manage others' objects).
        let ranked = by_privilege(ctx);
        let rank = |name: &str| {
            ranked
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, r)| r.as_deref().map(privilege))
        };
        let Some((owner, _)) = ranked.first().cloned() else {
            return Err(Skip::NoIdentity);
        };
        let intruder =
            ranked
                .iter()
                .skip(1)
                .map(|(n, _)| n.clone())
                .find(|n| match (rank(n), rank(&owner)) {
                    (Some(i), Some(o)) => i <= o,
                    (Some(i), None) => i <= 1,
                    _ => true,
                });
        let Some(intruder) = intruder else {
            return Err(Skip::NoSecondIdentity);
        };
        let (as_owner, as_intruder) = (caller(&owner), caller(&intruder));
        let marker = ctx.canary();
        let sent = create_body(endpoint, &marker, &param);
        let what = format!("{owner} created an object ({marker})");
        let Some(made) = make(ctx, endpoint, &owner, (&param, &marker), &sent, what).await? else {
            return Err(Skip::Missing("the create was refused"));
        };
        let (create, object) = (&made.exchange, &made.object);
        let Some(mine) = made.read(read, &as_owner).await? else {
            return Err(Skip::Missing("the creator cannot read the object back"));
        };
        let journal = ctx.engine.journal();
        let mut drafts = Vec::new();
        let mut updates = Vec::new();
        let draft = |verb: &str, key: &str, decisive: &Arc<Exchange>| {
            // The runner's confirmation would create a second object: the
            // creator's read-back after the intruder's step is the proof.
            FindingDraft::at_exchange(decisive, Severity::High, Confidence::Confirmed)
                .repeated()
                .title(format!("{intruder} can {verb} an object {owner} created"))
                .key(key.to_string())
                .parameter(param.clone())
                .evidence(format!("{owner} creates an object"), create, None)
                .evidence(format!("{owner} reads it back"), &mine, None)
        };
        // Read.
        if let Some(theirs) = object.read(read, &as_intruder).await? {
            if shows(&theirs, &marker) {
                let anonymous = object.read(read, &Caller::Anonymous).await?;
                if let Some(anonymous) = anonymous.filter(|a| !shows(a, &marker)) {
                    drafts.push(
                        draft("read", "read", &theirs)
                            .description(format!(
                                "{intruder} read the object {owner} had just created ({}), while the same request \
                                 without a credential does not get it: the API does not check who owns it.",
                                read.label()
                            ))
                            .evidence(format!("{intruder} reads it"), &theirs, None)
                            .evidence(
                                format!("Without a credential (HTTP {})", anonymous.response.status),
                                &anonymous,
                                None,
                            ),
                    );
                }
            }
        }
        // Update: one text field of the object, changed by the intruder.
        if let Some(update) = update {
            // A text field Rampart set that the update takes (the spec's
            // required ones first).
            let ours = |name: &str| {
                name != param
                    && sent
                        .get(name)
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.starts_with(&marker))
            };
            let mut takes: Vec<&crate::discover::BodyField> =
                update.request_fields.iter().collect();
            takes.sort_by_key(|f| !f.required);
            let field = takes
                .iter()
                .map(|f| f.name.as_str())
                .find(|name| ours(name))
                .or_else(|| sent.keys().map(String::as_str).find(|name| ours(name)))
                .map(String::from);
            if let Some(field) = field {
                let changed = format!("{marker} changed by {intruder}");
                let body = if update.method == "PUT" {
                    let mut all = sent.clone();
                    all.insert(field.clone(), Value::String(changed.clone()));
                    Value::Object(all)
                } else {
                    serde_json::json!({ field.clone(): changed.clone() })
                };
                if let Some(attempt) = object.send(update, &as_intruder, Some(&body)).await? {
                    let after = object.read(read, &as_owner).await?;
                    if let Some(after) = after.filter(|a| shows(a, &changed)) {
                        updates.push(journal.made(
                            update.label(),
                            format!("{intruder} changed `{field}` of an object {owner} created ({marker})"),
                        ));
                        drafts.push(
                            draft("change", "update", &attempt)
                                .description(format!(
                                    "{intruder}'s {} set `{field}` on the object {owner} had just created, and {owner} \
                                     reads the new value back: the API does not check who owns it.",
                                    update.method
                                ))
                                .evidence(format!("{intruder} changes `{field}`"), &attempt, None)
                                .evidence(format!("{owner} reads the object: the change stuck"), &after, None),
                        );
                    }
                }
            }
        }
        // Delete, then clean up.
        let mut gone = false;
        if let Some(delete) = delete {
            // Deleting what Rampart created puts the target back: the
            // create's entry says so.
            let deleting = journal.made(
                delete.label(),
                format!("the object {owner} created ({marker}) deleted"),
            );
            journal.unchanged(deleting);
            if let Some(attempt) = object.send(delete, &as_intruder, None).await? {
                let after = object.read(read, &as_owner).await?;
                if let Some(after) = after.filter(|a| !shows(a, &marker)) {
                    gone = true;
                    let accepted = (200..300).contains(&attempt.response.status)
                        && !attempt.body_json().is_some_and(is_error_body);
                    if accepted {
                        drafts.push(
                            draft("delete", "delete", &attempt)
                                .description(format!(
                                    "{intruder}'s DELETE removed the object {owner} had just created: {owner} no longer \
                                     finds it. The API does not check who owns it."
                                ))
                                .evidence(format!("{intruder} deletes it"), &attempt, None)
                                .evidence(format!("{owner} reads it back: it is gone"), &after, None),
                        );
                    }
                }
            }
            if !gone {
                gone = made.remove((delete, read), &as_owner).await?;
            }
        }
        for update in updates {
            match gone {
                true => journal.restored(update, None),
                false => journal.describe(
                    update,
                    format!("an object {owner} created ({marker}) was changed and left"),
                ),
            }
        }
        made.settle(gone);
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use axum::extract::{Path, State};
    use axum::http::HeaderMap;
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{
        caller as persona, me, reply, scan, serve, Setup, ALICE, BOB,
    };

    type Notes = Arc<Mutex<HashMap<String, (String, Value)>>>;

    fn app(checked: bool) -> (Router, Notes) {
        let notes: Notes = Arc::default();
        let allowed = move |owner: &str, headers: &HeaderMap| {
            persona(headers).is_some_and(|p| !checked || p.name == owner)
        };
        let router =
            Router::new()
                .route(
                    "/api/notes",
                    post(
                        |State(notes): State<Notes>,
                         headers: HeaderMap,
                         Json(body): Json<Value>| async move {
                            let Some(p) = persona(&headers) else {
                                return reply(401, json!({"error": "login"}));
                            };
                            let id = format!("n{}", notes.lock().map(|n| n.len()).unwrap_or(0) + 1);
                            let mut note = body.clone();
                            note["id"] = json!(id);
                            if let Ok(mut n) = notes.lock() {
                                n.insert(id.clone(), (p.name.to_string(), note.clone()));
                            }
                            reply(201, note)
                        },
                    ),
                )
                .route(
                    "/api/notes/{id}",
                    get(
                        move |State(notes): State<Notes>,
                              headers: HeaderMap,
                              Path(id): Path<String>| async move {
                            let found = notes.lock().ok().and_then(|n| n.get(&id).cloned());
                            match found {
                                Some((owner, note)) if allowed(&owner, &headers) => {
                                    reply(200, note)
                                }
                                _ if persona(&headers).is_none() => {
                                    reply(401, json!({"error": "login"}))
                                }
                                _ => reply(404, json!({"error": "no such note"})),
                            }
                        },
                    )
                    .patch(
                        move |State(notes): State<Notes>,
                              headers: HeaderMap,
                              Path(id): Path<String>,
                              Json(body): Json<Value>| async move {
                            let Ok(mut n) = notes.lock() else {
                                return reply(500, json!({}));
                            };
                            match n.get_mut(&id) {
                                Some((owner, note)) if allowed(owner, &headers) => {
                                    if let (Value::Object(note), Value::Object(body)) = (note, body)
                                    {
                                        note.extend(body);
                                    }
                                    reply(200, json!({"updated": id}))
                                }
                                _ => reply(404, json!({"error": "no such note"})),
                            }
                        },
                    )
                    .delete(
                        move |State(notes): State<Notes>,
                              headers: HeaderMap,
                              Path(id): Path<String>| async move {
                            let Ok(mut n) = notes.lock() else {
                                return reply(500, json!({}));
                            };
                            match n.get(&id) {
                                Some((owner, _)) if allowed(owner, &headers) => {
                                    n.remove(&id);
                                    reply(200, json!({"deleted": id}))
                                }
                                _ => reply(404, json!({"error": "no such note"})),
                            }
                        },
                    ),
                )
                .with_state(Arc::clone(&notes))
                .merge(me());
        (router, notes)
    }

    fn setup() -> Setup {
        let mut setup = Setup::new(
            &[&ALICE, &BOB],
            &[
                "GET /api/me",
                "POST /api/notes",
                "GET /api/notes/{id}",
                "PATCH /api/notes/{id}",
                "DELETE /api/notes/{id}",
            ],
        );
        setup.endpoint_mut("POST /api/notes").body_sample =
            Some(json!({"text": "hello", "colour": "red"}));
        setup.active(false)
    }

    #[tokio::test]
    async fn another_identity_reading_changing_and_deleting_a_created_object_is_reported_per_method(
    ) {
        let (router, notes) = app(false);
        let target = serve(router).await;
        let scanned = scan(&META, &target, setup()).await;
        let mut keys = scanned.keys();
        keys.sort();
        assert_eq!(keys, ["delete", "read", "update"], "{:#?}", scanned.drafts);
        for draft in &scanned.drafts {
            let who: Vec<Option<&str>> = draft
                .evidence
                .iter()
                .map(|e| e.exchange.request.identity.as_deref())
                .collect();
            assert!(
                who.contains(&Some("alice")) && who.contains(&Some("bob")),
                "{}: {who:?}",
                draft.key
            );
        }
        // Everything Rampart created is gone again.
        assert!(notes.lock().map(|n| n.is_empty()).unwrap_or(false));
    }

    #[tokio::test]
    async fn objects_only_their_creator_may_touch_are_no_finding_and_are_cleaned_up() {
        let (router, notes) = app(true);
        let target = serve(router).await;
        let scanned = scan(&META, &target, setup()).await;
        assert!(scanned.drafts.is_empty(), "{:#?}", scanned.drafts);
        assert!(notes.lock().map(|n| n.is_empty()).unwrap_or(false));
    }
}
