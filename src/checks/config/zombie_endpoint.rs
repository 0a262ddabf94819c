//! Zombie documentation: operations the spec lists that the server does
//! not route.
//!
//! A spec that promises what no longer exists misleads its readers and
//! every tool built on it — clients, gateways, scanners — and often marks
//! a route that was moved rather than removed (to another version, behind
//! another prefix) without the documentation following. Rampart compares
//! each documented operation's answer with the server's answer to a path
//! that cannot exist: the same answer means no route, not a missing object.

use std::sync::Arc;

use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::engine::Exchange;
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct ZombieEndpoint;

pub static META: CheckMeta = CheckMeta {
    check: &ZombieEndpoint,
    id: "config.zombie-endpoint",
    category: Category::Configuration,
    severity: Severity::Info,
    summary: "Documented operations the server does not route (the spec describes an API that is not there)",
    mode: Mode::Passive,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::NOTHING,
};

impl Check for ZombieEndpoint {
    fn judge_target(&self, _root: &Arc<Exchange>, facts: &TargetFacts) -> Outcome {
        let reach = &facts.reach;
        if !reach.documented {
            return Err(Skip::Missing("no spec to compare with"));
        }
        let Some(miss) = reach.route_misses.first() else {
            return Err(Skip::Missing("no answer to a path that cannot exist"));
        };
        Ok(reach
            .zombies
            .iter()
            .map(|zombie| {
                let label = zombie.endpoint.label();
                // A template filled with a sample may name an object the
                // server hides behind its generic not-found answer.
                let confidence = if zombie.endpoint.path.contains('{') {
                    Confidence::Tentative
                } else {
                    Confidence::Firm
                };
                let mut draft =
                    FindingDraft::at_exchange(&zombie.exchange, Severity::Info, confidence)
                        .title(format!("Documented operation not routed: {label}"))
                        .description(format!(
                            "The spec lists {label}, but the server answers its path exactly as \
                             it answers a path that cannot exist (HTTP {}): the operation is not \
                             there. Remove it from the spec, or find where it went.",
                            zombie.exchange.response.status
                        ))
                        .key("not-routed")
                        .evidence("The documented operation's answer", &zombie.exchange, None)
                        .evidence("The answer to a path that cannot exist", miss, None);
                draft.head.method = zombie.endpoint.method.clone();
                draft.head.path = zombie.endpoint.path.clone();
                draft
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{judged, Answer};
    use crate::discover::shadow::{Reach, Zombie};
    use crate::discover::{Endpoint, EndpointSource};

    #[test]
    fn a_documented_operation_answered_like_a_route_miss_is_a_zombie() {
        let miss = Answer::new(404, r#"{"error": "not found"}"#)
            .at("http://h/rampart-x-missing")
            .exchange();
        let gone = Answer::new(404, r#"{"error": "not found"}"#)
            .at("http://h/api/legacy")
            .exchange();
        let reach = Reach {
            documented: true,
            route_misses: vec![miss],
            zombies: vec![Zombie {
                endpoint: Endpoint::discovered("/api/legacy", EndpointSource::Spec),
                exchange: gone,
            }],
            ..Reach::default()
        };
        let facts = TargetFacts {
            reach,
            ..TargetFacts::default()
        };
        let root = Answer::new(200, "{}").exchange();
        let drafts = judged(&ZombieEndpoint, &root, &facts);
        assert_eq!(drafts.len(), 1);
        assert_eq!(drafts[0].head.path, "/api/legacy");
        assert_eq!(drafts[0].head.severity, Severity::Info);
        let none = TargetFacts::default();
        assert!(judged(&ZombieEndpoint, &root, &none).is_empty());
    }
}
