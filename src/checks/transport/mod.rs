//! Transport and cryptographic failures: plain HTTP, old TLS versions, weak
//! cipher suites, certificate problems, HSTS, cookie flags, and credentials
//! or data-store links that travel in clear.

pub mod certificate;
pub mod cookie_flags;
pub mod credentials_in_url;
pub mod hsts;
pub mod insecure_links;
pub mod plain_http;
pub mod tls_versions;
pub mod weak_ciphers;

use std::sync::Arc;

use crate::engine::Exchange;
use crate::finding::{Confidence, FindingDraft, Severity};
use crate::tls_probe::TlsReport;

use super::TargetContext;

/// The TLS report, when the target is https and the probe worked.
pub(crate) fn tls_report<'a>(ctx: &'a TargetContext<'_>) -> Option<&'a TlsReport> {
    ctx.facts.tls.as_ref()?.as_ref().ok()
}

/// A target-wide finding, shown against the target's root exchange.
pub(crate) fn target_draft(
    root: &Arc<Exchange>,
    severity: Severity,
    title: String,
    description: String,
    key: String,
) -> FindingDraft {
    FindingDraft::at_exchange(root, severity, Confidence::Confirmed)
        .title(title)
        .description(description)
        .key(key)
        .evidence("The target's base URL", root, None)
}
