//! What the server's certificate says: names, validity, key, signature, and
//! the problems that follow for a given host and time.

use std::net::IpAddr;

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn bit_len_works() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
        assert_eq!(bit_len(&[0x01, 0xFF]), 9);
    }
}
