//! Weak cipher suites.
//!
//! NULL and export suites encrypt nothing or almost nothing, anonymous
//! suites authenticate nobody, RC4, DES and 3DES are broken or too small,
//! and a server with only CBC suites at TLS 1.2 forgoes authenticated
//! encryption. Each is negotiated only if the server agrees to it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::checks::probe::target_draft;
use crate::checks::{Check, CheckMeta, Mode};
use crate::engine::Exchange;
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, FindingDraft, Severity};
use crate::transport::tls_probe::Weakness;

pub struct WeakCiphers;

static META: CheckMeta = CheckMeta {
    id: "transport.weak-ciphers",
    category: Category::Cryptography,
    severity: Severity::High,
    summary: "NULL, anonymous, export, RC4, DES/3DES or CBC-only cipher suites accepted",
    mode: Mode::Active,
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
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn judge_target(&self, root: &Arc<Exchange>, facts: &TargetFacts) -> Vec<FindingDraft> {
        let Some(report) = facts.tls_report() else {
            return Vec::new();
        };
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
        by_weakness
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
            .collect()
    }
}
