//! Parts of a signed request that the signature does not cover.
//!
//! When the string a server signs leaves out part of the request — the
//! query string, one parameter, the body, or the header that names the
//! caller — whoever holds one signed request can change that part at will
//! and the signature still verifies. If the unsigned part selects data
//! (`?user_id=`), or names the caller while the key that verifies does not
//! depend on it (one secret shared by every client), one user's signed
//! request opens another user's data.
//!
//! With the signing recipe from the identity file, Rampart signs a request,
//! then sends it with one query parameter changed (another identity's id
//! where the parameter names a user) while the signature is still computed
//! over the original request; it sends an identity's signed request with
//! another identity's caller header; and, under `--active`, a signed body
//! with one field changed. It reports when the server accepts the changed
//! request and answers differently — only where the same request with a
//! corrupted signature is refused, so the server is known to verify
//! signatures.

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;
use url::Url;

use super::recipe::{accepted, control};
use super::with_param;
use crate::checks::probe::reflects;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn};
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::buster::BUSTER_PARAM;
use crate::engine::{Caller, SignOptions, Signing};
use crate::facts::identities::is_subject_param;
use crate::facts::IdentityFacts;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};
use crate::identity::Identity;

pub struct PartialCoverage;

pub static META: CheckMeta = CheckMeta {
    check: &PartialCoverage,
    id: "signing.partial-coverage",
    category: Category::Signature,
    severity: Severity::High,
    summary: "Parameters, caller headers or bodies outside the request signature change the answer (needs a signing recipe)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::IDENTITIES,
};

/// One query parameter to change: its name, its value in the signed
/// request (`None`: not there), the value to send, and the identity that
/// value belongs to, when it is another identity's id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueryChange {
    name: String,
    from: Option<String>,
    to: String,
    whose: Option<String>,
}

/// The query changes worth trying on `url`: each parameter naming a user
/// gets another identity's id, each numeric one its successor; a user
/// parameter the spec declares but the URL lacks is added.
fn query_changes(
    url: &Url,
    endpoint: &Endpoint,
    facts: &IdentityFacts,
    who: &str,
) -> Vec<QueryChange> {
    let other_subject = |current: Option<&str>| {
        facts
            .subject
            .iter()
            .find(|(name, id)| name.as_str() != who && Some(id.as_str()) != current)
            .map(|(name, id)| (name.clone(), id.clone()))
    };
    let mut changes = Vec::new();
    let present: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(n, _)| n != BUSTER_PARAM)
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    for (name, value) in &present {
        if changes.iter().any(|c: &QueryChange| &c.name == name) {
            continue;
        }
        let change = match (is_subject_param(name), other_subject(Some(value))) {
            (true, Some((whose, id))) => Some((id, Some(whose))),
            _ => value
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_add(1))
                .map(|n| (n.to_string(), None)),
        };
        if let Some((to, whose)) = change {
            changes.push(QueryChange {
                name: name.clone(),
                from: Some(value.clone()),
                to,
                whose,
            });
        }
    }
    for param in &endpoint.parameters {
        let absent = !present.iter().any(|(n, _)| *n == param.name);
        if param.location == ParamLocation::Query && absent && is_subject_param(&param.name) {
            if let Some((whose, id)) = other_subject(None) {
                changes.push(QueryChange {
                    name: param.name.clone(),
                    from: None,
                    to: id,
                    whose: Some(whose),
                });
            }
        }
    }
    changes
}

/// Caller headers to swap: each header of `who` (other than the signature
/// headers) that another identity sends with a different value, as
/// `(header, other identity, its value)`.
fn caller_swaps(
    identities: &[Identity],
    who: &str,
    signature_headers: &[&str],
) -> Vec<(String, String, String)> {
    let Some(mine) = identities.iter().find(|i| i.name == who) else {
        return Vec::new();
    };
    let mut swaps: Vec<(String, String, String)> = Vec::new();
    for (header, value) in &mine.headers {
        if signature_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(header))
            || swaps.iter().any(|(h, _, _)| h.eq_ignore_ascii_case(header))
        {
            continue;
        }
        let other = identities.iter().filter(|i| i.name != who).find_map(|i| {
            i.headers
                .iter()
                .find(|(h, v)| h.eq_ignore_ascii_case(header) && v != value)
                .map(|(_, v)| (i.name.clone(), v.clone()))
        });
        if let Some((name, other_value)) = other {
            swaps.push((header.clone(), name, other_value));
        }
    }
    swaps
}

/// The JSON body with its first string field replaced by `marker`, and the
/// field's name; `None` when the body has no string field.
fn changed_body(body: &[u8], marker: &str) -> Option<(String, Bytes)> {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let field = map
        .iter()
        .find(|(_, v)| v.is_string())
        .map(|(k, _)| k.clone())?;
    map.insert(field.clone(), Value::String(marker.to_string()));
    Some((field, Bytes::from(Value::Object(map).to_string())))
}

#[async_trait]
impl Check for PartialCoverage {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let control = control(ctx, endpoint, &SignOptions::default()).await?;
        let (recipe, planned) = (control.recipe, &control.planned);
        let who = control.who.clone();
        let facts = &ctx.facts.identities;
        // The signature of every tampered request is computed over the
        // request the control sent, exactly as a captured one would be.
        let over_genuine = Signing::With(SignOptions {
            over: Some(control.genuine_probe.signed_parts()),
            ..SignOptions::default()
        });
        let mut drafts = Vec::new();

        // 1. Query parameters.
        for change in query_changes(&planned.url, endpoint, facts, &who) {
            let url = with_param(ctx, &planned.url, &change.name, Some(&change.to));
            let forged = ctx
                .engine
                .send(planned.probe(endpoint, url.clone(), None, &who, over_genuine.clone()))
                .await?;
            if !accepted(&forged) || ctx.same_data(endpoint, &control.genuine, &forged) {
                continue;
            }
            let owned_by_other = change
                .whose
                .as_ref()
                .is_some_and(|w| facts.owners_of(&forged).contains(w));
            // Unless the answer is plainly another identity's, compare it
            // with a correctly signed request for the changed URL.
            let comparison = if owned_by_other {
                None
            } else {
                let url = with_param(ctx, &planned.url, &change.name, Some(&change.to));
                Some(
                    ctx.engine
                        .send(planned.probe(endpoint, url, None, &who, Signing::Auto))
                        .await?,
                )
            };
            let proven = owned_by_other
                || comparison
                    .as_ref()
                    .is_some_and(|genuine| ctx.same_data(endpoint, genuine, &forged));
            let name = &change.name;
            let was = match &change.from {
                Some(from) => format!("changed from {from} to {}", change.to),
                None => format!("added as {}", change.to),
            };
            let about = match (&change.whose, owned_by_other) {
                (Some(w), true) => format!(" The answer now holds {w}'s data."),
                _ => String::new(),
            };
            let coverage = if recipe.signs_query() {
                "the server does not verify the query your recipe signs"
            } else {
                "the query is not part of the signed string"
            };
            let mut draft = FindingDraft::at_exchange(
                &forged,
                Severity::High,
                if proven { Confidence::Confirmed } else { Confidence::Firm },
            )
            .title(format!("`{name}` is outside the request signature and changes the answer"))
            .description(format!(
                "A request signed by {who} was sent with `{name}` {was}, its signature still computed over the \
                 original request, and was accepted (HTTP {}) with a different answer, while a corrupted signature \
                 is refused (HTTP {}): {coverage}, so anyone holding one signed request can change `{name}`.{about}",
                forged.response.status, control.corrupted.response.status
            ))
            .parameter(name.clone())
            .key(format!("param-{name}"));
            draft = control.evidence(draft).evidence(
                format!("The same signature on the request with `{name}` {was} is accepted"),
                &forged,
                None,
            );
            if let Some(genuine) = &comparison {
                let step = if proven {
                    "A correctly signed request for the changed URL gets the very same answer"
                } else {
                    "A correctly signed request for the changed URL, for comparison"
                };
                draft = draft.evidence(step, genuine, None);
            }
            drafts.push(draft);
        }

        // 2. The caller's own headers (the signature must bind the caller).
        let identities = ctx.engine.identities();
        for (header, other, value) in caller_swaps(&identities, &who, &recipe.header_names()) {
            let mut probe =
                planned.probe(endpoint, ctx.fresh(&planned.url), None, &who, Signing::Auto);
            probe.headers.push((header.clone(), value));
            let swapped = ctx.engine.send(probe).await?;
            if !accepted(&swapped) || ctx.same_data(endpoint, &control.genuine, &swapped) {
                continue;
            }
            let theirs = ctx
                .baseline(&Caller::Identity(other.clone()))
                .filter(|b| ctx.same_data(endpoint, b, &swapped))
                .is_some();
            if !(facts.owners_of(&swapped).contains(&other) || theirs) {
                continue;
            }
            let draft = FindingDraft::at_exchange(&swapped, Severity::High, Confidence::Confirmed)
                .title(format!(
                    "{who}'s signature is accepted with {other}'s `{header}`: the signature does not bind the caller"
                ))
                .description(format!(
                    "A request signed with {who}'s secret but carrying {other}'s `{header}` was accepted (HTTP {}) and \
                     answered with {other}'s data, while a corrupted signature is refused (HTTP {}): the key that \
                     verifies the signature does not depend on the caller the request names (one secret shared by \
                     every client, or a key looked up from another header), so any client can act as any other.",
                    swapped.response.status, control.corrupted.response.status
                ))
                .parameter(header.clone())
                .key(format!("caller-{}", header.to_ascii_lowercase()));
            drafts.push(control.evidence(draft).evidence(
                format!("{who}'s signed request with {other}'s `{header}` gets {other}'s data"),
                &swapped,
                None,
            ));
        }

        // 3. The body (state-changing endpoints, only under --active).
        let marker = ctx.canary();
        let body = planned
            .body
            .as_deref()
            .and_then(|body| changed_body(body, &marker));
        if let Some((field, body)) = body {
            let url = ctx.fresh(&planned.url);
            let forged = ctx
                .engine
                .send(planned.probe(endpoint, url, Some(body), &who, over_genuine.clone()))
                .await?;
            if accepted(&forged) && !ctx.same_data(endpoint, &control.genuine, &forged) {
                let confidence = if reflects(&forged, &marker) {
                    Confidence::Confirmed
                } else {
                    Confidence::Firm
                };
                let draft = FindingDraft::at_exchange(&forged, Severity::High, confidence)
                    .title("The request body is outside the request signature")
                    .description(format!(
                        "A request signed by {who} was sent with the body field `{field}` changed, its signature \
                         still computed over the original body, and was accepted (HTTP {}), while a corrupted \
                         signature is refused (HTTP {}): anyone holding one signed request can change what it does.",
                        forged.response.status, control.corrupted.response.status
                    ))
                    .parameter(field.clone())
                    .key("body");
                drafts.push(control.evidence(draft).evidence(
                    format!("The same signature with `{field}` changed in the body is accepted"),
                    &forged,
                    None,
                ));
            }
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::{EndpointSource, Parameter};

    fn facts() -> IdentityFacts {
        let mut facts = IdentityFacts::default();
        facts.subject.insert("alice".into(), "usr-1001".into());
        facts.subject.insert("bob".into(), "usr-1002".into());
        facts
    }

    fn endpoint() -> Endpoint {
        let mut endpoint = Endpoint::discovered("/api/orders", EndpointSource::Spec);
        for name in ["limit", "user_id", "owner"] {
            endpoint
                .parameters
                .push(Parameter::new(name, ParamLocation::Query, None));
        }
        endpoint
    }

    #[test]
    fn query_changes_target_other_identities_and_numbers() {
        let url = Url::parse("http://h/api/orders?limit=10&user_id=usr-1001&sort=asc&rampart_cb=9")
            .unwrap();
        let changes = query_changes(&url, &endpoint(), &facts(), "alice");
        assert_eq!(
            changes,
            vec![
                QueryChange {
                    name: "limit".into(),
                    from: Some("10".into()),
                    to: "11".into(),
                    whose: None
                },
                QueryChange {
                    name: "user_id".into(),
                    from: Some("usr-1001".into()),
                    to: "usr-1002".into(),
                    whose: Some("bob".into())
                },
                // Declared by the spec, absent from the URL: added.
                QueryChange {
                    name: "owner".into(),
                    from: None,
                    to: "usr-1002".into(),
                    whose: Some("bob".into())
                },
            ]
        );
        // Nothing to change without values or other identities.
        let bare = Url::parse("http://h/api/orders?sort=asc").unwrap();
        assert!(query_changes(
            &bare,
            &Endpoint::discovered("/x", EndpointSource::Crawl),
            &IdentityFacts::default(),
            "alice"
        )
        .is_empty());
    }

    #[test]
    fn caller_swaps_skip_signature_headers_and_equal_values() {
        let identity = |name: &str, client_header: &str, client: &str, signature: &str| Identity {
            name: name.into(),
            headers: [
                (client_header, client),
                ("X-Tenant", "t1"),
                ("X-Signature", signature),
            ]
            .map(|(header, value)| (header.to_string(), value.to_string()))
            .to_vec(),
        };
        let identities = vec![
            identity("alice", "X-Client-Id", "cli-alice", "static"),
            identity("bob", "x-client-id", "cli-bob", "other"),
        ];
        assert_eq!(
            caller_swaps(&identities, "alice", &["X-Signature", "X-Timestamp"]),
            vec![("X-Client-Id".into(), "bob".into(), "cli-bob".into())]
        );
        assert!(caller_swaps(&identities[..1], "alice", &[]).is_empty());
    }

    #[test]
    fn body_changes_touch_one_string_field() {
        let (field, body) =
            changed_body(br#"{"amount": 5, "note": "hi", "to": "x"}"#, "M").unwrap();
        assert_eq!(field, "note");
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["note"], "M");
        assert_eq!(value["amount"], 5);
        assert_eq!(value["to"], "x");
        assert!(changed_body(br#"{"amount": 5}"#, "M").is_none());
        assert!(changed_body(b"not json", "M").is_none());
    }
}
