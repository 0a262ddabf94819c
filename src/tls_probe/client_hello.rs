//! Hand-built ClientHello records for every protocol version.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::suites::SCSV_RENEGOTIATION;
use super::wire::*;
use super::TlsVersion;

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
pub(super) fn build_client_hello(
    version: TlsVersion,
    suites: &[u16],
    sni: Option<&str>,
) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::super::suites::{class_suites, hello_suites, Weakness};
    use super::*;

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
                let suites = hello_suites(v);
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
        let rec = build_client_hello(TlsVersion::Tls12, &class_suites(Weakness::Des), Some("a.b"));
        check_client_hello(&rec, TlsVersion::Tls12, Some("a.b"));
    }
}
