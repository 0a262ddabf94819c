//! The signed tokens in play, learned once: JWTs, Flask session cookies
//! and itsdangerous values in the identities' credentials, in responses
//! (`Set-Cookie`, JSON bodies) and in signed links; the public keys the API
//! publishes (a JWKS, a PEM); the endpoints where a token's worth can be
//! tested; and — when a check needs them — the HMAC secrets recovered
//! offline ([`crate::tokens::crack`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use url::Url;

use super::{signed_links, visit_leaves, Baselines};
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::{Caller, Engine, Exchange, Probe};
use crate::tokens::crack::{self, Budget, Scheme, Target};
use crate::tokens::itsdangerous::Signed;
use crate::tokens::jwt::Jwt;
use crate::tokens::keys::PublicKey;
use crate::tokens::masked;

/// Where a token was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// An identity authenticates with it: in `header` (in cookie `cookie`
    /// of a `Cookie` header).
    Credential {
        identity: String,
        header: String,
        cookie: Option<String>,
    },
    /// Set as cookie `name` by a response to `caller`.
    SetCookie {
        caller: Caller,
        name: String,
        endpoint: String,
    },
    /// In JSON field `field` of a response to `caller`.
    Body {
        caller: Caller,
        field: String,
        endpoint: String,
    },
    /// The token parameter of a signed link `owner` received.
    Link {
        owner: String,
        url: Url,
        param: String,
        field: String,
    },
}

impl Place {
    /// How a report names it, e.g. "alice's Authorization header".
    pub fn describe(&self) -> String {
        match self {
            Place::Credential {
                identity,
                header,
                cookie: Some(cookie),
            } => format!("{identity}'s `{cookie}` cookie ({header} header)"),
            Place::Credential {
                identity, header, ..
            } => format!("{identity}'s `{header}` header"),
            Place::SetCookie {
                caller,
                name,
                endpoint,
            } => format!(
                "the `{name}` cookie set by {endpoint} for {}",
                caller.label()
            ),
            Place::Body {
                caller,
                field,
                endpoint,
            } => format!("field `{field}` of {endpoint} for {}", caller.label()),
            Place::Link {
                owner,
                param,
                field,
                ..
            } => format!("the `{param}` parameter of a signed link in `{field}` ({owner}'s)"),
        }
    }

    /// The cookie name, for cookies.
    pub fn cookie(&self) -> Option<&str> {
        match self {
            Place::Credential { cookie, .. } => cookie.as_deref(),
            Place::SetCookie { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// A token's format.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    Jwt(Jwt),
    /// An itsdangerous-signed value (a Flask session cookie among them).
    Signed(Signed),
}

/// A token seen during the scan.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenToken {
    pub format: Format,
    pub place: Place,
}

impl SeenToken {
    pub fn raw(&self) -> &str {
        match &self.format {
            Format::Jwt(jwt) => &jwt.raw,
            Format::Signed(signed) => &signed.raw,
        }
    }

    pub fn jwt(&self) -> Option<&Jwt> {
        match &self.format {
            Format::Jwt(jwt) => Some(jwt),
            Format::Signed(_) => None,
        }
    }

    pub fn signed(&self) -> Option<&Signed> {
        match &self.format {
            Format::Signed(signed) => Some(signed),
            Format::Jwt(_) => None,
        }
    }

    /// What kind of token, for a report ("HS256 JWT", "Flask session cookie").
    pub fn kind(&self) -> String {
        match &self.format {
            Format::Jwt(jwt) => format!("{} JWT", jwt.alg()),
            Format::Signed(signed)
                if self.place.cookie().is_some_and(|c| c.contains("session"))
                    && signed.timestamp.is_some() =>
            {
                "Flask session cookie".into()
            }
            Format::Signed(signed) if signed.timestamp.is_some() => {
                "timestamped itsdangerous token".into()
            }
            Format::Signed(_) => "itsdangerous-signed value".into(),
        }
    }

    /// The identity this token belongs to, when known.
    pub fn owner(&self) -> Option<&str> {
        match &self.place {
            Place::Credential { identity, .. } => Some(identity),
            Place::Link { owner, .. } => Some(owner),
            Place::SetCookie {
                caller: Caller::Identity(name),
                ..
            }
            | Place::Body {
                caller: Caller::Identity(name),
                ..
            } => Some(name),
            _ => None,
        }
    }

    /// The offline recovery targets for this token: one per hypothesis.
    pub fn crack_targets(&self) -> Vec<Target> {
        match &self.format {
            Format::Jwt(jwt) => jwt.crack_target().into_iter().collect(),
            Format::Signed(signed) => signed.crack_targets(self.place.cookie()),
        }
    }
}

/// A secret recovered offline, and what it signs.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// Index into [`TokenFacts::tokens`].
    pub token: usize,
    pub scheme: Scheme,
    /// Never printed: reports show [`Recovered::masked`].
    pub secret: Vec<u8>,
}

impl Recovered {
    pub fn masked(&self) -> String {
        masked(&self.secret)
    }
}

/// How the offline recovery went.
#[derive(Debug, Clone, Default)]
pub struct CrackSummary {
    /// Signatures attacked (one per hypothesis).
    pub targets: usize,
    pub tried: u64,
    pub total: u64,
    pub seconds: f64,
}

/// An endpoint whose answer depends on who asks: where a token's worth is
/// tested.
#[derive(Debug, Clone)]
pub struct ProbePoint {
    pub identity: String,
    /// The endpoint's template.
    pub template: String,
    /// Its concrete URL, without a cache buster.
    pub url: Url,
    /// The identity's baseline answer.
    pub genuine: Arc<Exchange>,
}

/// What the scan knows about the tokens in play.
#[derive(Debug, Clone, Default)]
pub struct TokenFacts {
    pub tokens: Vec<SeenToken>,
    pub keys: Vec<PublicKey>,
    /// Filled only when a check needs secrets ([`super::Needs::TOKEN_SECRETS`]).
    pub recovered: Vec<Recovered>,
    pub crack: Option<CrackSummary>,
    /// Per identity, up to three endpoints whose answer is its own, self
    /// endpoints (`/me`) first.
    pub probe_points: Vec<ProbePoint>,
    /// Every caller's baseline of each probe point's endpoint: (caller
    /// label, template) → answer.
    pub answers: Answers,
    /// Paths of logout operations the spec or the crawl found.
    pub logout_paths: Vec<String>,
}

impl TokenFacts {
    /// The identities' own tokens: those they authenticate with.
    pub fn credentials(&self) -> impl Iterator<Item = (usize, &SeenToken)> {
        self.tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t.place, Place::Credential { .. }))
    }

    /// The probe points of one identity.
    pub fn points_of(&self, identity: &str) -> Vec<&ProbePoint> {
        self.probe_points
            .iter()
            .filter(|p| p.identity == identity)
            .collect()
    }

    /// The baseline answer `caller` got at `template`.
    pub fn answer(&self, caller: &str, template: &str) -> Option<&Arc<Exchange>> {
        self.answers
            .get(&(caller.to_string(), template.to_string()))
    }

    /// The secret recovered for token `index`, if any.
    pub fn secret_of(&self, index: usize) -> Option<&Recovered> {
        self.recovered.iter().find(|r| r.token == index)
    }
}

/// What the offline recovery may try (`--wordlist`, `--crack-digits`).
#[derive(Debug, Clone, Default)]
pub struct CrackSettings {
    /// The user's words, from `--wordlist`.
    pub words: Vec<Vec<u8>>,
    /// Numbers of up to this many digits; `None` is the default (8, in
    /// every build).
    pub digits: Option<u8>,
}

impl CrackSettings {
    pub fn budget(&self) -> Budget {
        let defaults = Budget::default();
        Budget {
            words: self.words.clone(),
            digits: self
                .digits
                .map_or(defaults.digits, |d| d.min(crack::MAX_DIGITS)),
            ..defaults
        }
    }
}

/// Tokens inside one header value: a JWT anywhere, or per cookie pair.
fn tokens_in_header(name: &str, value: &str) -> Vec<(Format, Option<String>)> {
    let mut found = Vec::new();
    if name.eq_ignore_ascii_case("cookie") {
        for pair in value.split(';') {
            let Some((cookie, raw)) = pair.trim().split_once('=') else {
                continue;
            };
            if let Some(format) = format_of(raw) {
                found.push((format, Some(cookie.trim().to_string())));
            }
        }
        return found;
    }
    if let Some(jwt) = crate::tokens::jwt::find_all(value).into_iter().next() {
        found.push((Format::Jwt(jwt), None));
    } else {
        let bare = value.split_once(' ').map_or(value, |(_, token)| token);
        if let Some(signed) = Signed::parse(bare) {
            found.push((Format::Signed(signed), None));
        }
    }
    found
}

/// A whole value that is a token.
fn format_of(text: &str) -> Option<Format> {
    let text = text.trim().trim_matches('"');
    if let Some(jwt) = Jwt::parse(text) {
        return Some(Format::Jwt(jwt));
    }
    Signed::parse(text).map(Format::Signed)
}

fn push(tokens: &mut Vec<SeenToken>, format: Format, place: Place) {
    let token = SeenToken { format, place };
    if tokens.len() < 64 && !tokens.iter().any(|t| t.raw() == token.raw()) {
        tokens.push(token);
    }
}

/// The tokens in the identities' credentials and in every baseline answer.
pub fn harvest(engine: &Engine, baselines: &Baselines) -> Vec<SeenToken> {
    let mut tokens = Vec::new();
    for identity in engine.identities() {
        for (header, value) in &identity.headers {
            for (format, cookie) in tokens_in_header(header, value) {
                let place = Place::Credential {
                    identity: identity.name.clone(),
                    header: header.clone(),
                    cookie,
                };
                push(&mut tokens, format, place);
            }
        }
    }
    for exchange in baselines.each_read() {
        let caller = match &exchange.request.identity {
            Some(name) => Caller::Identity(name.clone()),
            None => Caller::Anonymous,
        };
        let endpoint = format!("{} {}", exchange.request.method, exchange.endpoint_path());
        for (cookie, raw) in exchange.set_cookies() {
            if let Some(format) = format_of(raw) {
                let place = Place::SetCookie {
                    caller: caller.clone(),
                    name: cookie.to_string(),
                    endpoint: endpoint.clone(),
                };
                push(&mut tokens, format, place);
            }
        }
        let Some(json) = exchange.body_json() else {
            continue;
        };
        let mut found = Vec::new();
        visit_leaves(json, 12, &mut |key, leaf| {
            if let Value::String(text) = leaf {
                if text.len() < 8192 {
                    if let Some(format) = format_of(text) {
                        found.push((key.unwrap_or("").to_string(), format));
                    }
                }
            }
            found.len() < 32
        });
        for (field, format) in found {
            let place = Place::Body {
                caller: caller.clone(),
                field,
                endpoint: endpoint.clone(),
            };
            push(&mut tokens, format, place);
        }
    }
    let mut links = Vec::new();
    for exchange in baselines.each_read() {
        signed_links::harvest_into(engine, &exchange, &mut links);
    }
    for link in links {
        let value = link
            .url
            .query_pairs()
            .find(|(n, _)| *n == link.signature_param)
            .map(|(_, v)| v.into_owned());
        if let Some(format) = value.as_deref().and_then(format_of) {
            let place = Place::Link {
                owner: link.owner.clone(),
                url: link.url.clone(),
                param: link.signature_param.clone(),
                field: link.field.clone(),
            };
            push(&mut tokens, format, place);
        }
    }
    tokens
}

/// A path whose last segments say it logs the caller out.
pub fn is_logout_path(path: &str) -> bool {
    path.rsplit('/')
        .filter(|s| !s.is_empty())
        .take(2)
        .any(|segment| {
            matches!(
                segment.to_ascii_lowercase().as_str(),
                "logout" | "signout" | "sign-out" | "log-out" | "logoff"
            )
        })
}

fn is_self_path(path: &str) -> bool {
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    matches!(
        last.to_ascii_lowercase().as_str(),
        "me" | "self" | "whoami" | "profile" | "account" | "current" | "userinfo" | "session"
    )
}

/// Every caller's baseline answer by (caller label, endpoint template).
pub type Answers = BTreeMap<(String, String), Arc<Exchange>>;

/// Endpoints whose answer belongs to the caller: a read-only endpoint
/// without path parameters where an identity got JSON data that the
/// anonymous caller did not.
pub fn probe_points(endpoints: &[Endpoint], baselines: &Baselines) -> (Vec<ProbePoint>, Answers) {
    let mut points = Vec::new();
    let mut answers = BTreeMap::new();
    let mut candidates: Vec<&Endpoint> = endpoints
        .iter()
        .filter(|e| {
            e.is_read_only()
                && !e
                    .parameters
                    .iter()
                    .any(|p| p.location == ParamLocation::Path)
        })
        .collect();
    candidates.sort_by_key(|e| !is_self_path(&e.path));
    for endpoint in candidates {
        let Some(exchanges) = baselines.get(&endpoint.label()) else {
            continue;
        };
        let anonymous = exchanges.iter().find(|e| e.request.identity.is_none());
        for exchange in exchanges {
            let label = exchange
                .request
                .identity
                .clone()
                .unwrap_or_else(|| "anonymous".into());
            answers.insert((label, endpoint.path.clone()), Arc::clone(exchange));
            let Some(identity) = &exchange.request.identity else {
                continue;
            };
            let private = anonymous.is_none_or(|anon| {
                !crate::checks::probe::same_response(exchange, anon)
                    && !(200..300).contains(&anon.response.status)
            });
            let Ok(url) = Url::parse(&exchange.request.url) else {
                continue;
            };
            if crate::checks::probe::success_json(exchange)
                && private
                && points
                    .iter()
                    .filter(|p: &&ProbePoint| &p.identity == identity)
                    .count()
                    < 3
            {
                points.push(ProbePoint {
                    identity: identity.clone(),
                    template: endpoint.path.clone(),
                    url: crate::engine::buster::without_buster(&url),
                    genuine: Arc::clone(exchange),
                });
            }
        }
    }
    (points, answers)
}

/// Paths where APIs publish their signing keys.
const KEY_PATHS: &[&str] = &[
    "/.well-known/jwks.json",
    "/.well-known/openid-configuration",
    "/jwks.json",
    "/.well-known/jwks",
];

fn keys_in(exchange: &Exchange, source: &str) -> Vec<PublicKey> {
    if !(200..300).contains(&exchange.response.status) {
        return Vec::new();
    }
    if let Some(json) = exchange.body_json() {
        let keys = PublicKey::from_jwks(json, source);
        if !keys.is_empty() {
            return keys;
        }
    }
    PublicKey::from_pem_text(exchange.body_text(), source)
}

/// The public keys the API publishes: in answers the scan already has,
/// then at the usual places (and an OpenID configuration's `jwks_uri`).
/// Sends requests only when an identity's token is signed with a public
/// key and no key was seen yet.
pub async fn published_keys(
    engine: &Engine,
    endpoints: &[Endpoint],
    baselines: &Baselines,
    tokens: &[SeenToken],
) -> Vec<PublicKey> {
    let asymmetric = tokens
        .iter()
        .any(|t| t.jwt().is_some_and(Jwt::is_asymmetric));
    if !asymmetric {
        return Vec::new();
    }
    let mut keys: Vec<PublicKey> = Vec::new();
    for exchange in baselines.each_read() {
        let source = format!("GET {}", exchange.endpoint_path());
        for key in keys_in(&exchange, &source) {
            if !keys.iter().any(|k| k.spki == key.spki) {
                keys.push(key);
            }
        }
    }
    if !keys.is_empty() {
        return keys;
    }
    let mut paths: Vec<String> = KEY_PATHS.iter().map(|p| p.to_string()).collect();
    for endpoint in endpoints {
        let lower = endpoint.path.to_ascii_lowercase();
        let declared = ["jwks", "certs", "public-key", "publickey", "pubkey", ".pem"]
            .iter()
            .any(|w| lower.contains(w));
        if declared
            && endpoint.is_read_only()
            && !endpoint.path.contains('{')
            && !paths.contains(&endpoint.path)
        {
            paths.push(endpoint.path.clone());
        }
    }
    let mut queue: Vec<Url> = paths
        .iter()
        .filter_map(|p| engine.url_for(p).ok())
        .collect();
    let mut fetched = 0;
    while let Some(url) = queue.first().cloned() {
        queue.remove(0);
        fetched += 1;
        if fetched > 8 {
            break;
        }
        let Ok(exchange) = engine.send(Probe::get(engine.buster().bust(&url))).await else {
            continue;
        };
        let source = format!("GET {}", url.path());
        for key in keys_in(&exchange, &source) {
            if !keys.iter().any(|k| k.spki == key.spki) {
                keys.push(key);
            }
        }
        let jwks_uri = exchange
            .body_json()
            .and_then(|json| json.get("jwks_uri"))
            .and_then(Value::as_str)
            .and_then(|uri| url.join(uri).ok())
            .filter(|uri| engine.scope().contains(uri));
        if let Some(uri) = jwks_uri {
            queue.insert(0, uri);
        }
    }
    keys
}

/// One representative per group of tokens that are likely signed with
/// the same secret (same format and header, same cookie or parameter).
fn representatives(tokens: &[SeenToken]) -> Vec<usize> {
    let mut seen: Vec<String> = Vec::new();
    let mut chosen = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        if token.crack_targets().is_empty() {
            continue;
        }
        let group = match (&token.format, &token.place) {
            (Format::Jwt(jwt), _) => format!("jwt {}", jwt.header_segment),
            (Format::Signed(_), Place::Link { param, .. }) => format!("link {param}"),
            (Format::Signed(s), place) => {
                format!("signed {:?} {}", place.cookie(), s.timestamp.is_some())
            }
        };
        if !seen.contains(&group) {
            seen.push(group);
            chosen.push(index);
        }
    }
    chosen
}

/// Recovers the secrets of the tokens' HMAC signatures offline, on every
/// core, reporting progress to `notes`; every secret found is registered
/// with the engine's redactor before anything can print it.
pub async fn recover_secrets(
    engine: &Engine,
    tokens: &[SeenToken],
    settings: &CrackSettings,
    notes: &(dyn Fn(&str) + Sync),
) -> (Vec<Recovered>, Option<CrackSummary>) {
    let chosen = representatives(tokens);
    let mut targets: Vec<Target> = Vec::new();
    let mut owners: Vec<usize> = Vec::new();
    for index in &chosen {
        for target in tokens[*index].crack_targets() {
            targets.push(target);
            owners.push(*index);
        }
    }
    if targets.is_empty() {
        return (Vec::new(), None);
    }
    let budget = settings.budget();
    notes(&format!(
        "token secrets: {} signature(s) of {} token(s), up to {} candidates on {} thread(s)",
        targets.len(),
        chosen.len(),
        crack::bundled_words().len()
            + budget.words.len()
            + (1..=budget.digits)
                .map(|d| 10usize.pow(u32::from(d)))
                .sum::<usize>(),
        budget.threads
    ));
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let work_targets = targets.clone();
    let job = tokio::task::spawn_blocking(move || {
        crack::recover(&work_targets, &budget, &|p| {
            let _ = progress_tx.send(format!(
                "token secrets: {:.1}M of {:.1}M candidates tried ({:.0}%), {:.1}M/s",
                p.tried as f64 / 1e6,
                p.total as f64 / 1e6,
                100.0 * p.tried as f64 / p.total.max(1) as f64,
                p.tried as f64 / p.elapsed.as_secs_f64().max(1e-9) / 1e6
            ));
        })
    });
    while let Some(note) = progress_rx.recv().await {
        notes(&note);
    }
    let Ok(outcome) = job.await else {
        return (Vec::new(), None);
    };
    let mut recovered: Vec<Recovered> = Vec::new();
    for ((target, token), secret) in targets.iter().zip(&owners).zip(&outcome.secrets) {
        let Some(secret) = secret else { continue };
        if recovered.iter().any(|r| r.token == *token) {
            continue;
        }
        recovered.push(Recovered {
            token: *token,
            scheme: target.scheme.clone(),
            secret: secret.clone(),
        });
    }
    // Tokens of the same group are usually signed with the same secret:
    // check each against the secrets found, which costs one MAC.
    let found = recovered.clone();
    for (index, token) in tokens.iter().enumerate() {
        if recovered.iter().any(|r| r.token == index) {
            continue;
        }
        let hit = token.crack_targets().into_iter().find_map(|target| {
            found
                .iter()
                .find(|r| {
                    crack::verify(
                        &target.scheme,
                        &r.secret,
                        &target.message,
                        &target.signature,
                    )
                })
                .map(|r| (target.scheme, r.secret.clone()))
        });
        if let Some((scheme, secret)) = hit {
            recovered.push(Recovered {
                token: index,
                scheme,
                secret,
            });
        }
    }
    for secret in &recovered {
        let text = String::from_utf8_lossy(&secret.secret).into_owned();
        engine.add_secret(&text, &format!("<recovered secret {}>", secret.masked()));
    }
    notes(&format!(
        "token secrets: {} recovered for {} token(s) after {} candidates in {:.1} s",
        found.len(),
        recovered.len(),
        outcome.tried,
        outcome.elapsed.as_secs_f64()
    ));
    let summary = CrackSummary {
        targets: targets.len(),
        tried: outcome.tried,
        total: outcome.total,
        seconds: outcome.elapsed.as_secs_f64(),
    };
    (recovered, Some(summary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::exchange;
    use crate::discover::EndpointSource;

    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwibmFtZSI6ImFsaWNlIn0.zt_M5YceJZlb9thUZyp6bDyEOjE8WPJMQ5ZpdAgFkOE";
    const SESSION: &str = "eyJ1c2VyX2lkIjoxfQ.aTIIFQ.c10QmH5qzb4x18EjsnTVGLdGgRU";

    #[test]
    fn logout_paths_are_recognised_by_their_segments() {
        for path in [
            "/api/logout",
            "/auth/sign-out",
            "/logout/",
            "/api/logout/all",
            "/users/me/logoff",
        ] {
            assert!(is_logout_path(path), "{path}");
        }
        for path in ["/api/login", "/api/catalogue", "/api/logouts-report/x/y"] {
            assert!(!is_logout_path(path), "{path}");
        }
    }

    #[test]
    fn tokens_are_found_in_bearer_headers_and_cookie_pairs() {
        let bearer = tokens_in_header("Authorization", &format!("Bearer {JWT}"));
        assert!(matches!(&bearer[..], [(Format::Jwt(j), None)] if j.raw == JWT));
        let cookies = tokens_in_header("Cookie", &format!("theme=dark; session={SESSION}"));
        assert!(
            matches!(&cookies[..], [(Format::Signed(s), Some(name))] if s.raw == SESSION && name == "session")
        );
        assert!(tokens_in_header("X-API-Key", "ak_live_123").is_empty());
    }

    #[test]
    fn tokens_in_answers_and_credentials_are_harvested_once_each() {
        let mut config =
            crate::engine::EngineConfig::new(Url::parse("http://127.0.0.1:9/").unwrap());
        config.identities = vec![crate::identity::Identity {
            name: "alice".into(),
            headers: vec![("Authorization".into(), format!("Bearer {JWT}"))],
        }];
        let engine = Engine::new(config).unwrap();
        let mut baselines = Baselines::new();
        let body = format!(r#"{{"token":"{JWT}","user":{{"name":"alice"}}}}"#);
        let cookie = format!("session={SESSION}; HttpOnly; Path=/");
        baselines.keep(
            "GET /api/me".into(),
            exchange(
                "http://127.0.0.1:9/api/me?rampart_cb=1",
                Some("alice"),
                200,
                &[("Set-Cookie", &cookie)],
                &body,
            ),
        );
        let tokens = harvest(&engine, &baselines);
        assert_eq!(tokens.len(), 2, "{tokens:?}");
        assert!(
            matches!(&tokens[0].place, Place::Credential { identity, .. } if identity == "alice")
        );
        assert_eq!(tokens[1].kind(), "Flask session cookie");
        assert_eq!(tokens[1].owner(), Some("alice"));
        assert_eq!(
            tokens[1].crack_targets().len(),
            1,
            "a session cookie: Flask's scheme only"
        );
        assert_eq!(tokens[0].place.describe(), "alice's `Authorization` header");
    }

    #[test]
    fn probe_points_are_private_json_answers_self_endpoints_first() {
        let me = Endpoint::discovered("/api/me", EndpointSource::Spec);
        let public = Endpoint::discovered("/api/products", EndpointSource::Spec);
        let orders = Endpoint::discovered("/api/orders", EndpointSource::Spec);
        let mut baselines = Baselines::new();
        let url = |p: &str| format!("http://h{p}?rampart_cb=9");
        // Each path's answer to alice, then to an anonymous caller.
        for (path, alice, anonymous) in [
            ("/api/orders", r#"[{"id":1}]"#, (401, r#"{"error":"no"}"#)),
            ("/api/products", r#"[{"id":1}]"#, (200, r#"[{"id":1}]"#)),
            ("/api/me", r#"{"name":"alice"}"#, (401, r#"{"error":"no"}"#)),
        ] {
            let label = format!("GET {path}");
            baselines.keep(
                label.clone(),
                exchange(&url(path), Some("alice"), 200, &[], alice),
            );
            let (status, body) = anonymous;
            baselines.keep(label, exchange(&url(path), None, status, &[], body));
        }
        let (points, answers) = probe_points(&[orders, public, me], &baselines);
        let templates: Vec<&str> = points.iter().map(|p| p.template.as_str()).collect();
        assert_eq!(templates, vec!["/api/me", "/api/orders"]);
        assert_eq!(points[0].url.as_str(), "http://h/api/me");
        assert!(answers.contains_key(&("anonymous".to_string(), "/api/me".to_string())));
    }

    #[test]
    fn secrets_of_a_group_are_recovered_once_and_checked_on_the_rest() {
        let make = |secret: &[u8], claims: &str| {
            let header = crate::tokens::b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
            let input = format!("{header}.{}", crate::tokens::b64url(claims.as_bytes()));
            let mac = crack::sign(
                &Scheme::Hmac(crack::Digest::Sha256),
                secret,
                input.as_bytes(),
            )
            .unwrap();
            Jwt::parse(&format!("{input}.{}", crate::tokens::b64url(&mac))).unwrap()
        };
        let credential = |who: &str| Place::Credential {
            identity: who.into(),
            header: "Authorization".into(),
            cookie: None,
        };
        let tokens = vec![
            SeenToken {
                format: Format::Jwt(make(b"secret", r#"{"sub":"1"}"#)),
                place: credential("alice"),
            },
            SeenToken {
                format: Format::Jwt(make(b"secret", r#"{"sub":"2"}"#)),
                place: credential("bob"),
            },
        ];
        assert_eq!(representatives(&tokens), vec![0]);
        let engine = crate::checks::probe::fixtures::engine();
        let settings = CrackSettings {
            words: Vec::new(),
            digits: Some(2),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (recovered, summary) =
            runtime.block_on(recover_secrets(&engine, &tokens, &settings, &|_| {}));
        assert_eq!(recovered.len(), 2);
        assert!(recovered.iter().all(|r| r.secret == b"secret"));
        assert_eq!(summary.map(|s| s.targets), Some(1));
        assert_eq!(
            engine.redactor().redact_supplied("the key is secret"),
            "the key is [redacted]"
        );
    }

    #[test]
    fn the_default_search_is_eight_digits_whatever_the_build() {
        assert_eq!(CrackSettings::default().budget().digits, 8);
        let asked = |digits| {
            CrackSettings {
                words: Vec::new(),
                digits: Some(digits),
            }
            .budget()
            .digits
        };
        assert_eq!(asked(4), 4);
        assert_eq!(asked(0), 0);
        assert_eq!(asked(12), crack::MAX_DIGITS);
    }
}
