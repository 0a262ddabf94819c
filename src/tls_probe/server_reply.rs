//! What the server sends back: record-layer and handshake-layer reassembly,
//! ServerHello and Certificate parsing. Total: bounds-checked, never panics.

use super::wire::*;
use super::MAX_READ_BYTES;

/// Largest TLS record body accepted (TLSCiphertext limit, RFC 5246 §6.2.3).
const MAX_RECORD_LEN: usize = 16384 + 2048;
/// Maximum number of certificates kept from one Certificate message.
const MAX_CHAIN_CERTS: usize = 16;

/// HelloRetryRequest's special ServerHello.random (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// What the server sent, one unit at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ServerEvent {
    /// A complete handshake message (type, body).
    Handshake(u8, Vec<u8>),
    /// An alert (level, description).
    Alert(u8, u8),
    /// A ChangeCipherSpec or application-data record.
    Other(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProtoError {
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
pub(super) struct ServerStream {
    records: Vec<u8>,
    handshake: Vec<u8>,
    seen_record: bool,
}

impl ServerStream {
    pub(super) fn push(&mut self, data: &[u8]) {
        self.records.extend_from_slice(data);
    }

    /// Next complete event, `Ok(None)` if more bytes are needed.
    pub(super) fn next_event(&mut self) -> Result<Option<ServerEvent>, ProtoError> {
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
            // An unknown content type or a major version other than 3.
            let not_a_record = !(CT_CHANGE_CIPHER_SPEC..=CT_APPLICATION_DATA).contains(&ct)
                || self.records.get(1).is_some_and(|&major| major != 0x03);
            if not_a_record {
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

/// Reads a whole server reply the way a handshake probe does — records and
/// handshake messages as they arrive (here in chunks whose sizes the first
/// byte picks), the ServerHello, the certificate chain and what is judged
/// of it — and says how many events it held. For the fuzz targets.
pub(crate) fn read_server_reply(data: &[u8]) -> usize {
    let (chunk, data) = match data.split_first() {
        Some((first, rest)) => (usize::from(*first).max(1), rest),
        None => (1, data),
    };
    let mut stream = ServerStream::default();
    let mut events = 0;
    for part in data.chunks(chunk) {
        stream.push(part);
        loop {
            match stream.next_event() {
                Ok(Some(ServerEvent::Handshake(HS_SERVER_HELLO, body))) => {
                    let _ = parse_server_hello(&body);
                }
                Ok(Some(ServerEvent::Handshake(HS_CERTIFICATE, body))) => {
                    if let Some(chain) = parse_certificate_list(&body) {
                        if let Some(info) = super::CertInfo::from_der_chain(&chain) {
                            let _ = info.matches_host("api.example.test");
                            let _ = info.problems("api.example.test", 1_700_000_000);
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
            events += 1;
        }
    }
    events
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ServerHello {
    /// Negotiated version: supported_versions if present, else legacy_version.
    pub(super) version: u16,
    pub(super) cipher: u16,
    /// A HelloRetryRequest (TLS 1.3 only).
    pub(super) hello_retry: bool,
}

pub(super) fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
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
pub(super) fn parse_certificate_list(body: &[u8]) -> Option<Vec<Vec<u8>>> {
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

#[cfg(test)]
mod tests {
    use super::super::CertInfo;
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

        // A known content type with a major version other than 3: not TLS
        // as the first record, malformed after a good one.
        let mut s = ServerStream::default();
        s.push(&[CT_HANDSHAKE, 4, 0]);
        assert_eq!(s.next_event(), Err(ProtoError::NotTls));
        let mut s = ServerStream::default();
        s.push(&record(CT_APPLICATION_DATA, &[1]));
        s.push(&[CT_HANDSHAKE, 4, 0]);
        assert_eq!(
            s.next_event(),
            Ok(Some(ServerEvent::Other(CT_APPLICATION_DATA)))
        );
        assert_eq!(s.next_event(), Err(ProtoError::Malformed));

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
}
