//! TEMPORARY minimal detectors — replaced by the full pattern library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind { AwsAccessKeyId, AwsSecretAccessKey, PrivateKey, Jwt, GenericApiToken }
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind { UsSsn, PaymentCard, Email }
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind { Bcrypt, Argon2, Scrypt, Pbkdf2, ShaCrypt, Md5Crypt, UnsaltedHexInPasswordField, ClearTextPassword }
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DebugKind { WerkzeugDebugger, PythonTraceback, BotocoreClientError, DjangoDebugPage, JavaStackTrace, NodeStackTrace, RailsError, AspNetYsod, PhpError, SqlError }
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection<K> { pub kind: K, pub matched: String, pub start: usize, pub end: usize, pub field: Option<String> }
pub const BULK_EMAIL_THRESHOLD: usize = 5;
pub fn find_secrets(_body: &str, _json: Option<&serde_json::Value>) -> Vec<Detection<SecretKind>> { Vec::new() }
pub fn find_pii(_body: &str, _json: Option<&serde_json::Value>) -> Vec<Detection<PiiKind>> { Vec::new() }
pub fn find_password_hashes(_body: &str, _json: Option<&serde_json::Value>) -> Vec<Detection<HashKind>> { Vec::new() }
pub fn find_debug_output(_body: &str, _ct: Option<&str>) -> Vec<Detection<DebugKind>> { Vec::new() }
pub fn mask_sensitive(text: &str) -> String { text.to_string() }
