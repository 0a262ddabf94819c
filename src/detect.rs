//! Pure detectors for passive data exposure: secrets, personal data, password
//! material and debugging output found in HTTP response bodies.
//!
//! Everything here is a function of its inputs: the raw body text (and, when
//! the body is JSON, its parsed value) goes in, [`Detection`]s come out. No
//! I/O, no global state beyond regexes compiled once.
//!
//! # Conventions
//!
//! * `matched` is always the exact slice `body[start..end]`: offsets are byte
//!   offsets into the text the caller passed, on `char` boundaries. For JSON
//!   string values that is the *raw* (still escaped) text between the quotes.
//! * `field` is the JSON key that holds the value, when the caller passed the
//!   parsed JSON. Array elements report the key that holds the array
//!   (`{"cards": ["4111…"]}` gives `cards`). Field-name rules (9-digit SSNs,
//!   unsalted hex digests, clear-text passwords, id-like keys that veto card
//!   numbers, `aws_secret…` keys) only apply when the parsed JSON is given.
//!   Positions come from a small lenient tokenizer over the raw body (it
//!   skips JSONP/XSSI wrappers). If it does not see as many string/number
//!   values as the parsed JSON has (the body is not the text the value was
//!   parsed from), the parsed values are located in the body by forward
//!   search instead; values that cannot be found are skipped, and the search
//!   gives up after 16 misses so the work stays bounded.
//! * Each `find_*` returns detections ordered by position and reports each
//!   distinct matched text once (emails compare case-insensitively).
//!   [`find_debug_output`] reports at most one detection per kind: the
//!   earliest evidence.
//! * Precision beats breadth: every detector requires a specific format plus
//!   a validity check (Luhn and issuer prefix for cards, area/group/serial for
//!   SSNs, a decodable `alg` header for JWTs, key material after a PEM
//!   header, two or more frames for stack traces, …).
//! * Every regex is compiled once and is linear-time (the `regex` crate has no
//!   backtracking); hand-written scanners are single passes.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// How many distinct email addresses in one body make a "bulk" exposure.
/// [`find_pii`] returns every address it finds; the caller reports
/// [`PiiKind::Email`] only when at least this many distinct ones appear.
pub const BULK_EMAIL_THRESHOLD: usize = 5;

/// How far (bytes, either side) from an AWS access key id a 40-character
/// string is taken to be its secret access key.
const AWS_SECRET_WINDOW: usize = 200;
/// Nesting deeper than this is not tracked (keys of deeper values are
/// attributed to the deepest tracked container).
const MAX_JSON_DEPTH: usize = 512;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    AwsAccessKeyId,
    AwsSecretAccessKey,
    PrivateKey,
    Jwt,
    /// Vendor tokens with an unmistakable prefix only: GitHub (`ghp_`, `gho_`,
    /// `ghu_`, `ghs_`, `ghr_`, `github_pat_`), Slack (`xoxb-`, `xoxp-`, …,
    /// incoming webhooks), Stripe live secret/restricted keys (`sk_live_`,
    /// `rk_live_`), Google API keys (`AIza`), GitLab (`glpat-`), npm (`npm_`),
    /// SendGrid (`SG.`), OpenAI (`sk-…T3BlbkFJ…`), Anthropic (`sk-ant-api`).
    GenericApiToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    UsSsn,
    PaymentCard,
    Email,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    Bcrypt,
    Argon2,
    Scrypt,
    Pbkdf2,
    /// SHA-crypt, `$5$` (SHA-256) and `$6$` (SHA-512).
    ShaCrypt,
    /// MD5-crypt, `$1$` and Apache `$apr1$`.
    Md5Crypt,
    /// A bare 32/40/64/128-hex-digit digest in a password-hash field.
    UnsaltedHexInPasswordField,
    /// A password field with a real, unmasked value.
    ClearTextPassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DebugKind {
    WerkzeugDebugger,
    PythonTraceback,
    BotocoreClientError,
    DjangoDebugPage,
    JavaStackTrace,
    NodeStackTrace,
    RailsError,
    /// Classic ASP.NET "yellow screen of death" and the ASP.NET Core
    /// developer exception page.
    AspNetYsod,
    PhpError,
    SqlError,
}

impl SecretKind {
    pub const ALL: [SecretKind; 5] = [
        SecretKind::AwsAccessKeyId,
        SecretKind::AwsSecretAccessKey,
        SecretKind::PrivateKey,
        SecretKind::Jwt,
        SecretKind::GenericApiToken,
    ];

    /// Stable kebab-case label, accepted by [`mask`].
    pub fn label(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKeyId => "aws-access-key-id",
            SecretKind::AwsSecretAccessKey => "aws-secret-access-key",
            SecretKind::PrivateKey => "private-key",
            SecretKind::Jwt => "jwt",
            SecretKind::GenericApiToken => "api-token",
        }
    }
}

impl PiiKind {
    pub const ALL: [PiiKind; 3] = [PiiKind::UsSsn, PiiKind::PaymentCard, PiiKind::Email];

    /// Stable kebab-case label, accepted by [`mask`].
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::UsSsn => "ssn",
            PiiKind::PaymentCard => "card",
            PiiKind::Email => "email",
        }
    }
}

impl HashKind {
    pub const ALL: [HashKind; 8] = [
        HashKind::Bcrypt,
        HashKind::Argon2,
        HashKind::Scrypt,
        HashKind::Pbkdf2,
        HashKind::ShaCrypt,
        HashKind::Md5Crypt,
        HashKind::UnsaltedHexInPasswordField,
        HashKind::ClearTextPassword,
    ];

    /// Stable kebab-case label, accepted by [`mask`].
    pub fn label(self) -> &'static str {
        match self {
            HashKind::Bcrypt => "bcrypt",
            HashKind::Argon2 => "argon2",
            HashKind::Scrypt => "scrypt",
            HashKind::Pbkdf2 => "pbkdf2",
            HashKind::ShaCrypt => "sha-crypt",
            HashKind::Md5Crypt => "md5-crypt",
            HashKind::UnsaltedHexInPasswordField => "unsalted-hex",
            HashKind::ClearTextPassword => "clear-password",
        }
    }
}

impl DebugKind {
    pub const ALL: [DebugKind; 10] = [
        DebugKind::WerkzeugDebugger,
        DebugKind::PythonTraceback,
        DebugKind::BotocoreClientError,
        DebugKind::DjangoDebugPage,
        DebugKind::JavaStackTrace,
        DebugKind::NodeStackTrace,
        DebugKind::RailsError,
        DebugKind::AspNetYsod,
        DebugKind::PhpError,
        DebugKind::SqlError,
    ];

    /// Stable kebab-case label, accepted by [`mask`].
    pub fn label(self) -> &'static str {
        match self {
            DebugKind::WerkzeugDebugger => "werkzeug-debugger",
            DebugKind::PythonTraceback => "python-traceback",
            DebugKind::BotocoreClientError => "botocore-clienterror",
            DebugKind::DjangoDebugPage => "django-debug",
            DebugKind::JavaStackTrace => "java-stack-trace",
            DebugKind::NodeStackTrace => "node-stack-trace",
            DebugKind::RailsError => "rails-error",
            DebugKind::AspNetYsod => "aspnet-error",
            DebugKind::PhpError => "php-error",
            DebugKind::SqlError => "sql-error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection<K> {
    pub kind: K,
    /// The exact text matched: `body[start..end]`.
    pub matched: String,
    /// Byte offsets into the body the caller passed.
    pub start: usize,
    pub end: usize,
    /// JSON key that held the value, when known.
    pub field: Option<String>,
}

// ---------------------------------------------------------------------------
// Regexes (compiled once; all linear-time)
// ---------------------------------------------------------------------------

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in detector pattern compiles")
}

static AWS_KEY_ID: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?-u:\b)"));
/// A label that names an AWS secret access key, followed by the separator
/// that precedes its value: `aws_secret_access_key = `, `"SecretAccessKey": "`,
/// `<SecretAccessKey>`.
static AWS_SECRET_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i:(?:aws_?)?secret_?access_?key|aws_?secret_?key)(?:\\?["']|>)?[ \t]*(?:=>|[:=])?[ \t]*(?:\\?["'])?"#,
    )
});
static PRIVATE_KEY_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")
});
static JWT: LazyLock<Regex> =
    LazyLock::new(|| re(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}"));
static API_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"gh[pousr]_[A-Za-z0-9]{36}",
        r"|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        r"|xox[bpoasr]-[0-9]{6,}-[0-9A-Za-z-]{10,}",
        r"|[sr]k_live_[0-9A-Za-z]{24,}",
        r"|AIza[0-9A-Za-z_-]{35}",
        r"|glpat-[0-9A-Za-z_-]{20}",
        r"|npm_[A-Za-z0-9]{36}",
        r"|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        r"|sk-ant-api[0-9]{2}-[A-Za-z0-9_-]{80,}",
        r"|sk-(?:proj-)?[A-Za-z0-9_-]{0,80}T3BlbkFJ[A-Za-z0-9_-]{16,}",
        r"|https:\\?/\\?/hooks\.slack\.com\\?/services\\?/T[A-Z0-9]{8,}\\?/B[A-Z0-9]{8,}\\?/[A-Za-z0-9]{24}",
    ))
});

static SSN: LazyLock<Regex> = LazyLock::new(|| re(r"[0-9]{3}-[0-9]{2}-[0-9]{4}"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])?",
        r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?-u:\b)",
    ))
});

/// One base64 character of a modular-crypt hash, or a JSON-escaped `\/`.
macro_rules! h64 {
    () => {
        r"(?:[./A-Za-z0-9]|\\/)"
    };
}
/// One standard-base64 character, or a JSON-escaped `\/`.
macro_rules! b64 {
    () => {
        r"(?:[A-Za-z0-9+/]|\\/)"
    };
}

static HASH_PATTERNS: LazyLock<Vec<(HashKind, Regex)>> = LazyLock::new(|| {
    vec![
        (
            HashKind::Bcrypt,
            re(concat!(r"\$2[abxy]?\$[0-9]{2}\$", h64!(), "{53}")),
        ),
        (
            HashKind::Argon2,
            re(concat!(
                r"\$argon2(?:id|i|d)\$(?:v=[0-9]+\$)?m=[0-9]+,t=[0-9]+,p=[0-9]+",
                r"(?:,[a-z]+=[A-Za-z0-9+/]*)*\$",
                b64!(),
                r"{8,}={0,2}\$",
                b64!(),
                r"{16,}={0,2}",
            )),
        ),
        (
            HashKind::Scrypt,
            re(concat!(
                // passlib
                r"\$scrypt\$ln=[0-9]+,r=[0-9]+,p=[0-9]+\$",
                b64!(),
                r"+={0,2}\$",
                b64!(),
                r"{16,}={0,2}",
                // Werkzeug >= 2.3
                r"|scrypt:[0-9]+:[0-9]+:[0-9]+\$[A-Za-z0-9]+\$[0-9a-f]{32,}",
                // Django ScryptPasswordHasher
                r"|scrypt\$[0-9]+\$[A-Za-z0-9+/=]+\$[0-9]+\$[0-9]+\$",
                b64!(),
                r"{16,}={0,2}",
                // libxcrypt / libsodium "$7$"
                r"|\$7\$",
                h64!(),
                r"{11,}\$",
                h64!(),
                r"{43}",
            )),
        ),
        (
            HashKind::Pbkdf2,
            re(concat!(
                // Django
                r"pbkdf2_sha(?:1|256)\$[0-9]+\$[A-Za-z0-9./+=]+\$",
                b64!(),
                r"{20,}={0,2}",
                // Werkzeug
                r"|pbkdf2:sha(?:1|256|512)(?::[0-9]+)?\$[A-Za-z0-9]+\$[0-9a-f]{40,}",
                // passlib
                r"|\$pbkdf2(?:-sha(?:1|256|512))?\$[0-9]+\$",
                h64!(),
                r"+\$",
                h64!(),
                r"{20,}",
            )),
        ),
        (
            HashKind::ShaCrypt,
            re(concat!(
                r"\$5\$(?:rounds=[0-9]+\$)?",
                h64!(),
                r"{1,16}\$",
                h64!(),
                r"{43}",
                r"|\$6\$(?:rounds=[0-9]+\$)?",
                h64!(),
                r"{1,16}\$",
                h64!(),
                r"{86}",
            )),
        ),
        (
            HashKind::Md5Crypt,
            re(concat!(
                r"\$(?:1|apr1)\$",
                h64!(),
                r"{1,8}\$",
                h64!(),
                r"{22}"
            )),
        ),
    ]
});

static WERKZEUG: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"<title>[^<\n]*// Werkzeug Debugger</title>",
        r"|__debugger__",
        r"|The debugger caught an exception in your WSGI application",
    ))
});
static PY_TRACEBACK_HEAD: LazyLock<Regex> =
    LazyLock::new(|| re(r"Traceback \(most recent call last\):"));
static PY_TRACEBACK_FILE: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"File (?:\\?"|&quot;|&#34;|&#x22;)[^"\n<>]+?(?:\\?"|&quot;|&#34;|&#x22;), line [0-9]+"#)
});
static BOTOCORE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"An error occurred \([A-Za-z][A-Za-z0-9.]{2,80}\) when calling the [A-Za-z][A-Za-z0-9]{2,80} operation",
        r"|botocore\.exceptions\.[A-Z][A-Za-z]+",
    ))
});
static DJANGO: LazyLock<Regex> =
    LazyLock::new(|| re(r"seeing this error because you have (?:<code>)?DEBUG = True"));
static JAVA_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?:(?-u:\s)|\\t|\\n)at [A-Za-z_$][A-Za-z0-9_$.<>/@-]*\(",
        r"(?:[A-Za-z0-9_$-]+\.(?:java|kt|scala|groovy|clj)(?::[0-9]+)?|Native Method|Unknown Source)\)",
    ))
});
static NODE_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?:(?-u:\s)|\\n)at (?:async )?(?:new )?",
        r"(?:[^\s()]+(?: \[as [^\]\s]+\])? \(",
        r#"(?:[^()\s"']+\.(?:js|mjs|cjs|ts|jsx|tsx)|node:[A-Za-z0-9_/.-]+):[0-9]+:[0-9]+\)"#,
        r#"|(?:[^()\s"']+\.(?:js|mjs|cjs|ts|jsx|tsx)|node:[A-Za-z0-9_/.-]+):[0-9]+:[0-9]+)"#,
    ))
});
static RAILS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"Rails\.root: ",
        r"|ActionController::(?:RoutingError|UnknownFormat|ParameterMissing)",
        r"|ActionView::Template::Error",
    ))
});
static ASPNET: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"Server Error in (?:'|&#39;|&#x27;)[^'<\n&]*(?:'|&#39;|&#x27;) Application",
        r"|An unhandled exception occurred while processing the request\.",
    ))
});
static PHP_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"<b>(?:Fatal error|Parse error|Warning|Notice|Deprecated|Catchable fatal error)</b>:",
        r"|PHP (?:Fatal|Parse) error: ",
        r"|Stack trace:(?:\r?\n|(?:\\r)?\\n|<br ?/?>\r?\n?)#0 ",
    ))
});
static PHP_ON_LINE: LazyLock<Regex> = LazyLock::new(|| re(r" on line (?:<b>)?[0-9]+"));
static SQL_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"You have an error in your SQL syntax",
        r"|(?-u:\b)ORA-[0-9]{5}: ",
        r"|(?-u:\b)PG::[A-Z][A-Za-z]+",
        r"|psycopg2?\.(?:errors\.[A-Z][A-Za-z]+|OperationalError|ProgrammingError|IntegrityError|DataError|InternalError)",
        r"|sqlite3\.(?:OperationalError|IntegrityError|ProgrammingError|DatabaseError)",
        r"|SQLite3::SQLException",
        r"|SQLSTATE\[[0-9A-Z]{5}\]",
        r"|Unclosed quotation mark after the character string",
        r"|quoted string not properly terminated",
        r"|ERROR:  syntax error at or near",
        r"|unterminated quoted string at or near",
        r"|pymysql\.err\.[A-Z][A-Za-z]+",
        r"|MySQLdb\.(?:_exceptions\.)?[A-Z][A-Za-z]+",
        r"|sqlalchemy\.exc\.[A-Z][A-Za-z]+",
    ))
});

// ---------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// The byte before `i`, reading a JSON escape such as `\n` or `\t` as a
/// plain separator (a space), so `"…\n4111…"` does not look glued to `n`.
fn prev_byte(b: &[u8], i: usize) -> Option<u8> {
    if i == 0 {
        return None;
    }
    let c = b[i - 1];
    if i >= 2 && b[i - 2] == b'\\' && matches!(c, b'n' | b'r' | b't' | b'b' | b'f') {
        return Some(b' ');
    }
    Some(c)
}

fn floor_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    let n = needle.len();
    hay.len() >= n
        && hay
            .as_bytes()
            .windows(n)
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// End of the base64 run starting at `i` and its length in characters (a
/// JSON-escaped `\/` counts as one), giving up once more than `cap` are seen.
fn b64_run(b: &[u8], mut i: usize, cap: usize) -> (usize, usize) {
    let mut n = 0;
    while i < b.len() && n <= cap {
        if is_b64(b[i]) {
            i += 1;
            n += 1;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'/') {
            i += 2;
            n += 1;
        } else {
            break;
        }
    }
    (i, n)
}

/// Longest base64 run (characters) in `b[from..to]`.
fn longest_b64_run(b: &[u8], from: usize, to: usize) -> usize {
    let mut best = 0;
    let mut i = from;
    while i < to {
        let (end, n) = b64_run(&b[..to], i, usize::MAX - 1);
        if n > 0 {
            best = best.max(n);
            i = end;
        } else {
            i += 1;
        }
    }
    best
}

// ---------------------------------------------------------------------------
// JSON field map: byte spans of scalar values and the key that holds each
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Leaf {
    /// Index into `Fields::keys`.
    key: Option<usize>,
    /// Span of the value: for strings the raw text between the quotes.
    start: usize,
    end: usize,
    string: bool,
}

/// State of the fallback walk: where to search next, misses still allowed.
struct Walk {
    cursor: usize,
    misses_left: usize,
}

/// Scalars of a parsed value that may go unfound in the body before the
/// fallback walk gives up.
const FALLBACK_MISSES: usize = 16;

struct Fields<'a> {
    body: &'a str,
    keys: Vec<Cow<'a, str>>,
    /// Sorted by `start`, non-overlapping.
    leaves: Vec<Leaf>,
}

impl<'a> Fields<'a> {
    fn build(body: &'a str, json: Option<&'a Value>) -> Option<Self> {
        let json = json?;
        let mut fields = Fields {
            body,
            keys: Vec::new(),
            leaves: Vec::new(),
        };
        fields.tokenize();
        // The tokenizer read exactly the text the value was parsed from when
        // both see the same number of scalars; otherwise locate by search.
        if fields.leaves.len() != count_scalars(json, 0) {
            fields.leaves.clear();
            fields.keys.clear();
            let mut walk = Walk {
                cursor: 0,
                misses_left: FALLBACK_MISSES,
            };
            fields.walk_value(json, None, &mut walk, 0);
            fields.leaves.sort_by_key(|l| l.start);
            fields.leaves.dedup_by_key(|l| l.start);
        }
        Some(fields)
    }

    /// One lenient pass over the raw body: tracks the current key per
    /// object, emits string and number values. Never fails; junk bytes
    /// outside strings (JSONP wrappers, XSSI prefixes) are skipped.
    fn tokenize(&mut self) {
        struct Frame {
            object: bool,
            key: Option<usize>,
            want_key: bool,
        }
        let b = self.body.as_bytes();
        let mut stack: Vec<Frame> = Vec::new();
        let mut untracked = 0usize;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                c @ (b'{' | b'[') => {
                    if stack.len() >= MAX_JSON_DEPTH {
                        untracked += 1;
                    } else {
                        let object = c == b'{';
                        let inherited = stack.last().and_then(|f| f.key);
                        stack.push(Frame {
                            object,
                            key: if object { None } else { inherited },
                            want_key: object,
                        });
                    }
                    i += 1;
                }
                b'}' | b']' => {
                    if untracked > 0 {
                        untracked -= 1;
                    } else {
                        stack.pop();
                    }
                    i += 1;
                }
                b',' => {
                    if let Some(top) = stack.last_mut() {
                        top.want_key = top.object;
                    }
                    i += 1;
                }
                b'"' => {
                    let mut j = i + 1;
                    let mut escaped = false;
                    while j < b.len() && b[j] != b'"' {
                        if b[j] == b'\\' {
                            escaped = true;
                            j += 2;
                        } else {
                            j += 1;
                        }
                    }
                    if j >= b.len() {
                        break; // unterminated string: stop
                    }
                    let (start, end) = (i + 1, j);
                    match stack.last_mut() {
                        Some(top) if top.object && top.want_key && untracked == 0 => {
                            let raw = &self.body[start..end];
                            let key = if escaped {
                                serde_json::from_str::<String>(&self.body[i..=j])
                                    .map(Cow::Owned)
                                    .unwrap_or(Cow::Borrowed(raw))
                            } else {
                                Cow::Borrowed(raw)
                            };
                            self.keys.push(key);
                            top.key = Some(self.keys.len() - 1);
                            top.want_key = false;
                        }
                        Some(top) => {
                            self.leaves.push(Leaf {
                                key: top.key,
                                start,
                                end,
                                string: true,
                            });
                        }
                        None => {} // a top-level scalar: left to the fallback
                    }
                    i = j + 1;
                }
                b'-' | b'0'..=b'9' => {
                    let mut j = i + 1;
                    while j < b.len()
                        && matches!(b[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                    {
                        j += 1;
                    }
                    if let Some(top) = stack.last() {
                        self.leaves.push(Leaf {
                            key: top.key,
                            start: i,
                            end: j,
                            string: false,
                        });
                    }
                    i = j;
                }
                c if c.is_ascii_alphabetic() => {
                    while i < b.len() && b[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
    }

    /// Fallback: walk the parsed value and find each scalar in the body,
    /// searching forward from the previous one (preserve_order keeps
    /// document order). Gives up after a few misses, so a value that does
    /// not match the text costs a bounded number of scans.
    fn walk_value(&mut self, v: &'a Value, key: Option<usize>, walk: &mut Walk, depth: usize) {
        if depth > MAX_JSON_DEPTH || walk.misses_left == 0 {
            return;
        }
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    self.keys.push(Cow::Borrowed(k.as_str()));
                    let idx = self.keys.len() - 1;
                    self.walk_value(child, Some(idx), walk, depth + 1);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk_value(item, key, walk, depth + 1);
                }
            }
            Value::String(s) => {
                let quoted = serde_json::to_string(s).unwrap_or_default();
                match self.body[walk.cursor..].find(&quoted) {
                    Some(p) => {
                        let pos = walk.cursor + p;
                        self.leaves.push(Leaf {
                            key,
                            start: pos + 1,
                            end: pos + quoted.len() - 1,
                            string: true,
                        });
                        walk.cursor = pos + quoted.len();
                    }
                    None => walk.misses_left -= 1,
                }
            }
            Value::Number(n) => {
                let text = n.to_string();
                let b = self.body.as_bytes();
                let standalone = |pos: usize| {
                    let before = pos.checked_sub(1).map(|p| b[p]);
                    let after = b.get(pos + text.len()).copied();
                    !before.is_some_and(|c| c.is_ascii_digit() || c == b'.' || c == b'-')
                        && !after.is_some_and(|c| {
                            c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'E'
                        })
                };
                let found = self.body[walk.cursor..]
                    .match_indices(text.as_str())
                    .map(|(p, _)| p + walk.cursor)
                    .find(|&p| standalone(p));
                match found {
                    Some(pos) => {
                        self.leaves.push(Leaf {
                            key,
                            start: pos,
                            end: pos + text.len(),
                            string: false,
                        });
                        walk.cursor = pos + text.len();
                    }
                    None => walk.misses_left -= 1,
                }
            }
            _ => {}
        }
    }

    fn key(&self, leaf: &Leaf) -> Option<&str> {
        leaf.key.map(|k| self.keys[k].as_ref())
    }

    fn text(&self, leaf: &Leaf) -> &'a str {
        &self.body[leaf.start..leaf.end]
    }

    /// The leaf whose span contains `start..end`.
    fn leaf_at(&self, start: usize, end: usize) -> Option<&Leaf> {
        let idx = self.leaves.partition_point(|l| l.start <= start);
        let leaf = self.leaves.get(idx.checked_sub(1)?)?;
        (end <= leaf.end).then_some(leaf)
    }

    fn key_at(&self, start: usize, end: usize) -> Option<&str> {
        self.leaf_at(start, end).and_then(|l| self.key(l))
    }
}

fn count_scalars(v: &Value, depth: usize) -> usize {
    if depth > MAX_JSON_DEPTH {
        return 0;
    }
    match v {
        Value::Object(map) => map.values().map(|c| count_scalars(c, depth + 1)).sum(),
        Value::Array(items) => items.iter().map(|c| count_scalars(c, depth + 1)).sum(),
        Value::String(_) | Value::Number(_) => 1,
        _ => 0,
    }
}

/// Words of a key: split on non-alphanumerics, camelCase humps, acronym ends
/// and letter/digit changes. `userSSNLast4` gives `user`, `SSN`, `Last`, `4`.
struct KeyTokens<'a> {
    key: &'a str,
    pos: usize,
}

fn key_tokens(key: &str) -> KeyTokens<'_> {
    KeyTokens { key, pos: 0 }
}

impl<'a> Iterator for KeyTokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.key.as_bytes();
        while self.pos < b.len() && !b[self.pos].is_ascii_alphanumeric() {
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        let mut i = start + 1;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            let (p, c) = (b[i - 1], b[i]);
            let split = p.is_ascii_digit() != c.is_ascii_digit()
                || (p.is_ascii_lowercase() && c.is_ascii_uppercase())
                || (p.is_ascii_uppercase()
                    && c.is_ascii_uppercase()
                    && b.get(i + 1).is_some_and(u8::is_ascii_lowercase));
            if split {
                break;
            }
            i += 1;
        }
        self.pos = i;
        Some(&self.key[start..i])
    }
}

fn has_token(key: &str, words: &[&str]) -> bool {
    key_tokens(key).any(|t| words.iter().any(|w| t.eq_ignore_ascii_case(w)))
}

fn is_ssn_key(key: &str) -> bool {
    has_token(key, &["ssn", "ssns"])
        || contains_ci(key, "socialsecurity")
        || (has_token(key, &["social"]) && has_token(key, &["security", "sec"]))
}

fn is_card_key(key: &str) -> bool {
    has_token(
        key,
        &[
            "card",
            "cards",
            "cc",
            "ccn",
            "pan",
            "ccnum",
            "cardnumber",
            "creditcard",
        ],
    ) || contains_ci(key, "cardnumber")
        || contains_ci(key, "creditcard")
}

/// Keys whose numeric values are identifiers, times or counters.
fn is_idlike_key(key: &str) -> bool {
    has_token(
        key,
        &[
            "id",
            "ids",
            "uuid",
            "guid",
            "ts",
            "timestamp",
            "time",
            "date",
            "created",
            "updated",
            "modified",
            "deleted",
            "at",
            "epoch",
            "count",
            "total",
            "seq",
            "sequence",
            "nonce",
            "version",
            "iat",
            "exp",
            "nbf",
            "ms",
            "millis",
            "phone",
            "tel",
            "msisdn",
            "isbn",
            "ean",
            "upc",
            "gtin",
            "sku",
        ],
    )
}

/// Keys whose dashed 3-2-4 values are something other than an SSN.
fn is_not_ssn_key(key: &str) -> bool {
    has_token(
        key,
        &[
            "phone",
            "tel",
            "mobile",
            "fax",
            "isbn",
            "sku",
            "part",
            "model",
            "order",
            "invoice",
            "ref",
            "reference",
            "version",
            "date",
            "tracking",
            "serial",
        ],
    )
}

const CLEAR_PASSWORD_KEYS: [&str; 6] = [
    "password",
    "passwd",
    "pwd",
    "pass",
    "user_password",
    "password_plain",
];

fn is_clear_password_key(key: &str) -> bool {
    CLEAR_PASSWORD_KEYS
        .iter()
        .any(|k| key.eq_ignore_ascii_case(k))
}

/// Keys that hold password material (a hash or the password itself), as
/// opposed to password metadata (`password_policy`, `reset_password_url`).
fn is_password_hash_key(key: &str) -> bool {
    let passwordish = has_token(
        key,
        &[
            "password",
            "passwd",
            "pwd",
            "pass",
            "pw",
            "passphrase",
            "passcode",
            "pword",
        ],
    ) || contains_ci(key, "password")
        || contains_ci(key, "passwd");
    let metadata = has_token(
        key,
        &[
            "policy",
            "min",
            "max",
            "length",
            "len",
            "changed",
            "change",
            "expires",
            "expiry",
            "expired",
            "expiration",
            "reset",
            "url",
            "uri",
            "link",
            "token",
            "hint",
            "salt",
            "at",
            "date",
            "time",
            "required",
            "rules",
            "rule",
            "strength",
            "last",
            "updated",
            "created",
            "count",
            "attempts",
            "enabled",
            "set",
            "history",
            "age",
            "confirm",
            "confirmation",
            "label",
            "placeholder",
            "help",
            "forgot",
            "field",
            "type",
            "format",
            "regex",
        ],
    );
    passwordish && !metadata
}

// ---------------------------------------------------------------------------
// Collector: dedup + field attribution
// ---------------------------------------------------------------------------

struct Collector<'a, 'f, K> {
    body: &'a str,
    fields: Option<&'f Fields<'a>>,
    seen: HashSet<&'a str>,
    out: Vec<Detection<K>>,
}

impl<'a, 'f, K: Copy + Ord> Collector<'a, 'f, K> {
    fn new(body: &'a str, fields: Option<&'f Fields<'a>>) -> Self {
        Collector {
            body,
            fields,
            seen: HashSet::new(),
            out: Vec::new(),
        }
    }

    fn push(&mut self, kind: K, start: usize, end: usize) {
        let text = &self.body[start..end];
        if !self.seen.insert(text) {
            return;
        }
        let field = self
            .fields
            .and_then(|f| f.key_at(start, end))
            .map(str::to_string);
        self.out.push(Detection {
            kind,
            matched: text.to_string(),
            start,
            end,
            field,
        });
    }

    fn finish(mut self) -> Vec<Detection<K>> {
        self.out.sort_by_key(|d| (d.start, d.end, d.kind));
        self.out
    }
}

// ---------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------

/// Cloud keys, private keys, JWTs and high-precision vendor tokens.
///
/// An AWS secret access key (40 base64 characters) is only reported within
/// ±200 bytes of an AWS access key id, right after a label naming it
/// (`aws_secret_access_key=`, `"SecretAccessKey": "`, `<SecretAccessKey>`),
/// or as the whole value of a JSON key containing `secret` and `aws` or
/// `access`; and it must mix upper case, lower case and a digit or `+`/`/`
/// (so a 40-hex git SHA-1 never qualifies). Private keys need 40+ base64
/// characters of key material after the `BEGIN … PRIVATE KEY` line; the
/// match spans to the `END` line when there is one. JWT headers must
/// base64url-decode to a JSON object with an `alg`.
pub fn find_secrets(body: &str, json: Option<&Value>) -> Vec<Detection<SecretKind>> {
    let fields = Fields::build(body, json);
    let mut out = Collector::new(body, fields.as_ref());
    let b = body.as_bytes();

    // AWS access key ids, and their secrets close by.
    let mut key_ids = Vec::new();
    for m in AWS_KEY_ID.find_iter(body) {
        if prev_byte(b, m.start()).is_some_and(is_word) {
            continue;
        }
        key_ids.push((m.start(), m.end()));
        out.push(SecretKind::AwsAccessKeyId, m.start(), m.end());
    }
    for &(s, e) in &key_ids {
        let lo = s.saturating_sub(AWS_SECRET_WINDOW);
        let hi = (e + AWS_SECRET_WINDOW).min(b.len());
        let mut i = lo;
        // A run cut by the window's start is a longer string: skip it.
        if i > 0 && is_b64(b[i - 1]) {
            i = b64_run(b, i, 64).0;
        }
        while i < hi {
            let (end, n) = b64_run(b, i, 64);
            if n == 0 {
                i += 1;
                continue;
            }
            if aws_secret_shape(b, i, end, n) {
                out.push(SecretKind::AwsSecretAccessKey, i, end);
            }
            i = end;
        }
    }
    for m in AWS_SECRET_LABEL.find_iter(body) {
        let s = m.end();
        if s > 0 && is_b64(b[s - 1]) {
            continue; // the label ran straight into the value: no separator
        }
        let (end, n) = b64_run(b, s, 64);
        if aws_secret_shape(b, s, end, n) {
            out.push(SecretKind::AwsSecretAccessKey, s, end);
        }
    }
    if let Some(f) = &fields {
        for leaf in f.leaves.iter().filter(|l| l.string) {
            let Some(key) = f.key(leaf) else { continue };
            if !(contains_ci(key, "secret")
                && (contains_ci(key, "aws") || contains_ci(key, "access")))
            {
                continue;
            }
            let (end, n) = b64_run(b, leaf.start, 64);
            if end == leaf.end && aws_secret_shape(b, leaf.start, end, n) {
                out.push(SecretKind::AwsSecretAccessKey, leaf.start, leaf.end);
            }
        }
    }

    // Private keys.
    // A key's material ends before the next header, which keeps the work
    // linear however many headers a body repeats.
    let headers: Vec<(usize, usize)> = PRIVATE_KEY_HEADER
        .find_iter(body)
        .map(|m| (m.start(), m.end()))
        .collect();
    for (i, &(start, header_end)) in headers.iter().enumerate() {
        let next = headers.get(i + 1).map_or(body.len(), |h| h.0);
        if let Some(end) = private_key_extent(body, header_end, next) {
            out.push(SecretKind::PrivateKey, start, end);
        }
    }

    // JWTs.
    for m in JWT.find_iter(body) {
        if prev_byte(b, m.start()).is_some_and(|c| is_word(c) || c == b'-' || c == b'.') {
            continue;
        }
        let header = &body[m.start()..m.start() + m.as_str().find('.').unwrap_or(0)];
        if jwt_header_ok(header) {
            out.push(SecretKind::Jwt, m.start(), m.end());
        }
    }

    // Vendor tokens.
    for m in API_TOKEN.find_iter(body) {
        let glued_before = prev_byte(b, m.start()).is_some_and(|c| is_word(c) || c == b'-');
        let glued_after = b.get(m.end()).is_some_and(|&c| is_word(c) || c == b'-');
        if !glued_before && !glued_after {
            out.push(SecretKind::GenericApiToken, m.start(), m.end());
        }
    }

    out.finish()
}

/// A 40-character AWS secret: exactly 40 base64 characters, not padded, and
/// mixing upper case, lower case and a digit or `+`/`/`, with at least one
/// character outside hex (real keys are 30 random bytes; hex digests,
/// words and identifiers fail).
fn aws_secret_shape(b: &[u8], start: usize, end: usize, n: usize) -> bool {
    if n != 40 || b.get(end) == Some(&b'=') || b.get(end).is_some_and(|&c| is_word(c)) {
        return false;
    }
    let text = &b[start..end];
    let upper = text.iter().any(u8::is_ascii_uppercase);
    let lower = text.iter().any(u8::is_ascii_lowercase);
    let digit_or_sym = text
        .iter()
        .any(|&c| c.is_ascii_digit() || c == b'+' || c == b'/');
    let non_hex = text
        .iter()
        .any(|&c| (c.is_ascii_alphabetic() && !c.is_ascii_hexdigit()) || c == b'+' || c == b'/');
    upper && lower && digit_or_sym && non_hex
}

/// End of the private key whose header ends at `header_end` (looking no
/// further than `next`), or `None` when no key material follows (a
/// placeholder or documentation).
fn private_key_extent(body: &str, header_end: usize, next: usize) -> Option<usize> {
    let b = body.as_bytes();
    let limit = floor_boundary(body, (header_end + 64 * 1024).min(next));
    let rest = &body[header_end..limit];
    let (material_end, end) = match rest.find("-----END ") {
        Some(p) => {
            let marker = header_end + p;
            let close = body[marker + 9..floor_boundary(body, marker + 9 + 64)]
                .find("-----")
                .map(|q| marker + 9 + q + 5);
            (marker, close.unwrap_or(marker + 9))
        }
        None => (
            floor_boundary(body, (header_end + 4096).min(next)),
            header_end,
        ),
    };
    (longest_b64_run(b, header_end, material_end) >= 40).then_some(end)
}

fn jwt_header_ok(segment: &str) -> bool {
    if segment.len() > 4096 {
        return false;
    }
    let Some(raw) = base64url_decode(segment) else {
        return false;
    };
    match serde_json::from_slice::<Value>(&raw) {
        Ok(Value::Object(map)) => map.get("alg").is_some_and(Value::is_string),
        _ => false,
    }
}

/// Decodes unpadded (or padded) base64url; standard `+`/`/` are accepted too.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s.as_bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// PII
// ---------------------------------------------------------------------------

/// US SSNs, payment card numbers and email addresses.
///
/// * SSNs need the `AAA-GG-SSSS` form (or 9 plain digits / spaces in a JSON
///   field whose name says `ssn` / social security), a valid area (not 000,
///   666, 900–999), group (not 00) and serial (not 0000), must not be a
///   famous invalid number (078-05-1120, 219-09-9999, 123-45-6789) and must
///   stand alone (not inside a phone number, date, UUID or longer dashed id;
///   not in a JSON field named like phone, sku, order, version, …).
/// * Cards are 13–19 digits, contiguous or grouped (4-4-4-4…, Amex 4-6-5,
///   Diners 4-6-4) with one kind of single separator, standing alone, Luhn
///   valid, not one repeated digit, with a real issuer prefix and length.
///   With JSON, only string and number values are scanned, and values of
///   id/time/count keys are skipped unless the key names a card/pan/cc.
/// * Emails are returned individually (case-insensitively distinct); the
///   caller applies [`BULK_EMAIL_THRESHOLD`]. Image names like `logo@2x.png`
///   are not addresses.
pub fn find_pii(body: &str, json: Option<&Value>) -> Vec<Detection<PiiKind>> {
    let fields = Fields::build(body, json);
    let mut out = Collector::new(body, fields.as_ref());
    let b = body.as_bytes();

    // SSNs.
    if body.contains('-') {
        for m in SSN.find_iter(body) {
            let (s, e) = (m.start(), m.end());
            if !ssn_standalone(b, s, e) || !ssn_valid(m.as_str()) {
                continue;
            }
            if let Some(key) = fields.as_ref().and_then(|f| f.key_at(s, e)) {
                if is_not_ssn_key(key) && !is_ssn_key(key) {
                    continue;
                }
            }
            out.push(PiiKind::UsSsn, s, e);
        }
    }
    if let Some(f) = &fields {
        for leaf in &f.leaves {
            if !f.key(leaf).is_some_and(is_ssn_key) {
                continue;
            }
            let text = f.text(leaf);
            let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).collect();
            let shape_ok = text.len() <= 11
                && text
                    .bytes()
                    .all(|c| c.is_ascii_digit() || c == b'-' || c == b' ')
                && digits.len() == 9;
            if shape_ok && ssn_valid_digits(&digits) {
                out.push(PiiKind::UsSsn, leaf.start, leaf.end);
            }
        }
    }

    // Payment cards.
    match &fields {
        Some(f) => {
            for leaf in &f.leaves {
                if let Some(key) = f.key(leaf) {
                    if is_idlike_key(key) && !is_card_key(key) {
                        continue;
                    }
                }
                scan_cards(b, leaf.start, leaf.end, |s, e| {
                    out.push(PiiKind::PaymentCard, s, e);
                });
            }
        }
        None => scan_cards(b, 0, b.len(), |s, e| {
            out.push(PiiKind::PaymentCard, s, e);
        }),
    }

    // Emails.
    if body.contains('@') {
        let mut seen_lower: HashSet<String> = HashSet::new();
        for m in EMAIL.find_iter(body) {
            if let Some((s, e)) = email_span(body, m.start(), m.end()) {
                if seen_lower.insert(body[s..e].to_ascii_lowercase()) {
                    out.push(PiiKind::Email, s, e);
                }
            }
        }
    }

    out.finish()
}

/// `AAA-GG-SSSS` not glued to other digits, letters or dash/dot runs.
fn ssn_standalone(b: &[u8], s: usize, e: usize) -> bool {
    if let Some(p) = prev_byte(b, s) {
        if is_word(p) || matches!(p, b'-' | b'.' | b'+' | b'/') {
            return false;
        }
    }
    match b.get(e) {
        Some(&c) if is_word(c) || c == b'/' => false,
        Some(&(b'-' | b'.' | b':')) => !b.get(e + 1).is_some_and(|&n| n.is_ascii_alphanumeric()),
        _ => true,
    }
}

fn ssn_valid(text: &str) -> bool {
    let mut digits = [0u8; 9];
    let mut n = 0;
    for c in text.bytes().filter(u8::is_ascii_digit) {
        if n == digits.len() {
            return false;
        }
        digits[n] = c;
        n += 1;
    }
    n == 9 && ssn_valid_digits(&digits)
}

fn ssn_valid_digits(d: &[u8]) -> bool {
    let num = |r: std::ops::Range<usize>| {
        d[r].iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    // Woolworth's wallet card, the LifeLock advert, and the textbook example.
    !matches!(
        (area, group, serial),
        (78, 5, 1120) | (219, 9, 9999) | (123, 45, 6789)
    )
}

/// Finds card numbers among the digit runs of `b[from..to]`.
fn scan_cards(b: &[u8], from: usize, to: usize, mut found: impl FnMut(usize, usize)) {
    let mut i = from;
    while i < to {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A run of digits joined by single spaces or dashes.
        let start = i;
        let mut j = i;
        loop {
            while j < to && b[j].is_ascii_digit() {
                j += 1;
            }
            if j + 1 < to && (b[j] == b' ' || b[j] == b'-') && b[j + 1].is_ascii_digit() {
                j += 1;
                continue;
            }
            break;
        }
        if card_standalone(b, start, j) && card_valid(&b[start..j]) {
            found(start, j);
        }
        i = j;
    }
}

fn card_standalone(b: &[u8], s: usize, e: usize) -> bool {
    if let Some(p) = prev_byte(b, s) {
        // Hex strings, decimals, negative numbers, phone numbers, dashed ids.
        if is_word(p) || matches!(p, b'.' | b'-' | b'+') {
            return false;
        }
    }
    match b.get(e) {
        Some(&c) if is_word(c) => false,
        Some(&(b'.' | b'-' | b':')) => !b.get(e + 1).is_some_and(|&n| n.is_ascii_alphanumeric()),
        _ => true,
    }
}

/// Grouping, length, repeated digits, Luhn and issuer prefix.
fn card_valid(run: &[u8]) -> bool {
    let mut digits = [0u8; 19];
    let mut n = 0;
    let mut groups = [0usize; 8];
    let mut ngroups = 0;
    let mut sep = None;
    let mut cur = 0;
    for &c in run {
        if c.is_ascii_digit() {
            if n == digits.len() {
                return false;
            }
            digits[n] = c - b'0';
            n += 1;
            cur += 1;
        } else {
            if sep.is_some_and(|s| s != c) || ngroups == groups.len() - 1 {
                return false;
            }
            sep = Some(c);
            groups[ngroups] = cur;
            ngroups += 1;
            cur = 0;
        }
    }
    groups[ngroups] = cur;
    ngroups += 1;
    if !(13..=19).contains(&n) {
        return false;
    }
    let groups = &groups[..ngroups];
    let grouping_ok = ngroups == 1
        || groups == [4, 6, 5]
        || groups == [4, 6, 4]
        || (groups[..ngroups - 1].iter().all(|&g| g == 4)
            && (1..=4).contains(&groups[ngroups - 1]));
    if !grouping_ok {
        return false;
    }
    let d = &digits[..n];
    d.iter().any(|&x| x != d[0]) && luhn(d) && issuer_ok(d)
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn issuer_ok(d: &[u8]) -> bool {
    let n = d.len();
    let prefix = |k: usize| d[..k].iter().fold(0u32, |acc, &x| acc * 10 + u32::from(x));
    match d[0] {
        4 => matches!(n, 13 | 16 | 19),
        5 => (51..=55).contains(&prefix(2)) && n == 16,
        2 => (2221..=2720).contains(&prefix(4)) && n == 16,
        3 => {
            let amex = matches!(prefix(2), 34 | 37) && n == 15;
            let jcb = (3528..=3589).contains(&prefix(4)) && (16..=19).contains(&n);
            let diners = ((300..=305).contains(&prefix(3))
                || matches!(prefix(2), 36 | 38 | 39)
                || prefix(3) == 309)
                && (14..=19).contains(&n);
            amex || jcb || diners
        }
        6 => {
            let discover = prefix(4) == 6011
                || prefix(2) == 65
                || (644..=649).contains(&prefix(3))
                || (622_126..=622_925).contains(&prefix(6));
            discover && (16..=19).contains(&n)
        }
        _ => false,
    }
}

const FILE_EXTENSIONS: [&str; 17] = [
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "avif", "css", "js", "mjs", "json",
    "map", "woff", "woff2", "ttf",
];

/// Trims JSON escape residue from the front of an email match and rejects
/// non-addresses. Returns the final span.
fn email_span(body: &str, mut s: usize, e: usize) -> Option<(usize, usize)> {
    let b = body.as_bytes();
    // `…\nalice@…` or `…\u003calice@…`: the escape is not part of the address.
    if s > 0 && b[s - 1] == b'\\' {
        if matches!(b[s], b'n' | b'r' | b't' | b'b' | b'f') {
            s += 1;
        } else if b[s] == b'u'
            && b.len() >= s + 5
            && b[s + 1..s + 5].iter().all(u8::is_ascii_hexdigit)
        {
            s += 5;
        }
    }
    let text = &body[s..e];
    let (local, domain) = text.split_once('@')?;
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || local.starts_with('.') {
        return None;
    }
    if prev_byte(b, s).is_some_and(|p| p == b'.' || p == b'@') {
        return None;
    }
    let tld = domain.rsplit('.').next()?;
    if FILE_EXTENSIONS.iter().any(|x| tld.eq_ignore_ascii_case(x)) {
        return None;
    }
    Some((s, e))
}

// ---------------------------------------------------------------------------
// Password hashes
// ---------------------------------------------------------------------------

/// Password hashes in any position, plus two JSON field rules:
///
/// * a bare 32/40/64/128-hex digest (with both letters and digits) as the
///   whole value of a password-hash field (a key mentioning password /
///   passwd / pwd / pass / pw, e.g. `password_hash`, `hashedPassword`,
///   `pw_hash`, but not metadata like `password_policy`, `password_salt`,
///   `reset_password_token`, `password_changed_at`). A key named only
///   `hash` or `digest` is not enough: those hold content hashes;
/// * a clear-text password: a string field named exactly password, passwd,
///   pwd, pass, user_password or password_plain (any case) whose value is
///   non-empty, not masked (`***`, `••••`, `xxxx`, `[redacted]`,
///   `[FILTERED]`, `null`, `none`, …), not a placeholder (`string`,
///   `<password>`, `{{password}}`), and not itself a hash (a recognised
///   hash is reported as its algorithm; unrecognised `$…$…` or `{SSHA}…`
///   values are skipped).
pub fn find_password_hashes(body: &str, json: Option<&Value>) -> Vec<Detection<HashKind>> {
    let fields = Fields::build(body, json);
    let mut out = Collector::new(body, fields.as_ref());
    let b = body.as_bytes();
    let mut hash_spans: Vec<(usize, usize)> = Vec::new();

    if body.contains('$') {
        for (kind, regex) in HASH_PATTERNS.iter() {
            for m in regex.find_iter(body) {
                let glued_before = prev_byte(b, m.start())
                    .is_some_and(|c| is_word(c) || matches!(c, b'$' | b'.' | b'/'));
                let glued_after = b
                    .get(m.end())
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'/' | b'+'));
                if glued_before || glued_after {
                    continue;
                }
                hash_spans.push((m.start(), m.end()));
                out.push(*kind, m.start(), m.end());
            }
        }
    }

    if let Some(f) = &fields {
        for leaf in f.leaves.iter().filter(|l| l.string && l.start < l.end) {
            let Some(key) = f.key(leaf) else { continue };
            let clear_key = is_clear_password_key(key);
            if !clear_key && !is_password_hash_key(key) {
                continue;
            }
            if hash_spans
                .iter()
                .any(|&(s, e)| s < leaf.end && leaf.start < e)
            {
                continue; // already reported as its algorithm
            }
            let text = f.text(leaf);
            if is_hex_digest(text) {
                out.push(HashKind::UnsaltedHexInPasswordField, leaf.start, leaf.end);
            } else if clear_key && is_real_password(text) {
                out.push(HashKind::ClearTextPassword, leaf.start, leaf.end);
            }
        }
    }

    out.finish()
}

fn is_hex_digest(text: &str) -> bool {
    matches!(text.len(), 32 | 40 | 64 | 128)
        && text.bytes().all(|c| c.is_ascii_hexdigit())
        && text.bytes().any(|c| c.is_ascii_digit())
        && text.bytes().any(|c| c.is_ascii_alphabetic())
}

/// A raw JSON string value that is a real password, not a mask, placeholder
/// or (unrecognised) hash.
fn is_real_password(raw: &str) -> bool {
    let unescaped: Cow<str> = if raw.contains('\\') {
        serde_json::from_str::<String>(&format!("\"{raw}\""))
            .map(Cow::Owned)
            .unwrap_or(Cow::Borrowed(raw))
    } else {
        Cow::Borrowed(raw)
    };
    let v = unescaped.trim();
    if v.is_empty() {
        return false;
    }
    if v.chars().all(|c| {
        matches!(
            c,
            '*' | '•' | '●' | '·' | '∙' | 'x' | 'X' | '#' | '.' | '-' | '_'
        )
    }) {
        return false;
    }
    if v.contains("**") || v.contains("••") || v.contains("●●") || v.contains('…') {
        return false; // partially masked
    }
    let lower = v.to_lowercase();
    let bare = lower
        .trim_matches(|c: char| matches!(c, '[' | ']' | '<' | '>' | '(' | ')' | '{' | '}' | '$'));
    // Masks, and yes/no values of a `pass` (pass/fail) flag.
    const MASKS: [&str; 21] = [
        "null",
        "none",
        "nil",
        "undefined",
        "redacted",
        "filtered",
        "hidden",
        "removed",
        "masked",
        "omitted",
        "protected",
        "sensitive",
        "encrypted",
        "n/a",
        "na",
        "true",
        "false",
        "yes",
        "no",
        "ok",
        "set",
    ];
    if MASKS.contains(&bare) {
        return false;
    }
    // `string` is the OpenAPI example value; `<password>`, `{{password}}`
    // and `your_password` are template placeholders.
    let bracketed = bare.len() != lower.len();
    if matches!(
        bare,
        "string" | "your_password" | "yourpassword" | "your-password" | "your password"
    ) || (bracketed && matches!(bare, "password" | "pass" | "pwd" | "passwd"))
    {
        return false;
    }
    // Unrecognised hash formats: modular crypt or LDAP `{SCHEME}`.
    let modular = v.starts_with('$') && v[1..].contains('$');
    let ldap = v.starts_with('{')
        && v.find('}').is_some_and(|p| {
            p > 1
                && v[1..p]
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-')
        });
    !(modular || ldap)
}

// ---------------------------------------------------------------------------
// Debug output
// ---------------------------------------------------------------------------

/// Framework debug pages, stack traces and database errors.
///
/// Reports at most one detection per kind, the earliest evidence. A Python
/// traceback inside a Werkzeug debugger or Django debug page is not reported
/// separately. Bodies whose content type is binary media, a font, an archive,
/// JavaScript or CSS (static assets, not error responses) are skipped. Stack
/// traces need two frames within 1 KiB of each other; a Python traceback
/// needs its `File "…", line N` line; a bare word like "traceback" or
/// "error" never matches.
pub fn find_debug_output(body: &str, content_type: Option<&str>) -> Vec<Detection<DebugKind>> {
    if content_type.is_some_and(is_static_or_binary) {
        return Vec::new();
    }
    let mut found: Vec<(DebugKind, usize, usize)> = Vec::new();
    let mut add = |kind: DebugKind, span: Option<(usize, usize)>| {
        if let Some((s, e)) = span {
            found.push((kind, s, e));
        }
    };
    let first = |r: &Regex| r.find(body).map(|m| (m.start(), m.end()));

    add(DebugKind::WerkzeugDebugger, first(&WERKZEUG));
    add(DebugKind::DjangoDebugPage, first(&DJANGO));
    add(DebugKind::PythonTraceback, python_traceback(body));
    add(DebugKind::BotocoreClientError, first(&BOTOCORE));
    add(DebugKind::JavaStackTrace, two_frames(body, &JAVA_FRAME));
    add(DebugKind::NodeStackTrace, two_frames(body, &NODE_FRAME));
    add(DebugKind::RailsError, first(&RAILS));
    add(DebugKind::AspNetYsod, first(&ASPNET));
    add(DebugKind::PhpError, php_error(body));
    add(DebugKind::SqlError, first(&SQL_ERROR));

    let debug_page = found
        .iter()
        .any(|&(k, _, _)| matches!(k, DebugKind::WerkzeugDebugger | DebugKind::DjangoDebugPage));
    if debug_page {
        found.retain(|&(k, _, _)| k != DebugKind::PythonTraceback);
    }
    found.sort_by_key(|&(k, s, e)| (s, e, k));
    found
        .into_iter()
        .map(|(kind, start, end)| Detection {
            kind,
            matched: body[start..end].to_string(),
            start,
            end,
            field: None,
        })
        .collect()
}

fn is_static_or_binary(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ["image/", "audio/", "video/", "font/"]
        .iter()
        .any(|p| media.starts_with(p))
        || matches!(
            media.as_str(),
            "application/octet-stream"
                | "application/pdf"
                | "application/zip"
                | "application/gzip"
                | "application/x-gzip"
                | "application/wasm"
                | "application/font-woff"
                | "application/javascript"
                | "application/x-javascript"
                | "text/javascript"
                | "text/css"
        )
}

/// `Traceback (most recent call last):` with a `File "…", line N` frame
/// within 2 KiB; the span runs from the header to the end of that frame.
fn python_traceback(body: &str) -> Option<(usize, usize)> {
    let heads: Vec<(usize, usize)> = PY_TRACEBACK_HEAD
        .find_iter(body)
        .map(|m| (m.start(), m.end()))
        .collect();
    for (i, &(start, end)) in heads.iter().enumerate() {
        // Frames belong to this header: stop at the next one.
        let next = heads.get(i + 1).map_or(body.len(), |h| h.0);
        let window_end = floor_boundary(body, (end + 2048).min(next));
        if let Some(frame) = PY_TRACEBACK_FILE.find(&body[end..window_end]) {
            return Some((start, end + frame.end()));
        }
    }
    None
}

/// Two stack frames within 1 KiB; the span covers both (from the first `at`).
fn two_frames(body: &str, frame: &Regex) -> Option<(usize, usize)> {
    let mut prev: Option<(usize, usize)> = None;
    for m in frame.find_iter(body) {
        let start = m.start() + m.as_str().find("at ").unwrap_or(0);
        if let Some((ps, pe)) = prev {
            if start.saturating_sub(pe) <= 1024 {
                return Some((ps, m.end()));
            }
        }
        prev = Some((start, m.end()));
    }
    None
}

/// A PHP error: `<b>Fatal error</b>:`-style lines need ` on line N` within
/// 2 KiB; `PHP Fatal error:` and `Stack trace:\n#0 ` stand on their own.
fn php_error(body: &str) -> Option<(usize, usize)> {
    let heads: Vec<regex::Match> = PHP_HEAD.find_iter(body).collect();
    for (i, m) in heads.iter().enumerate() {
        if !m.as_str().starts_with("<b>") {
            return Some((m.start(), m.end()));
        }
        // Its location line comes before the next `<b>…</b>:` line.
        let next = heads[i + 1..]
            .iter()
            .find(|h| h.as_str().starts_with("<b>"))
            .map_or(body.len(), regex::Match::start);
        let window_end = floor_boundary(body, (m.end() + 2048).min(next));
        if let Some(line) = PHP_ON_LINE.find(&body[m.end()..window_end]) {
            return Some((m.start(), m.end() + line.end()));
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------

/// Masks a detected value for display in reports.
///
/// `kind_label` is a kind's [`label`](SecretKind::label), its `Debug` name
/// (`"AwsAccessKeyId"`), or a finding key (`"api-token"`, `"hash"`,
/// `"clear-password"`); case and punctuation are ignored. Conventions:
///
/// | kind | shown as |
/// | --- | --- |
/// | AWS access key id | `AKIA…[redacted]` (4-character type prefix) |
/// | AWS secret access key | `[redacted AWS secret access key]` |
/// | private key | `-----BEGIN RSA PRIVATE KEY-----…[redacted]` |
/// | JWT | `eyJ…[redacted JWT]` |
/// | vendor token | vendor prefix: `ghp_…[redacted]`, `xoxb-…[redacted]`, `sk_live_…[redacted]` |
/// | SSN | `[redacted SSN]` (nothing kept: the last four are themselves sensitive) |
/// | payment card | `****6467` (last four digits only) |
/// | email | `j***@corp.example` (first character and domain) |
/// | modular-crypt hash | algorithm and cost kept, salt and digest dropped: `$2b$12$…[redacted]`, `pbkdf2_sha256$600000$…[redacted]` |
/// | unsalted hex digest | `[redacted 32-hex-digit digest]` |
/// | clear-text password | `[redacted password]` |
/// | debug output | not secret: the evidence on one line, cut to 200 characters with `…` |
/// | anything else | `[redacted]` |
pub fn mask(kind_label: &str, matched: &str) -> String {
    let label: String = kind_label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match label.as_str() {
        "awsaccesskeyid" => format!("{}…[redacted]", prefix_chars(matched, 4)),
        "awssecretaccesskey" | "awssecretkey" => "[redacted AWS secret access key]".to_string(),
        "privatekey" => {
            let header = matched.find("PRIVATE KEY").and_then(|p| {
                let after = p + "PRIVATE KEY".len();
                matched[after..]
                    .find("-----")
                    .map(|q| &matched[..after + q + 5])
            });
            format!(
                "{}…[redacted]",
                header.unwrap_or("-----BEGIN PRIVATE KEY-----")
            )
        }
        "jwt" => "eyJ…[redacted JWT]".to_string(),
        "genericapitoken" | "apitoken" | "token" => format!("{}…[redacted]", token_prefix(matched)),
        "usssn" | "ssn" => "[redacted SSN]".to_string(),
        "paymentcard" | "card" => {
            let digits: Vec<char> = matched.chars().filter(char::is_ascii_digit).collect();
            let last4: String = digits[digits.len().saturating_sub(4)..].iter().collect();
            format!("****{last4}")
        }
        "email" | "emailbulk" => match matched.split_once('@') {
            Some((local, domain)) if !local.is_empty() => {
                format!("{}***@{domain}", prefix_chars(local, 1))
            }
            _ => "[redacted]".to_string(),
        },
        "bcrypt" | "argon2" | "scrypt" | "pbkdf2" | "shacrypt" | "md5crypt" | "hash" => {
            if is_hex_digest(matched) {
                format!("[redacted {}-hex-digit digest]", matched.len())
            } else {
                hash_prefix(matched)
                    .map(|p| format!("{p}…[redacted]"))
                    .unwrap_or_else(|| "[redacted]".to_string())
            }
        }
        "unsaltedhex" | "unsaltedhexinpasswordfield" => {
            format!("[redacted {}-hex-digit digest]", matched.chars().count())
        }
        "cleartextpassword" | "clearpassword" | "password" => "[redacted password]".to_string(),
        _ if is_debug_label(&label) => excerpt(matched, 200),
        _ => "[redacted]".to_string(),
    }
}

fn prefix_chars(s: &str, n: usize) -> &str {
    let end = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

fn token_prefix(token: &str) -> &str {
    const PREFIXES: [&str; 20] = [
        "https://hooks.slack.com/services/",
        "github_pat_",
        "sk-ant-",
        "sk-proj-",
        "sk_live_",
        "rk_live_",
        "glpat-",
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "xoxo-",
        "xoxs-",
        "xoxr-",
        "npm_",
        "AIza",
    ];
    if let Some(p) = PREFIXES.iter().find(|p| token.starts_with(**p)) {
        return &token[..p.len()];
    }
    if token.starts_with("SG.") || token.starts_with("sk-") {
        return &token[..3];
    }
    let head = prefix_chars(token, 12);
    match head.find(['_', '-']) {
        Some(p) => &token[..=p],
        None => prefix_chars(token, 4),
    }
}

/// Algorithm and cost/parameter segments of a `$`-separated hash.
fn hash_prefix(hash: &str) -> Option<String> {
    let mut kept: Vec<&str> = Vec::new();
    for (i, seg) in hash.split('$').enumerate() {
        let algorithm = kept.iter().all(|s| s.is_empty()) && !seg.is_empty();
        let params =
            seg.contains('=') || (!seg.is_empty() && seg.bytes().all(|c| c.is_ascii_digit()));
        if (i == 0 && seg.is_empty()) || algorithm || params {
            kept.push(seg);
        } else {
            break;
        }
    }
    if kept.iter().all(|s| s.is_empty()) || kept.len() == hash.split('$').count() {
        return None;
    }
    Some(format!("{}$", kept.join("$")))
}

fn is_debug_label(label: &str) -> bool {
    DebugKind::ALL.iter().any(|k| {
        let norm: String = k
            .label()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        norm == label || format!("{k:?}").eq_ignore_ascii_case(label)
    })
}

/// The evidence on one line: whitespace and `\n`/`\t` escapes collapsed.
fn excerpt(text: &str, max_chars: usize) -> String {
    let flat = text
        .replace("\\r\\n", " ")
        .replace("\\n", " ")
        .replace("\\t", " ");
    let mut out = String::with_capacity(flat.len().min(max_chars * 4));
    let mut count = 0;
    let mut last_space = false;
    for c in flat.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        if count == max_chars {
            out.push('…');
            return out.trim().to_string();
        }
        out.push(c);
        count += 1;
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // -- helpers ------------------------------------------------------------

    /// Every detection's offsets must slice back to its matched text.
    fn consistent<K: std::fmt::Debug>(body: &str, found: &[Detection<K>]) {
        for d in found {
            assert_eq!(&body[d.start..d.end], d.matched, "{d:?}");
        }
    }

    fn secrets(body: &str) -> Vec<Detection<SecretKind>> {
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let found = find_secrets(body, parsed.as_ref());
        consistent(body, &found);
        found
    }

    fn pii(body: &str) -> Vec<Detection<PiiKind>> {
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let found = find_pii(body, parsed.as_ref());
        consistent(body, &found);
        found
    }

    fn hashes(body: &str) -> Vec<Detection<HashKind>> {
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let found = find_password_hashes(body, parsed.as_ref());
        consistent(body, &found);
        found
    }

    fn debug(body: &str) -> Vec<Detection<DebugKind>> {
        let found = find_debug_output(body, None);
        consistent(body, &found);
        found
    }

    fn kinds<K: Copy>(found: &[Detection<K>]) -> Vec<K> {
        found.iter().map(|d| d.kind).collect()
    }

    fn matched<K>(found: &[Detection<K>]) -> Vec<&str> {
        found.iter().map(|d| d.matched.as_str()).collect()
    }

    fn b64url(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    /// Deterministic pseudo-random generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick(&mut self, alphabet: &[u8]) -> char {
            alphabet[(self.next() % alphabet.len() as u64) as usize] as char
        }
    }

    const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const GIT_SHA: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const SHA256_HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const JWT_IO: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    const BCRYPT: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";

    fn pem_body() -> String {
        let line = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi1b2mq0lm0Ol3o8Wd2Kp0QxZ7y";
        [line; 5].join("\n")
    }

    // -- secrets: AWS -------------------------------------------------------

    #[test]
    fn aws_key_id_and_nearby_secret() {
        let body = format!(r#"{{"AccessKeyId": "{AWS_ID}", "SecretAccessKey": "{AWS_SECRET}"}}"#);
        let found = secrets(&body);
        assert_eq!(
            kinds(&found),
            [SecretKind::AwsAccessKeyId, SecretKind::AwsSecretAccessKey]
        );
        assert_eq!(found[0].field.as_deref(), Some("AccessKeyId"));
        assert_eq!(found[1].matched, AWS_SECRET);
        assert_eq!(found[1].field.as_deref(), Some("SecretAccessKey"));
    }

    #[test]
    fn aws_key_id_prefixes() {
        for prefix in [
            "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
        ] {
            let id = format!("{prefix}Y34FZKBOKMUTVV7A");
            let found = secrets(&format!("key={id};"));
            assert_eq!(matched(&found), [id.as_str()]);
        }
        // Other prefixes, glued text and wrong lengths do not count.
        for body in [
            "ABIAY34FZKBOKMUTVV7A",
            "XAKIAY34FZKBOKMUTVV7A",
            "AKIAY34FZKBOKMUTVV7AB",
            "AKIAY34FZKBOKMUTVV7",
            "akiay34fzkbokmutvv7a",
        ] {
            assert!(secrets(body).is_empty(), "{body}");
        }
    }

    #[test]
    fn aws_key_id_after_json_escape() {
        let body = format!(r#"{{"log": "creds:\n{AWS_ID}\n"}}"#);
        assert_eq!(matched(&secrets(&body)), [AWS_ID]);
    }

    #[test]
    fn aws_secret_in_plain_text_config_near_key_id() {
        let body = format!(
            "[default]\naws_access_key_id = {AWS_ID}\nregion = us-east-1\nsecret = {AWS_SECRET}\n"
        );
        let found = secrets(&body);
        assert!(found
            .iter()
            .any(|d| d.kind == SecretKind::AwsSecretAccessKey && d.matched == AWS_SECRET));
    }

    #[test]
    fn aws_secret_by_label_without_key_id() {
        for body in [
            format!("AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"),
            format!("<SecretAccessKey>{AWS_SECRET}</SecretAccessKey>"),
            format!("aws_secret_access_key: '{AWS_SECRET}'"),
        ] {
            let found = secrets(&body);
            assert_eq!(kinds(&found), [SecretKind::AwsSecretAccessKey], "{body}");
            assert_eq!(found[0].matched, AWS_SECRET);
        }
    }

    #[test]
    fn aws_secret_by_json_key_name() {
        let body = format!(r#"{{"config": {{"awsSecret": "{AWS_SECRET}", "other": 1}}}}"#);
        let found = secrets(&body);
        assert_eq!(kinds(&found), [SecretKind::AwsSecretAccessKey]);
        assert_eq!(found[0].field.as_deref(), Some("awsSecret"));
        // The same value under an unrelated key is just a string.
        let body = format!(r#"{{"config": {{"note": "{AWS_SECRET}"}}}}"#);
        assert!(secrets(&body).is_empty());
    }

    #[test]
    fn aws_secret_with_escaped_slashes() {
        let escaped = AWS_SECRET.replace('/', "\\/");
        let body = format!(r#"{{"id": "{AWS_ID}", "secret": "{escaped}"}}"#);
        let found = secrets(&body);
        assert!(found
            .iter()
            .any(|d| d.kind == SecretKind::AwsSecretAccessKey && d.matched == escaped));
    }

    #[test]
    fn bare_forty_character_strings_are_not_aws_secrets() {
        // No key id nearby, no label: never a secret.
        assert!(secrets(&format!(r#"{{"value": "{AWS_SECRET}"}}"#)).is_empty());
        assert!(secrets(AWS_SECRET).is_empty());
        // A git SHA-1 right next to a key id is still not a secret.
        let body =
            format!(r#"{{"key": "{AWS_ID}", "commit": "{GIT_SHA}", "etag": "{SHA256_HEX}"}}"#);
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        let upper = GIT_SHA.to_ascii_uppercase();
        let body = format!("{AWS_ID} {upper}");
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        // Longer base64 (an image) near a key id is not a secret either.
        let blob = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
        let body = format!(r#"{{"key": "{AWS_ID}", "img": "data:image/png;base64,{blob}"}}"#);
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        // A 40-letter identifier without digits or symbols is not a secret.
        let body = format!("{AWS_ID} ThisIsAVeryLongCamelCaseIdentifierForTest");
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        // Far away from the key id: not taken.
        let body = format!("{AWS_ID}{}{AWS_SECRET}", " ".repeat(400));
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
    }

    // -- secrets: private keys ----------------------------------------------

    #[test]
    fn private_keys_all_flavours() {
        for kind in ["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "] {
            let body = format!(
                "-----BEGIN {kind}PRIVATE KEY-----\n{}\n-----END {kind}PRIVATE KEY-----\n",
                pem_body()
            );
            let found = secrets(&body);
            assert_eq!(kinds(&found), [SecretKind::PrivateKey], "{kind}");
            assert!(found[0]
                .matched
                .ends_with(&format!("-----END {kind}PRIVATE KEY-----")));
        }
        let pgp = format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----",
            pem_body()
        );
        assert_eq!(kinds(&secrets(&pgp)), [SecretKind::PrivateKey]);
    }

    #[test]
    fn private_key_json_escaped() {
        let pem = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            pem_body()
        );
        let body = serde_json::to_string(&json!({ "tls": { "key": pem } })).unwrap();
        assert!(body.contains("\\n"));
        let found = secrets(&body);
        assert_eq!(kinds(&found), [SecretKind::PrivateKey]);
        assert_eq!(found[0].field.as_deref(), Some("key"));
        assert!(found[0]
            .matched
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\\n"));
        assert!(found[0].matched.ends_with("-----END RSA PRIVATE KEY-----"));
        // With escaped slashes (PHP's json_encode) too.
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
            "MIIE/pAI/BAA/KCA/QEA/3Tz2/mr7S/ZiAM/fQyu/vBjM/9Oi1/b2mq/0lm0/Ol3o"
        );
        let body = serde_json::to_string(&json!({ "key": pem }))
            .unwrap()
            .replace('/', "\\/");
        assert_eq!(kinds(&secrets(&body)), [SecretKind::PrivateKey]);
    }

    #[test]
    fn private_key_header_without_end_still_counts_with_material() {
        let body = format!("-----BEGIN RSA PRIVATE KEY-----\n{}", pem_body());
        let found = secrets(&body);
        assert_eq!(matched(&found), ["-----BEGIN RSA PRIVATE KEY-----"]);
    }

    #[test]
    fn public_keys_certificates_and_placeholders_are_not_private_keys() {
        let material = pem_body();
        for body in [
            format!("-----BEGIN PUBLIC KEY-----\n{material}\n-----END PUBLIC KEY-----"),
            format!("-----BEGIN RSA PUBLIC KEY-----\n{material}\n-----END RSA PUBLIC KEY-----"),
            format!("-----BEGIN CERTIFICATE-----\n{material}\n-----END CERTIFICATE-----"),
            format!("-----BEGIN PGP PUBLIC KEY BLOCK-----\n{material}\n-----END PGP PUBLIC KEY BLOCK-----"),
            format!("-----BEGIN CERTIFICATE REQUEST-----\n{material}\n-----END CERTIFICATE REQUEST-----"),
            format!("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{material} user@host"),
            "Paste your key: -----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----".to_string(),
            r#"{"hint": "-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----"}"#.to_string(),
        ] {
            assert!(
                !secrets(&body).iter().any(|d| d.kind == SecretKind::PrivateKey),
                "{body}"
            );
        }
    }

    // -- secrets: JWT ----------------------------------------------------------

    #[test]
    fn jwt_detected_with_decodable_header() {
        let body = format!(r#"{{"access_token": "{JWT_IO}", "token_type": "Bearer"}}"#);
        let found = secrets(&body);
        assert_eq!(kinds(&found), [SecretKind::Jwt]);
        assert_eq!(found[0].matched, JWT_IO);
        assert_eq!(found[0].field.as_deref(), Some("access_token"));
        // In a header-like text line too.
        assert_eq!(
            matched(&secrets(&format!("Authorization: Bearer {JWT_IO}\r\n"))),
            [JWT_IO]
        );
    }

    #[test]
    fn jwt_rejects_headers_without_alg_and_lookalikes() {
        let no_alg = b64url(br#"{"typ":"JWT","kid":"abc"}"#);
        let payload = b64url(br#"{"sub":"123"}"#);
        let body = format!("{no_alg}.{payload}.SflKxwRJSMeKKF2QT4fw");
        assert!(secrets(&body).is_empty());
        // Header that is not JSON at all.
        let body = format!("eyJub3RqcW9u.{payload}.SflKxwRJSMeKKF2QT4fw");
        assert!(secrets(&body).is_empty());
        // Unsigned (alg none, empty signature) and short signatures do not match.
        let none = b64url(br#"{"alg":"none"}"#);
        assert!(secrets(&format!("{none}.{payload}.")).is_empty());
        assert!(secrets(&format!("{none}.{payload}.abc")).is_empty());
        // Glued to a longer token.
        assert!(secrets(&format!("x{JWT_IO}")).is_empty());
        // A non-JWT dotted string starting with eyJ-like text.
        assert!(secrets("eyJhbGciOi.eyJzdWIiOi.").is_empty());
    }

    #[test]
    fn base64url_decoder() {
        assert_eq!(
            base64url_decode("eyJ0eXAiOiJKV1QifQ").unwrap(),
            br#"{"typ":"JWT"}"#
        );
        assert_eq!(base64url_decode("YQ").unwrap(), b"a");
        assert_eq!(base64url_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64url_decode("-_-_").unwrap(), [0xfb, 0xff, 0xbf]);
        assert!(base64url_decode("a").is_none());
        assert!(base64url_decode("ab$c").is_none());
        for s in [&b""[..], b"x", b"xy", b"xyz", b"hello world!"] {
            assert_eq!(base64url_decode(&b64url(s)).unwrap(), s);
        }
    }

    // -- secrets: vendor tokens ----------------------------------------------

    #[test]
    fn vendor_tokens() {
        let tokens = [
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "gho_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "github_pat_11ABCDEFG0123456789abc_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "AIzaSyA-1234567890abcdefghijklmnopqrstu",
            "glpat-AbCdEfGhIjKlMnOpQrSt",
            "npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "SG.aBcDeFgHiJkLmNoPqRsTuV.aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefg",
            "sk-proj-abcDEF123T3BlbkFJabcdefghijklmnopqrst",
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        ];
        for token in tokens {
            let body = format!(r#"{{"integration": {{"token": "{token}"}}}}"#);
            let found = secrets(&body);
            assert_eq!(kinds(&found), [SecretKind::GenericApiToken], "{token}");
            assert_eq!(found[0].matched, token);
            assert_eq!(found[0].field.as_deref(), Some("token"));
        }
        // JSON-escaped webhook URL.
        let body = r#"{"hook": "https:\/\/hooks.slack.com\/services\/T00000000\/B00000000\/XXXXXXXXXXXXXXXXXXXXXXXX"}"#;
        assert_eq!(kinds(&secrets(body)), [SecretKind::GenericApiToken]);
    }

    #[test]
    fn vendor_token_lookalikes() {
        for body in [
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "pk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "ghp_tooShort",
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789extra",
            "xghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "xoxb-",
            "xoxb-notnumbers-AbCdEfGhIjKlMnOp",
            "sk-abcdefghijklmnopqrstuvwxyz0123456789",
            "AIza",
            "npm_install",
            "the glpat- prefix",
        ] {
            assert!(secrets(body).is_empty(), "{body}");
        }
    }

    #[test]
    fn secrets_ignore_ordinary_api_data() {
        let body = json!({
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "commit": GIT_SHA,
            "etag": format!("\"{SHA256_HEX}\""),
            "digest": format!("sha256:{SHA256_HEX}"),
            "version": "1.2.3-beta.4+build.5",
            "ip": "192.168.10.1",
            "created_ms": 1_700_000_000_000u64,
            "avatar": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        })
        .to_string();
        assert!(secrets(&body).is_empty());
    }

    #[test]
    fn secrets_dedupe_identical_values() {
        let body = format!(
            r#"[{{"t": "{JWT_IO}"}}, {{"t": "{JWT_IO}"}}, {{"k": "{AWS_ID}"}}, {{"k": "{AWS_ID}"}}]"#
        );
        let found = secrets(&body);
        assert_eq!(kinds(&found), [SecretKind::Jwt, SecretKind::AwsAccessKeyId]);
        assert!(found[0].start < found[1].start);
    }

    // -- PII: SSN -------------------------------------------------------------

    #[test]
    fn ssn_dashed() {
        let found = pii(r#"{"name": "Jo", "ssn": "536-22-1234"}"#);
        assert_eq!(kinds(&found), [PiiKind::UsSsn]);
        assert_eq!(found[0].matched, "536-22-1234");
        assert_eq!(found[0].field.as_deref(), Some("ssn"));
        assert_eq!(matched(&pii("SSN: 536-22-1234.")), ["536-22-1234"]);
        assert_eq!(matched(&pii("ssn=536-22-1234")), ["536-22-1234"]);
        assert_eq!(
            matched(&pii(r#"{"note": "line\n536-22-1234\n"}"#)),
            ["536-22-1234"]
        );
    }

    #[test]
    fn ssn_invalid_ranges_and_famous_numbers() {
        for ssn in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "987-65-4321",
            "999-12-3456",
            "536-00-1234",
            "536-22-0000",
            "078-05-1120",
            "219-09-9999",
            "123-45-6789",
        ] {
            assert!(pii(&format!("ssn {ssn}")).is_empty(), "{ssn}");
        }
    }

    #[test]
    fn ssn_lookalikes_are_rejected() {
        for body in [
            "call 555-123-4567",
            "+1-536-22-1234",
            "1-536-22-1234",
            "date 2024-01-01",
            "2024-01-01T10:20:30Z",
            "550e8400-e29b-41d4-a716-446655440000",
            "123e4567-e89b-12d3-a456-426614174000",
            "ABC-536-22-1234",
            "536-22-1234-99",
            "536-22-12345",
            "1536-22-1234",
            "v536-22-1234",
            "ip 10.0.0.1, version 1.2.3",
            "x.536-22-1234",
        ] {
            assert!(pii(body).iter().all(|d| d.kind != PiiKind::UsSsn), "{body}");
        }
        // Dashed 3-2-4 values in fields that name something else.
        let body = r#"{"phone": "536-22-1234", "sku": "536-22-1234", "part_no": "412-33-5678"}"#;
        assert!(pii(body).is_empty());
    }

    #[test]
    fn ssn_plain_digits_only_in_ssn_fields() {
        let body = r#"{"user": {"ssn": "536221234", "social_security_number": 412335678, "SSN_enc": "536 22 1234"}}"#;
        let found = pii(body);
        assert_eq!(matched(&found), ["536221234", "412335678", "536 22 1234"]);
        assert_eq!(found[1].field.as_deref(), Some("social_security_number"));
        // Same digits elsewhere are not SSNs.
        let body = r#"{"zip": "536221234", "lesson": "536221234", "classname": "536221234", "id": 536221234}"#;
        assert!(pii(body).is_empty());
        // Invalid plain numbers in SSN fields.
        assert!(pii(r#"{"ssn": "000221234"}"#).is_empty());
        assert!(pii(r#"{"ssn": "53622123"}"#).is_empty());
        assert!(pii(r#"{"ssn_last4": "1234"}"#).is_empty());
        // Without the parsed JSON, field rules do not apply.
        assert!(find_pii(r#"{"ssn": "536221234"}"#, None).is_empty());
    }

    // -- PII: cards -------------------------------------------------------------

    #[test]
    fn card_brands() {
        for card in [
            "4111111111111111",
            "4012888888881881",
            "4222222222222",
            "4539148803436467",
            "5555555555554444",
            "5105105105105100",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
            "6500000000000002",
            "3530111333300000",
            "3566002020360505",
            "30569309025904",
        ] {
            let found = pii(&format!(r#"{{"card_number": "{card}"}}"#));
            assert_eq!(matched(&found), [card], "{card}");
            assert_eq!(found[0].field.as_deref(), Some("card_number"));
            assert_eq!(matched(&find_pii(&format!("card {card}."), None)), [card]);
        }
    }

    #[test]
    fn card_groupings() {
        for card in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "3782 822463 10005",
            "3782-822463-10005",
            "3056 930902 5904",
            "4222 2222 2222 2",
        ] {
            assert_eq!(
                matched(&find_pii(&format!("Paid with {card} today"), None)),
                [card],
                "{card}"
            );
        }
        for body in [
            "4111 1111-1111 1111",
            "41111 11111 11111 1",
            "4111  1111  1111  1111",
            "411 1111 1111 11111",
        ] {
            assert!(find_pii(body, None).is_empty(), "{body}");
        }
    }

    #[test]
    fn card_rejections() {
        for body in [
            "4111111111111112",
            "1700000000000",
            "1700000000000000",
            "ts=1700000000123",
            "8888888888888888",
            "0000000000000000",
            "41111111111111111111",
            "9111111111111111",
            "4111111111111",
            "37828224631000",
            "a4111111111111111b",
            "deadbeef4111111111111111",
            "0.4111111111111111",
            "4111111111111111.25",
            "-4111111111111111",
            "+4111111111111111",
            "550e8400-e29b-41d4-a716-446655440000",
            "ord-4111111111111111",
            "4111111111111111-abc",
        ] {
            assert!(find_pii(body, None).is_empty(), "{body}");
        }
    }

    #[test]
    fn card_json_keys() {
        // Numbers under id/timestamp/count keys are not cards.
        let body = r#"{"id": 4111111111111111, "order_id": 4111111111111111, "ts": 4111111111111111,
            "timestamp": 4111111111111111, "created": 4111111111111111, "count": 4111111111111111,
            "createdAt": 4111111111111111, "userId": "4111111111111111"}"#;
        assert!(pii(body).is_empty());
        // ...unless the key says card/pan/cc.
        for key in [
            "card_id",
            "pan",
            "cc",
            "ccNumber",
            "creditCardNumber",
            "card",
        ] {
            let body = format!(r#"{{"{key}": 4111111111111111}}"#);
            let found = pii(&body);
            assert_eq!(matched(&found), ["4111111111111111"], "{key}");
            assert_eq!(found[0].field.as_deref(), Some(key));
        }
        // Arrays report their key; numbers in arrays without spaces work.
        let found = pii(r#"{"cards": [4111111111111111,5555555555554444]}"#);
        assert_eq!(matched(&found), ["4111111111111111", "5555555555554444"]);
        assert!(found.iter().all(|d| d.field.as_deref() == Some("cards")));
        // Free text in a string value.
        let found = pii(r#"{"note": "paid with 4111 1111 1111 1111\n thanks"}"#);
        assert_eq!(matched(&found), ["4111 1111 1111 1111"]);
        // Keys are not scanned.
        assert!(pii(r#"{"4111111111111111": true}"#).is_empty());
    }

    #[test]
    fn luhn_failing_ids_and_timestamps_in_json() {
        let body = json!({
            "order": "4000123412341235",
            "order_id": "4000123412341234",
            "reference": 4916123412341235u64,
            "expires": 1_700_000_000_000u64,
            "amount": 12.5,
            "uuid": "550e8400-e29b-41d4-a716-446655440000",
            "etag": SHA256_HEX,
        })
        .to_string();
        assert!(pii(&body).is_empty());
    }

    // -- PII: email ------------------------------------------------------------

    #[test]
    fn emails_all_returned() {
        let body = json!({"users": [
            {"email": "alice@corp.example"}, {"email": "bob.smith+tag@mail.corp.example"},
            {"email": "carol_99@example.org"}, {"email": "Dave@Example.COM"}, {"email": "dave@example.com"},
            {"email": "erin-o@sub.domain.co.uk"}
        ]})
        .to_string();
        let found = pii(&body);
        assert!(found
            .iter()
            .all(|d| d.kind == PiiKind::Email && d.field.as_deref() == Some("email")));
        assert_eq!(
            matched(&found),
            [
                "alice@corp.example",
                "bob.smith+tag@mail.corp.example",
                "carol_99@example.org",
                "Dave@Example.COM",
                "erin-o@sub.domain.co.uk"
            ]
        );
        assert!(found.len() >= BULK_EMAIL_THRESHOLD);
        assert_eq!(BULK_EMAIL_THRESHOLD, 5);
    }

    #[test]
    fn email_lookalikes() {
        for body in [
            "logo@2x.png",
            "icon@3x.webp",
            "user@localhost",
            "npm install pkg@1.2.3",
            "@scope/pkg",
            "a@b",
            "mention @alice",
            "styles@media.css",
        ] {
            assert!(pii(body).is_empty(), "{body}");
        }
        // JSON escapes before an address are not part of it.
        assert_eq!(
            matched(&pii(r#"{"a": "x\nalice@corp.example"}"#)),
            ["alice@corp.example"]
        );
        assert_eq!(
            matched(&pii(r#"{"a": "\u003calice@corp.example\u003e"}"#)),
            ["alice@corp.example"]
        );
    }

    // -- password hashes -------------------------------------------------------

    #[test]
    fn formatted_hashes() {
        let cases = [
            (HashKind::Bcrypt, BCRYPT),
            (HashKind::Bcrypt, "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"),
            (HashKind::Argon2, "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"),
            (HashKind::Argon2, "$argon2i$m=4096,t=3,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A"),
            (
                HashKind::Scrypt,
                "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            ),
            (
                HashKind::Scrypt,
                "scrypt:32768:8:1$k2f3dF8mXkY2Yx1q$2a5a0e1e4f3c2b1a0f9e8d7c6b5a49382716a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0",
            ),
            (
                HashKind::Scrypt,
                "scrypt$16384$kjGQzTfFBuDnuGZz$8$1$Rdm2rqFzzMnXuPw1CT4Gn0VYSBQ2CUsp+BY9dR54lhM=",
            ),
            (
                HashKind::Pbkdf2,
                "pbkdf2_sha256$600000$c2FsdHNhbHQ$LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=",
            ),
            (
                HashKind::Pbkdf2,
                "pbkdf2:sha256:600000$abcdEFGH12345678$e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (HashKind::Pbkdf2, "$pbkdf2-sha256$29000$N2GMUUqJ8f4fQwhB6N0bwwd$Z2h0bWVyZXRoYXRtZXRoZ3J1bGVz"),
            (
                HashKind::ShaCrypt,
                "$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3InaxBeoomnAihCKRVQP22JZ6EY47Wc6BkroIuUUBOov1i.S5KPgErtP/EN5mcO.ChWQW21",
            ),
            (
                HashKind::ShaCrypt,
                "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5",
            ),
            (HashKind::Md5Crypt, "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"),
            (HashKind::Md5Crypt, "$apr1$saltsalt$qjXMvbEw8oaL.CzflDugX/"),
        ];
        for (kind, hash) in cases {
            let body = json!({"users": [{"name": "a", "secret_blob": hash}]}).to_string();
            let found = hashes(&body);
            assert_eq!(kinds(&found), [kind], "{hash}");
            assert_eq!(found[0].matched, hash);
            assert_eq!(found[0].field.as_deref(), Some("secret_blob"));
            // Plain text too.
            assert_eq!(
                matched(&find_password_hashes(&format!("hash: {hash}\n"), None)),
                [hash]
            );
        }
    }

    #[test]
    fn bcrypt_with_php_escaped_slashes() {
        let escaped = BCRYPT.replace('/', "\\/");
        let body = format!(r#"{{"password": "{escaped}"}}"#);
        let found = hashes(&body);
        assert_eq!(kinds(&found), [HashKind::Bcrypt]);
        assert_eq!(found[0].field.as_deref(), Some("password"));
    }

    #[test]
    fn hash_lookalikes() {
        for body in [
            "$2b$12$tooshort",
            "prices: $1$2$3 and $5$6",
            "cost $6$ per unit",
            &format!("{BCRYPT}extra"),
            &format!("x{BCRYPT}"),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "$argon2id$v=19$bogus",
        ] {
            assert!(hashes(body).is_empty(), "{body}");
        }
    }

    #[test]
    fn unsalted_hex_only_in_password_fields() {
        let md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
        for key in [
            "password",
            "passwd",
            "pwd",
            "password_hash",
            "hashed_password",
            "passwordHash",
            "pw_hash",
            "user_password",
            "password_digest",
        ] {
            let body = format!(r#"{{"{key}": "{md5}"}}"#);
            let found = hashes(&body);
            assert_eq!(
                kinds(&found),
                [HashKind::UnsaltedHexInPasswordField],
                "{key}"
            );
            assert_eq!(found[0].field.as_deref(), Some(key));
        }
        for digest in [GIT_SHA, SHA256_HEX] {
            let body = format!(r#"{{"password_sha": "{digest}"}}"#);
            assert_eq!(
                kinds(&hashes(&body)),
                [HashKind::UnsaltedHexInPasswordField]
            );
        }
        // Hex elsewhere: commits, etags, content hashes, tokens, salts.
        let body = json!({
            "commit": GIT_SHA, "etag": SHA256_HEX, "hash": SHA256_HEX, "checksum": md5,
            "digest": md5, "password_salt": md5, "reset_password_token": md5, "session": md5,
        })
        .to_string();
        assert!(hashes(&body).is_empty());
        // Wrong lengths or degenerate hex in a password field are clear text, not digests.
        assert!(hashes(r#"{"password_hash": "00000000000000000000000000000000"}"#).is_empty());
        assert!(hashes(r#"{"password_hash": "5f4dcc3b5aa765d61d8327deb882cf9"}"#).is_empty());
    }

    #[test]
    fn clear_text_passwords() {
        for key in [
            "password",
            "Password",
            "PASSWD",
            "pwd",
            "pass",
            "user_password",
            "password_plain",
        ] {
            let body = format!(r#"{{"user": {{"name": "bob", "{key}": "hunter2!"}}}}"#);
            let found = hashes(&body);
            assert_eq!(kinds(&found), [HashKind::ClearTextPassword], "{key}");
            assert_eq!(found[0].matched, "hunter2!");
            assert_eq!(found[0].field.as_deref(), Some(key));
        }
        // Escaped characters are kept raw in `matched`.
        let found = hashes(r#"{"password": "p\"ss\\word"}"#);
        assert_eq!(matched(&found), [r#"p\"ss\\word"#]);
    }

    #[test]
    fn masked_and_metadata_password_fields() {
        let body = r#"[
            {"password": "***"}, {"password": "********"}, {"password": "[redacted]"},
            {"password": "REDACTED"}, {"password": "[FILTERED]"}, {"password": null},
            {"password": ""}, {"password": "   "}, {"password": "••••••"},
            {"password": "\u2022\u2022\u2022\u2022"}, {"password": "xxxxxxxx"}, {"pass": "yes"},
            {"password": "ab***yz"}, {"password": "<password>"}, {"password": "{{password}}"},
            {"password": "string"}, {"password": "null"}, {"password": "<hidden>"},
            {"password": true}, {"password": 1234},
            {"password": "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="},
            {"password": "$9$unknown$format"},
            {"password_policy": "min 12 characters"}, {"password_min_length": "12"},
            {"password_changed_at": "2024-01-01"}, {"reset_password_url": "https://x.example/reset?t=abc"},
            {"passwordHint": "your pet"}, {"password_expires": "never"}, {"passport": "X1234567"},
            {"new_password": "hunter2"}
        ]"#;
        assert!(hashes(body).is_empty(), "{:?}", hashes(body));
    }

    #[test]
    fn hash_in_password_field_is_reported_once_as_its_algorithm() {
        let body = format!(r#"{{"password": "{BCRYPT}", "password_hash": "{BCRYPT}"}}"#);
        let found = hashes(&body);
        assert_eq!(kinds(&found), [HashKind::Bcrypt]);
        assert_eq!(found[0].field.as_deref(), Some("password"));
    }

    #[test]
    fn clear_text_rules_need_parsed_json() {
        assert!(find_password_hashes(r#"{"password": "hunter2"}"#, None).is_empty());
    }

    // -- debug output ------------------------------------------------------------

    #[test]
    fn werkzeug_debugger() {
        let page = r#"<!doctype html>
<html lang=en><head><title>ZeroDivisionError: division by zero // Werkzeug Debugger</title>
<script src="?__debugger__=yes&amp;cmd=resource&amp;f=debugger.js"></script>
<script>var CONSOLE_MODE = false, EVALEX = true, SECRET = "abc";</script></head>
<body><h1>ZeroDivisionError</h1><div class="plain"><textarea>Traceback (most recent call last):
  File &#34;/app/app.py&#34;, line 12, in index
    return 1 / 0
ZeroDivisionError: division by zero</textarea></div>
<div class="footer">Brought to you by <strong>DON'T PANIC</strong>, your friendly Werkzeug powered traceback interpreter.</div>
<p>The debugger caught an exception in your WSGI application.</p></body></html>"#;
        let found = debug(page);
        assert_eq!(kinds(&found), [DebugKind::WerkzeugDebugger]);
        assert!(found[0].matched.starts_with("<title>ZeroDivisionError"));
        assert!(find_debug_output(
            "<p>The debugger caught an exception in your WSGI application</p>",
            Some("text/html")
        )
        .iter()
        .any(|d| d.kind == DebugKind::WerkzeugDebugger));
    }

    #[test]
    fn python_traceback_plain_and_in_json() {
        let plain = "Internal error\nTraceback (most recent call last):\n  File \"/app/views.py\", line 42, in get\n    raise KeyError('x')\nKeyError: 'x'\n";
        let found = debug(plain);
        assert_eq!(kinds(&found), [DebugKind::PythonTraceback]);
        assert!(found[0].matched.ends_with("line 42"));

        let body = serde_json::to_string(&json!({"error": "boom", "trace": plain})).unwrap();
        assert_eq!(kinds(&debug(&body)), [DebugKind::PythonTraceback]);
        let escaped_slashes = body.replace('/', "\\/");
        assert_eq!(
            kinds(&debug(&escaped_slashes)),
            [DebugKind::PythonTraceback]
        );
    }

    #[test]
    fn words_like_traceback_or_error_are_not_debug_output() {
        for body in [
            r#"{"error": "traceback disabled", "traceback": null, "message": "An error occurred"}"#,
            r#"{"detail": "Traceback (most recent call last): hidden in production"}"#,
            r#"{"error": {"code": "ValidationError", "message": "field 'email' is required"}}"#,
            "Error: something failed at step 3",
            r#"{"hint": "look at com.example.Foo(Foo.java:12) in the docs"}"#,
            r#"{"sql": "SELECT * FROM users", "db": "postgres", "code": "ORA-12345"}"#,
            "<b>Warning</b>: this action cannot be undone",
            "Server Error. Please try again later.",
            "We're seeing this error because you have a bad request",
        ] {
            assert!(debug(body).is_empty(), "{body}: {:?}", debug(body));
        }
    }

    #[test]
    fn botocore_client_error() {
        let body = r#"{"message": "An error occurred (ValidationException) when calling the Query operation: One or more parameter values were invalid"}"#;
        let found = debug(body);
        assert_eq!(kinds(&found), [DebugKind::BotocoreClientError]);
        assert!(found[0].matched.ends_with("Query operation"));
        assert_eq!(
            kinds(&debug(
                "botocore.exceptions.NoCredentialsError: Unable to locate credentials"
            )),
            [DebugKind::BotocoreClientError]
        );
        assert_eq!(
            kinds(&debug("An error occurred (ResourceNotFoundException) when calling the GetItem operation: Requested resource not found")),
            [DebugKind::BotocoreClientError]
        );
    }

    #[test]
    fn django_debug_page() {
        let html = "<p>You&#x27;re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p>";
        assert_eq!(kinds(&debug(html)), [DebugKind::DjangoDebugPage]);
        let text = "Traceback (most recent call last):\n  File \"/app/x.py\", line 1, in f\n\nYou're seeing this error because you have DEBUG = True in your\nDjango settings file.";
        assert_eq!(kinds(&debug(text)), [DebugKind::DjangoDebugPage]);
    }

    #[test]
    fn java_stack_traces() {
        let trace = "java.lang.NullPointerException: boom\n\tat com.example.api.UserService.find(UserService.java:42)\n\tat com.example.api.UserController.get(UserController.java:17)\n\tat java.base/java.lang.Thread.run(Thread.java:833)\n";
        let found = debug(trace);
        assert_eq!(kinds(&found), [DebugKind::JavaStackTrace]);
        assert!(found[0]
            .matched
            .starts_with("at com.example.api.UserService.find"));
        assert!(found[0].matched.ends_with("(UserController.java:17)"));
        let body = serde_json::to_string(&json!({"trace": trace})).unwrap();
        assert!(body.contains("\\n\\tat "));
        assert_eq!(kinds(&debug(&body)), [DebugKind::JavaStackTrace]);
        // One frame is not a stack trace.
        assert!(debug("\tat com.example.A.b(A.java:1)\n").is_empty());
        let spaced = "Exception\n    at com.example.A.b(A.java:1)\n    at sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\n";
        assert_eq!(kinds(&debug(spaced)), [DebugKind::JavaStackTrace]);
    }

    #[test]
    fn node_stack_traces() {
        let trace = "TypeError: Cannot read properties of undefined (reading 'id')\n    at getUser (/app/src/users.js:12:19)\n    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)";
        let found = debug(trace);
        assert_eq!(kinds(&found), [DebugKind::NodeStackTrace]);
        assert!(found[0].matched.starts_with("at getUser"));
        let body = serde_json::to_string(&json!({"stack": trace})).unwrap();
        assert_eq!(kinds(&debug(&body)), [DebugKind::NodeStackTrace]);
        let anonymous =
            "Error: x\n    at /app/index.js:3:9\n    at Object.<anonymous> (/app/index.js:10:1)";
        assert_eq!(kinds(&debug(anonymous)), [DebugKind::NodeStackTrace]);
        assert!(debug("Error: x\n    at getUser (/app/src/users.js:12:19)").is_empty());
    }

    #[test]
    fn rails_aspnet_php() {
        assert_eq!(
            kinds(&debug(
                "<h1>Routing Error</h1><p>No route matches [GET] \"/x\"</p><p>Rails.root: /app</p>"
            )),
            [DebugKind::RailsError]
        );
        assert_eq!(
            kinds(&debug(
                "ActionController::RoutingError (No route matches [GET] \"/x\")"
            )),
            [DebugKind::RailsError]
        );
        assert_eq!(
            kinds(&debug(
                "<h1>Server Error in '/' Application.<hr width=100% size=1 color=silver></h1>"
            )),
            [DebugKind::AspNetYsod]
        );
        assert_eq!(
            kinds(&debug(
                "<span><H1>Server Error in &#39;/api&#39; Application.</H1></span>"
            )),
            [DebugKind::AspNetYsod]
        );
        assert_eq!(
            kinds(&debug(
                "<h1>An unhandled exception occurred while processing the request.</h1>"
            )),
            [DebugKind::AspNetYsod]
        );
        let php = "<br />\n<b>Fatal error</b>:  Uncaught Exception: boom in /var/www/html/index.php:3\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/html/index.php</b> on line <b>3</b><br />";
        let found = debug(php);
        assert_eq!(kinds(&found), [DebugKind::PhpError]);
        assert!(found[0].matched.starts_with("<b>Fatal error</b>:"));
        assert_eq!(
            kinds(&debug(
                "<b>Warning</b>:  Undefined variable $x in <b>/var/www/a.php</b> on line <b>7</b>"
            )),
            [DebugKind::PhpError]
        );
        assert_eq!(
            kinds(&debug(
                r#"{"error": "PDOException\nStack trace:\n#0 /var/www/db.php(12): PDO->query()"}"#
            )),
            [DebugKind::PhpError]
        );
    }

    #[test]
    fn sql_errors() {
        for body in [
            "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version",
            "ORA-00933: SQL command not properly ended",
            "PG::SyntaxError: ERROR:  syntax error at or near \"'\"",
            "psycopg2.errors.UndefinedTable: relation \"users\" does not exist",
            "sqlite3.OperationalError: near \"'\": syntax error",
            "SQLSTATE[42000]: Syntax error or access violation",
            "Unclosed quotation mark after the character string ''.",
            "sqlalchemy.exc.ProgrammingError: (psycopg2.ProgrammingError)",
        ] {
            let found = debug(body);
            assert_eq!(kinds(&found), [DebugKind::SqlError], "{body}");
        }
    }

    #[test]
    fn one_detection_per_kind_and_sorted() {
        let body = "ORA-00933: x\nORA-00942: y\nYou have an error in your SQL syntax\nbotocore.exceptions.ClientError";
        let found = debug(body);
        assert_eq!(
            kinds(&found),
            [DebugKind::SqlError, DebugKind::BotocoreClientError]
        );
        assert_eq!(found[0].matched, "ORA-00933: ");
    }

    #[test]
    fn static_and_binary_content_types_are_skipped() {
        let body = "Traceback (most recent call last):\n  File \"/app/x.py\", line 1, in f";
        assert!(!find_debug_output(body, Some("text/plain; charset=utf-8")).is_empty());
        assert!(!find_debug_output(body, Some("application/json")).is_empty());
        for ct in [
            "image/png",
            "application/octet-stream",
            "application/javascript; charset=utf-8",
            "text/css",
            "font/woff2",
        ] {
            assert!(find_debug_output(body, Some(ct)).is_empty(), "{ct}");
        }
    }

    // -- all detectors on ordinary data ---------------------------------------

    #[test]
    fn ordinary_api_payload_is_clean_for_every_detector() {
        let cert = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
            pem_body()
        );
        let public = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            pem_body()
        );
        let body = json!({
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "request_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "commit": GIT_SHA,
            "etag": format!("W/\"{SHA256_HEX}\""),
            "created_at": "2024-01-01T12:34:56.789Z",
            "date": "2024-01-01",
            "updated_ms": 1_700_000_000_000u64,
            "nanos": 1_700_000_000_000_000_000u64,
            "order_number": "4000123412341235",
            "invoice": 4_916_123_412_341_235u64,
            "phone": "+1 (415) 555-0100",
            "phone2": "555-123-4567",
            "ip": "203.0.113.17",
            "ipv6": "2001:db8::8a2e:370:7334",
            "version": "2.31.0-rc.1+build.1234567890123",
            "price": "1234567890123.45",
            "ratio": 0.4111111111111111,
            "avatar": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
            "tls": {"certificate": cert, "public_key": public},
            "settings": {"password_policy": "min 12 chars", "password_min_length": 12,
                         "password_changed_at": "2024-02-02", "reset_password_url": "https://x.example/reset"},
            "debug": {"traceback": false, "error": null, "message": "no traceback available"},
            "text": "Error: see the traceback in the logs; SQL syntax is checked server-side.",
        })
        .to_string();
        let value: Value = serde_json::from_str(&body).unwrap();
        assert!(
            find_secrets(&body, Some(&value)).is_empty(),
            "{:?}",
            find_secrets(&body, Some(&value))
        );
        assert!(
            find_pii(&body, Some(&value)).is_empty(),
            "{:?}",
            find_pii(&body, Some(&value))
        );
        assert!(find_password_hashes(&body, Some(&value)).is_empty());
        assert!(find_debug_output(&body, Some("application/json")).is_empty());
        // Without the parsed JSON as well.
        assert!(find_secrets(&body, None).is_empty());
        assert!(
            find_pii(&body, None).is_empty(),
            "{:?}",
            find_pii(&body, None)
        );
        assert!(find_password_hashes(&body, None).is_empty());
    }

    // -- JSON field map ----------------------------------------------------------

    #[test]
    fn key_tokenizer() {
        fn tokens(k: &str) -> Vec<&str> {
            key_tokens(k).collect()
        }
        assert_eq!(tokens("userSSNLast4"), ["user", "SSN", "Last", "4"]);
        assert_eq!(tokens("created_at"), ["created", "at"]);
        assert_eq!(tokens("cardNumber"), ["card", "Number"]);
        assert_eq!(tokens("X-Api-Key"), ["X", "Api", "Key"]);
        assert_eq!(tokens("__"), Vec::<&str>::new());
        assert!(is_idlike_key("orderId") && is_idlike_key("ts") && !is_idlike_key("width"));
        assert!(is_card_key("ccNumber") && !is_card_key("accent"));
        assert!(
            is_ssn_key("SSN") && is_ssn_key("socialSecurityNumber") && !is_ssn_key("classname")
        );
        assert!(is_password_hash_key("hashedPassword") && !is_password_hash_key("passwordPolicy"));
    }

    #[test]
    fn fields_from_tokenizer_handle_nesting_escapes_and_wrappers() {
        let body = r#")]}',
{"a": {"k\"ey": "v1", "arr": [1, {"inner": "v2"}, "v3"]}, "n": -1.5e3}"#;
        let value: Value = serde_json::from_str(&body[6..]).unwrap();
        let fields = Fields::build(body, Some(&value)).unwrap();
        let pairs: Vec<(Option<&str>, &str)> = fields
            .leaves
            .iter()
            .map(|l| (fields.key(l), fields.text(l)))
            .collect();
        assert_eq!(
            pairs,
            [
                (Some("k\"ey"), "v1"),
                (Some("arr"), "1"),
                (Some("inner"), "v2"),
                (Some("arr"), "v3"),
                (Some("n"), "-1.5e3")
            ]
        );
    }

    #[test]
    fn fields_fall_back_to_the_parsed_value() {
        // The caller's value does not come from this exact text (e.g. a
        // pretty-printed copy): scalars are located by search.
        let body = "ssn was 536221234 and card 4111111111111111";
        let value = json!({"ssn": "536221234", "card": 4111111111111111u64});
        let found = find_pii(body, Some(&value));
        consistent(body, &found);
        assert_eq!(kinds(&found), [PiiKind::PaymentCard]);
        assert_eq!(found[0].field.as_deref(), Some("card"));
        // Strings must appear quoted to be located.
        let body = r#"value "536221234" here"#;
        let found = find_pii(body, Some(&value));
        assert_eq!(matched(&found), ["536221234"]);
        assert_eq!(found[0].field.as_deref(), Some("ssn"));
    }

    #[test]
    fn non_ascii_bodies_keep_char_boundaries() {
        let body = format!(
            r#"{{"名前": "José 🎉", "email": "josé@exämple.com", "card": "💳 4111111111111111 ✓", "k": "{AWS_ID}€", "pw": "ü"}}"#
        );
        let p = pii(&body);
        assert!(p.iter().any(|d| d.kind == PiiKind::PaymentCard));
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        hashes(&body);
        debug(&body);
        let t = "Traceback (most recent call last):".to_string() + &"é".repeat(3000);
        assert!(debug(&t).is_empty());
        let php = "<b>Fatal error</b>:".to_string() + &"ü".repeat(3000);
        assert!(debug(&php).is_empty());
        let key = "-----BEGIN PRIVATE KEY-----".to_string() + &"é".repeat(40000);
        assert!(secrets(&key).is_empty());
    }

    // -- masking ---------------------------------------------------------------

    #[test]
    fn masking_conventions() {
        assert_eq!(mask("aws-access-key-id", AWS_ID), "AKIA…[redacted]");
        assert_eq!(mask("AwsAccessKeyId", AWS_ID), "AKIA…[redacted]");
        assert_eq!(
            mask(SecretKind::AwsSecretAccessKey.label(), AWS_SECRET),
            "[redacted AWS secret access key]"
        );
        let pem = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
            pem_body()
        );
        assert_eq!(
            mask("private-key", &pem),
            "-----BEGIN RSA PRIVATE KEY-----…[redacted]"
        );
        assert_eq!(
            mask("PrivateKey", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc"),
            "-----BEGIN PGP PRIVATE KEY BLOCK-----…[redacted]"
        );
        assert_eq!(mask("jwt", JWT_IO), "eyJ…[redacted JWT]");
        assert_eq!(
            mask("api-token", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
            "ghp_…[redacted]"
        );
        assert_eq!(
            mask("GenericApiToken", "xoxb-123456789012-1234567890123-AbCd"),
            "xoxb-…[redacted]"
        );
        assert_eq!(
            mask("api-token", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            "sk_live_…[redacted]"
        );
        assert_eq!(mask("api-token", "SG.abc.def"), "SG.…[redacted]");
        assert_eq!(
            mask("api-token", "AIzaSyA-1234567890abcdefghijklmnopqrstu"),
            "AIza…[redacted]"
        );
        assert_eq!(mask("ssn", "536-22-1234"), "[redacted SSN]");
        assert_eq!(mask("UsSsn", "536221234"), "[redacted SSN]");
        assert_eq!(mask("card", "4539 1488 0343 6467"), "****6467");
        assert_eq!(mask("PaymentCard", "4539148803436467"), "****6467");
        assert_eq!(mask("email", "jane.doe@corp.example"), "j***@corp.example");
        assert_eq!(mask("email", "é@x.example"), "é***@x.example");
        assert_eq!(mask("bcrypt", BCRYPT), "$2b$12$…[redacted]");
        assert_eq!(
            mask(
                "argon2",
                "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
            ),
            "$argon2id$v=19$m=65536,t=3,p=4$…[redacted]"
        );
        assert_eq!(
            mask(
                "hash",
                "pbkdf2_sha256$600000$c2FsdA$LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE="
            ),
            "pbkdf2_sha256$600000$…[redacted]"
        );
        assert_eq!(
            mask("pbkdf2", "pbkdf2:sha256:600000$abcd$e3b0c442"),
            "pbkdf2:sha256:600000$…[redacted]"
        );
        assert_eq!(
            mask("scrypt", "scrypt$16384$kjGQ$8$1$Rdm2"),
            "scrypt$16384$…[redacted]"
        );
        assert_eq!(
            mask("ShaCrypt", "$6$rounds=5000$salt$abc"),
            "$6$rounds=5000$…[redacted]"
        );
        assert_eq!(
            mask("md5-crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"),
            "$1$…[redacted]"
        );
        assert_eq!(
            mask("hash", "5f4dcc3b5aa765d61d8327deb882cf99"),
            "[redacted 32-hex-digit digest]"
        );
        assert_eq!(
            mask("unsalted-hex", SHA256_HEX),
            "[redacted 64-hex-digit digest]"
        );
        assert_eq!(mask("clear-password", "hunter2"), "[redacted password]");
        assert_eq!(mask("ClearTextPassword", "hunter2"), "[redacted password]");
        assert_eq!(mask("sql-error", "ORA-00933:\n  x"), "ORA-00933: x");
        assert_eq!(
            mask("JavaStackTrace", "at a.B(B.java:1)\\n\\tat c.D(D.java:2)"),
            "at a.B(B.java:1) at c.D(D.java:2)"
        );
        let long = "x".repeat(500);
        assert_eq!(mask("python-traceback", &long).chars().count(), 201);
        assert_eq!(mask("something-else", "value"), "[redacted]");
        // Every kind's label is understood.
        for k in SecretKind::ALL {
            assert_ne!(mask(k.label(), "AKIAxxxxxxxx"), "[redacted]", "{k:?}");
        }
        for k in PiiKind::ALL {
            assert_ne!(mask(k.label(), "a@b.example 1234"), "[redacted]", "{k:?}");
        }
        for k in DebugKind::ALL {
            assert_eq!(mask(k.label(), "evidence"), "evidence", "{k:?}");
            assert_eq!(mask(&format!("{k:?}"), "evidence"), "evidence", "{k:?}");
        }
        for k in HashKind::ALL {
            assert_ne!(
                mask(k.label(), "5f4dcc3b5aa765d61d8327deb882cf99"),
                "[redacted]",
                "{k:?}"
            );
        }
    }

    // -- performance sanity ------------------------------------------------------

    #[test]
    fn large_bodies_finish() {
        const SIZE: usize = 2 * 1024 * 1024;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

        // Random-ish JSON records mixing every character class the detectors key on.
        let mut body = String::with_capacity(SIZE + 4096);
        body.push('[');
        let alphabet = b"abcdefABCDEF0123456789-_ .@$/+=:";
        while body.len() < SIZE {
            let n = rng.next() % 4;
            let text: String = (0..40 + rng.next() % 80)
                .map(|_| rng.pick(alphabet))
                .collect();
            body.push_str(&format!(
                r#"{{"id": {}, "email": "u{}@corp.example", "password": "{}", "note": "{}", "ts": 17000000{:05}}},"#,
                rng.next() % 10_000_000_000_000_000,
                rng.next() % 100_000,
                if n == 0 { "***" } else { "x" },
                text,
                rng.next() % 100_000
            ));
        }
        body.push_str("{}]");
        let value: Value = serde_json::from_str(&body).unwrap();
        let s = find_secrets(&body, Some(&value));
        let p = find_pii(&body, Some(&value));
        let h = find_password_hashes(&body, Some(&value));
        let d = find_debug_output(&body, Some("application/json"));
        consistent(&body, &s);
        consistent(&body, &p);
        consistent(&body, &h);
        consistent(&body, &d);
        assert!(p.iter().filter(|x| x.kind == PiiKind::Email).count() > BULK_EMAIL_THRESHOLD);
        find_pii(&body, None);

        // Adversarial runs: digits with separators, letters before '@',
        // repeated prefixes, dashes, dollar signs, frame-like text.
        let runs = [
            "1 ".repeat(SIZE / 2),
            "1-".repeat(SIZE / 2),
            "a".repeat(SIZE - 1) + "@",
            "a@".repeat(SIZE / 2),
            "123-45-".repeat(SIZE / 7),
            "$2b$12$".repeat(SIZE / 7),
            "AKIA".repeat(SIZE / 4),
            "eyJ".repeat(SIZE / 3),
            "-----BEGIN PRIVATE KEY-----".repeat(SIZE / 27),
            "Traceback (most recent call last):".repeat(SIZE / 34),
            "\n    at x (/a.js:1:1)".repeat(SIZE / 21),
            "<b>Fatal error</b>:".repeat(SIZE / 19),
            "[".repeat(SIZE),
            "\"".repeat(SIZE),
            "A".repeat(SIZE),
        ];
        for body in &runs {
            let value = Value::Null;
            consistent(body, &find_secrets(body, Some(&value)));
            consistent(body, &find_pii(body, Some(&value)));
            consistent(body, &find_password_hashes(body, Some(&value)));
            consistent(body, &find_debug_output(body, None));
        }

        // Random bytes of all kinds (lossy UTF-8, as a caller would pass).
        let bytes: Vec<u8> = (0..SIZE).map(|_| (rng.next() & 0xff) as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        consistent(&text, &find_secrets(&text, None));
        consistent(&text, &find_pii(&text, None));
        consistent(&text, &find_password_hashes(&text, None));
        consistent(&text, &find_debug_output(&text, None));
    }
}
