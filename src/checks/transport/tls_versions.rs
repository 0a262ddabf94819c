//! Obsolete TLS protocol versions.
//!
//! SSLv3, TLS 1.0 and TLS 1.1 have known attacks (POODLE, BEAST, weak
//! MACs) and no modern client needs them; a server that still accepts them
//! lets an active attacker push a connection down to them.

use async_trait::async_trait;

use super::{target_draft, tls_report};
use crate::checks::{Check, CheckMeta, Mode, TargetContext};
use crate::engine::EngineError;
use crate::facts::Needs;
use crate::finding::{Category, FindingDraft, Severity};
use crate::transport::tls_probe::TlsVersion;

pub struct TlsVersions;

static META: CheckMeta = CheckMeta {
    id: "transport.tls-versions",
    family: "transport",
    category: Category::Cryptography,
    severity: Severity::High,
    summary: "SSLv3, TLS 1.0 or TLS 1.1 accepted",
    mode: Mode::Active,
    min_identities: 0,
    needs: Needs {
        tls: true,
        ..Needs::NOTHING
    },
};

#[async_trait]
impl Check for TlsVersions {
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
                    ctx.root,
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
