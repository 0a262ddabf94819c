//! Guessable object identifiers.
//!
//! Sequential integers, emails and short codes let an attacker enumerate
//! every object by counting. On its own that is no breach, but it turns any
//! missing ownership check into a full dump. Rampart judges the identifiers
//! it saw for an endpoint's id parameters; it sends nothing.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::{Endpoint, ParamLocation};
use crate::facts::identities::is_id_param;
use crate::facts::Needs;
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
            let mut values: BTreeSet<String> = param.sample.iter().cloned().collect();
            for objects in facts.objects.values() {
                values.extend(objects.get(&param.name).into_iter().flatten().cloned());
            }
            let Some(why) = guessable(&values) else {
                continue;
            };
            return Ok(vec![FindingDraft::at_exchange(
                answered,
                Severity::Low,
                Confidence::Firm,
            )
            .title(format!("Guessable identifiers in `{}`", param.name))
            .description(format!(
                "`{}`: {why}; any missing ownership check on this endpoint exposes every object.",
                param.name
            ))
            .parameter(param.name.clone())
            .key(param.name.clone())
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
}
