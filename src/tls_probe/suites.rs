//! The cipher suite table: every suite the prober knows, its IANA name, its
//! weakness class and how it is offered.

use super::TlsVersion;

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
pub(super) const SCSV_RENEGOTIATION: u16 = 0x00FF;

/// Looks a suite up by its IANA id.
pub fn cipher_suite(id: u16) -> Option<CipherSuite> {
    SUITES.iter().find(|d| d.id == id).map(|d| CipherSuite {
        id: d.id,
        name: d.name,
        weakness: d.weakness,
    })
}

pub(super) fn is_aead(id: u16) -> bool {
    SUITES
        .iter()
        .any(|d| d.id == id && matches!(d.kind, Kind::Aead | Kind::Tls13))
}

/// Ids of the suites `keep` selects, in table order.
fn suite_ids(keep: impl Fn(&SuiteDef) -> bool) -> Vec<u16> {
    SUITES.iter().filter(|d| keep(d)).map(|d| d.id).collect()
}

/// Suites of the version probe's hello: the TLS 1.3 suites for 1.3, the
/// broad list (everything but the TLS 1.3 suites) otherwise.
pub(super) fn hello_suites(version: TlsVersion) -> Vec<u16> {
    if version == TlsVersion::Tls13 {
        suite_ids(|d| d.kind == Kind::Tls13)
    } else {
        suite_ids(|d| d.kind != Kind::Tls13)
    }
}

/// Suites of one weakness class.
pub(super) fn class_suites(w: Weakness) -> Vec<u16> {
    suite_ids(|d| d.weakness == Some(w))
}

/// The TLS 1.2 AEAD suites.
pub(super) fn aead_suites() -> Vec<u16> {
    suite_ids(|d| d.kind == Kind::Aead)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
