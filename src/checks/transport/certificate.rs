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

pub static META: CheckMeta = CheckMeta {
    check: &Certificate,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{exchange, graded, judged};
    use crate::tls_probe::{CertInfo, TlsReport};

    const DAY: i64 = 86_400;

    /// A sound certificate for api.example.test, valid from yesterday to a
    /// year from now; `change` spoils it.
    fn spoiled(change: impl FnOnce(&mut CertInfo)) -> Vec<(String, Severity)> {
        let now = chrono::Utc::now().timestamp();
        let mut cert = CertInfo {
            subject: "CN=api.example.test".into(),
            issuer: "CN=Example CA".into(),
            not_before_unix: now - DAY,
            not_after_unix: now + 365 * DAY,
            dns_names: vec!["api.example.test".into()],
            ip_addresses: Vec::new(),
            self_signed: false,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            key_bits: Some(2048),
            key_type: "RSA".into(),
            chain_len: 2,
        };
        change(&mut cert);
        let facts = TargetFacts {
            tls: Some(Ok(TlsReport {
                accepted_versions: Vec::new(),
                weak_ciphers: Vec::new(),
                certificate: Some(cert),
            })),
            ..TargetFacts::default()
        };
        let root = exchange(
            "https://api.example.test:8443/?rampart_cb=1",
            None,
            200,
            &[],
            "{}",
        );
        graded(&judged(&Certificate, &root, &facts))
    }

    #[test]
    fn each_problem_is_one_finding_at_its_severity() {
        let now = chrono::Utc::now().timestamp();
        type Spoil = fn(&mut CertInfo);
        let cases: [(Spoil, &str, Severity); 4] = [
            (
                |c| c.dns_names = vec!["www.example.test".into()],
                "wrong-host",
                Severity::High,
            ),
            (
                |c| c.not_after_unix = c.not_before_unix,
                "expired",
                Severity::High,
            ),
            (|c| c.chain_len = 1, "chain", Severity::Low),
            (|c| c.key_bits = Some(1024), "weak-key", Severity::Medium),
        ];
        for (change, key, severity) in cases {
            assert_eq!(spoiled(change), [(key.to_string(), severity)]);
        }
        let self_signed = spoiled(|c| {
            c.self_signed = true;
            c.chain_len = 1;
            c.signature_algorithm = "sha1WithRSAEncryption".into();
            c.not_before_unix = now + DAY;
        });
        let keys: Vec<&str> = self_signed.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["not-yet-valid", "self-signed", "sha1"]);
    }

    #[test]
    fn a_sound_certificate_or_no_handshake_report_is_no_finding() {
        assert!(spoiled(|_| {}).is_empty());
        let root = exchange(
            "https://api.example.test/?rampart_cb=1",
            None,
            200,
            &[],
            "{}",
        );
        let failed = TargetFacts {
            tls: Some(Err("TLS probe failed: reset".into())),
            ..TargetFacts::default()
        };
        assert!(judged(&Certificate, &root, &failed).is_empty());
        assert!(judged(&Certificate, &root, &TargetFacts::default()).is_empty());
    }
}
