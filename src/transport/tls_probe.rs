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

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Maximum number of bytes read from one connection.
pub const MAX_READ_BYTES: usize = 64 * 1024;
/// Maximum number of weak-suite connections in flight at once.
pub const WEAK_PROBE_CONCURRENCY: usize = 8;
/// Largest TLS record body accepted (TLSCiphertext limit, RFC 5246 §6.2.3).
const MAX_RECORD_LEN: usize = 16384 + 2048;
/// Maximum number of certificates kept from one Certificate message.
const MAX_CHAIN_CERTS: usize = 16;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// A SSL/TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
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
        match self {
            TlsVersion::Ssl3 => "SSL 3.0",
            TlsVersion::Tls10 => "TLS 1.0",
            TlsVersion::Tls11 => "TLS 1.1",
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A cipher suite, named with its IANA name.
///
/// `weakness` is the suite's intrinsic class. Note that `CbcOnly` suites only
/// show up in [`TlsReport::weak_ciphers`] when the server has no AEAD suite
/// at TLS 1.2 (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CipherSuite {
    pub id: u16,
    pub name: &'static str,
    pub weakness: Option<Weakness>,
}

/// Why a cipher suite is weak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// No encryption at all.
    Null,
    /// No server authentication (DH_anon / ECDH_anon).
    Anonymous,
    /// Export-grade (40/56-bit) crypto.
    Export,
    /// RC4 stream cipher.
    Rc4,
    /// Triple-DES (Sweet32).
    TripleDes,
    /// CBC-mode suite on a server without any AEAD suite at TLS 1.2.
    CbcOnly,
    /// Single DES.
    Des,
}

impl Weakness {
    /// The classes probed, one connection each per accepted version.
    pub const ALL: [Weakness; 7] = [
        Weakness::Null,
        Weakness::Anonymous,
        Weakness::Export,
        Weakness::Rc4,
        Weakness::TripleDes,
        Weakness::CbcOnly,
        Weakness::Des,
    ];
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

/// What was learned from the server's certificate chain (leaf only, plus the
/// chain length).
#[derive(Debug, Clone)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    /// DNS names of the subjectAltName extension (the CN is not used).
    pub dns_names: Vec<String>,
    /// IP addresses of the subjectAltName extension, as text.
    pub ip_addresses: Vec<String>,
    /// Subject == issuer (and the key identifiers, when both present, agree).
    /// The signature itself is not verified.
    pub self_signed: bool,
    /// Short name of the signature algorithm, e.g. "sha256WithRSAEncryption",
    /// or the dotted OID when unknown.
    pub signature_algorithm: String,
    pub key_bits: Option<u32>,
    /// "RSA", "RSA-PSS", "EC", "DSA", "Ed25519", "Ed448", or the dotted OID.
    pub key_type: String,
    /// Number of certificates the server sent.
    pub chain_len: usize,
}

/// A problem with a certificate, see [`CertInfo::problems`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertProblem {
    Expired,
    NotYetValid,
    WrongHost,
    SelfSigned,
    /// Key size in bits: RSA/DSA below 2048, EC below 224.
    WeakKey(u32),
    /// SHA-1 (or the even weaker MD5/MD2) signature.
    Sha1Signature,
    /// Not self-signed but the server sent no intermediate (chain of one).
    /// Heuristic: without a trust store a leaf issued directly by a root
    /// cannot be told apart, which is rare for public CAs.
    IncompleteChain,
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

// ---------------------------------------------------------------------------
// Cipher suite table
// ---------------------------------------------------------------------------

/// How a suite is used when building hellos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// AEAD suite for TLS 1.2 (GCM, CCM, ChaCha20-Poly1305).
    Aead,
    /// TLS 1.3 suite.
    Tls13,
    /// Anything else (classified by its weakness).
    Other,
}

struct SuiteDef {
    id: u16,
    name: &'static str,
    weakness: Option<Weakness>,
    kind: Kind,
}

const fn s(id: u16, name: &'static str, weakness: Option<Weakness>, kind: Kind) -> SuiteDef {
    SuiteDef {
        id,
        name,
        weakness,
        kind,
    }
}

use Kind::{Aead, Other};
use Weakness::{Anonymous, CbcOnly, Des, Export, Null, Rc4, TripleDes};

/// Known suites, in the order they are offered in the broad hello (strong
/// first so that client-preference servers pick a certificate-bearing,
/// modern suite; weak classes last). Each suite has exactly one class,
/// priority Null > Export > Anonymous > Des > Rc4 > TripleDes > CbcOnly.
#[rustfmt::skip]
static SUITES: &[SuiteDef] = &[
    // TLS 1.3
    s(0x1301, "TLS_AES_128_GCM_SHA256", None, Kind::Tls13),
    s(0x1302, "TLS_AES_256_GCM_SHA384", None, Kind::Tls13),
    s(0x1303, "TLS_CHACHA20_POLY1305_SHA256", None, Kind::Tls13),
    s(0x1304, "TLS_AES_128_CCM_SHA256", None, Kind::Tls13),
    s(0x1305, "TLS_AES_128_CCM_8_SHA256", None, Kind::Tls13),
    // AEAD (TLS 1.2)
    s(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", None, Aead),
    s(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None, Aead),
    s(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", None, Aead),
    s(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", None, Aead),
    s(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", None, Aead),
    s(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", None, Aead),
    s(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", None, Aead),
    s(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", None, Aead),
    s(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", None, Aead),
    s(0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", None, Aead),
    s(0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", None, Aead),
    s(0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", None, Aead),
    s(0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", None, Aead),
    s(0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM", None, Aead),
    s(0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM", None, Aead),
    s(0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256", None, Aead),
    s(0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384", None, Aead),
    s(0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256", None, Aead),
    s(0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384", None, Aead),
    s(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", None, Aead),
    s(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", None, Aead),
    s(0xC09C, "TLS_RSA_WITH_AES_128_CCM", None, Aead),
    s(0xC09D, "TLS_RSA_WITH_AES_256_CCM", None, Aead),
    // CBC
    s(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", Some(CbcOnly), Other),
    s(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", Some(CbcOnly), Other),
    s(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", Some(CbcOnly), Other),
    s(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", Some(CbcOnly), Other),
    s(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", Some(CbcOnly), Other),
    s(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", Some(CbcOnly), Other),
    s(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", Some(CbcOnly), Other),
    s(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", Some(CbcOnly), Other),
    s(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", Some(CbcOnly), Other),
    s(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", Some(CbcOnly), Other),
    s(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", Some(CbcOnly), Other),
    s(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", Some(CbcOnly), Other),
    s(0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", Some(CbcOnly), Other),
    s(0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", Some(CbcOnly), Other),
    s(0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", Some(CbcOnly), Other),
    s(0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", Some(CbcOnly), Other),
    s(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", Some(CbcOnly), Other),
    s(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", Some(CbcOnly), Other),
    s(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", Some(CbcOnly), Other),
    s(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", Some(CbcOnly), Other),
    s(0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", Some(CbcOnly), Other),
    s(0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", Some(CbcOnly), Other),
    s(0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", Some(CbcOnly), Other),
    s(0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", Some(CbcOnly), Other),
    // 3DES
    s(0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", Some(TripleDes), Other),
    s(0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", Some(TripleDes), Other),
    s(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", Some(TripleDes), Other),
    s(0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", Some(TripleDes), Other),
    s(0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", Some(TripleDes), Other),
    s(0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA", Some(TripleDes), Other),
    s(0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA", Some(TripleDes), Other),
    // RC4
    s(0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", Some(Rc4), Other),
    s(0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", Some(Rc4), Other),
    s(0x0005, "TLS_RSA_WITH_RC4_128_SHA", Some(Rc4), Other),
    s(0x0004, "TLS_RSA_WITH_RC4_128_MD5", Some(Rc4), Other),
    // single DES
    s(0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", Some(Des), Other),
    s(0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA", Some(Des), Other),
    s(0x0009, "TLS_RSA_WITH_DES_CBC_SHA", Some(Des), Other),
    // EXPORT
    s(0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA", Some(Export), Other),
    s(0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA", Some(Export), Other),
    s(0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA", Some(Export), Other),
    s(0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA", Some(Export), Other),
    s(0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", Some(Export), Other),
    s(0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", Some(Export), Other),
    s(0x000E, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", Some(Export), Other),
    s(0x000B, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", Some(Export), Other),
    s(0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", Some(Export), Other),
    s(0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", Some(Export), Other),
    s(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", Some(Export), Other),
    s(0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA", Some(Export), Other),
    s(0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", Some(Export), Other),
    // anonymous
    s(0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", Some(Anonymous), Other),
    s(0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", Some(Anonymous), Other),
    s(0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA", Some(Anonymous), Other),
    s(0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA", Some(Anonymous), Other),
    s(0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256", Some(Anonymous), Other),
    s(0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384", Some(Anonymous), Other),
    s(0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256", Some(Anonymous), Other),
    s(0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256", Some(Anonymous), Other),
    s(0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", Some(Anonymous), Other),
    s(0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA", Some(Anonymous), Other),
    s(0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA", Some(Anonymous), Other),
    s(0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", Some(Anonymous), Other),
    s(0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", Some(Anonymous), Other),
    s(0x001A, "TLS_DH_anon_WITH_DES_CBC_SHA", Some(Anonymous), Other),
    s(0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", Some(Anonymous), Other),
    // NULL encryption
    s(0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA", Some(Null), Other),
    s(0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", Some(Null), Other),
    s(0xC015, "TLS_ECDH_anon_WITH_NULL_SHA", Some(Null), Other),
    s(0x003B, "TLS_RSA_WITH_NULL_SHA256", Some(Null), Other),
    s(0x0002, "TLS_RSA_WITH_NULL_SHA", Some(Null), Other),
    s(0x0001, "TLS_RSA_WITH_NULL_MD5", Some(Null), Other),
];

/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV, appended to every ≤1.2 hello.
const SCSV_RENEGOTIATION: u16 = 0x00FF;

/// Looks a suite up by its IANA id.
pub fn cipher_suite(id: u16) -> Option<CipherSuite> {
    SUITES.iter().find(|d| d.id == id).map(|d| CipherSuite {
        id: d.id,
        name: d.name,
        weakness: d.weakness,
    })
}

fn is_aead(id: u16) -> bool {
    SUITES
        .iter()
        .any(|d| d.id == id && matches!(d.kind, Kind::Aead | Kind::Tls13))
}

/// Suites of the broad ≤1.2 hello (everything except the TLS 1.3 suites).
fn broad_suites() -> Vec<u16> {
    SUITES
        .iter()
        .filter(|d| d.kind != Kind::Tls13)
        .map(|d| d.id)
        .collect()
}

fn class_suites(w: Weakness) -> Vec<u16> {
    SUITES
        .iter()
        .filter(|d| d.weakness == Some(w))
        .map(|d| d.id)
        .collect()
}

fn aead_suites() -> Vec<u16> {
    SUITES
        .iter()
        .filter(|d| d.kind == Kind::Aead)
        .map(|d| d.id)
        .collect()
}

fn tls13_suites() -> Vec<u16> {
    SUITES
        .iter()
        .filter(|d| d.kind == Kind::Tls13)
        .map(|d| d.id)
        .collect()
}

// ---------------------------------------------------------------------------
// ClientHello
// ---------------------------------------------------------------------------

const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
const HS_SERVER_HELLO_DONE: u8 = 14;

const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;

const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_PADDING: u16 = 21;
const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
const EXT_SESSION_TICKET: u16 = 35;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
const EXT_KEY_SHARE: u16 = 51;

const GROUP_X25519: u16 = 0x001D;
const GROUPS: &[u16] = &[
    GROUP_X25519,
    0x0017, // secp256r1
    0x0018, // secp384r1
    0x0019, // secp521r1
    0x001E, // x448
    0x0100, // ffdhe2048
    0x0101, // ffdhe3072
];
const SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0503, 0x0603, // ecdsa_secp{256,384,521}r1_sha{256,384,512}
    0x0807, 0x0808, // ed25519, ed448
    0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha*
    0x0809, 0x080A, 0x080B, // rsa_pss_pss_sha*
    0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha*
    0x0402, 0x0502, 0x0602, // dsa_sha*
    0x0303, 0x0301, 0x0302, // sha224
    0x0203, 0x0201, 0x0202, // sha1 (legacy servers)
];

/// HelloRetryRequest's special ServerHello.random (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u24(out: &mut Vec<u8>, v: usize) {
    let v = v.min(0xFF_FFFF) as u32;
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}

/// Appends `body` preceded by its 16-bit length.
fn put_vec16(out: &mut Vec<u8>, body: &[u8]) {
    put_u16(out, body.len().min(0xFFFF) as u16);
    out.extend_from_slice(body);
}

fn put_ext(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    put_u16(out, ty);
    put_vec16(out, data);
}

fn u16_list(items: &[u16]) -> Vec<u8> {
    items.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(nanos);
        let word = h.finish().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}

/// Builds a complete ClientHello record (record header included).
///
/// For ≤1.2, `legacy_version` is `version` and no supported_versions is
/// sent; for 1.3, `legacy_version` is 1.2 and supported_versions = [1.3].
/// The record version is 0x0300 for SSLv3 and 0x0301 otherwise.
fn build_client_hello(version: TlsVersion, suites: &[u16], sni: Option<&str>) -> Vec<u8> {
    let tls13 = version == TlsVersion::Tls13;
    let legacy_version = if tls13 {
        TlsVersion::Tls12.wire()
    } else {
        version.wire()
    };

    let mut exts = Vec::with_capacity(256);
    if let Some(name) = sni {
        let name = &name.as_bytes()[..name.len().min(255)];
        let mut entry = vec![0u8]; // host_name
        put_vec16(&mut entry, name);
        let mut list = Vec::new();
        put_vec16(&mut list, &entry);
        put_ext(&mut exts, EXT_SERVER_NAME, &list);
    }
    let mut groups = Vec::new();
    put_vec16(&mut groups, &u16_list(GROUPS));
    put_ext(&mut exts, EXT_SUPPORTED_GROUPS, &groups);
    if version >= TlsVersion::Tls12 {
        let mut sigs = Vec::new();
        put_vec16(&mut sigs, &u16_list(SIGNATURE_ALGORITHMS));
        put_ext(&mut exts, EXT_SIGNATURE_ALGORITHMS, &sigs);
    }
    if tls13 {
        put_ext(&mut exts, EXT_SUPPORTED_VERSIONS, &[2, 0x03, 0x04]);
        put_ext(&mut exts, EXT_PSK_KEY_EXCHANGE_MODES, &[1, 1]); // psk_dhe_ke
        let key: [u8; 32] = random_bytes();
        let mut share = Vec::with_capacity(36);
        put_u16(&mut share, GROUP_X25519);
        put_vec16(&mut share, &key);
        let mut shares = Vec::new();
        put_vec16(&mut shares, &share);
        put_ext(&mut exts, EXT_KEY_SHARE, &shares);
    } else {
        put_ext(&mut exts, EXT_EC_POINT_FORMATS, &[1, 0]); // uncompressed
        put_ext(&mut exts, EXT_EXTENDED_MASTER_SECRET, &[]);
        put_ext(&mut exts, EXT_SESSION_TICKET, &[]);
    }

    let mut suite_ids: Vec<u16> = suites.to_vec();
    if !tls13 {
        suite_ids.push(SCSV_RENEGOTIATION);
    }

    let mut body = Vec::with_capacity(512);
    put_u16(&mut body, legacy_version);
    body.extend_from_slice(&random_bytes::<32>());
    if tls13 {
        body.push(32);
        body.extend_from_slice(&random_bytes::<32>()); // middlebox compat
    } else {
        body.push(0);
    }
    put_vec16(&mut body, &u16_list(&suite_ids));
    body.extend_from_slice(&[1, 0]); // compression: null

    // Some middleboxes hang on hellos of 256..=511 bytes (RFC 7685).
    let unpadded = 4 + body.len() + 2 + exts.len();
    if (256..512).contains(&unpadded) && version != TlsVersion::Ssl3 {
        let pad = (512 - unpadded).saturating_sub(4).max(1);
        put_ext(&mut exts, EXT_PADDING, &vec![0u8; pad]);
    }
    put_vec16(&mut body, &exts);

    let mut hs = Vec::with_capacity(body.len() + 4);
    hs.push(HS_CLIENT_HELLO);
    put_u24(&mut hs, body.len());
    hs.extend_from_slice(&body);

    let record_version = if version == TlsVersion::Ssl3 {
        0x0300
    } else {
        0x0301
    };
    let mut rec = Vec::with_capacity(hs.len() + 5);
    rec.push(CT_HANDSHAKE);
    put_u16(&mut rec, record_version);
    put_vec16(&mut rec, &hs);
    rec
}

// ---------------------------------------------------------------------------
// Server side parsing (total, bounds-checked)
// ---------------------------------------------------------------------------

/// Bounds-checked big-endian reader.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| ((b[0] as usize) << 16) | ((b[1] as usize) << 8) | b[2] as usize)
    }
    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// What the server sent, one unit at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ServerEvent {
    /// A complete handshake message (type, body).
    Handshake(u8, Vec<u8>),
    /// An alert (level, description).
    Alert(u8, u8),
    /// A ChangeCipherSpec or application-data record.
    Other(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProtoError {
    /// The bytes are not a TLS record stream.
    NotTls,
    /// A length exceeded its bound.
    TooLarge,
    /// A TLS record stream, but malformed.
    Malformed,
}

/// Incremental record-layer + handshake-layer reassembler. Handles
/// handshake messages split across records and several messages per record.
#[derive(Default)]
struct ServerStream {
    records: Vec<u8>,
    handshake: Vec<u8>,
    seen_record: bool,
}

impl ServerStream {
    fn push(&mut self, data: &[u8]) {
        self.records.extend_from_slice(data);
    }

    /// Next complete event, `Ok(None)` if more bytes are needed.
    fn next_event(&mut self) -> Result<Option<ServerEvent>, ProtoError> {
        loop {
            // 1. A complete handshake message already buffered?
            if self.handshake.len() >= 4 {
                let ty = self.handshake[0];
                let len = ((self.handshake[1] as usize) << 16)
                    | ((self.handshake[2] as usize) << 8)
                    | self.handshake[3] as usize;
                if len > MAX_READ_BYTES {
                    return Err(ProtoError::TooLarge);
                }
                if self.handshake.len() >= 4 + len {
                    let body = self.handshake[4..4 + len].to_vec();
                    self.handshake.drain(..4 + len);
                    return Ok(Some(ServerEvent::Handshake(ty, body)));
                }
            }
            // 2. Next record.
            if self.records.is_empty() {
                return Ok(None);
            }
            let ct = self.records[0];
            if !(CT_CHANGE_CIPHER_SPEC..=CT_APPLICATION_DATA).contains(&ct) {
                return Err(if self.seen_record {
                    ProtoError::Malformed
                } else {
                    ProtoError::NotTls
                });
            }
            if self.records.len() >= 2 && self.records[1] != 0x03 {
                return Err(if self.seen_record {
                    ProtoError::Malformed
                } else {
                    ProtoError::NotTls
                });
            }
            if self.records.len() < 5 {
                return Ok(None);
            }
            let len = u16::from_be_bytes([self.records[3], self.records[4]]) as usize;
            if len > MAX_RECORD_LEN {
                return Err(ProtoError::TooLarge);
            }
            if self.records.len() < 5 + len {
                return Ok(None);
            }
            self.seen_record = true;
            let fragment: Vec<u8> = self.records[5..5 + len].to_vec();
            self.records.drain(..5 + len);
            match ct {
                CT_HANDSHAKE => {
                    if self.handshake.len() + fragment.len() > MAX_READ_BYTES + 4 {
                        return Err(ProtoError::TooLarge);
                    }
                    self.handshake.extend_from_slice(&fragment);
                }
                CT_ALERT => {
                    if !self.handshake.is_empty() || fragment.len() < 2 {
                        return Err(ProtoError::Malformed);
                    }
                    return Ok(Some(ServerEvent::Alert(fragment[0], fragment[1])));
                }
                other => return Ok(Some(ServerEvent::Other(other))),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ServerHello {
    /// Negotiated version: supported_versions if present, else legacy_version.
    version: u16,
    cipher: u16,
    /// A HelloRetryRequest (TLS 1.3 only).
    hello_retry: bool,
}

fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random = r.take(32)?;
    let sid_len = r.u8()? as usize;
    if sid_len > 32 {
        return None;
    }
    r.take(sid_len)?;
    let cipher = r.u16()?;
    let _compression = r.u8()?;
    let mut version = legacy_version;
    if !r.is_empty() {
        let ext_len = r.u16()? as usize;
        let mut exts = Reader::new(r.take(ext_len)?);
        while !exts.is_empty() {
            let ty = exts.u16()?;
            let len = exts.u16()? as usize;
            let data = exts.take(len)?;
            if ty == EXT_SUPPORTED_VERSIONS && data.len() == 2 {
                version = u16::from_be_bytes([data[0], data[1]]);
            }
        }
    }
    Some(ServerHello {
        version,
        cipher,
        hello_retry: random == HRR_RANDOM,
    })
}

/// Parses a ≤1.2 Certificate message body into DER certificates.
fn parse_certificate_list(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader::new(body);
    let total = r.u24()?;
    let mut list = Reader::new(r.take(total)?);
    let mut certs = Vec::new();
    while !list.is_empty() {
        let len = list.u24()?;
        let der = list.take(len)?;
        if certs.len() < MAX_CHAIN_CERTS {
            certs.push(der.to_vec());
        }
    }
    Some(certs)
}

// ---------------------------------------------------------------------------
// One connection
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Outcome {
    /// The server answered with a ServerHello (and maybe a Certificate).
    Hello(ServerHello, Option<Vec<Vec<u8>>>),
    /// The server answered with an alert before any ServerHello.
    Alert,
    /// Closed, reset or stalled without a ServerHello (or malformed TLS).
    Closed,
    /// The bytes that came back are not TLS.
    NotTls,
}

#[derive(Debug)]
enum ConnError {
    Connect(std::io::Error),
    /// Nothing at all within the deadline.
    Timeout,
}

struct Target {
    addr: SocketAddr,
    sni: Option<String>,
    timeout: Duration,
}

#[derive(Clone)]
struct Job {
    version: TlsVersion,
    suites: Vec<u16>,
    want_cert: bool,
}

/// Runs one ClientHello exchange.
async fn exchange(target: &Target, job: &Job) -> Result<Outcome, ConnError> {
    let deadline = Instant::now() + target.timeout;
    let mut stream = match tokio::time::timeout_at(deadline, TcpStream::connect(target.addr)).await
    {
        Err(_) => return Err(ConnError::Timeout),
        Ok(Err(e)) => return Err(ConnError::Connect(e)),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    let hello = build_client_hello(job.version, &job.suites, target.sni.as_deref());
    match tokio::time::timeout_at(deadline, stream.write_all(&hello)).await {
        Err(_) => return Err(ConnError::Timeout),
        Ok(Err(_)) => return Ok(Outcome::Closed),
        Ok(Ok(())) => {}
    }

    let mut parser = ServerStream::default();
    let mut hello: Option<ServerHello> = None;
    let mut got_bytes = false;
    let mut total = 0usize;
    let mut buf = vec![0u8; 8192];
    let finish = |hello: Option<ServerHello>, fallback: Outcome| match hello {
        Some(sh) => Outcome::Hello(sh, None),
        None => fallback,
    };
    loop {
        // Drain complete events.
        loop {
            match parser.next_event() {
                Ok(None) => break,
                Ok(Some(ServerEvent::Handshake(HS_SERVER_HELLO, body))) if hello.is_none() => {
                    let Some(sh) = parse_server_hello(&body) else {
                        return Ok(Outcome::Closed);
                    };
                    if !job.want_cert || sh.version >= TlsVersion::Tls13.wire() || sh.hello_retry {
                        return Ok(Outcome::Hello(sh, None));
                    }
                    hello = Some(sh);
                }
                Ok(Some(ServerEvent::Handshake(HS_CERTIFICATE, body))) if hello.is_some() => {
                    let certs = parse_certificate_list(&body);
                    return Ok(match hello {
                        Some(sh) => Outcome::Hello(sh, certs),
                        None => Outcome::Closed,
                    });
                }
                Ok(Some(ServerEvent::Handshake(HS_SERVER_HELLO_DONE, _))) => {
                    return Ok(finish(hello, Outcome::Closed));
                }
                Ok(Some(ServerEvent::Handshake(..))) => {}
                Ok(Some(ServerEvent::Alert(..))) => return Ok(finish(hello, Outcome::Alert)),
                Ok(Some(ServerEvent::Other(_))) => return Ok(finish(hello, Outcome::Closed)),
                Err(ProtoError::NotTls) => return Ok(finish(hello, Outcome::NotTls)),
                Err(_) => return Ok(finish(hello, Outcome::Closed)),
            }
        }
        if total >= MAX_READ_BYTES {
            return Ok(finish(hello, Outcome::Closed));
        }
        let want = buf.len().min(MAX_READ_BYTES - total);
        match tokio::time::timeout_at(deadline, stream.read(&mut buf[..want])).await {
            Err(_) if !got_bytes => return Err(ConnError::Timeout),
            Err(_) | Ok(Ok(0)) | Ok(Err(_)) => return Ok(finish(hello, Outcome::Closed)),
            Ok(Ok(n)) => {
                got_bytes = true;
                total += n;
                parser.push(&buf[..n]);
            }
        }
    }
}

/// Runs `jobs` with at most `limit` connections in flight; results in job order.
async fn run_jobs(
    target: &Arc<Target>,
    jobs: &[Job],
    limit: usize,
) -> Vec<Result<Outcome, ConnError>> {
    let mut results: Vec<Option<Result<Outcome, ConnError>>> =
        (0..jobs.len()).map(|_| None).collect();
    let mut set = JoinSet::new();
    let mut pending = jobs.iter().cloned().enumerate();
    loop {
        while set.len() < limit.max(1) {
            let Some((i, job)) = pending.next() else {
                break;
            };
            let target = Arc::clone(target);
            set.spawn(async move { (i, exchange(&target, &job).await) });
        }
        match set.join_next().await {
            None => break,
            Some(Ok((i, r))) => {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
            Some(Err(_)) => {} // task panicked or was cancelled: treated as Closed
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Ok(Outcome::Closed)))
        .collect()
}

fn normalize_sni(sni: &str) -> Result<Option<String>, TlsProbeError> {
    let name = sni.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if name.is_empty() || bare.parse::<IpAddr>().is_ok() {
        return Ok(None); // RFC 6066: no IP literals in SNI
    }
    let valid = name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if valid {
        Ok(Some(name))
    } else {
        Err(TlsProbeError::InvalidSni(sni.to_string()))
    }
}

async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<SocketAddr, TlsProbeError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let err = |source| TlsProbeError::Resolve {
        host: host.to_string(),
        source,
    };
    let mut addrs = match tokio::time::timeout(timeout, tokio::net::lookup_host((bare, port))).await
    {
        Err(_) => {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "lookup timed out",
            )));
        }
        Ok(r) => r.map_err(err)?,
    };
    addrs.next().ok_or_else(|| {
        err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no address",
        ))
    })
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
            suites: if version == TlsVersion::Tls13 {
                tls13_suites()
            } else {
                broad_suites()
            },
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

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

impl CertInfo {
    /// Builds a [`CertInfo`] from a DER chain, leaf first. `None` if the chain
    /// is empty or the leaf does not parse.
    pub fn from_der_chain<C: AsRef<[u8]>>(chain: &[C]) -> Option<CertInfo> {
        use x509_parser::prelude::*;

        let leaf_der = chain.first()?.as_ref();
        let (_, cert) = parse_x509_certificate(leaf_der).ok()?;

        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(d) => dns_names.push(d.to_string()),
                    GeneralName::IPAddress(raw) => {
                        if let Some(ip) = ip_from_bytes(raw) {
                            ip_addresses.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }

        let same_name = cert.subject().as_raw() == cert.issuer().as_raw();
        let mut ski = None;
        let mut aki = None;
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    aki = a.key_identifier.as_ref().map(|k| k.0)
                }
                _ => {}
            }
        }
        let keys_agree = match (ski, aki) {
            (Some(s), Some(a)) => s == a,
            _ => true,
        };

        let registry = oid_registry();
        let sig_oid = &cert.signature_algorithm.algorithm;
        let signature_algorithm = oid2sn(sig_oid, registry)
            .map(str::to_string)
            .unwrap_or_else(|_| sig_oid.to_id_string());

        let (key_type, key_bits) = key_info(cert.public_key());

        Some(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before_unix: cert.validity().not_before.timestamp(),
            not_after_unix: cert.validity().not_after.timestamp(),
            dns_names,
            ip_addresses,
            self_signed: same_name && keys_agree,
            signature_algorithm,
            key_bits,
            key_type,
            chain_len: chain.len(),
        })
    }

    /// Whether `host` (DNS name or IP literal) is covered by the
    /// subjectAltName. Wildcards cover exactly one leftmost label.
    pub fn matches_host(&self, host: &str) -> bool {
        let host = host.trim().trim_end_matches('.');
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self
                .ip_addresses
                .iter()
                .any(|a| a.parse::<IpAddr>().ok() == Some(ip));
        }
        let host = host.to_ascii_lowercase();
        self.dns_names.iter().any(|pattern| {
            let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(suffix) => match host.split_once('.') {
                    Some((label, rest)) => !label.is_empty() && rest == suffix,
                    None => false,
                },
                None => pattern == host,
            }
        })
    }

    /// Problems of this certificate for `host` at `now_unix`. An empty `host`
    /// skips the host check.
    pub fn problems(&self, host: &str, now_unix: i64) -> Vec<CertProblem> {
        let mut out = Vec::new();
        if now_unix > self.not_after_unix {
            out.push(CertProblem::Expired);
        }
        if now_unix < self.not_before_unix {
            out.push(CertProblem::NotYetValid);
        }
        if !host.trim().is_empty() && !self.matches_host(host) {
            out.push(CertProblem::WrongHost);
        }
        if self.self_signed {
            out.push(CertProblem::SelfSigned);
        }
        if let Some(bits) = self.key_bits {
            let min = match self.key_type.as_str() {
                "RSA" | "RSA-PSS" | "DSA" => Some(2048),
                "EC" => Some(224),
                _ => None,
            };
            if min.is_some_and(|m| bits < m) {
                out.push(CertProblem::WeakKey(bits));
            }
        }
        let sig = self.signature_algorithm.to_ascii_lowercase();
        if sig.contains("sha1") || sig.contains("md5") || sig.contains("md2") {
            out.push(CertProblem::Sha1Signature);
        }
        if !self.self_signed && self.chain_len < 2 {
            out.push(CertProblem::IncompleteChain);
        }
        out
    }
}

fn ip_from_bytes(raw: &[u8]) -> Option<IpAddr> {
    match raw.len() {
        4 => <[u8; 4]>::try_from(raw).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(raw).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Bit length of a big-endian unsigned integer (leading zeros ignored).
fn bit_len(bytes: &[u8]) -> u32 {
    let mut it = bytes.iter().skip_while(|b| **b == 0);
    match it.next() {
        None => 0,
        Some(first) => {
            let rest = it.count() as u32;
            rest * 8 + (8 - first.leading_zeros())
        }
    }
}

fn key_info(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> (String, Option<u32>) {
    use x509_parser::prelude::FromDer;
    use x509_parser::public_key::{PublicKey, RSAPublicKey};

    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let name = if alg.ends_with(".1") {
                "RSA"
            } else {
                "RSA-PSS"
            };
            let bits = RSAPublicKey::from_der(&spki.subject_public_key.data)
                .ok()
                .map(|(_, k)| bit_len(k.modulus));
            (name.to_string(), bits.filter(|b| *b > 0))
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            let bits = match curve.as_deref() {
                Some("1.2.840.10045.3.1.1") => Some(192),
                Some("1.3.132.0.33") => Some(224),
                Some("1.2.840.10045.3.1.7") | Some("1.3.132.0.10") => Some(256),
                Some("1.3.132.0.34") => Some(384),
                Some("1.3.132.0.35") => Some(521),
                _ => match spki.parsed() {
                    Ok(PublicKey::EC(p)) => Some(p.key_size() as u32).filter(|b| *b > 0),
                    _ => None,
                },
            };
            ("EC".to_string(), bits)
        }
        "1.2.840.10040.4.1" => {
            // Size of the prime p from the parameters would be exact; the
            // public value y has (almost always) the same bit length.
            let bits = match spki.parsed() {
                Ok(PublicKey::DSA(y)) => Some(bit_len(y)).filter(|b| *b > 0),
                _ => None,
            };
            ("DSA".to_string(), bits)
        }
        "1.3.101.112" => ("Ed25519".to_string(), Some(256)),
        "1.3.101.113" => ("Ed448".to_string(), Some(456)),
        _ => (alg, None),
    }
}

// ---------------------------------------------------------------------------
// Unit tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*, deterministic.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn record(ct: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ct, 3, 3];
        put_vec16(&mut r, body);
        r
    }

    fn handshake_msg(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![ty];
        put_u24(&mut m, body.len());
        m.extend_from_slice(body);
        m
    }

    fn server_hello_body(version: u16, cipher: u16, supported: Option<u16>) -> Vec<u8> {
        let mut b = Vec::new();
        put_u16(&mut b, version);
        b.extend_from_slice(&[7u8; 32]);
        b.push(0);
        put_u16(&mut b, cipher);
        b.push(0);
        if let Some(v) = supported {
            let mut exts = Vec::new();
            put_ext(&mut exts, EXT_SUPPORTED_VERSIONS, &v.to_be_bytes());
            put_vec16(&mut b, &exts);
        }
        b
    }

    fn drain(stream: &mut ServerStream) -> (Vec<ServerEvent>, Option<ProtoError>) {
        let mut events = Vec::new();
        loop {
            match stream.next_event() {
                Ok(Some(e)) => events.push(e),
                Ok(None) => return (events, None),
                Err(e) => return (events, Some(e)),
            }
        }
    }

    #[test]
    fn suite_table_is_consistent() {
        let mut ids: Vec<u16> = SUITES.iter().map(|d| d.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate suite ids");
        for class in Weakness::ALL {
            assert!(!class_suites(class).is_empty(), "{class:?} has no suites");
        }
        for d in SUITES {
            let aead_name = d.name.contains("GCM")
                || d.name.contains("CCM")
                || d.name.contains("CHACHA20_POLY1305");
            if d.weakness.is_none() {
                assert!(aead_name, "{} is unclassified but not AEAD", d.name);
            }
        }
        assert!(is_aead(0xC02F));
        assert!(!is_aead(0xC013));
        assert_eq!(cipher_suite(0x000A).unwrap().weakness, Some(TripleDes));
        assert!(cipher_suite(0xFFFF).is_none());
    }

    /// Parses our own ClientHello back and checks every length field.
    fn check_client_hello(rec: &[u8], version: TlsVersion, sni: Option<&str>) -> Vec<u16> {
        let mut r = Reader::new(rec);
        assert_eq!(r.u8(), Some(CT_HANDSHAKE));
        let rv = r.u16().unwrap();
        assert_eq!(
            rv,
            if version == TlsVersion::Ssl3 {
                0x0300
            } else {
                0x0301
            }
        );
        let len = r.u16().unwrap() as usize;
        let hs = r.take(len).unwrap();
        assert!(r.is_empty());
        let mut h = Reader::new(hs);
        assert_eq!(h.u8(), Some(HS_CLIENT_HELLO));
        let blen = h.u24().unwrap();
        let mut b = Reader::new(h.take(blen).unwrap());
        assert!(h.is_empty());
        let legacy = b.u16().unwrap();
        let expect = if version == TlsVersion::Tls13 {
            0x0303
        } else {
            version.wire()
        };
        assert_eq!(legacy, expect);
        b.take(32).unwrap();
        let sid = b.u8().unwrap() as usize;
        b.take(sid).unwrap();
        let cl = b.u16().unwrap() as usize;
        assert_eq!(cl % 2, 0);
        let ciphers = b.take(cl).unwrap();
        assert_eq!(b.u8(), Some(1));
        assert_eq!(b.u8(), Some(0));
        let el = b.u16().unwrap() as usize;
        let mut e = Reader::new(b.take(el).unwrap());
        assert!(b.is_empty());
        let mut types = Vec::new();
        let mut seen_sni = None;
        while !e.is_empty() {
            let ty = e.u16().unwrap();
            let l = e.u16().unwrap() as usize;
            let data = e.take(l).unwrap();
            if ty == EXT_SERVER_NAME {
                seen_sni = Some(String::from_utf8(data[5..].to_vec()).unwrap());
            }
            types.push(ty);
        }
        assert_eq!(seen_sni.as_deref(), sni);
        assert_eq!(
            types.contains(&EXT_SUPPORTED_VERSIONS),
            version == TlsVersion::Tls13
        );
        assert_eq!(types.contains(&EXT_KEY_SHARE), version == TlsVersion::Tls13);
        ciphers
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn client_hellos_are_well_formed() {
        for v in TlsVersion::ALL {
            for sni in [None, Some("example.com")] {
                let suites = if v == TlsVersion::Tls13 {
                    tls13_suites()
                } else {
                    broad_suites()
                };
                let rec = build_client_hello(v, &suites, sni);
                let offered = check_client_hello(&rec, v, sni);
                assert!(offered.starts_with(&suites));
                if v != TlsVersion::Ssl3 {
                    let hs_len = rec.len() - 5;
                    assert!(!(256..512).contains(&hs_len), "{v:?}: {hs_len}");
                }
            }
        }
        // Small hello (one class) is padded past 512 too.
        let rec = build_client_hello(TlsVersion::Tls12, &class_suites(Des), Some("a.b"));
        check_client_hello(&rec, TlsVersion::Tls12, Some("a.b"));
    }

    #[test]
    fn server_hello_parsing() {
        let sh = parse_server_hello(&server_hello_body(0x0303, 0xC02F, None)).unwrap();
        assert_eq!(
            (sh.version, sh.cipher, sh.hello_retry),
            (0x0303, 0xC02F, false)
        );
        let sh = parse_server_hello(&server_hello_body(0x0303, 0x1301, Some(0x0304))).unwrap();
        assert_eq!(sh.version, 0x0304);
        let mut hrr = server_hello_body(0x0303, 0x1301, Some(0x0304));
        hrr[2..34].copy_from_slice(&HRR_RANDOM);
        assert!(parse_server_hello(&hrr).unwrap().hello_retry);
        // Truncated everywhere: never panics, never parses.
        let full = server_hello_body(0x0303, 0x1301, Some(0x0304));
        for cut in 0..full.len() {
            if cut == 38 {
                continue; // a hello without extensions is valid
            }
            assert!(parse_server_hello(&full[..cut]).is_none(), "cut {cut}");
        }
    }

    #[test]
    fn reassembles_split_and_coalesced_messages() {
        let sh = handshake_msg(HS_SERVER_HELLO, &server_hello_body(0x0303, 0x009C, None));
        let mut certs = Vec::new();
        for der in [vec![0xAAu8; 3000], vec![0xBB; 20]] {
            put_u24(&mut certs, der.len());
            certs.extend_from_slice(&der);
        }
        let mut cert_body = Vec::new();
        put_u24(&mut cert_body, certs.len());
        cert_body.extend_from_slice(&certs);
        let cert = handshake_msg(HS_CERTIFICATE, &cert_body);
        let done = handshake_msg(HS_SERVER_HELLO_DONE, &[]);

        // ServerHello + first half of Certificate in one record, the rest
        // split over two records, ServerHelloDone in its own.
        let mut wire = Vec::new();
        let mut first = sh.clone();
        first.extend_from_slice(&cert[..1000]);
        wire.extend(record(CT_HANDSHAKE, &first));
        wire.extend(record(CT_HANDSHAKE, &cert[1000..2500]));
        wire.extend(record(CT_HANDSHAKE, &cert[2500..]));
        wire.extend(record(CT_HANDSHAKE, &done));
        wire.extend(record(CT_ALERT, &[2, 40]));

        // Feed in random-sized chunks.
        let mut rng = Rng(42);
        for _ in 0..50 {
            let mut stream = ServerStream::default();
            let mut events = Vec::new();
            let mut pos = 0;
            while pos < wire.len() {
                let n = (1 + rng.below(700)).min(wire.len() - pos);
                stream.push(&wire[pos..pos + n]);
                pos += n;
                let (ev, err) = drain(&mut stream);
                assert!(err.is_none());
                events.extend(ev);
            }
            assert_eq!(events.len(), 4);
            assert_eq!(
                events[0],
                ServerEvent::Handshake(HS_SERVER_HELLO, sh[4..].to_vec())
            );
            let ServerEvent::Handshake(HS_CERTIFICATE, body) = &events[1] else {
                panic!("{:?}", events[1]);
            };
            let chain = parse_certificate_list(body).unwrap();
            assert_eq!(chain.len(), 2);
            assert_eq!(chain[0].len(), 3000);
            assert_eq!(
                events[2],
                ServerEvent::Handshake(HS_SERVER_HELLO_DONE, vec![])
            );
            assert_eq!(events[3], ServerEvent::Alert(2, 40));
        }
    }

    #[test]
    fn non_tls_and_oversized_input() {
        let mut s = ServerStream::default();
        s.push(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        assert_eq!(s.next_event(), Err(ProtoError::NotTls));

        let mut s = ServerStream::default();
        s.push(&[CT_HANDSHAKE, 3, 3, 0xFF, 0xFF]);
        assert_eq!(s.next_event(), Err(ProtoError::TooLarge));

        // A handshake message claiming 16 MiB.
        let mut s = ServerStream::default();
        s.push(&record(
            CT_HANDSHAKE,
            &[HS_CERTIFICATE, 0xFF, 0xFF, 0xFF, 0],
        ));
        assert_eq!(s.next_event(), Err(ProtoError::TooLarge));
    }

    #[test]
    fn fuzz_parsers_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let sh = handshake_msg(
            HS_SERVER_HELLO,
            &server_hello_body(0x0303, 0x1301, Some(0x0304)),
        );
        let valid = record(CT_HANDSHAKE, &sh);
        for i in 0..20_000 {
            // Pure noise, noise behind a plausible header, and mutations of
            // a valid record.
            let input = match i % 3 {
                0 => {
                    let n = rng.below(300);
                    rng.bytes(n)
                }
                1 => {
                    let mut v = vec![20 + rng.below(4) as u8, 3, rng.below(5) as u8];
                    let n = rng.below(400);
                    v.extend(rng.bytes(n));
                    v
                }
                _ => {
                    let mut v = valid.clone();
                    for _ in 0..1 + rng.below(6) {
                        let p = rng.below(v.len());
                        v[p] = rng.next() as u8;
                    }
                    v.truncate(rng.below(v.len() + 1));
                    v
                }
            };
            let n = rng.below(input.len() + 1);
            let mut stream = ServerStream::default();
            for chunk in input.chunks(n.max(1)) {
                stream.push(chunk);
                let (events, _) = drain(&mut stream);
                for e in events {
                    if let ServerEvent::Handshake(_, body) = e {
                        let _ = parse_server_hello(&body);
                        let _ = parse_certificate_list(&body);
                        let _ = CertInfo::from_der_chain(&[body]);
                    }
                }
            }
            let _ = parse_server_hello(&input);
            let _ = parse_certificate_list(&input);
            let _ = CertInfo::from_der_chain(&[&input]);
        }
    }

    fn info() -> CertInfo {
        CertInfo {
            subject: "CN=example.com".into(),
            issuer: "CN=Some CA".into(),
            not_before_unix: 1_000,
            not_after_unix: 2_000,
            dns_names: vec!["example.com".into(), "*.example.com".into()],
            ip_addresses: vec!["10.0.0.1".into(), "::1".into()],
            self_signed: false,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            key_bits: Some(2048),
            key_type: "RSA".into(),
            chain_len: 2,
        }
    }

    #[test]
    fn problems_logic() {
        let c = info();
        assert!(c.problems("example.com", 1_500).is_empty());
        assert!(c.problems("API.Example.com.", 1_500).is_empty());
        assert!(c.problems("10.0.0.1", 1_500).is_empty());
        assert!(c.problems("[::1]", 1_500).is_empty());
        assert_eq!(
            c.problems("a.b.example.com", 1_500),
            vec![CertProblem::WrongHost]
        );
        assert_eq!(
            c.problems("example.org", 1_500),
            vec![CertProblem::WrongHost]
        );
        assert_eq!(c.problems("10.0.0.2", 1_500), vec![CertProblem::WrongHost]);
        assert_eq!(c.problems("example.com", 2_001), vec![CertProblem::Expired]);
        assert_eq!(
            c.problems("example.com", 999),
            vec![CertProblem::NotYetValid]
        );

        let mut c = info();
        c.self_signed = true;
        c.chain_len = 1;
        c.key_bits = Some(1024);
        c.signature_algorithm = "sha1WithRSAEncryption".into();
        assert_eq!(
            c.problems("", 1_500),
            vec![
                CertProblem::SelfSigned,
                CertProblem::WeakKey(1024),
                CertProblem::Sha1Signature
            ]
        );
        let mut c = info();
        c.chain_len = 1;
        c.key_type = "EC".into();
        c.key_bits = Some(256);
        assert_eq!(
            c.problems("example.com", 1_500),
            vec![CertProblem::IncompleteChain]
        );
    }

    #[test]
    fn sni_normalization() {
        assert_eq!(
            normalize_sni("Example.COM.").unwrap().as_deref(),
            Some("example.com")
        );
        assert_eq!(normalize_sni("").unwrap(), None);
        assert_eq!(normalize_sni("127.0.0.1").unwrap(), None);
        assert_eq!(normalize_sni("[::1]").unwrap(), None);
        assert!(normalize_sni("bad name").is_err());
    }

    #[test]
    fn bit_len_works() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
        assert_eq!(bit_len(&[0x01, 0xFF]), 9);
    }
}
