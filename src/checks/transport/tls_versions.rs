//! Obsolete TLS protocol versions.
//!
//! SSLv3, TLS 1.0 and TLS 1.1 have known attacks (POODLE, BEAST, weak
//! MACs) and no modern client needs them; a server that still accepts them
//! lets an active attacker push a connection down to them.

use std::sync::Arc;

use crate::checks::probe::target_draft;
use crate::checks::{Check, CheckMeta, Mode};
use crate::engine::Exchange;
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, FindingDraft, Severity};
use crate::transport::tls_probe::TlsVersion;

pub struct TlsVersions;

static META: CheckMeta = CheckMeta {
    id: "transport.tls-versions",
    category: Category::Cryptography,
    severity: Severity::High,
    summary: "SSLv3, TLS 1.0 or TLS 1.1 accepted",
    mode: Mode::Active,
    min_identities: 0,
    needs: Needs::TLS,
};

impl Check for TlsVersions {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn judge_target(&self, root: &Arc<Exchange>, facts: &TargetFacts) -> Vec<FindingDraft> {
        let Some(report) = facts.tls_report() else {
            return Vec::new();
        };
        let accepted: Vec<String> = report
            .accepted_versions
            .iter()
            .map(|v| v.to_string())
            .collect();
        report
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
            .collect()
    }
}
