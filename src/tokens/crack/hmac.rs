//! HMAC built straight on the hash functions' compression functions, for
//! guessing keys quickly.
//!
//! An HMAC over a fixed message with a new key costs one compression for
//! the key's inner pad, the message's blocks, one for the outer pad and one
//! for the outer digest. A general-purpose MAC object also allocates,
//! buffers and pads on every call; here the message is padded once per
//! target, the outer digest's final block is laid out once, and a guess is
//! nothing but compressions and a comparison of state words.

use sha2::digest::generic_array::GenericArray;
use sha2::digest::typenum::{U128, U64};

/// A Merkle–Damgård hash as HMAC needs it: its state, block and output.
pub trait Hash: Copy + Send + Sync + 'static {
    /// The state's word (SHA-1 and SHA-256 work in 32 bits, SHA-384/512 in 64).
    type Word: Word;
    type State: Copy + Send + Sync + AsRef<[Self::Word]>;
    type Block: Clone + Default + Send + Sync + AsRef<[u8]> + AsMut<[u8]>;
    /// Bytes per block (64 or 128).
    const BLOCK: usize = std::mem::size_of::<Self::Block>();
    /// Bytes of output (a SHA-384 digest is its truncated state).
    const OUT: usize;
    /// Bytes of the length field that ends the padding: an eighth of a block
    /// in every SHA-1 and SHA-2 hash.
    const LENGTH_BYTES: usize = Self::BLOCK / 8;
    fn iv() -> Self::State;
    fn compress(state: &mut Self::State, blocks: &[Self::Block]);

    fn zero_block() -> Self::Block {
        Self::Block::default()
    }

    /// The state's words that make the digest.
    fn digest_words(state: &Self::State) -> &[Self::Word] {
        &state.as_ref()[..Self::OUT / Self::Word::BYTES]
    }

    /// Writes the digest (`OUT` bytes, big-endian words) into `out`.
    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (w, b) in Self::digest_words(state)
            .iter()
            .zip(out.chunks_exact_mut(Self::Word::BYTES))
        {
            w.write_be(b);
        }
    }

    /// Whether the state's digest is `expected` (`OUT` bytes), compared
    /// word by word without writing it out.
    fn digest_is(state: &Self::State, expected: &[u8]) -> bool {
        expected.len() == Self::OUT
            && Self::digest_words(state)
                .iter()
                .zip(expected.chunks_exact(Self::Word::BYTES))
                .all(|(w, b)| w.is_be(b))
    }
}

/// A state word, written big-endian.
pub trait Word: Copy + Send + Sync {
    const BYTES: usize;
    fn write_be(self, out: &mut [u8]);
    fn is_be(self, bytes: &[u8]) -> bool;
}

/// The same for both word sizes: `to_be_bytes` is an inherent method, so
/// only a macro can name it for each.
macro_rules! word {
    ($($t:ty),*) => {$(
        impl Word for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            fn write_be(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_be_bytes());
            }
            fn is_be(self, bytes: &[u8]) -> bool {
                self.to_be_bytes() == *bytes
            }
        }
    )*};
}

word!(u32, u64);

#[derive(Clone, Copy, Debug)]
pub struct Sha1;
#[derive(Clone, Copy, Debug)]
pub struct Sha256;
#[derive(Clone, Copy, Debug)]
pub struct Sha384;
#[derive(Clone, Copy, Debug)]
pub struct Sha512;

type Block64 = GenericArray<u8, U64>;
type Block128 = GenericArray<u8, U128>;

impl Hash for Sha1 {
    type Word = u32;
    type State = [u32; 5];
    type Block = Block64;
    const OUT: usize = 20;
    fn iv() -> Self::State {
        [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    }
    fn compress(state: &mut Self::State, blocks: &[Self::Block]) {
        sha1::compress(state, blocks);
    }
}

impl Hash for Sha256 {
    type Word = u32;
    type State = [u32; 8];
    type Block = Block64;
    const OUT: usize = 32;
    fn iv() -> Self::State {
        [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ]
    }
    fn compress(state: &mut Self::State, blocks: &[Self::Block]) {
        sha2::compress256(state, blocks);
    }
}

/// SHA-384 and SHA-512: one compression function over the same state,
/// each with its own initial state and digest length (SHA-384's digest is
/// the state's first six words).
pub trait Sha512Family: Copy + Send + Sync + 'static {
    const DIGEST_BYTES: usize;
    const IV: [u64; 8];
}

impl<T: Sha512Family> Hash for T {
    type Word = u64;
    type State = [u64; 8];
    type Block = Block128;
    const OUT: usize = T::DIGEST_BYTES;
    fn iv() -> Self::State {
        T::IV
    }
    fn compress(state: &mut Self::State, blocks: &[Self::Block]) {
        sha2::compress512(state, blocks);
    }
}

impl Sha512Family for Sha384 {
    const DIGEST_BYTES: usize = 48;
    const IV: [u64; 8] = [
        0xcbbb9d5dc1059ed8,
        0x629a292a367cd507,
        0x9159015a3070dd17,
        0x152fecd8f70e5939,
        0x67332667ffc00b31,
        0x8eb44a8768581511,
        0xdb0c2e0d64f98fa7,
        0x47b5481dbefa4fa4,
    ];
}

impl Sha512Family for Sha512 {
    const DIGEST_BYTES: usize = 64;
    const IV: [u64; 8] = [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179,
    ];
}

/// `data` padded as the tail of a message whose first `before` bytes (whole
/// blocks) were already compressed: the blocks left to compress.
pub fn padded<H: Hash>(before: usize, data: &[u8]) -> Vec<H::Block> {
    let total_bits = ((before + data.len()) as u128) * 8;
    let mut bytes = data.to_vec();
    bytes.push(0x80);
    while !(bytes.len() + H::LENGTH_BYTES).is_multiple_of(H::BLOCK) {
        bytes.push(0);
    }
    let length = total_bits.to_be_bytes();
    bytes.extend_from_slice(&length[16 - H::LENGTH_BYTES..]);
    bytes
        .chunks_exact(H::BLOCK)
        .map(|chunk| {
            let mut block = H::zero_block();
            block.as_mut().copy_from_slice(chunk);
            block
        })
        .collect()
}

/// The plain hash of `data`.
pub fn digest<H: Hash>(data: &[u8], out: &mut [u8]) {
    let mut state = H::iv();
    H::compress(&mut state, &padded::<H>(0, data));
    H::write_digest(&state, out);
}

/// The inner and outer states of HMAC after the key's pads: what every MAC
/// under one key starts from.
#[derive(Clone, Copy)]
pub struct Keyed<H: Hash> {
    inner: H::State,
    outer: H::State,
}

/// Reusable buffers for keying: the pad blocks, laid out once.
pub struct Pads<H: Hash> {
    ipad: H::Block,
    opad: H::Block,
    /// Key bytes written into the pads by the previous call, cleared next.
    dirty: usize,
    long_key: Vec<u8>,
}

impl<H: Hash> Default for Pads<H> {
    fn default() -> Self {
        let mut ipad = H::zero_block();
        let mut opad = H::zero_block();
        ipad.as_mut().fill(0x36);
        opad.as_mut().fill(0x5c);
        Pads {
            ipad,
            opad,
            dirty: 0,
            long_key: vec![0; H::OUT],
        }
    }
}

impl<H: Hash> Pads<H> {
    /// The key schedule of `key`: two compressions.
    pub fn key(&mut self, key: &[u8]) -> Keyed<H> {
        let key = if key.len() > H::BLOCK {
            let mut hashed = std::mem::take(&mut self.long_key);
            digest::<H>(key, &mut hashed);
            self.long_key = hashed;
            &self.long_key[..]
        } else {
            key
        };
        let (ipad, opad) = (self.ipad.as_mut(), self.opad.as_mut());
        // Only the bytes a longer previous key touched need restoring.
        for i in key.len()..self.dirty {
            ipad[i] = 0x36;
            opad[i] = 0x5c;
        }
        for (i, b) in key.iter().enumerate() {
            ipad[i] = 0x36 ^ b;
            opad[i] = 0x5c ^ b;
        }
        self.dirty = key.len();
        let mut inner = H::iv();
        H::compress(&mut inner, std::slice::from_ref(&self.ipad));
        let mut outer = H::iv();
        H::compress(&mut outer, std::slice::from_ref(&self.opad));
        Keyed { inner, outer }
    }
}

/// A message prepared for many keys: its padded blocks after the inner pad,
/// and the outer digest's final block with room for the inner digest.
#[derive(Clone)]
pub struct Message<H: Hash> {
    blocks: Vec<H::Block>,
    outer_tail: H::Block,
}

impl<H: Hash> Message<H> {
    pub fn new(message: &[u8]) -> Self {
        let blocks = padded::<H>(H::BLOCK, message);
        let zeros = vec![0u8; H::OUT];
        let outer_tail = padded::<H>(H::BLOCK, &zeros)
            .into_iter()
            .next()
            .unwrap_or_else(H::zero_block);
        Message { blocks, outer_tail }
    }

    /// The HMAC of the message under `keyed`, as the outer state.
    /// `scratch` is a block from [`Message::scratch`] (of any message under
    /// the same hash: the outer tail depends on the hash alone); only its
    /// digest bytes are rewritten.
    pub fn mac(&self, keyed: &Keyed<H>, scratch: &mut H::Block) -> H::State {
        let mut inner = keyed.inner;
        H::compress(&mut inner, &self.blocks);
        H::write_digest(&inner, &mut scratch.as_mut()[..H::OUT]);
        let mut outer = keyed.outer;
        H::compress(&mut outer, std::slice::from_ref(scratch));
        outer
    }

    /// A scratch block for [`Message::mac`].
    pub fn scratch(&self) -> H::Block {
        self.outer_tail.clone()
    }
}

/// One HMAC, the slow way round (for deriving keys and for tests).
pub fn hmac<H: Hash>(key: &[u8], message: &[u8]) -> Vec<u8> {
    let keyed = Pads::<H>::default().key(key);
    let prepared = Message::<H>::new(message);
    let mut scratch = prepared.scratch();
    let state = prepared.mac(&keyed, &mut scratch);
    let mut out = vec![0; H::OUT];
    H::write_digest(&state, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use ::hmac::{Hmac, Mac};

    use super::*;

    fn reference<M: Mac + ::hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <M as ::hmac::digest::KeyInit>::new_from_slice(key).expect("any key length");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }

    #[test]
    fn macs_match_the_hmac_crate_for_every_hash_key_and_message_length() {
        let keys: Vec<Vec<u8>> = [0usize, 1, 6, 20, 63, 64, 65, 127, 128, 129, 300]
            .iter()
            .map(|n| (0..*n).map(|i| (i * 7 + 3) as u8).collect())
            .collect();
        let messages: Vec<Vec<u8>> = [0usize, 1, 55, 56, 63, 64, 111, 112, 119, 128, 200, 1000]
            .iter()
            .map(|n| (0..*n).map(|i| (i * 13 + 1) as u8).collect())
            .collect();
        for key in &keys {
            for message in &messages {
                assert_eq!(
                    hmac::<Sha1>(key, message),
                    reference::<Hmac<sha1::Sha1>>(key, message)
                );
                assert_eq!(
                    hmac::<Sha256>(key, message),
                    reference::<Hmac<sha2::Sha256>>(key, message)
                );
                assert_eq!(
                    hmac::<Sha384>(key, message),
                    reference::<Hmac<sha2::Sha384>>(key, message)
                );
                assert_eq!(
                    hmac::<Sha512>(key, message),
                    reference::<Hmac<sha2::Sha512>>(key, message),
                    "key {} message {}",
                    key.len(),
                    message.len()
                );
            }
        }
    }

    #[test]
    fn reused_pads_forget_the_previous_key() {
        let mut pads = Pads::<Sha256>::default();
        let message = Message::<Sha256>::new(b"header.payload");
        let mut scratch = message.scratch();
        let long = pads.key(b"a much longer key than the next");
        let _ = message.mac(&long, &mut scratch);
        let short = pads.key(b"k");
        let state = message.mac(&short, &mut scratch);
        let expected = reference::<Hmac<sha2::Sha256>>(b"k", b"header.payload");
        assert!(Sha256::digest_is(&state, &expected));
        assert!(!Sha256::digest_is(&state, &expected[..31]));
    }

    #[test]
    fn plain_digests_match() {
        use sha1::Digest;
        let mut out = [0u8; 20];
        digest::<Sha1>(b"itsdangerous.Signersignersecret", &mut out);
        assert_eq!(
            out.to_vec(),
            sha1::Sha1::digest(b"itsdangerous.Signersignersecret").to_vec()
        );
    }
}
