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
        // A server that answers a path that cannot exist with success (a
        // catch-all: a single-page app's index, a gateway's default answer)
        // shows only that the documented operations look like it, not which
        // are gone: one finding for all of them, listing where.
        let catch_all = (200..300).contains(&miss.response.status);
        Ok(reach
            .zombies
            .iter()
            .map(|zombie| {
                let label = zombie.endpoint.label();
                // A template filled with a sample may name an object the
                // server hides behind its generic not-found answer.
                let confidence = if catch_all || zombie.endpoint.path.contains('{') {
                    Confidence::Tentative
                } else {
                    Confidence::Firm
                };
                let draft = FindingDraft::at_exchange(&zombie.exchange, Severity::Info, confidence);
                let mut draft = if catch_all {
                    draft
                        .title("Documented operations answered like a path that cannot exist")
                        .description(format!(
                            "The server answers a path that cannot exist with HTTP {} (a \
                             catch-all), and some documented operations answer exactly the same: \
                             they may not be routed at all. Check them, and make unknown paths \
                             answer 404.",
                            miss.response.status
                        ))
                        .key("catch-all")
                        .site_wide()
                } else {
                    draft
                        .title(format!("Documented operation not routed: {label}"))
                        .description(format!(
                            "The spec lists {label}, but the server answers its path exactly as \
                             it answers a path that cannot exist (HTTP {}): the operation is not \
                             there. Remove it from the spec, or find where it went.",
                            zombie.exchange.response.status
                        ))
                        .key("not-routed")
                }
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

    #[test]
    fn a_catch_all_that_answers_any_path_with_success_is_one_site_wide_draft() {
        let body = r#"{"items": [1, 2, 3]}"#;
        let miss = Answer::new(200, body)
            .at("http://h/rampart-x-missing")
            .exchange();
        let zombies = (0..3)
            .map(|i| Zombie {
                endpoint: Endpoint::discovered(&format!("/res{i}"), EndpointSource::Spec),
                exchange: Answer::new(200, body)
                    .at(&format!("http://h/res{i}"))
                    .exchange(),
            })
            .collect();
        let facts = TargetFacts {
            reach: Reach {
                documented: true,
                route_misses: vec![miss],
                zombies,
                ..Reach::default()
            },
            ..TargetFacts::default()
        };
        let drafts = judged(&ZombieEndpoint, &Answer::new(200, "{}").exchange(), &facts);
        assert_eq!(drafts.len(), 3);
        assert!(drafts.iter().all(|d| d.site_wide
            && d.key == "catch-all"
            && d.head.confidence == Confidence::Tentative));
        assert!(
            !drafts[0].head.description.contains("  "),
            "{}",
            drafts[0].head.description
        );
    }
}
