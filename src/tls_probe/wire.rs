//! TLS wire format: record and handshake constants, big-endian writers and a
//! bounds-checked reader.

pub(super) const HS_CLIENT_HELLO: u8 = 1;
pub(super) const HS_SERVER_HELLO: u8 = 2;
pub(super) const HS_CERTIFICATE: u8 = 11;
pub(super) const HS_SERVER_HELLO_DONE: u8 = 14;

pub(super) const CT_CHANGE_CIPHER_SPEC: u8 = 20;
pub(super) const CT_ALERT: u8 = 21;
pub(super) const CT_HANDSHAKE: u8 = 22;
pub(super) const CT_APPLICATION_DATA: u8 = 23;

pub(super) const EXT_SERVER_NAME: u16 = 0;
pub(super) const EXT_SUPPORTED_GROUPS: u16 = 10;
pub(super) const EXT_EC_POINT_FORMATS: u16 = 11;
pub(super) const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub(super) const EXT_PADDING: u16 = 21;
pub(super) const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
pub(super) const EXT_SESSION_TICKET: u16 = 35;
pub(super) const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub(super) const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
pub(super) const EXT_KEY_SHARE: u16 = 51;

pub(super) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(super) fn put_u24(out: &mut Vec<u8>, v: usize) {
    let v = v.min(0xFF_FFFF) as u32;
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}

/// Appends `body` preceded by its 16-bit length.
pub(super) fn put_vec16(out: &mut Vec<u8>, body: &[u8]) {
    put_u16(out, body.len().min(0xFFFF) as u16);
    out.extend_from_slice(body);
}

pub(super) fn put_ext(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    put_u16(out, ty);
    put_vec16(out, data);
}

pub(super) fn u16_list(items: &[u16]) -> Vec<u8> {
    items.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// Bounds-checked big-endian reader.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }
    pub(super) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub(super) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    pub(super) fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| ((b[0] as usize) << 16) | ((b[1] as usize) << 8) | b[2] as usize)
    }
    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_prefix_lengths_and_the_reader_reads_them_back() {
        let mut out = Vec::new();
        put_ext(&mut out, EXT_KEY_SHARE, &[0xAA, 0xBB]);
        put_u24(&mut out, 0x01_0203);
        assert_eq!(out, [0, 51, 0, 2, 0xAA, 0xBB, 1, 2, 3]);
        assert_eq!(u16_list(&[0x1301, 0x00FF]), [0x13, 0x01, 0x00, 0xFF]);

        let mut r = Reader::new(&out);
        assert_eq!(r.u16(), Some(EXT_KEY_SHARE));
        let len = r.u16().unwrap() as usize;
        assert_eq!(r.take(len), Some(&[0xAA, 0xBB][..]));
        assert_eq!(r.u24(), Some(0x01_0203));
        assert!(r.is_empty());
        // Past the end: `None`, and nothing is consumed.
        let mut short = Reader::new(&[1, 2]);
        assert_eq!(short.u24(), None);
        assert_eq!(short.u16(), Some(0x0102));
        assert_eq!(short.u8(), None);
    }

    #[test]
    fn lengths_beyond_their_field_are_clamped() {
        let mut out = Vec::new();
        put_u24(&mut out, usize::MAX);
        assert_eq!(out, [0xFF, 0xFF, 0xFF]);
        let mut out = Vec::new();
        put_vec16(&mut out, &vec![0u8; 70_000]);
        assert_eq!(&out[..2], [0xFF, 0xFF]);
    }
}
