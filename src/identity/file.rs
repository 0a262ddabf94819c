//! `--identity-file`: identities in TOML, with secrets read from the
//! environment (`env:VAR`) and identities that log in to get their token.
//!
//! ```toml
//! [[identity]]
//! name = "alice"
//! headers = { "X-API-Key" = "env:ALICE_KEY" }
//!
//! [[identity]]
//! name = "carol"
//! role = "admin"                      # optional: what carol may do
//! [identity.login]
//! path = "/api/login"                 # method defaults to POST
//! json = { username = "carol", password = "env:CAROL_PASSWORD" }
//! token_pointer = "/token"            # or token_header = "X-Auth-Token",
//!                                     # or token_cookie = "session"
//! send_header = "Authorization"       # default (`Cookie` for a cookie)
//! send_format = "Bearer {token}"      # default (`session={token}`)
//!
//! [[identity]]
//! name = "dave"
//! headers = { "X-Client-Id" = "dave" }
//! [identity.signing]                  # see `identity::signing` for every field
//! secret = "env:DAVE_HMAC_SECRET"
//! algorithm = "hmac-sha256"
//! timestamp_header = "X-Timestamp"
//! canonical = "{method}\n{path}\n{query}\n{timestamp}"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

use crate::files::{self, FileError};

use super::signing::{SigningEntry, SigningError, SigningRecipe};
use super::{parse_header, Identity};

/// What an identity file is called in messages.
const WHAT: &str = "identity file";

#[derive(Debug, Error)]
pub enum IdentityFileError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("identity '{identity}' needs environment variable {var}, which is not set")]
    MissingEnv { identity: String, var: String },
    #[error("identity '{identity}': {message}")]
    Bad { identity: String, message: String },
    #[error("identity '{identity}': signing: {error}")]
    Signing {
        identity: String,
        error: SigningError,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    identity: Vec<IdentityEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityEntry {
    name: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    login: Option<LoginEntry>,
    signing: Option<SigningEntry>,
    /// What the identity may do in the API (`admin`, `customer`): the
    /// function-level checks try administrative operations as the least
    /// privileged identity.
    role: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginEntry {
    /// POST when not given.
    method: Option<String>,
    path: String,
    json: Option<toml::Table>,
    form: Option<BTreeMap<String, String>>,
    token_pointer: Option<String>,
    token_header: Option<String>,
    /// A session cookie the login sets (Flask-Login, Django, Express).
    token_cookie: Option<String>,
    /// `Authorization` when not given (`Cookie` for a session cookie).
    send_header: Option<String>,
    /// `Bearer {token}` when not given (`<name>={token}` for a cookie).
    send_format: Option<String>,
}

/// Where the token is in the login response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A JSON pointer into the body, e.g. `/token` or `/data/access_token`.
    JsonPointer(String),
    /// A response header.
    Header(String),
    /// A cookie the response sets (`Set-Cookie: <name>=<token>; …`).
    Cookie(String),
}

/// How an identity obtains (and renews) its credential.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginRecipe {
    pub method: String,
    pub path: String,
    /// The request body, already resolved, and its content type.
    pub body: String,
    pub content_type: &'static str,
    pub token: TokenSource,
    pub send_header: String,
    pub send_format: String,
    /// Values of the body that are secrets (passwords), for redaction.
    pub secrets: Vec<String>,
}

impl LoginRecipe {
    /// The header to send once `token` is known.
    pub fn header_for(&self, token: &str) -> (String, String) {
        (
            self.send_header.clone(),
            self.send_format.replace("{token}", token),
        )
    }
}

/// An identity from the file: fixed headers, plus a login recipe and a
/// signing recipe if any.
#[derive(Debug, Clone, PartialEq)]
pub struct FileIdentity {
    pub identity: Identity,
    pub login: Option<LoginRecipe>,
    pub signing: Option<SigningRecipe>,
    pub role: Option<String>,
}

fn resolve(
    identity: &str,
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, IdentityFileError> {
    match value.strip_prefix("env:") {
        Some(var) => env(var).ok_or_else(|| IdentityFileError::MissingEnv {
            identity: identity.to_string(),
            var: var.to_string(),
        }),
        None => Ok(value.to_string()),
    }
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["pass", "secret", "token", "key", "pin"]
        .iter()
        .any(|w| key.contains(w))
}

/// Reads an identity file; `env` looks up environment variables.
pub fn load(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<FileIdentity>, IdentityFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::read(WHAT, path, e))?;
    parse(&text, &path.display().to_string(), env)
}

pub fn parse(
    text: &str,
    shown: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<FileIdentity>, IdentityFileError> {
    let file: FileFormat = files::parse_toml(WHAT, text, Path::new(shown))?;
    let mut out = Vec::new();
    for entry in file.identity {
        let name = entry.name.clone();
        let bad = |message: &str| IdentityFileError::Bad {
            identity: name.clone(),
            message: message.to_string(),
        };
        let mut headers = Vec::new();
        for (header, value) in &entry.headers {
            let value = resolve(&name, value, env)?;
            let parsed = parse_header(&format!("{header}: {value}"))
                .ok_or_else(|| bad("a header name or value is malformed"))?;
            headers.push(parsed);
        }
        let login = match entry.login {
            None => None,
            Some(login) => {
                let mut secrets = Vec::new();
                let (body, content_type) = match (&login.json, &login.form) {
                    (Some(json), None) => {
                        let mut resolved = serde_json::Map::new();
                        for (key, value) in json {
                            let value = match value {
                                toml::Value::String(s) => {
                                    let v = resolve(&name, s, env)?;
                                    if s.starts_with("env:") || is_secret_key(key) {
                                        secrets.push(v.clone());
                                    }
                                    serde_json::Value::String(v)
                                }
                                other => serde_json::to_value(other)
                                    .map_err(|_| bad("login.json holds an unsupported value"))?,
                            };
                            resolved.insert(key.clone(), value);
                        }
                        (
                            serde_json::Value::Object(resolved).to_string(),
                            "application/json",
                        )
                    }
                    (None, Some(form)) => {
                        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
                        for (key, value) in form {
                            let v = resolve(&name, value, env)?;
                            if value.starts_with("env:") || is_secret_key(key) {
                                secrets.push(v.clone());
                            }
                            serializer.append_pair(key, &v);
                        }
                        (serializer.finish(), "application/x-www-form-urlencoded")
                    }
                    _ => return Err(bad("login needs exactly one of `json` or `form`")),
                };
                let token = match (login.token_pointer, login.token_header, login.token_cookie) {
                    (Some(pointer), None, None) => TokenSource::JsonPointer(pointer),
                    (None, Some(header), None) => TokenSource::Header(header),
                    (None, None, Some(cookie)) => TokenSource::Cookie(cookie),
                    _ => {
                        return Err(bad(
                            "login needs exactly one of `token_pointer`, `token_header` or `token_cookie`",
                        ))
                    }
                };
                // A session cookie goes back as a cookie; a token as a bearer.
                let (default_header, default_format) = match &token {
                    TokenSource::Cookie(name) => {
                        ("Cookie".to_string(), format!("{name}={{token}}"))
                    }
                    _ => ("Authorization".to_string(), "Bearer {token}".to_string()),
                };
                let send_format = login.send_format.unwrap_or(default_format);
                if !send_format.contains("{token}") {
                    return Err(bad("login.send_format must contain {token}"));
                }
                if !login.path.starts_with('/') {
                    return Err(bad("login.path must start with '/'"));
                }
                Some(LoginRecipe {
                    method: login
                        .method
                        .as_deref()
                        .unwrap_or("POST")
                        .to_ascii_uppercase(),
                    path: login.path,
                    body,
                    content_type,
                    token,
                    send_header: login.send_header.unwrap_or(default_header),
                    send_format,
                    secrets,
                })
            }
        };
        let signing = match &entry.signing {
            None => None,
            Some(signing) => {
                let secret = resolve(&name, &signing.secret, env)?;
                Some(
                    SigningRecipe::from_entry(signing, &secret).map_err(|error| {
                        IdentityFileError::Signing {
                            identity: name.clone(),
                            error,
                        }
                    })?,
                )
            }
        };
        if headers.is_empty() && login.is_none() && signing.is_none() {
            return Err(bad("needs `headers`, a `login` or a `signing` recipe"));
        }
        out.push(FileIdentity {
            identity: Identity { name, headers },
            login,
            signing,
            role: entry.role.filter(|r| !r.trim().is_empty()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        match var {
            "ALICE_KEY" => Some("ak_alice_secret".into()),
            "CAROL_PW" => Some("carol-secret-pw".into()),
            "DAVE_HMAC" => Some("dave-hmac-secret-9f2".into()),
            _ => None,
        }
    }

    /// One identity file for the tests: headers, a login recipe and two
    /// signing recipes, every secret an environment value.
    const IDENTITIES: &str = r#"
        [[identity]]
        name = "alice"
        headers = { "X-API-Key" = "env:ALICE_KEY" }

        [[identity]]
        name = "carol"
        [identity.login]
        path = "/api/login"
        json = { username = "carol", password = "env:CAROL_PW", remember = true }
        token_pointer = "/token"

        [[identity]]
        name = "dave"
        headers = { "X-Client-Id" = "dave" }
        [identity.signing]
        secret = "env:DAVE_HMAC"
        timestamp_header = "X-Timestamp"
        canonical = "{method}\n{path}\n{timestamp}"

        [[identity]]
        name = "erin"
        [identity.signing]
        secret = "env:DAVE_HMAC"
        algorithm = "hmac-sha1"
        encoding = "base64"
        header = "Authorization"
        prefix = "HMAC "
        canonical = "{method} {target}"
    "#;

    #[test]
    fn headers_and_login_recipes_resolve_environment_values() {
        let ids = parse(IDENTITIES, "ids.toml", &env).unwrap();
        assert_eq!(
            ids[0].identity.headers,
            vec![("X-API-Key".into(), "ak_alice_secret".into())]
        );
        let login = ids[1].login.as_ref().unwrap();
        assert_eq!(login.method, "POST");
        assert!(login.body.contains("carol-secret-pw"));
        assert_eq!(login.secrets, vec!["carol-secret-pw".to_string()]);
        assert_eq!(login.token, TokenSource::JsonPointer("/token".into()));
        assert_eq!(
            login.header_for("t1"),
            ("Authorization".into(), "Bearer t1".into())
        );
    }

    #[test]
    fn errors_name_the_problem_but_never_a_value() {
        let error = |text: &str| match parse(text, "f", &env) {
            Ok(_) => panic!("accepted: {text}"),
            Err(error) => error.to_string(),
        };
        let missing = error("[[identity]]\nname = \"a\"\nheaders = { X = \"env:NOPE\" }");
        assert!(missing.contains("NOPE"), "{missing}");
        let malformed = error("[[identity]]\nname = \"a\"\nheaders = { X = \"sk_live_leak\" \n");
        assert!(!malformed.contains("sk_live_leak"), "{malformed}");
        error("[[identity]]\nname = \"a\"\n[identity.login]\npath = \"/l\"\njson = {}\ntoken_pointer = \"/t\"\ntoken_header = \"X\"");
    }

    #[test]
    fn signing_recipes_resolve_their_secret_and_validate() {
        let ids = parse(IDENTITIES, "ids.toml", &env).unwrap();
        let recipe = ids[2].signing.as_ref().unwrap();
        assert_eq!(recipe.secret_text(), "dave-hmac-secret-9f2");
        assert_eq!(recipe.header, "X-Signature");
        assert_eq!(recipe.timestamp_header.as_deref(), Some("X-Timestamp"));
        assert!(recipe.signs_timestamp() && !recipe.signs_query());
        // A signing recipe alone is enough for an identity.
        assert!(ids[3].identity.headers.is_empty());
        assert_eq!(ids[3].signing.as_ref().unwrap().prefix, "HMAC ");
    }

    #[test]
    fn signing_errors_are_one_line_and_never_show_the_secret() {
        let base = |extra: &str| {
            format!(
                "[[identity]]\nname = \"dave\"\n[identity.signing]\nsecret = \"env:DAVE_HMAC\"\n{extra}"
            )
        };
        let cases = [
            (base("canonical = \"{method}{bogus}\""), "unknown placeholder {bogus}"),
            (
                base("algorithm = \"md5\"\ncanonical = \"{path}\""),
                "unknown algorithm 'md5'",
            ),
            (
                base("canonical = \"{timestamp}\""),
                "uses {timestamp} but `timestamp_header` is not set",
            ),
            (
                "[[identity]]\nname = \"dave\"\n[identity.signing]\nsecret = \"env:NOPE\"\ncanonical = \"{path}\"".to_string(),
                "needs environment variable NOPE",
            ),
            (base("canonical = \"{path}\"\ncolour = \"red\""), "unknown field `colour`"),
            (base("secret_encoding = \"hex\"\ncanonical = \"{path}\""), "not valid hex"),
        ];
        for (text, expected) in cases {
            let error = parse(&text, "ids.toml", &env).unwrap_err().to_string();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
            assert!(!error.contains('\n'), "{error:?}");
            assert!(!error.contains("dave-hmac-secret-9f2"), "{error:?}");
        }
    }
}
