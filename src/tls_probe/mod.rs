//! Black-box TLS prober: which protocol versions a server accepts, which weak
//! cipher suites it negotiates, and what certificate it presents.
//!
//! Everything is done with hand-built ClientHellos over plain TCP (no TLS
//! library), because the point is to talk to servers that modern TLS stacks
//! refuse to talk to (SSLv3, TLS 1.0/1.1, EXPORT/NULL/anon/RC4/3DES suites).
//! No handshake is ever completed: a probe stops as soon as the ServerHello
//! (and, for the certificate, the Certificate message) has been seen.
//!
//! # How a probe works
//! 1. **Versions** — one connection per version (SSLv3, TLS 1.0, 1.1, 1.2,
//!    1.3), all concurrently. The ≤1.2 hellos set `legacy_version` to the
//!    probed version and offer a broad suite list (strong first, weak last);
//!    the TLS 1.3 hello offers only `supported_versions = [0x0304]`, the 1.3
//!    suites and an x25519 key share made of random bytes. A version is
//!    accepted when the ServerHello negotiates exactly that version (for 1.3:
//!    `supported_versions` selects 0x0304, a HelloRetryRequest counts too).
//! 2. **Weak suites** — for every accepted version ≤ 1.2 and every weakness
//!    class, one connection offering *only* that class's suites (bounded
//!    concurrency, [`WEAK_PROBE_CONCURRENCY`]). The suite the server picks is
//!    recorded (one per class and version, not a full enumeration).
//! 3. **Certificate** — taken from the Certificate message of the highest
//!    accepted version ≤ 1.2 of step 1 (no extra connection). A server that
//!    only speaks TLS 1.3 yields no certificate, since 1.3 encrypts it.
//!
//! # `CbcOnly`
//! [`Weakness::CbcOnly`] is kept deliberately simple: CBC suites (AES/Camellia/
//! SEED/ARIA/IDEA in CBC mode, not otherwise classified) accepted at a version
//! ≤ TLS 1.2 are reported **only if the server negotiates no AEAD suite
//! (GCM/CCM/ChaCha20-Poly1305) at TLS 1.2** (or does not speak TLS 1.2 at
//! all). A server that offers CBC next to AEAD is not flagged.
//!
//! # Bounds
//! Each connection has its own deadline (`timeout` covers connect + read),
//! reads at most [`MAX_READ_BYTES`], accepts records of at most 2^14 + 2048
//! bytes and handshake messages of at most [`MAX_READ_BYTES`]. The parsers are
//! total (bounds-checked, no indexing that can panic) and are fuzzed in the
//! unit tests.
//!
//! Randomness (client random, x25519 share) comes from std's hasher seeds:
//! it is unpredictable enough for a probe that never completes a handshake,
//! and is not meant for cryptography.
//!
//! # Layout
//! [`probe`] (here) runs the phases. `suites` is the cipher suite table,
//! `client_hello` builds the hellos, `wire` holds the record-layer constants,
//! writers and the bounds-checked reader, `server_reply` reassembles and
//! parses what the server sends, `connection` runs one hello exchange (and a
//! bounded batch of them), and `certificate` reads the leaf certificate.

mod certificate;
mod client_hello;
mod connection;
mod server_reply;
mod suites;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use certificate::{CertInfo, CertProblem};
pub use suites::{cipher_suite, CipherSuite, Weakness};

use connection::{normalize_sni, resolve, run_jobs, ConnError, Job, Outcome, Target};
pub(crate) use server_reply::read_server_reply;
use suites::{aead_suites, class_suites, hello_suites, is_aead};

/// Maximum number of bytes read from one connection.
pub const MAX_READ_BYTES: usize = 64 * 1024;
/// Maximum number of weak-suite connections in flight at once.
pub const WEAK_PROBE_CONCURRENCY: usize = 8;

/// A SSL/TLS protocol version.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, strum::IntoStaticStr, strum::Display,
)]
pub enum TlsVersion {
    #[strum(serialize = "SSL 3.0")]
    Ssl3,
    #[strum(serialize = "TLS 1.0")]
    Tls10,
    #[strum(serialize = "TLS 1.1")]
    Tls11,
    #[strum(serialize = "TLS 1.2")]
    Tls12,
    #[strum(serialize = "TLS 1.3")]
    Tls13,
}

impl TlsVersion {
    /// All versions, oldest first.
    pub const ALL: [TlsVersion; 5] = [
        TlsVersion::Ssl3,
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];

    /// The on-the-wire version number (e.g. 0x0303 for TLS 1.2).
    pub fn wire(self) -> u16 {
        match self {
            TlsVersion::Ssl3 => 0x0300,
            TlsVersion::Tls10 => 0x0301,
            TlsVersion::Tls11 => 0x0302,
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
        }
    }

    /// Inverse of [`TlsVersion::wire`].
    pub fn from_wire(v: u16) -> Option<TlsVersion> {
        TlsVersion::ALL.into_iter().find(|x| x.wire() == v)
    }

    /// Human-readable name ("TLS 1.2").
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Result of [`probe`].
#[derive(Debug, Clone)]
pub struct TlsReport {
    /// Versions for which the server answered a ServerHello with exactly that
    /// version, oldest first.
    pub accepted_versions: Vec<TlsVersion>,
    /// Accepted weak suites, per version (sorted by version, then class).
    pub weak_ciphers: Vec<(TlsVersion, CipherSuite)>,
    /// Leaf certificate from the TLS 1.2 (or best ≤ 1.2) handshake.
    pub certificate: Option<CertInfo>,
}

/// Errors of [`probe`]. A server that answers but accepts nothing is not an
/// error: it yields an empty report.
#[derive(Debug, thiserror::Error)]
pub enum TlsProbeError {
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("no answer from {addr} within {timeout:?}")]
    Timeout { addr: SocketAddr, timeout: Duration },
    #[error("{addr} does not speak TLS")]
    NotTls { addr: SocketAddr },
    #[error("invalid SNI name {0:?}")]
    InvalidSni(String),
}

/// Probes `host:port`: accepted versions, weak suites and certificate.
///
/// `sni` is sent as server_name unless empty or an IP literal. `timeout`
/// bounds each connection (connect + answer); version probes run all at
/// once, weak-suite probes with [`WEAK_PROBE_CONCURRENCY`] in flight.
pub async fn probe(
    host: &str,
    port: u16,
    sni: &str,
    timeout: Duration,
) -> Result<TlsReport, TlsProbeError> {
    let sni = normalize_sni(sni)?;
    let addr = resolve(host, port, timeout).await?;
    let target = Arc::new(Target { addr, sni, timeout });

    // Phase 1: versions.
    let version_jobs: Vec<Job> = TlsVersion::ALL
        .into_iter()
        .map(|version| Job {
            version,
            suites: hello_suites(version),
            want_cert: version <= TlsVersion::Tls12,
        })
        .collect();
    let results = run_jobs(&target, &version_jobs, version_jobs.len()).await;

    let mut accepted = Vec::new();
    let mut chosen_at_12: Option<u16> = None;
    let mut chain: Option<Vec<Vec<u8>>> = None;
    let mut first_connect_err = None;
    let (mut timeouts, mut not_tls) = (0, 0);
    for (job, result) in version_jobs.iter().zip(results) {
        match result {
            Ok(Outcome::Hello(sh, certs)) if sh.version == job.version.wire() => {
                accepted.push(job.version);
                if job.version == TlsVersion::Tls12 {
                    chosen_at_12 = Some(sh.cipher);
                }
                // Jobs are oldest first: the last non-empty chain is the best.
                if let Some(c) = certs.filter(|c| !c.is_empty()) {
                    chain = Some(c);
                }
            }
            Ok(Outcome::NotTls) => not_tls += 1,
            Ok(_) => {}
            Err(ConnError::Timeout) => timeouts += 1,
            Err(ConnError::Connect(e)) => {
                first_connect_err.get_or_insert(e);
            }
        }
    }
    if accepted.is_empty() {
        if not_tls > 0 {
            return Err(TlsProbeError::NotTls { addr });
        }
        if let Some(source) = first_connect_err {
            return Err(TlsProbeError::Connect { addr, source });
        }
        if timeouts == version_jobs.len() {
            return Err(TlsProbeError::Timeout { addr, timeout });
        }
    }

    // Phase 2: weak suites, plus an AEAD check at 1.2 when phase 1 did not
    // already show one.
    let aead_known = chosen_at_12.is_some_and(is_aead);
    let mut weak_jobs: Vec<(Option<Weakness>, Job)> = Vec::new();
    for &version in accepted.iter().filter(|v| **v <= TlsVersion::Tls12) {
        for class in Weakness::ALL {
            if class == Weakness::CbcOnly && aead_known {
                continue;
            }
            let job = Job {
                version,
                suites: class_suites(class),
                want_cert: false,
            };
            weak_jobs.push((Some(class), job));
        }
    }
    if accepted.contains(&TlsVersion::Tls12) && !aead_known {
        let job = Job {
            version: TlsVersion::Tls12,
            suites: aead_suites(),
            want_cert: false,
        };
        weak_jobs.push((None, job));
    }
    let jobs: Vec<Job> = weak_jobs.iter().map(|(_, j)| j.clone()).collect();
    let results = run_jobs(&target, &jobs, WEAK_PROBE_CONCURRENCY).await;

    let mut aead_at_12 = aead_known;
    let mut weak: Vec<(TlsVersion, Weakness, CipherSuite)> = Vec::new();
    for ((class, job), result) in weak_jobs.iter().zip(results) {
        let Ok(Outcome::Hello(sh, _)) = result else {
            continue;
        };
        if sh.version != job.version.wire() || !job.suites.contains(&sh.cipher) {
            continue;
        }
        match class {
            None => aead_at_12 = true,
            Some(class) => {
                if let Some(suite) = cipher_suite(sh.cipher) {
                    weak.push((job.version, *class, suite));
                }
            }
        }
    }
    if aead_at_12 {
        weak.retain(|(_, class, _)| *class != Weakness::CbcOnly);
    }
    let class_rank = |w: Weakness| Weakness::ALL.iter().position(|x| *x == w);
    weak.sort_by_key(|(v, class, _)| (*v, class_rank(*class)));

    Ok(TlsReport {
        accepted_versions: accepted,
        weak_ciphers: weak.into_iter().map(|(v, _, s)| (v, s)).collect(),
        certificate: chain.and_then(|c| CertInfo::from_der_chain(&c)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_named_as_people_write_them_and_read_back_from_the_wire() {
        let names: Vec<String> = TlsVersion::ALL.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            names,
            ["SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"]
        );
        assert_eq!(TlsVersion::Tls12.name(), "TLS 1.2");
        for version in TlsVersion::ALL {
            assert_eq!(TlsVersion::from_wire(version.wire()), Some(version));
        }
    }
}
