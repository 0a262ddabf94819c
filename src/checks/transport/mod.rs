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

use crate::checks::Family;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &plain_http::PlainHttp,
        &tls_versions::TlsVersions,
        &weak_ciphers::WeakCiphers,
        &certificate::Certificate,
        &hsts::Hsts,
        &cookie_flags::CookieFlags,
        &insecure_links::InsecureLinks,
        &credentials_in_url::CredentialsInUrl,
    ],
};
