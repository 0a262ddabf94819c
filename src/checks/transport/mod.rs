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

use crate::checks::{Family, Skip};
use crate::facts::TargetFacts;
use crate::tls_probe::TlsReport;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &plain_http::META,
        &tls_versions::META,
        &weak_ciphers::META,
        &certificate::META,
        &hsts::META,
        &cookie_flags::META,
        &insecure_links::META,
        &credentials_in_url::META,
    ],
};

/// The TLS handshake probe's report, or why there is none to judge.
pub(crate) fn tls_report(facts: &TargetFacts) -> Result<&TlsReport, Skip> {
    match &facts.tls {
        None => Err(Skip::NotApplicable("the target is not https")),
        Some(Err(_)) => Err(Skip::Missing("the TLS probe failed")),
        Some(Ok(report)) => Ok(report),
    }
}
