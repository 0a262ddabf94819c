//! Obsolete TLS protocol versions.
//!
//! SSLv3, TLS 1.0 and TLS 1.1 have known attacks (POODLE, BEAST, weak
//! MACs) and no modern client needs them; a server that still accepts them
//! lets an active attacker push a connection down to them.

use std::sync::Arc;

use crate::checks::probe::target_draft;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::engine::Exchange;
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, Severity};
use crate::tls_probe::TlsVersion;

pub struct TlsVersions;

pub static META: CheckMeta = CheckMeta {
    check: &TlsVersions,
    id: "transport.tls-versions",
    category: Category::Cryptography,
    severity: Severity::High,
    summary: "SSLv3, TLS 1.0 or TLS 1.1 accepted",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::TLS,
};

impl Check for TlsVersions {
    fn judge_target(&self, root: &Arc<Exchange>, facts: &TargetFacts) -> Outcome {
        let report = super::tls_report(facts)?;
        let accepted: Vec<String> = report
            .accepted_versions
            .iter()
            .map(|v| v.to_string())
            .collect();
        Ok(report
            .accepted_versions
            .iter()
            .filter(|v| **v < TlsVersion::Tls12)
            .map(|version| {
                let severity = if *version == TlsVersion::Ssl3 { Severity::High } else { Severity::Medium };
                target_draft(
                    root,
                    severity,
                    format!("Obsolete protocol {version} accepted"),
                    format!(
                        "A ClientHello offering only {version} got a ServerHello for it. Versions accepted: {}.",
                        accepted.join(", ")
                    ),
                    format!("{version}"),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::Answer;
    use crate::tls_probe::TlsReport;

    fn facts(accepted: Vec<TlsVersion>) -> TargetFacts {
        TargetFacts {
            tls: Some(Ok(TlsReport {
                accepted_versions: accepted,
                weak_ciphers: Vec::new(),
                certificate: None,
            })),
            ..TargetFacts::default()
        }
    }

    #[test]
    fn each_obsolete_version_is_one_finding_and_modern_ones_none() {
        let root = Answer::new(200, "{}")
            .at("https://api.example.com/")
            .exchange();
        let legacy = facts(vec![TlsVersion::Ssl3, TlsVersion::Tls11, TlsVersion::Tls12]);
        let drafts = TlsVersions.judge_target(&root, &legacy).unwrap();
        let found: Vec<(Severity, &str)> = drafts
            .iter()
            .map(|d| (d.head.severity, d.key.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![(Severity::High, "SSL 3.0"), (Severity::Medium, "TLS 1.1")]
        );
        assert!(drafts[0]
            .head
            .description
            .contains("SSL 3.0, TLS 1.1, TLS 1.2"));
        let modern = facts(vec![TlsVersion::Tls12, TlsVersion::Tls13]);
        assert!(TlsVersions.judge_target(&root, &modern).unwrap().is_empty());
        // No probe (plain HTTP) or a failed one: nothing to judge, and why.
        assert_eq!(
            TlsVersions
                .judge_target(&root, &TargetFacts::default())
                .unwrap_err()
                .kind(),
            "does not apply"
        );
        let failed = TargetFacts {
            tls: Some(Err("refused".into())),
            ..TargetFacts::default()
        };
        assert_eq!(
            TlsVersions.judge_target(&root, &failed).unwrap_err(),
            crate::checks::Skip::Missing("the TLS probe failed")
        );
    }
}
