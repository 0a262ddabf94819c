//! Certificate problems.
//!
//! Clients that talk to a server with an expired, self-signed, wrongly named
//! or weakly signed certificate are told to turn verification off — and
//! then anyone on the path can impersonate the API.

use std::sync::Arc;

use url::Url;

use crate::checks::probe::target_draft;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::engine::Exchange;
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, Severity};
use crate::tls_probe::CertProblem;

pub struct Certificate;

static META: CheckMeta = CheckMeta {
    id: "transport.certificate",
    category: Category::Cryptography,
    severity: Severity::High,
    summary: "Expired, not yet valid, wrong-host, self-signed, weak-key, SHA-1 or incomplete-chain certificates",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::TLS,
};

fn describe(problem: CertProblem) -> (Severity, String, &'static str) {
    match problem {
        CertProblem::Expired => (Severity::High, "Certificate expired".into(), "expired"),
        CertProblem::NotYetValid => (
            Severity::High,
            "Certificate not yet valid".into(),
            "not-yet-valid",
        ),
        CertProblem::WrongHost => (
            Severity::High,
            "Certificate does not name the host".into(),
            "wrong-host",
        ),
        CertProblem::SelfSigned => (
            Severity::Medium,
            "Self-signed certificate".into(),
            "self-signed",
        ),
        CertProblem::WeakKey(bits) => (
            Severity::Medium,
            format!("Weak certificate key ({bits} bits)"),
            "weak-key",
        ),
        CertProblem::Sha1Signature => (
            Severity::Medium,
            "Certificate signed with SHA-1 (or weaker)".into(),
            "sha1",
        ),
        CertProblem::IncompleteChain => (
            Severity::Low,
            "Certificate chain incomplete".into(),
            "chain",
        ),
    }
}

impl Check for Certificate {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn judge_target(&self, root: &Arc<Exchange>, facts: &TargetFacts) -> Outcome {
        let Some(cert) = super::tls_report(facts)?.certificate.as_ref() else {
            return Err(Skip::Missing("the server sent no certificate"));
        };
        // The root was sent to the target itself: its host is the one the
        // certificate must name.
        let target = Url::parse(&root.request.url).ok();
        let host = target
            .as_ref()
            .and_then(Url::host_str)
            .unwrap_or_default()
            .trim_matches(['[', ']']);
        let now = chrono::Utc::now().timestamp();
        Ok(cert.problems(host, now)
            .into_iter()
            .map(|problem| {
                let (severity, title, key) = describe(problem);
                target_draft(
                    root,
                    severity,
                    title,
                    format!(
                        "Subject {}, issuer {}, names [{}], valid {} to {}, {} {} key, signed with {}, chain of {}.",
                        cert.subject,
                        cert.issuer,
                        cert.dns_names.iter().chain(&cert.ip_addresses).cloned().collect::<Vec<_>>().join(", "),
                        chrono::DateTime::from_timestamp(cert.not_before_unix, 0).map(|d| d.date_naive().to_string()).unwrap_or_default(),
                        chrono::DateTime::from_timestamp(cert.not_after_unix, 0).map(|d| d.date_naive().to_string()).unwrap_or_default(),
                        cert.key_bits.map(|b| b.to_string()).unwrap_or_default(),
                        cert.key_type,
                        cert.signature_algorithm,
                        cert.chain_len
                    ),
                    key.to_string(),
                )
            })
            .collect())
    }
}
