//! Offline secret recovery: guesses the secret behind an HMAC signature —
//! an HS256/384/512 JWT, a Flask session cookie, an itsdangerous token —
//! from a bundled list of our own, the user's `--wordlist` and every number
//! of up to eight digits, on every core.
//!
//! A guess costs a handful of hash compressions ([`hmac`]): the message is
//! padded once per target, each candidate's key pads are computed once and
//! shared by every target signed the same way. A hit is checked again with
//! the `hmac` crate before it is believed.

pub mod hmac;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use ::hmac::digest::KeyInit;
use ::hmac::{Hmac, Mac};

use self::hmac::{Hash, Keyed, Message, Pads, Sha1, Sha256, Sha384, Sha512};

/// The hash under an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// How itsdangerous turns the secret and a salt into the signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Derivation {
    /// `HMAC-SHA1(secret, salt)`: Flask's session cookie.
    Hmac,
    /// `SHA1(salt + b"signer" + secret)`: itsdangerous's own default.
    DjangoConcat,
}

/// How a signature was made, short of the secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// HMAC keyed with the secret itself (a JWT's HS256/384/512).
    Hmac(Digest),
    /// HMAC-SHA1 keyed with a key derived from the secret and a salt.
    Itsdangerous {
        derivation: Derivation,
        salt: String,
    },
}

/// One signature to recover the secret of.
#[derive(Debug, Clone)]
pub struct Target {
    pub scheme: Scheme,
    /// The signed bytes.
    pub message: Vec<u8>,
    /// The signature, decoded.
    pub signature: Vec<u8>,
}

/// What to try: the bundled list, the user's words and numbers.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Try the bundled list (and its few variations).
    pub bundled: bool,
    /// The user's own words (`--wordlist`), tried as they are.
    pub words: Vec<Vec<u8>>,
    /// Every decimal string of 1 to `digits` digits, leading zeros
    /// included (at most 8).
    pub digits: u8,
    /// Worker threads (at least one).
    pub threads: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            bundled: true,
            words: Vec::new(),
            digits: DEFAULT_DIGITS,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Numbers of up to eight digits are tried by default: 111 million
/// candidates, seconds to a few tens of seconds on two cores. The same in
/// every build: a shorter search is asked for (`--crack-digits`,
/// `crack_digits` in rampart.toml), never implied by how Rampart was built.
pub const DEFAULT_DIGITS: u8 = 8;
pub const MAX_DIGITS: u8 = 8;

/// Where a run is.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub tried: u64,
    pub total: u64,
    pub elapsed: Duration,
}

/// What a run found: per target, the secret (if recovered).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub secrets: Vec<Option<Vec<u8>>>,
    pub tried: u64,
    pub total: u64,
    pub elapsed: Duration,
}

impl Outcome {
    /// Guesses per second over the whole run.
    pub fn rate(&self) -> f64 {
        self.tried as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Our own list: framework and tutorial defaults, placeholders people
/// forget to replace, common words.
const BUNDLED: &str = include_str!("wordlist.txt");

/// The bundled words with a few variations each (capitalised, upper case,
/// common suffixes), without duplicates.
pub fn bundled_words() -> Vec<Vec<u8>> {
    let mut seen = HashSet::new();
    let mut words = Vec::new();
    for line in BUNDLED.lines() {
        let word = line.trim_end_matches('\r');
        if word.is_empty() || word.starts_with("# ") || word == "#" {
            continue;
        }
        let mut capitalised = word.to_string();
        if let Some(first) = capitalised.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let variations = [
            word.to_string(),
            capitalised,
            word.to_ascii_uppercase(),
            format!("{word}1"),
            format!("{word}123"),
            format!("{word}!"),
        ];
        for variation in variations {
            if seen.insert(variation.clone()) {
                words.push(variation.into_bytes());
            }
        }
    }
    words
}

/// Reads a wordlist file: one candidate per line, as bytes (a trailing
/// `\r` dropped), empty lines skipped.
pub fn read_wordlist(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Whether `secret` made `signature` over `message` under `scheme`,
/// computed with the `hmac` crate (independent of the fast path).
pub fn verify(scheme: &Scheme, secret: &[u8], message: &[u8], signature: &[u8]) -> bool {
    sign(scheme, secret, message).is_some_and(|mac| mac == signature)
}

fn mac_with<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    let mut mac = <M as KeyInit>::new_from_slice(key).ok()?;
    mac.update(message);
    Some(mac.finalize().into_bytes().to_vec())
}

/// The signature `secret` gives `message` under `scheme` (the `hmac` crate).
pub fn sign(scheme: &Scheme, secret: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    match scheme {
        Scheme::Hmac(Digest::Sha1) => mac_with::<Hmac<sha1::Sha1>>(secret, message),
        Scheme::Hmac(Digest::Sha256) => mac_with::<Hmac<sha2::Sha256>>(secret, message),
        Scheme::Hmac(Digest::Sha384) => mac_with::<Hmac<sha2::Sha384>>(secret, message),
        Scheme::Hmac(Digest::Sha512) => mac_with::<Hmac<sha2::Sha512>>(secret, message),
        Scheme::Itsdangerous { derivation, salt } => {
            let key = derive(*derivation, salt.as_bytes(), secret)?;
            mac_with::<Hmac<sha1::Sha1>>(&key, message)
        }
    }
}

/// itsdangerous's signing key for `secret` and `salt`.
pub fn derive(derivation: Derivation, salt: &[u8], secret: &[u8]) -> Option<Vec<u8>> {
    use sha1::Digest as _;
    match derivation {
        Derivation::Hmac => mac_with::<Hmac<sha1::Sha1>>(secret, salt),
        Derivation::DjangoConcat => {
            let mut hasher = sha1::Sha1::new();
            hasher.update(salt);
            hasher.update(b"signer");
            hasher.update(secret);
            Some(hasher.finalize().to_vec())
        }
    }
}

/// A slice of the candidate space, small enough to share out.
#[derive(Debug, Clone, Copy)]
enum Job {
    Words { start: usize, end: usize },
    Digits { len: u8, start: u64, end: u64 },
}

const JOB_SIZE: u64 = 1 << 16;

fn jobs(words: usize, digits: u8) -> (Vec<Job>, u64) {
    let mut jobs = Vec::new();
    let mut total = 0u64;
    let mut start = 0;
    while start < words {
        let end = (start + JOB_SIZE as usize).min(words);
        jobs.push(Job::Words { start, end });
        start = end;
    }
    total += words as u64;
    for len in 1..=digits.min(MAX_DIGITS) {
        let count = 10u64.pow(u32::from(len));
        let mut start = 0;
        while start < count {
            let end = (start + JOB_SIZE).min(count);
            jobs.push(Job::Digits { len, start, end });
            start = end;
        }
        total += count;
    }
    (jobs, total)
}

/// A group of targets that share a key schedule for every candidate.
trait Group: Send {
    /// Tries one candidate against the group's live targets; pushes the
    /// indexes of those it matches.
    fn try_candidate(&mut self, candidate: &[u8], hits: &mut Vec<usize>);
    /// Forgets targets already recovered; false when none is left.
    fn retire(&mut self, found: &[AtomicBool]) -> bool;
}

/// Targets keyed with the secret itself.
struct Raw<H: Hash> {
    pads: Pads<H>,
    targets: Vec<(usize, Message<H>, Vec<u8>)>,
    scratch: H::Block,
}

impl<H: Hash> Raw<H> {
    fn new(targets: Vec<(usize, Message<H>, Vec<u8>)>) -> Self {
        let scratch = targets
            .first()
            .map_or_else(H::zero_block, |(_, m, _)| m.scratch());
        Raw {
            pads: Pads::default(),
            targets,
            scratch,
        }
    }
}

fn check_all<H: Hash>(
    keyed: &Keyed<H>,
    targets: &[(usize, Message<H>, Vec<u8>)],
    scratch: &mut H::Block,
    hits: &mut Vec<usize>,
) {
    for (index, message, expected) in targets {
        if H::digest_is(&message.mac(keyed, scratch), expected) {
            hits.push(*index);
        }
    }
}

impl<H: Hash> Group for Raw<H> {
    fn try_candidate(&mut self, candidate: &[u8], hits: &mut Vec<usize>) {
        let keyed = self.pads.key(candidate);
        check_all(&keyed, &self.targets, &mut self.scratch, hits);
    }

    fn retire(&mut self, found: &[AtomicBool]) -> bool {
        self.targets
            .retain(|(i, _, _)| !found[*i].load(Ordering::Relaxed));
        !self.targets.is_empty()
    }
}

/// itsdangerous targets sharing a derivation and a salt.
struct Derived {
    derivation: Derivation,
    /// `HMAC-SHA1(secret, salt)`: the salt as a prepared message.
    salt_message: Message<Sha1>,
    /// `SHA1(salt + "signer" + secret)`: the constant prefix.
    prefix: Vec<u8>,
    /// A one-block buffer for short prefix + secret.
    block: <Sha1 as Hash>::Block,
    derive_pads: Pads<Sha1>,
    pads: Pads<Sha1>,
    key: [u8; 20],
    targets: Vec<(usize, Message<Sha1>, Vec<u8>)>,
    scratch: <Sha1 as Hash>::Block,
}

impl Derived {
    fn new(
        derivation: Derivation,
        salt: &[u8],
        targets: Vec<(usize, Message<Sha1>, Vec<u8>)>,
    ) -> Self {
        let mut prefix = salt.to_vec();
        prefix.extend_from_slice(b"signer");
        let mut block = Sha1::zero_block();
        let room = prefix.len().min(64);
        block.as_mut_slice()[..room].copy_from_slice(&prefix[..room]);
        let scratch = targets
            .first()
            .map_or_else(Sha1::zero_block, |(_, m, _)| m.scratch());
        Derived {
            derivation,
            salt_message: Message::new(salt),
            prefix,
            block,
            derive_pads: Pads::default(),
            pads: Pads::default(),
            key: [0; 20],
            targets,
            scratch,
        }
    }

    fn derive(&mut self, secret: &[u8]) {
        match self.derivation {
            Derivation::Hmac => {
                let keyed = self.derive_pads.key(secret);
                let state = self.salt_message.mac(&keyed, &mut self.scratch);
                Sha1::write_digest(&state, &mut self.key);
            }
            Derivation::DjangoConcat => {
                let used = self.prefix.len() + secret.len();
                if used + 9 <= 64 {
                    // One block: prefix (already in place), secret, 0x80,
                    // zeros, the bit length.
                    let block = self.block.as_mut_slice();
                    block[self.prefix.len()..used].copy_from_slice(secret);
                    block[used] = 0x80;
                    block[used + 1..56].fill(0);
                    block[56..].copy_from_slice(&((used as u64) * 8).to_be_bytes());
                    let mut state = Sha1::iv();
                    Sha1::compress(&mut state, std::slice::from_ref(&self.block));
                    Sha1::write_digest(&state, &mut self.key);
                } else {
                    let mut whole = self.prefix.clone();
                    whole.extend_from_slice(secret);
                    hmac::digest::<Sha1>(&whole, &mut self.key);
                }
            }
        }
    }
}

impl Group for Derived {
    fn try_candidate(&mut self, candidate: &[u8], hits: &mut Vec<usize>) {
        self.derive(candidate);
        let keyed = self.pads.key(&self.key);
        check_all(&keyed, &self.targets, &mut self.scratch, hits);
    }

    fn retire(&mut self, found: &[AtomicBool]) -> bool {
        self.targets
            .retain(|(i, _, _)| !found[*i].load(Ordering::Relaxed));
        !self.targets.is_empty()
    }
}

/// The groups for a set of targets: one per key schedule.
fn groups(targets: &[Target]) -> Vec<Box<dyn Group>> {
    fn raw<H: Hash>(targets: &[Target], digest: Digest) -> Option<Box<dyn Group>> {
        let members: Vec<_> = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.scheme == Scheme::Hmac(digest) && t.signature.len() == H::OUT)
            .map(|(i, t)| (i, Message::<H>::new(&t.message), t.signature.clone()))
            .collect();
        (!members.is_empty()).then(|| Box::new(Raw::<H>::new(members)) as Box<dyn Group>)
    }
    let mut groups: Vec<Box<dyn Group>> = Vec::new();
    groups.extend(raw::<Sha1>(targets, Digest::Sha1));
    groups.extend(raw::<Sha256>(targets, Digest::Sha256));
    groups.extend(raw::<Sha384>(targets, Digest::Sha384));
    groups.extend(raw::<Sha512>(targets, Digest::Sha512));
    let mut schemes: Vec<(Derivation, &str)> = Vec::new();
    for target in targets {
        if let Scheme::Itsdangerous { derivation, salt } = &target.scheme {
            if !schemes.contains(&(*derivation, salt.as_str())) {
                schemes.push((*derivation, salt.as_str()));
            }
        }
    }
    for (derivation, salt) in schemes {
        let members: Vec<_> = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                matches!(&t.scheme, Scheme::Itsdangerous { derivation: d, salt: s }
                    if *d == derivation && s == salt)
                    && t.signature.len() == Sha1::OUT
            })
            .map(|(i, t)| (i, Message::<Sha1>::new(&t.message), t.signature.clone()))
            .collect();
        if !members.is_empty() {
            groups.push(Box::new(Derived::new(derivation, salt.as_bytes(), members)));
        }
    }
    groups
}

/// What the workers share.
struct Shared<'a> {
    targets: &'a [Target],
    words: &'a [Vec<u8>],
    jobs: Vec<Job>,
    next: AtomicUsize,
    tried: AtomicU64,
    found: Vec<AtomicBool>,
    left: AtomicUsize,
    secrets: Mutex<Vec<Option<Vec<u8>>>>,
}

impl Shared<'_> {
    fn done(&self) -> bool {
        self.left.load(Ordering::Relaxed) == 0
    }

    fn record(&self, index: usize, candidate: &[u8]) {
        let target = &self.targets[index];
        // The fast path said yes; the reference implementation must agree.
        if !verify(
            &target.scheme,
            candidate,
            &target.message,
            &target.signature,
        ) {
            return;
        }
        if !self.found[index].swap(true, Ordering::Relaxed) {
            if let Ok(mut secrets) = self.secrets.lock() {
                secrets[index] = Some(candidate.to_vec());
            }
            self.left.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn work(&self) {
        let mut groups = groups(self.targets);
        let mut hits = Vec::new();
        let mut digits = [0u8; MAX_DIGITS as usize];
        loop {
            if self.done() {
                return;
            }
            let at = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = self.jobs.get(at).copied() else {
                return;
            };
            groups.retain_mut(|g| g.retire(&self.found));
            let mut tried = 0u64;
            let mut attempt = |candidate: &[u8], groups: &mut Vec<Box<dyn Group>>| {
                for group in groups.iter_mut() {
                    group.try_candidate(candidate, &mut hits);
                }
                for index in hits.drain(..) {
                    self.record(index, candidate);
                }
            };
            match job {
                Job::Words { start, end } => {
                    for word in &self.words[start..end] {
                        attempt(word, &mut groups);
                    }
                    tried += (end - start) as u64;
                }
                Job::Digits { len, start, end } => {
                    let len = usize::from(len);
                    let mut n = start;
                    for slot in digits[..len].iter_mut().rev() {
                        *slot = b'0' + (n % 10) as u8;
                        n /= 10;
                    }
                    for _ in start..end {
                        attempt(&digits[..len], &mut groups);
                        // Odometer: add one, carrying leftwards.
                        for slot in digits[..len].iter_mut().rev() {
                            if *slot == b'9' {
                                *slot = b'0';
                            } else {
                                *slot += 1;
                                break;
                            }
                        }
                    }
                    tried += end - start;
                }
            }
            self.tried.fetch_add(tried, Ordering::Relaxed);
        }
    }
}

/// How often a long run reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Tries the budget's candidates against every target, on `budget.threads`
/// threads, until all are recovered or the candidates run out. `progress`
/// hears from a long run every two seconds.
pub fn recover(
    targets: &[Target],
    budget: &Budget,
    progress: &(dyn Fn(Progress) + Sync),
) -> Outcome {
    let started = Instant::now();
    let mut words = if budget.bundled {
        bundled_words()
    } else {
        Vec::new()
    };
    words.extend(budget.words.iter().cloned());
    let (jobs, total) = jobs(words.len(), budget.digits);
    let shared = Shared {
        targets,
        words: &words,
        jobs,
        next: AtomicUsize::new(0),
        tried: AtomicU64::new(0),
        found: targets.iter().map(|_| AtomicBool::new(false)).collect(),
        left: AtomicUsize::new(targets.len()),
        secrets: Mutex::new(vec![None; targets.len()]),
    };
    if !targets.is_empty() {
        let threads = budget.threads.max(1);
        let (done_tx, done_rx) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let done = done_tx.clone();
                let shared = &shared;
                scope.spawn(move || {
                    shared.work();
                    let _ = done.send(());
                });
            }
            drop(done_tx);
            let mut finished = 0;
            let mut next_note = started + PROGRESS_EVERY;
            while finished < threads {
                let wait = next_note.saturating_duration_since(Instant::now());
                match done_rx.recv_timeout(wait) {
                    Ok(()) => finished += 1,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        progress(Progress {
                            tried: shared.tried.load(Ordering::Relaxed),
                            total,
                            elapsed: started.elapsed(),
                        });
                        next_note += PROGRESS_EVERY;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        });
    }
    let secrets = shared
        .secrets
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Outcome {
        secrets,
        tried: shared.tried.load(Ordering::Relaxed),
        total,
        elapsed: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(scheme: Scheme, secret: &[u8], message: &[u8]) -> Target {
        Target {
            signature: sign(&scheme, secret, message).expect("signs"),
            scheme,
            message: message.to_vec(),
        }
    }

    fn budget(digits: u8, words: &[&str]) -> Budget {
        Budget {
            bundled: true,
            words: words.iter().map(|w| w.as_bytes().to_vec()).collect(),
            digits,
            threads: 2,
        }
    }

    #[test]
    fn flask_and_itsdangerous_keys_derive_as_the_libraries_do() {
        // Flask's session: HMAC-SHA1(secret, "cookie-session") is the key.
        let flask = derive(Derivation::Hmac, b"cookie-session", b"dev").unwrap();
        assert_eq!(flask, self::hmac::hmac::<Sha1>(b"dev", b"cookie-session"));
        // itsdangerous's default: SHA1("itsdangerous.Signer" + "signer" + secret).
        let concat = derive(Derivation::DjangoConcat, b"itsdangerous.Signer", b"s").unwrap();
        use sha1::Digest as _;
        assert_eq!(
            concat,
            sha1::Sha1::digest(b"itsdangerous.Signersigners").to_vec()
        );
    }

    #[test]
    fn words_numbers_and_every_scheme_are_recovered() {
        let targets = vec![
            target(
                Scheme::Hmac(Digest::Sha256),
                b"secret",
                b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",
            ),
            target(Scheme::Hmac(Digest::Sha384), b"0042", b"h.p"),
            target(Scheme::Hmac(Digest::Sha512), b"changeme123", b"h.p"),
            target(
                Scheme::Itsdangerous {
                    derivation: Derivation::Hmac,
                    salt: "cookie-session".into(),
                },
                b"493817",
                b"eyJ1c2VyX2lkIjoxfQ.ZVPxAA",
            ),
            target(
                Scheme::Itsdangerous {
                    derivation: Derivation::DjangoConcat,
                    salt: "itsdangerous".into(),
                },
                b"my own word",
                b"eyJyIjoxfQ.ZVPxAA",
            ),
        ];
        let outcome = recover(&targets, &budget(4, &["my own word"]), &|_| {});
        let secrets: Vec<Option<&[u8]>> = outcome.secrets.iter().map(|s| s.as_deref()).collect();
        assert_eq!(
            secrets,
            vec![
                Some(&b"secret"[..]),
                Some(&b"0042"[..]),
                Some(&b"changeme123"[..]),
                None, // six digits: outside a four-digit budget
                Some(&b"my own word"[..]),
            ]
        );
        assert_eq!(outcome.total, bundled_words().len() as u64 + 1 + 11_110);
        assert!(outcome.tried <= outcome.total);
    }

    #[test]
    fn a_secret_outside_the_budget_exhausts_it_and_is_not_invented() {
        let targets = vec![target(
            Scheme::Hmac(Digest::Sha256),
            b"k3Q9-very-random-ZZt",
            b"a.b",
        )];
        let outcome = recover(&targets, &budget(3, &[]), &|_| {});
        assert_eq!(outcome.secrets, vec![None]);
        assert_eq!(outcome.tried, outcome.total);
    }

    #[test]
    fn leading_zeros_and_long_words_count() {
        let long = "x".repeat(200);
        let targets = vec![
            target(Scheme::Hmac(Digest::Sha256), b"007", b"m"),
            target(Scheme::Hmac(Digest::Sha1), long.as_bytes(), b"m"),
            target(
                Scheme::Itsdangerous {
                    derivation: Derivation::DjangoConcat,
                    salt: "itsdangerous.Signer".into(),
                },
                long.as_bytes(),
                b"value",
            ),
        ];
        let outcome = recover(&targets, &budget(3, &[&long]), &|_| {});
        assert_eq!(outcome.secrets[0].as_deref(), Some(&b"007"[..]));
        assert_eq!(outcome.secrets[1].as_deref(), Some(long.as_bytes()));
        assert_eq!(outcome.secrets[2].as_deref(), Some(long.as_bytes()));
    }

    #[test]
    fn wordlists_are_read_line_by_line_as_bytes() {
        let words = read_wordlist(b"one\r\ntwo\n\nthr\xffee\n");
        assert_eq!(
            words,
            vec![b"one".to_vec(), b"two".to_vec(), b"thr\xffee".to_vec()]
        );
        let bundled = bundled_words();
        for expected in [
            "secret",
            "Secret",
            "SECRET",
            "secret123",
            "changeme",
            "your-256-bit-secret",
        ] {
            assert!(
                bundled.iter().any(|w| w == expected.as_bytes()),
                "{expected}"
            );
        }
    }
}
