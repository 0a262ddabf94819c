//! NoSQL injection: DynamoDB expressions and MongoDB query operators.
//!
//! DynamoDB takes its conditions as expression text (`FilterExpression`,
//! `KeyConditionExpression`, `ConditionExpression`); values travel apart as
//! placeholders, but an API that pastes an attribute name or a fragment of
//! expression from the request lets the caller rewrite the condition —
//! `attribute_exists(id) OR status` turns "my orders with this status" into
//! "everyone's". MongoDB drivers take queries as objects, and an API that
//! passes a JSON body or a `name[$ne]=` query string straight through lets
//! the caller send operators instead of values: `{"$ne": ""}` matches every
//! record, `{"$regex": "^a"}` walks them one letter at a time, and
//! `{"password": {"$ne": ""}}` logs in without a password.
//!
//! Proofs, each differential: a DynamoDB validation error the ordinary
//! value does not provoke; an `OR`-widened condition that returns items
//! (and owners) the ordinary answer never showed; an operator that answers
//! like a match while its negation answers like no match.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::compare::{items, similar, widened, Widening};
use super::fingerprints::{new_errors, Store};
use super::profile::Profile;
use super::{shown, Halt, Input, InputCheck, Payload, Place, Point};
use crate::checks::{CheckMeta, Mode, RunsOn};
use crate::discover::Endpoint;
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};
use std::sync::Arc;

pub struct NoSql;

pub static META: CheckMeta = CheckMeta {
    check: &NoSql,
    id: "injection.nosql",
    category: Category::InputValidation,
    severity: Severity::High,
    summary:
        "NoSQL injection: DynamoDB expression text and MongoDB operators taken from the request",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::RESPONSE_VALUES,
};

/// A DynamoDB attribute name (or a dotted path of them): what an input
/// pasted into an expression as a name looks like.
fn attribute_like(value: &str) -> bool {
    let mut chars = value.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// An attribute every listed item has, to widen with: an id-like key of
/// the first item, else its first key.
fn present_attribute(answer: &Exchange) -> Option<String> {
    let json = answer.body_json()?;
    let list = match json {
        Value::Array(list) => list,
        Value::Object(map) => map.values().find_map(Value::as_array)?,
        _ => return None,
    };
    let first = list.first()?.as_object()?;
    let id = first.keys().find(|k| {
        let k = k.to_ascii_lowercase();
        k == "id" || k.ends_with("_id") || k.ends_with("id")
    });
    id.or_else(|| first.keys().next())
        .filter(|k| attribute_like(k))
        .cloned()
}

/// Operator payloads for an input: as JSON in a body, as `name[$op]=` in a
/// query string or form.
fn operator(input: &Input, op: &str, value: Value) -> Option<Payload> {
    match input.place {
        Place::Json(_) => Some(Payload::Json(json!({ op: value }))),
        Place::Query | Place::Form => Some(Payload::NameSuffix {
            suffix: format!("[{op}]"),
            value: match value {
                Value::String(s) => s,
                other => other.to_string(),
            },
        }),
        _ => None,
    }
}

/// How an operator payload proved evaluation.
enum OperatorProof {
    /// It returned items the ordinary answer did not.
    Widened(Widening),
    /// It answered like the ordinary value although its value matches nothing.
    Matched,
    /// It succeeded where the ordinary request and an impossible value failed.
    Bypassed,
}

/// Judges an operator pair: `matching` should match records, `none` should
/// match nothing. Evaluated when `none` answers like the impossible value
/// and `matching` does not, but like a match.
fn judge_operators(
    profile: &Profile,
    matching: &Exchange,
    none: &Exchange,
    sent: &[&str],
) -> Option<OperatorProof> {
    let mut reflected: Vec<&str> = sent.to_vec();
    reflected.push(&profile.base_value);
    reflected.push(&profile.impossible_value);
    if !similar(none, &profile.impossible, &reflected)
        || similar(matching, &profile.impossible, &reflected)
    {
        return None;
    }
    if let (Some(base), Some(probe)) = (items(&profile.base), items(matching)) {
        if let Some(widening) = widened(&base, &probe) {
            return Some(OperatorProof::Widened(widening));
        }
    }
    let ok = |e: &Exchange| (200..300).contains(&e.response.status);
    if ok(matching) && !ok(&profile.base) && !ok(&profile.impossible) {
        return Some(OperatorProof::Bypassed);
    }
    (profile.informative() && similar(matching, &profile.base, &reflected))
        .then_some(OperatorProof::Matched)
}

struct Proven {
    payload: String,
    control: String,
    how: OperatorProof,
    answers: Vec<Arc<Exchange>>,
}

async fn mongo_operators(point: &Point<'_, '_>, profile: &Profile) -> Result<Option<Proven>, Halt> {
    let input = point.input;
    let impossible = Value::String(profile.impossible_value.clone());
    let prefix: String = regex_escape(&profile.base_value.chars().take(3).collect::<String>());
    let pairs = [
        ("$ne", impossible.clone(), "$eq", impossible.clone()),
        (
            "$regex",
            json!(format!("^{prefix}")),
            "$regex",
            json!(format!("^{}", profile.impossible_value)),
        ),
    ];
    for (op, value, control_op, control_value) in pairs {
        if op == "$regex" && prefix.is_empty() {
            continue;
        }
        let (Some(matching), Some(none)) = (
            operator(input, op, value),
            operator(input, control_op, control_value),
        ) else {
            return Ok(None);
        };
        let Some(first) = point.send(&matching).await? else {
            continue;
        };
        let reflected = [matching.shown(), none.shown()];
        let sent: Vec<&str> = reflected.iter().map(String::as_str).collect();
        if similar(&first, &profile.impossible, &sent) {
            continue;
        }
        let Some(control) = point.send(&none).await? else {
            continue;
        };
        if judge_operators(profile, &first, &control, &sent).is_none() {
            continue;
        }
        let Some(again) = point.send(&matching).await? else {
            continue;
        };
        if let Some(how) = judge_operators(profile, &again, &control, &sent) {
            return Ok(Some(Proven {
                payload: matching.shown(),
                control: none.shown(),
                how,
                answers: vec![first, control, again],
            }));
        }
    }
    Ok(None)
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == ' ' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

/// A DynamoDB validation error a breaking payload provoked.
struct ExpressionError {
    payload: String,
    answer: Arc<Exchange>,
    span: std::ops::Range<usize>,
}

async fn dynamo_error(
    point: &Point<'_, '_>,
    profile: &Profile,
) -> Result<Option<ExpressionError>, Halt> {
    for payload in [format!("{} )(", profile.base_value), "size".to_string()] {
        let Some(answer) = point.send(&Payload::text(payload.clone())).await? else {
            continue;
        };
        let found = new_errors(profile.base.body_text(), answer.body_text())
            .into_iter()
            .find(|e| e.store == Store::DynamoDb);
        if let Some(error) = found {
            return Ok(Some(ExpressionError {
                payload,
                answer,
                span: error.span,
            }));
        }
    }
    Ok(None)
}

/// The widened answer, the ordinary value's answer fetched again, and the
/// widened answer once more. The extra items must be in both widened
/// answers and missing from the ordinary one between them: an object that
/// merely appeared or went away meanwhile (another client's, or one that
/// Rampart's own `--active` checks created) lives for one stretch of time,
/// so it cannot be there, gone, and there again.
async fn dynamo_widening(
    point: &Point<'_, '_>,
    profile: &Profile,
) -> Result<Option<(String, Widening, [Arc<Exchange>; 3])>, Halt> {
    let (Some(base_items), Some(attribute)) =
        (items(&profile.base), present_attribute(&profile.base))
    else {
        return Ok(None);
    };
    let payload = format!("attribute_exists({attribute}) OR {}", profile.base_value);
    let Some(first) = point.send(&Payload::text(payload.clone())).await? else {
        return Ok(None);
    };
    let Some(first_items) = items(&first) else {
        return Ok(None);
    };
    let Some(widening) = widened(&base_items, &first_items) else {
        return Ok(None);
    };
    let Some(between) = point
        .send(&Payload::text(profile.base_value.clone()))
        .await?
    else {
        return Ok(None);
    };
    let Some(again) = point.send(&Payload::text(payload.clone())).await? else {
        return Ok(None);
    };
    let (Some(between_items), Some(again_items)) = (items(&between), items(&again)) else {
        return Ok(None);
    };
    let lasting = widened(&between_items, &again_items).is_some()
        && first_items
            .ids
            .intersection(&again_items.ids)
            .any(|id| !between_items.ids.contains(id) && !base_items.ids.contains(id));
    Ok(lasting.then_some((payload, widening, [first, between, again])))
}

fn widening_text(widening: &Widening) -> String {
    if widening.foreign_owners.is_empty() {
        format!(
            "{} item(s) the ordinary answer did not list",
            widening.extra
        )
    } else {
        format!(
            "{} item(s) the ordinary answer did not list, owned by {}",
            widening.extra,
            widening
                .foreign_owners
                .iter()
                .take(5)
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[async_trait]
impl InputCheck for NoSql {
    const META: &'static CheckMeta = &META;
    const NOTHING_TO_PROBE: &'static str = "no query input or body field";

    fn wants(&self, _endpoint: &Endpoint, input: &Input) -> bool {
        !input.is_boolean() && !matches!(input.place, Place::Header | Place::Cookie)
    }

    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt> {
        let profile = point.profile().await?;
        let label = point.input.label();
        if let Some(proof) = mongo_operators(point, &profile).await? {
            let (severity, what) = match &proof.how {
                OperatorProof::Widened(widening) => (Severity::High, format!("returned {}", widening_text(widening))),
                OperatorProof::Bypassed => (
                    Severity::Critical,
                    "succeeded where the ordinary value and a value that matches nothing are refused".to_string(),
                ),
                OperatorProof::Matched => (
                    Severity::High,
                    format!("matched like the ordinary value {}", shown(&profile.base_value)),
                ),
            };
            let [first, control, again] = [&proof.answers[0], &proof.answers[1], &proof.answers[2]];
            let draft = point
                .draft(first, severity, Confidence::Confirmed)
.repeated()
                .title(format!("NoSQL operator injection in {label}"))
                .description(format!(
                    "The {label} is passed to the database as a query object: the operator {} {what}, \
                     while {} answered like a value that matches nothing ({}). Callers can send operators \
                     instead of values.",
                    shown(&proof.payload),
                    shown(&proof.control),
                    shown(&profile.impossible_value),
                ))
                .evidence(format!("Ordinary value {}", shown(&profile.base_value)), &profile.base, None)
                .evidence(format!("No match {}", shown(&profile.impossible_value)), &profile.impossible, None)
                .evidence(format!("Operator {}", shown(&proof.payload)), first, None)
                .evidence(format!("Control {}", shown(&proof.control)), control, None)
                .evidence("Operator again, fresh cache buster", again, None)
                .stack_hint("mongodb");
            return Ok(Some(draft));
        }
        if !attribute_like(&profile.base_value) || profile.base_value.parse::<f64>().is_ok() {
            return Ok(None);
        }
        let error = dynamo_error(point, &profile).await?;
        if let Some((payload, widening, [first, between, again])) =
            dynamo_widening(point, &profile).await?
        {
            let mut draft = point
                .draft(&first, Severity::High, Confidence::Confirmed)
.repeated()
                .title(format!("DynamoDB expression injection in {label} (condition widened)"))
                .description(format!(
                    "The {label} is pasted into a DynamoDB condition expression: {} returned {}, twice. \
                     The caller rewrote the condition that was meant to limit what they see.",
                    shown(&payload),
                    widening_text(&widening),
                ))
                .evidence(format!("Ordinary value {}", shown(&profile.base_value)), &profile.base, None)
                .evidence(format!("Widened condition {}", shown(&payload)), &first, None)
                .evidence(
                    format!("Ordinary value {} again: still without those items", shown(&profile.base_value)),
                    &between,
                    None,
                )
                .evidence("Widened condition again, fresh cache buster", &again, None)
                .stack_hint("dynamodb");
            if let Some(error) = &error {
                draft = draft.evidence(
                    format!(
                        "Breaking payload {}: DynamoDB validation error",
                        shown(&error.payload)
                    ),
                    &error.answer,
                    Some(error.span.clone()),
                );
            }
            return Ok(Some(draft));
        }
        let Some(error) = error else {
            return Ok(None);
        };
        Ok(Some(
            point
                .draft(&error.answer, Severity::Medium, Confidence::Firm)
                .title(format!("DynamoDB expression injection in {label} (validation error)"))
                .description(format!(
                    "The {label} reaches a DynamoDB expression: {} makes DynamoDB reject the expression \
                     the API built, an error the ordinary value does not provoke. Widening the condition \
                     did not return other items here, but the expression is the caller's to shape.",
                    shown(&error.payload),
                ))
                .evidence(format!("Ordinary value {}", shown(&profile.base_value)), &profile.base, None)
                .evidence(
                    format!("Breaking payload {}: DynamoDB validation error", shown(&error.payload)),
                    &error.answer,
                    Some(error.span.clone()),
                )
                .stack_hint("dynamodb"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU8, Ordering};

    use super::*;
    use crate::checks::injection::testing::{self, Seen, Twins};
    use crate::checks::probe::fixtures::assert_contains;

    const ORDERS: &[(&str, &str, &str)] = &[
        ("o1", "alice", "books"),
        ("o2", "alice", "games"),
        ("o3", "bob", "books"),
        ("o4", "carol", "tools"),
    ];

    fn list(rows: Vec<&(&str, &str, &str)>) -> String {
        let items: Vec<Value> = rows
            .iter()
            .map(|(id, owner, category)| json!({"order_id": id, "owner": owner, "category": category}))
            .collect();
        json!({"items": items, "count": items.len()}).to_string()
    }

    /// Alice's orders filtered by `FilterExpression = "owner = :me AND
    /// {field} = :v"`, evaluated the way DynamoDB would for the shapes the
    /// check sends (vulnerable), or with the field from an allow-list (fixed).
    fn orders(vulnerable: bool) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let field = seen.arg("field").unwrap_or_default().to_string();
            let value = "books";
            if !vulnerable || field == "category" {
                if field != "category" {
                    return (400, r#"{"error": "unknown field"}"#.into());
                }
                return (
                    200,
                    list(
                        ORDERS
                            .iter()
                            .filter(|o| o.1 == "alice" && o.2 == value)
                            .collect(),
                    ),
                );
            }
            if field.contains('(') && !field.starts_with("attribute_exists(")
                || field.contains(')') && !field.contains("attribute_exists")
            {
                return (500, r#"{"error": "An error occurred (ValidationException) when calling the Scan operation: Invalid FilterExpression: Syntax error; token: \"(\""}"#.into());
            }
            if field == "size" {
                return (500, r#"{"error": "An error occurred (ValidationException) when calling the Scan operation: Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: size"}"#.into());
            }
            if field.starts_with("attribute_exists(order_id) OR category") {
                // (owner = :me AND exists) OR category = :v
                return (
                    200,
                    list(
                        ORDERS
                            .iter()
                            .filter(|o| o.1 == "alice" || o.2 == value)
                            .collect(),
                    ),
                );
            }
            (200, list(Vec::new()))
        }
    }

    #[tokio::test]
    async fn a_pasted_attribute_name_is_widened_to_other_owners_and_an_allow_list_is_not() {
        let found = testing::twins(&META, orders, "GET /api/orders?field=category").await;
        assert_contains(&found.finding.title, "condition widened");
        assert_contains(&found.finding.description, "`bob`");
        assert!(found.finding.stack_hints.contains(&"dynamodb".to_string()));
    }

    /// The life of a note another client creates during the scan.
    const NOT_YET: u8 = 0;
    const EXISTS: u8 = 1;
    const DELETED: u8 = 2;

    /// Alice's notes; the `sort` parameter is ignored. A note of hers
    /// appears just before the first request carrying a condition (another
    /// client, or Rampart's own `--active` checks, created it) and is
    /// deleted again just before the next ordinary request.
    fn notes_with_one_passing_note(
        note: Arc<AtomicU8>,
    ) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let condition = seen
                .arg("sort")
                .is_some_and(|s| s.contains("attribute_exists"));
            let (from, to) = if condition {
                (NOT_YET, EXISTS)
            } else {
                (EXISTS, DELETED)
            };
            let _ = note.compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst);
            let mut rows = vec![("n1", "alice"), ("n2", "alice")];
            if note.load(Ordering::SeqCst) == EXISTS {
                rows.push(("n9", "alice"));
            }
            let items: Vec<Value> = rows
                .iter()
                .map(|(id, owner)| json!({"note_id": id, "owner": owner, "title": "draft"}))
                .collect();
            (
                200,
                json!({"items": items, "count": items.len()}).to_string(),
            )
        }
    }

    #[tokio::test]
    async fn an_object_created_meanwhile_is_not_a_widened_condition() {
        let note = Arc::new(AtomicU8::new(NOT_YET));
        let endpoint = "GET /api/notes?sort=title";
        let handler = notes_with_one_passing_note(note.clone());
        testing::found_nothing(&META, handler, endpoint).await;
        assert_eq!(
            note.load(Ordering::SeqCst),
            DELETED,
            "the widening was tried"
        );
    }

    /// `find({"owner": <query object>})` over alice's and bob's notes,
    /// with `owner[$ne]=x` parsed into an object (vulnerable) or the value
    /// kept as a string (fixed).
    fn notes(vulnerable: bool) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let rows = [("n1", "alice"), ("n2", "bob"), ("n3", "bob")];
            let pick = |keep: &dyn Fn(&str) -> bool| {
                let items: Vec<Value> = rows
                    .iter()
                    .filter(|(_, owner)| keep(owner))
                    .map(|(id, owner)| json!({"id": id, "owner": owner}))
                    .collect();
                (200, json!({"notes": items}).to_string())
            };
            if vulnerable {
                if let Some(ne) = seen.arg("owner[$ne]") {
                    let ne = ne.to_string();
                    return pick(&|o| o != ne);
                }
                if let Some(eq) = seen.arg("owner[$eq]") {
                    let eq = eq.to_string();
                    return pick(&|o| o == eq);
                }
                if seen.arg("owner[$regex]").is_some() {
                    return pick(&|_| false);
                }
            }
            let owner = seen.arg("owner").unwrap_or_default().to_string();
            pick(&|o| o == owner)
        }
    }

    #[tokio::test]
    async fn a_query_string_operator_is_proven_and_a_plain_value_is_not() {
        let Twins { finding, sent } =
            testing::twins(&META, notes, "GET /api/notes?owner=alice").await;
        assert_contains(&finding.title, "operator injection");
        assert_contains(&finding.description, "owned by `bob`");
        assert_eq!(finding.evidence.len(), 5);
        assert!(sent.1 <= 8, "{sent:?}");
    }

    #[test]
    fn attribute_names_are_told_from_values() {
        assert!(attribute_like("category"));
        assert!(attribute_like("address.city"));
        assert!(!attribute_like("books & games"));
        assert!(!attribute_like("7"));
        assert_eq!(regex_escape("a.b"), "a\\.b");
    }
}
