//! Undocumented endpoints: answers where the spec lists nothing.
//!
//! The routes a team forgot to document are the ones nobody reviews: a
//! debug dump left in after an incident, an internal route meant only for
//! another service, the old version of the API that still answers without
//! the checks the new one has. Rampart asks for the paths APIs commonly
//! hide, the other versions of documented paths and the methods an `Allow`
//! header names; each one that answers is reported here and handed to
//! every other check, which judges what it serves.

use std::sync::Arc;

use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::discover::params::Hidden;
use crate::discover::shadow::{Found, Shadowed};
use crate::discover::ParamLocation;
use crate::engine::Exchange;
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UndocumentedEndpoint;

pub static META: CheckMeta = CheckMeta {
    check: &UndocumentedEndpoint,
    id: "config.undocumented-endpoint",
    category: Category::Configuration,
    severity: Severity::Medium,
    summary: "Endpoints that answer but are not in the spec: debug and internal routes, old API versions, undocumented methods",
    mode: Mode::Passive,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::NOTHING,
};

/// Path words of routes that should never face the internet.
const SENSITIVE: &[&str] = &[
    "debug",
    "_debug",
    "__debug__",
    "internal",
    "private",
    "admin",
    "actuator",
    "env",
    ".env",
    "console",
    "config",
    "config.json",
    "settings.json",
    ".git",
    ".svn",
    "backup.sql",
    "dump.sql",
    "backup.zip",
    "metrics",
    "prometheus",
    "pprof",
    "vars",
    "phpinfo.php",
    "elmah.axd",
    "trace.axd",
    "server-status",
    "graphiql",
];

fn sensitive(path: &str) -> bool {
    path.split('/')
        .any(|segment| SENSITIVE.contains(&segment.to_ascii_lowercase().as_str()))
}

/// How much an undocumented endpoint matters, from how it answered.
fn grade(shadowed: &Shadowed) -> (Severity, &'static str) {
    let status = shadowed.exchange.response.status;
    let endpoint = &shadowed.endpoint;
    if matches!(status, 401 | 403 | 407) {
        return (Severity::Info, "it asks for credentials");
    }
    if endpoint.public_by_design() {
        return (Severity::Info, "it serves what APIs publish anyway");
    }
    if sensitive(&endpoint.path) {
        return (
            Severity::Medium,
            "its name says it is for operators, not for clients",
        );
    }
    match shadowed.found {
        Found::VersionSibling => (
            Severity::Low,
            "an old or next version rarely gets the fixes the documented one got",
        ),
        _ => (Severity::Low, "nobody reviews what nobody documented"),
    }
}

fn draft(shadowed: &Shadowed) -> FindingDraft {
    let exchange: &Arc<Exchange> = &shadowed.exchange;
    let (severity, why) = grade(shadowed);
    let label = format!("{} {}", shadowed.endpoint.method, shadowed.endpoint.path);
    let mut draft = FindingDraft::at_exchange(exchange, severity, Confidence::Firm)
        .title(format!("Undocumented endpoint answers: {label}"))
        .description(format!(
            "{label} is not in the spec, yet it answered HTTP {} ({}). It matters because {why}. \
             Rampart found it as {} and ran every other check on it.",
            exchange.response.status,
            if exchange.request.identity.is_some() {
                "as an identity"
            } else {
                "without credentials"
            },
            shadowed.found.as_str()
        ))
        .key(match shadowed.found {
            Found::HiddenPath => "hidden-path",
            Found::VersionSibling => "version-sibling",
            Found::AllowHeader => "allow-header",
        })
        .evidence(
            "The target's answer (unlike its answer to a path that cannot exist)",
            exchange,
            None,
        );
    draft.head.method = shadowed.endpoint.method.clone();
    draft.head.path = shadowed.endpoint.path.clone();
    draft
}

/// A parameter no document names that changes an endpoint's answer: a
/// note (the checks that read parameters judge what it does).
fn hidden_draft(hidden: &Hidden) -> FindingDraft {
    let location = match hidden.location {
        ParamLocation::Header => "header",
        _ => "query parameter",
    };
    FindingDraft::at_exchange(&hidden.exchange, Severity::Info, Confidence::Firm)
        .title(format!(
            "Undocumented {location} `{}` changes the answer of {}",
            hidden.name, hidden.endpoint
        ))
        .description(format!(
            "Sent with the {location} `{}` (set to 1), {} answered with other data than without \
             it, and the spec does not document it. Rampart handed it to the checks that read \
             parameters (authorization, cache).",
            hidden.name, hidden.endpoint
        ))
        .key(format!("param:{}", hidden.name))
        .parameter(hidden.name.clone())
        .evidence(
            format!("With the {location} `{}`", hidden.name),
            &hidden.exchange,
            None,
        )
}

impl Check for UndocumentedEndpoint {
    fn judge_target(&self, _root: &Arc<Exchange>, facts: &TargetFacts) -> Outcome {
        if !facts.reach.documented {
            return Err(Skip::Missing("no spec to compare with"));
        }
        let mut drafts: Vec<FindingDraft> = facts.reach.shadowed.iter().map(draft).collect();
        drafts.extend(facts.reach.hidden.iter().map(hidden_draft));
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{judged, Answer};
    use crate::discover::shadow::Reach;
    use crate::discover::{Endpoint, EndpointSource};

    fn shadowed(path: &str, status: u16, found: Found) -> Shadowed {
        Shadowed {
            endpoint: Endpoint::discovered(path, EndpointSource::Shadow),
            exchange: Answer::new(status, r#"{"ok": true}"#)
                .at(&format!("http://h{path}"))
                .exchange(),
            found,
        }
    }

    fn facts(documented: bool, found: Vec<Shadowed>) -> TargetFacts {
        TargetFacts {
            reach: Reach {
                documented,
                shadowed: found,
                ..Reach::default()
            },
            ..TargetFacts::default()
        }
    }

    #[test]
    fn each_answering_shadow_is_graded_by_what_it_is() {
        let root = Answer::new(200, "{}").exchange();
        let found = vec![
            shadowed("/debug", 200, Found::HiddenPath),
            shadowed("/api/v1/orders/1", 200, Found::VersionSibling),
            shadowed("/admin", 401, Found::HiddenPath),
            shadowed("/api/health", 200, Found::HiddenPath),
        ];
        let drafts = judged(&UndocumentedEndpoint, &root, &facts(true, found));
        let graded: Vec<(&str, Severity)> = drafts
            .iter()
            .map(|d| (d.head.path.as_str(), d.head.severity))
            .collect();
        assert_eq!(
            graded,
            vec![
                ("/debug", Severity::Medium),
                ("/api/v1/orders/1", Severity::Low),
                ("/admin", Severity::Info),
                ("/api/health", Severity::Info),
            ]
        );
    }

    #[test]
    fn without_a_spec_nothing_is_undocumented() {
        let root = Answer::new(200, "{}").exchange();
        let found = vec![shadowed("/debug", 200, Found::HiddenPath)];
        assert!(judged(&UndocumentedEndpoint, &root, &facts(false, found)).is_empty());
        assert!(judged(&UndocumentedEndpoint, &root, &facts(true, Vec::new())).is_empty());
    }
}
