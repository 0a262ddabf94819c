//! Weak cipher suites.
//!
//! NULL and export suites encrypt nothing or almost nothing, anonymous
//! suites authenticate nobody, RC4, DES and 3DES are broken or too small,
//! and a server with only CBC suites at TLS 1.2 forgoes authenticated
//! encryption. Each is negotiated only if the server agrees to it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::checks::probe::target_draft;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::engine::Exchange;
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, Severity};
use crate::tls_probe::Weakness;

pub struct WeakCiphers;

pub static META: CheckMeta = CheckMeta {
    check: &WeakCiphers,
    id: "transport.weak-ciphers",
    category: Category::Cryptography,
    severity: Severity::High,
    summary: "NULL, anonymous, export, RC4, DES/3DES or CBC-only cipher suites accepted",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::TLS,
};

fn severity(weakness: Weakness) -> Severity {
    match weakness {
        Weakness::Null | Weakness::Anonymous | Weakness::Export => Severity::High,
        Weakness::Rc4 | Weakness::Des | Weakness::TripleDes => Severity::Medium,
        Weakness::CbcOnly => Severity::Low,
    }
}

impl Check for WeakCiphers {
    fn judge_target(&self, root: &Arc<Exchange>, facts: &TargetFacts) -> Outcome {
        let report = super::tls_report(facts)?;
        let mut by_weakness: BTreeMap<String, (Weakness, Vec<String>)> = BTreeMap::new();
        for (version, suite) in &report.weak_ciphers {
            let Some(weakness) = suite.weakness else {
                continue;
            };
            let entry = by_weakness
                .entry(format!("{weakness:?}"))
                .or_insert_with(|| (weakness, Vec::new()));
            entry.1.push(format!("{} at {version}", suite.name));
        }
        Ok(by_weakness
            .into_iter()
            .map(|(label, (weakness, suites))| {
                target_draft(
                    root,
                    severity(weakness),
                    format!("Weak cipher suites accepted ({label})"),
                    format!("The server negotiated: {}.", suites.join(", ")),
                    label.to_ascii_lowercase(),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{graded, Answer};
    use crate::tls_probe::{CipherSuite, TlsReport, TlsVersion};

    fn suite(name: &'static str, weakness: Weakness) -> CipherSuite {
        CipherSuite {
            id: 0,
            name,
            weakness: Some(weakness),
        }
    }

    #[test]
    fn weak_suites_are_grouped_by_weakness_with_its_severity() {
        let root = Answer::new(200, "{}")
            .at("https://api.example.com/")
            .exchange();
        let facts = TargetFacts {
            tls: Some(Ok(TlsReport {
                accepted_versions: vec![TlsVersion::Tls10, TlsVersion::Tls12],
                weak_ciphers: vec![
                    (
                        TlsVersion::Tls10,
                        suite("TLS_RSA_WITH_RC4_128_SHA", Weakness::Rc4),
                    ),
                    (
                        TlsVersion::Tls12,
                        suite("TLS_RSA_WITH_RC4_128_MD5", Weakness::Rc4),
                    ),
                    (
                        TlsVersion::Tls12,
                        suite("TLS_RSA_WITH_NULL_SHA", Weakness::Null),
                    ),
                ],
                certificate: None,
            })),
            ..TargetFacts::default()
        };
        let drafts = WeakCiphers.judge_target(&root, &facts).unwrap();
        assert_eq!(
            graded(&drafts),
            [
                ("null".into(), Severity::High),
                ("rc4".into(), Severity::Medium)
            ]
        );
        assert!(drafts[1]
            .description
            .contains("TLS_RSA_WITH_RC4_128_SHA at TLS 1.0, TLS_RSA_WITH_RC4_128_MD5 at TLS 1.2"));
        assert!(WeakCiphers
            .judge_target(&root, &TargetFacts::default())
            .is_err());
    }
}
