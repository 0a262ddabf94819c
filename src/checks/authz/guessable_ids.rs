//! Guessable object identifiers.
//!
//! Sequential integers, emails and short codes let an attacker enumerate
//! every object by counting. On its own that is no breach, but it turns any
//! missing ownership check into a full dump. Rampart judges the identifiers
//! it saw for an endpoint's id parameters; it sends nothing.
//!
//! An identifier scheme is one design decision, so an id parameter is one
//! finding wherever it appears. It is firm only when the values judged were
//! seen in real answers (the identities' own objects, or the sample echoed
//! back by the object it fetched); a value that only the spec or Rampart
//! supplied makes it tentative.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::{Endpoint, ParamLocation};
use crate::facts::identities::is_id_param;
use crate::facts::{visit_leaves, Needs};
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct GuessableIds;

pub static META: CheckMeta = CheckMeta {
    check: &GuessableIds,
    id: "authz.guessable-ids",
    category: Category::Bola,
    severity: Severity::Low,
    summary: "Sequential or otherwise guessable identifiers on endpoints that expose objects",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::IDENTITIES,
};

/// Why a set of identifier values is guessable, if it is.
pub(crate) fn guessable(values: &BTreeSet<String>) -> Option<String> {
    if values.is_empty() {
        return None;
    }
    let numbers: Vec<u64> = values
        .iter()
        .filter_map(|v| v.parse::<u64>().ok())
        .collect();
    if numbers.len() == values.len() && numbers.iter().all(|n| *n < 1_000_000_000) {
        return Some(format!(
            "numeric identifiers ({}) can be enumerated by counting",
            join(values)
        ));
    }
    if values.iter().all(|v| v.contains('@')) {
        return Some(format!(
            "email addresses as identifiers ({} values) are known or guessable",
            values.len()
        ));
    }
    if values
        .iter()
        .all(|v| v.len() <= 4 && v.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Some(format!(
            "short identifiers ({}) have a tiny search space",
            join(values)
        ));
    }
    None
}

/// Whether the answer holds `value` as one of its scalar values: the object
/// fetched by an identifier names it, so the identifier is real.
fn holds(json: &serde_json::Value, value: &str) -> bool {
    let mut found = false;
    visit_leaves(json, 16, &mut |_, leaf| {
        found = match leaf {
            serde_json::Value::String(s) => s == value,
            serde_json::Value::Number(n) => n.to_string() == value,
            _ => false,
        };
        !found
    });
    found
}

fn join(values: &BTreeSet<String>) -> String {
    values
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl Check for GuessableIds {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let id_params: Vec<_> = endpoint
            .parameters
            .iter()
            .filter(|p| p.location == ParamLocation::Path && is_id_param(&p.name))
            .collect();
        if id_params.is_empty() {
            return Err(Skip::NoIdentifier);
        }
        // Counting through a public catalogue reveals nothing private.
        if endpoint.public_by_design() {
            return Err(Skip::NotApplicable("public by design"));
        }
        // Only identifiers that reach an object: the endpoint answered someone.
        let Some(answered) = ctx
            .baselines
            .iter()
            .find(|e| (200..300).contains(&e.response.status) && e.body_json().is_some())
        else {
            return Err(Skip::NoSuccessfulAnswer);
        };
        let facts = &ctx.facts.identities;
        for param in id_params {
            let mut seen: BTreeSet<String> = BTreeSet::new();
            for objects in facts.objects.values() {
                seen.extend(objects.get(&param.name).into_iter().flatten().cloned());
            }
            let echoed = param
                .sample
                .as_deref()
                .filter(|sample| answered.body_json().is_some_and(|json| holds(json, sample)));
            seen.extend(echoed.map(String::from));
            let mut values = seen.clone();
            values.extend(param.sample.iter().cloned());
            let Some(why) = guessable(&values) else {
                continue;
            };
            let (confidence, basis) = if guessable(&seen).is_some() {
                (Confidence::Firm, String::new())
            } else {
                (
                    Confidence::Tentative,
                    " The values judged come from the API description or were made up by Rampart, not from an answer, so this rests on the declared type only.".to_string(),
                )
            };
            return Ok(vec![FindingDraft::at_exchange(
                answered,
                Severity::Low,
                confidence,
            )
            .title(format!("Guessable identifiers in `{}`", param.name))
            .description(format!(
                "`{}`: {why}; any missing ownership check on an endpoint that takes it exposes every object.{basis}",
                param.name
            ))
            .parameter(param.name.clone())
            .key(param.name.clone())
            .site_wide()
            .evidence("An object fetched by its identifier", answered, None)]);
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn counters_emails_and_short_codes_are_guessable_uuids_are_not() {
        assert!(guessable(&set(&["1001", "1002"])).is_some());
        assert!(guessable(&set(&["ana@x.test"])).is_some());
        assert!(guessable(&set(&["a1"])).is_some());
        assert!(guessable(&set(&["7c9e6679-7425-40de-944b-e07fc1f90ae7"])).is_none());
        assert!(guessable(&set(&["ord_9f8e7d6c5b4a3921"])).is_none());
        assert!(guessable(&set(&[])).is_none());
    }

    /// The draft for `GET /orders/{order_id}` with sample `7`, answered
    /// with `body`.
    async fn judge(body: &str) -> Vec<FindingDraft> {
        use crate::checks::probe::fixtures::{engine, exchange};
        use crate::discover::{EndpointSource, Parameter, ValueSchema};
        use crate::facts::TargetFacts;
        let mut endpoint = Endpoint::discovered("/orders/{order_id}", EndpointSource::Spec);
        endpoint.parameters.push(Parameter {
            name: "order_id".into(),
            location: ParamLocation::Path,
            required: true,
            sample: Some("7".into()),
            schema: ValueSchema {
                schema_type: Some("integer".into()),
                ..ValueSchema::default()
            },
        });
        let engine = engine();
        let baseline = exchange(
            "http://127.0.0.1:9/orders/7?rampart_cb=1",
            None,
            200,
            &[],
            body,
        );
        let facts = TargetFacts::default();
        let session = crate::checks::injection::Session::default();
        let ctx = ProbeContext {
            engine: &engine,
            base_path: "",
            baselines: &[baseline],
            facts: &facts,
            allow_burst: false,
            injection: &session,
        };
        GuessableIds.probe(&ctx, &endpoint).await.unwrap()
    }

    #[tokio::test]
    async fn an_identifier_the_answer_names_is_firm_one_only_the_spec_gave_is_tentative() {
        let seen = judge(r#"{"order_id": 7, "total": 12}"#).await;
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].head.confidence, Confidence::Firm);
        assert!(seen[0].site_wide, "one id scheme, one finding");
        let made_up = judge(r#"{"total": 12}"#).await;
        assert_eq!(made_up.len(), 1);
        assert_eq!(made_up[0].head.confidence, Confidence::Tentative);
        assert!(made_up[0].head.description.contains("not from an answer"));
        assert!(
            judge(r#"{"error": "not found"}"#).await[0].head.confidence == Confidence::Tentative
        );
    }
}
