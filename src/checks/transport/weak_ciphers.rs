//! Weak cipher suites.
//!
//! NULL and export suites encrypt nothing or almost nothing, anonymous
//! suites authenticate nobody, RC4, DES and 3DES are broken or too small,
//! and a server with only CBC suites at TLS 1.2 forgoes authenticated
//! encryption. Each is negotiated only if the server agrees to it.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{target_draft, tls_report};
use crate::checks::{Check, CheckMeta, Mode, TargetContext};
use crate::engine::EngineError;
use crate::facts::Needs;
use crate::finding::{Category, FindingDraft, Severity};
use crate::transport::tls_probe::Weakness;

pub struct WeakCiphers;

static META: CheckMeta = CheckMeta {
    id: "transport.weak-ciphers",
    family: "transport",
    category: Category::Cryptography,
    severity: Severity::High,
    summary: "NULL, anonymous, export, RC4, DES/3DES or CBC-only cipher suites accepted",
    mode: Mode::Active,
    min_identities: 0,
    needs: Needs {
        tls: true,
        ..Needs::NOTHING
    },
};

fn severity(weakness: Weakness) -> Severity {
    match weakness {
        Weakness::Null | Weakness::Anonymous | Weakness::Export => Severity::High,
        Weakness::Rc4 | Weakness::Des | Weakness::TripleDes => Severity::Medium,
        Weakness::CbcOnly => Severity::Low,
    }
}

#[async_trait]
impl Check for WeakCiphers {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe_target(
        &self,
        ctx: &TargetContext<'_>,
    ) -> Result<Vec<FindingDraft>, EngineError> {
        let Some(report) = tls_report(ctx) else {
            return Ok(Vec::new());
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
        Ok(by_weakness
            .into_iter()
            .map(|(label, (weakness, suites))| {
                target_draft(
                    ctx.root,
                    severity(weakness),
                    format!("Weak cipher suites accepted ({label})"),
                    format!("The server negotiated: {}.", suites.join(", ")),
                    label.to_ascii_lowercase(),
                )
            })
            .collect())
    }
}
