//! Undocumented methods that work.
//!
//! An `Allow` header that names a `DELETE` the spec does not list is a
//! method nobody reviewed — often a leftover of a scaffold or an admin
//! tool, with none of the documented operations' checks. Rampart never
//! tries it on the API's data: with `--active`, it creates an object of
//! its own through the documented `POST`, deletes that object with the
//! undocumented `DELETE`, and reads it back. Only a deletion proven on
//! Rampart's own object is a finding, and the object is gone afterwards
//! either way the proof ends — or the report's changes say it was left.

use async_trait::async_trait;
use serde_json::Value;

use crate::checks::probe::TargetContext;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::discover::shadow::Advertised;
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::{Caller, Exchange, Probe};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UndocumentedMethod;

pub static META: CheckMeta = CheckMeta {
    check: &UndocumentedMethod,
    id: "config.undocumented-method",
    category: Category::Configuration,
    severity: Severity::Medium,
    summary:
        "An undocumented DELETE that works, proven on an object Rampart created (with --active)",
    mode: Mode::StateChanging,
    runs_on: RunsOn::Target,
    min_identities: 1,
    needs: Needs::NOTHING,
};

/// The id of the object a create answered with: the path parameter's
/// name, or `id`, at the top of the JSON or under `data`.
fn created_id(answer: &Exchange, param: &str) -> Option<String> {
    let json = answer.body_json()?;
    let scopes = [Some(json), json.get("data")];
    scopes.into_iter().flatten().find_map(|scope| {
        [param, "id"].iter().find_map(|key| match scope.get(*key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    })
}

fn request(
    ctx: &TargetContext<'_>,
    method: &str,
    path: &str,
    template: &str,
    who: &Caller,
) -> Option<Probe> {
    let url = ctx.engine.url_for(path).ok()?;
    let mut probe = Probe::get(ctx.engine.buster().bust(&url))
        .as_caller(who.clone())
        .template(Some(template.to_string()));
    probe.method = method.to_owned().into();
    Some(probe)
}

/// Creates an object, deletes it with the undocumented `DELETE`, reads it
/// back. `Ok(None)`: the proof did not hold (nothing to report).
async fn prove(
    ctx: &TargetContext<'_>,
    advertised: &Advertised,
    creator: &Endpoint,
    who: &Caller,
) -> Result<Option<FindingDraft>, Skip> {
    let item = &advertised.documented;
    let Some(param) = item
        .path
        .rsplit('/')
        .next()
        .and_then(|s| s.strip_prefix('{'))
        .and_then(|s| s.strip_suffix('}'))
    else {
        return Err(Skip::NotApplicable("the path names no object"));
    };
    let body = creator
        .body_sample
        .clone()
        .unwrap_or_else(|| Value::Object(Default::default()));
    let Some(mut create) = request(ctx, "POST", &creator.path, &creator.path, who) else {
        return Err(Skip::NotApplicable("no URL for the documented POST"));
    };
    create = create.header("Content-Type", "application/json");
    create.body = Some(body.to_string().into());
    let created = ctx.engine.send(create).await?;
    if !(200..300).contains(&created.response.status) {
        return Ok(None);
    }
    let journal = ctx.engine.journal();
    let Some(id) = created_id(&created, param) else {
        let change = journal.made(
            format!("POST {}", creator.path),
            "an object created to try an undocumented DELETE on",
        );
        journal.describe(
            change,
            "an object created; its id was not in the answer, so it was left".into(),
        );
        return Ok(None);
    };
    let change = journal.made(
        format!("POST {}", creator.path),
        format!("object {param}={id} created to try the undocumented DELETE on"),
    );
    let mut concrete = item.clone();
    for p in concrete
        .parameters
        .iter_mut()
        .filter(|p| p.location == ParamLocation::Path && p.name == param)
    {
        p.sample = Some(id.clone());
    }
    if !concrete.parameters.iter().any(|p| p.name == param) {
        concrete.path = concrete.path.replace(&format!("{{{param}}}"), &id);
    }
    let Some(path) = concrete.concrete_path_and_query("") else {
        return Ok(None);
    };
    let Some(delete) = request(ctx, "DELETE", &path, &item.path, who) else {
        return Ok(None);
    };
    let deleted = ctx.engine.send(delete).await?;
    if !(200..300).contains(&deleted.response.status) {
        journal.describe(
            change,
            format!(
                "object {param}={id} created; the undocumented DELETE refused it (HTTP {}), so it was left",
                deleted.response.status
            ),
        );
        return Ok(None);
    }
    // The DELETE undid the create: one change, restored.
    let undo = journal.made(format!("DELETE {}", item.path), "");
    journal.unchanged(undo);
    journal.restored(
        change,
        Some(format!(
            "object {param}={id} created and deleted with the undocumented DELETE"
        )),
    );
    let Some(read) = request(ctx, "GET", &path, &item.path, who) else {
        return Ok(None);
    };
    let after = ctx.engine.send(read).await?;
    if !matches!(after.response.status, 404 | 410) {
        return Ok(None);
    }
    let label = format!("DELETE {}", item.path);
    let mut draft = FindingDraft::at_exchange(&deleted, Severity::Medium, Confidence::Firm)
        .title(format!("Undocumented method works: {label}"))
        .description(format!(
            "`OPTIONS` lists DELETE for {}, which the spec does not document. Rampart created an \
             object of its own through POST {} and deleted it with this DELETE; reading it back \
             then answered HTTP {}. An undocumented destructive method escapes the reviews and \
             the gateway rules the documented ones get: check who may call it, or remove it.",
            item.path, creator.path, after.response.status
        ))
        .key("delete")
        .evidence("OPTIONS names DELETE", &advertised.exchange, None)
        .evidence("Rampart's own object, created", &created, None)
        .evidence("The undocumented DELETE removes it", &deleted, None)
        .evidence("Read back: gone", &after, None);
    draft.head.method = "DELETE".into();
    draft.head.path = item.path.clone();
    Ok(Some(draft))
}

#[async_trait]
impl Check for UndocumentedMethod {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let deletes: Vec<&Advertised> = ctx
            .facts
            .reach
            .advertised
            .iter()
            .filter(|a| a.methods.iter().any(|m| m == "DELETE"))
            .collect();
        if deletes.is_empty() {
            return Err(Skip::Missing("no undocumented DELETE advertised"));
        }
        let who = ctx
            .engine
            .identities()
            .first()
            .map(|i| Caller::Identity(i.name.clone()))
            .ok_or(Skip::NoIdentity)?;
        let mut drafts = Vec::new();
        let mut tried = false;
        for advertised in deletes {
            let Some(creator) = &advertised.creator else {
                continue;
            };
            tried = true;
            drafts.extend(prove(ctx, advertised, creator, &who).await?);
        }
        if !tried {
            return Err(Skip::Missing(
                "no documented POST creates what the undocumented DELETE removes",
            ));
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::Answer;

    #[test]
    fn the_created_id_is_read_by_name_or_as_id_at_the_top_or_under_data() {
        let id = |body: &str| created_id(&Answer::new(201, body).exchange(), "order_id");
        assert_eq!(id(r#"{"id": 7, "item": "x"}"#).as_deref(), Some("7"));
        assert_eq!(
            id(r#"{"order_id": "o-9", "id": 1}"#).as_deref(),
            Some("o-9")
        );
        assert_eq!(id(r#"{"data": {"id": "abc"}}"#).as_deref(), Some("abc"));
        assert_eq!(id(r#"{"ok": true}"#), None);
        assert_eq!(id("created"), None);
    }
}
