//! What the target is built with, learned from what it shows: headers, error
//! pages and bodies. Every conclusion keeps the evidence that led to it, and a
//! target with no tell-tale sign stays unknown.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use serde::{Deserialize, Serialize};

use crate::engine::Exchange;
use crate::finding::Confidence;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    pub framework: Option<String>,
    pub server: Option<String>,
    pub technologies: Vec<String>,
    /// Why Rampart believes each part, and how strongly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Clue>,
    /// True when the user chose the stack with `--stack`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

/// One conclusion about the stack and what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clue {
    /// The framework, server or technology concluded, e.g. "flask".
    pub part: String,
    pub confidence: Confidence,
    /// What was seen, e.g. "'werkzeug' seen in GET / (server)".
    pub seen: String,
}

/// Where a rule looks: `header NAME`, `request-header` or `body`.
#[derive(Debug, Deserialize)]
#[serde(try_from = "String")]
enum Place {
    ResponseHeader(String),
    /// A header the scan itself sent (how the API authenticates).
    RequestHeaderName,
    Body,
}

impl TryFrom<String> for Place {
    type Error = String;
    fn try_from(place: String) -> Result<Self, String> {
        match place.split_once(' ') {
            Some(("header", name)) => Ok(ResponseHeader(name.trim().to_string())),
            None if place == "body" => Ok(Body),
            None if place == "request-header" => Ok(RequestHeaderName),
            _ => Err(format!("unknown place `{place}`")),
        }
    }
}

/// What a rule concludes: `framework:NAME`, `server:NAME` or `technology:NAME`.
#[derive(Debug, Deserialize)]
#[serde(try_from = "String")]
enum Conclusion {
    Framework(String),
    Server(String),
    Technology(String),
}

impl TryFrom<String> for Conclusion {
    type Error = String;
    fn try_from(conclusion: String) -> Result<Self, String> {
        match conclusion.split_once(':') {
            Some(("framework", name)) => Ok(Framework(name.to_string())),
            Some(("server", name)) => Ok(Server(name.to_string())),
            Some(("technology", name)) => Ok(Technology(name.to_string())),
            _ => Err(format!("unknown conclusion `{conclusion}`")),
        }
    }
}

/// How far a rule's tell-tale can be trusted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Strength {
    /// Headers and framework-specific texts.
    Firm,
    /// Shapes other software could produce too.
    Weak,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    place: Place,
    strength: Strength,
    /// Lower-case substring; empty means "the header is present".
    #[serde(default)]
    needle: String,
    conclusions: Vec<Conclusion>,
}

impl Rule {
    fn confidence(&self) -> Confidence {
        match self.strength {
            Strength::Firm => Confidence::Firm,
            Strength::Weak => Confidence::Tentative,
        }
    }
}

use Conclusion::{Framework, Server, Technology};
use Place::{Body, RequestHeaderName, ResponseHeader};

/// The fingerprints, as `rules.toml` lists them (most telling first: the
/// first rule to name a framework or server wins, technologies accumulate).
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    parse_rules(include_str!("rules.toml")).expect("stack/rules.toml is well-formed (tested)")
});

#[derive(Debug, Deserialize)]
struct RulesFile {
    rule: Vec<Rule>,
}

/// Why the rules file does not read.
#[derive(Debug, thiserror::Error)]
enum RuleError {
    #[error("stack rules: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("stack rules: rule {0} concludes nothing")]
    NoConclusion(usize),
}

fn parse_rules(text: &str) -> Result<Vec<Rule>, RuleError> {
    let rules = toml::from_str::<RulesFile>(text)?.rule;
    match rules.iter().position(|r| r.conclusions.is_empty()) {
        Some(index) => Err(RuleError::NoConclusion(index + 1)),
        None => Ok(rules),
    }
}

impl Stack {
    /// A stack the user named, e.g. `flask+dynamodb`.
    pub fn forced(spec: &str) -> Self {
        let mut parts = spec.split('+').map(|p| p.trim().to_ascii_lowercase());
        Stack {
            framework: parts.next().filter(|p| !p.is_empty() && p != "generic"),
            server: None,
            technologies: parts.filter(|p| !p.is_empty()).collect(),
            evidence: vec![Clue {
                part: spec.to_string(),
                confidence: Confidence::Confirmed,
                seen: format!("chosen with --stack {spec}"),
            }],
            forced: true,
        }
    }

    /// Fingerprints a target from the exchanges seen so far.
    pub fn fingerprint(exchanges: &[Arc<Exchange>]) -> Self {
        let mut fingerprinter = Fingerprinter::default();
        for exchange in exchanges {
            fingerprinter.see(exchange);
        }
        fingerprinter.finish()
    }

    /// Tokens that knowledge variants are keyed by.
    pub fn tokens(&self) -> Vec<String> {
        self.framework
            .iter()
            .chain(self.server.iter())
            .chain(self.technologies.iter())
            .cloned()
            .collect()
    }

    /// A `flask+dynamodb`-style label, or "unknown".
    pub fn label(&self) -> String {
        let tokens: Vec<String> = self
            .framework
            .iter()
            .chain(self.technologies.iter())
            .cloned()
            .collect();
        if tokens.is_empty() {
            "unknown".to_string()
        } else {
            tokens.join("+")
        }
    }
}

/// Fingerprints a target one exchange at a time, in the order the scan
/// saw them, so no exchange needs keeping for it: each rule keeps the first
/// exchange that matched it, as if every rule had looked at every exchange.
#[derive(Debug, Default)]
pub struct Fingerprinter {
    /// Where each rule (by index in `RULES`) first matched.
    hits: Vec<Option<String>>,
    /// The first sighting of each token technology.
    tokens: Vec<(&'static str, String)>,
}

impl Fingerprinter {
    pub fn see(&mut self, exchange: &Exchange) {
        if self.hits.is_empty() {
            self.hits = vec![None; RULES.len()];
        }
        // Lower-cased once: tell-tale text sits near the start of a body.
        let text = exchange.body_text();
        let mut end = text.len().min(BODY_PREFIX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let body = text[..end].to_ascii_lowercase();
        for (rule, hit) in RULES.iter().zip(self.hits.iter_mut()) {
            if hit.is_some() {
                continue;
            }
            let (label, found) = match &rule.place {
                ResponseHeader(name) => {
                    let found = exchange
                        .response
                        .headers
                        .iter()
                        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                        .any(|(_, v)| v.to_ascii_lowercase().contains(rule.needle.as_str()));
                    (name.to_string(), found)
                }
                RequestHeaderName => {
                    let found = exchange
                        .request
                        .headers
                        .iter()
                        .any(|(n, _)| n.to_ascii_lowercase().contains(rule.needle.as_str()));
                    ("request header".to_string(), found)
                }
                Body => ("body".to_string(), body.contains(rule.needle.as_str())),
            };
            if found {
                *hit = Some(format!(
                    "{} {} ({label})",
                    exchange.request.method,
                    exchange.endpoint_path()
                ));
            }
        }
        for (technology, seen) in token_hints(exchange, &body) {
            if !self.tokens.iter().any(|(t, _)| *t == technology) {
                self.tokens.push((technology, seen));
            }
        }
    }

    /// The stack, from what was seen.
    pub fn finish(self) -> Stack {
        let mut stack = Stack::default();
        for (rule, hit) in RULES.iter().zip(self.hits) {
            let Some(seen_at) = hit else { continue };
            for conclusion in &rule.conclusions {
                let added = match conclusion {
                    Framework(name) => set_once(&mut stack.framework, name),
                    Server(name) => set_once(&mut stack.server, name),
                    Technology(name) => {
                        let new = !stack.technologies.iter().any(|t| t == name);
                        if new {
                            stack.technologies.push(name.to_string());
                        }
                        new
                    }
                };
                if added {
                    let needle = if rule.needle.is_empty() {
                        "present"
                    } else {
                        &rule.needle
                    };
                    let part = match conclusion {
                        Framework(name) | Server(name) | Technology(name) => name,
                    };
                    stack.evidence.push(Clue {
                        part: part.to_string(),
                        confidence: rule.confidence(),
                        seen: format!("'{needle}' seen in {seen_at}"),
                    });
                }
            }
        }
        for (technology, seen) in self.tokens {
            if !stack.technologies.iter().any(|t| t == technology) {
                stack.technologies.push(technology.to_string());
                stack.evidence.push(Clue {
                    part: technology.to_string(),
                    confidence: Confidence::Firm,
                    seen,
                });
            }
        }
        stack
    }
}

fn set_once(slot: &mut Option<String>, value: &str) -> bool {
    if slot.is_none() {
        *slot = Some(value.to_string());
        true
    } else {
        false
    }
}

static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
        .expect("valid regex")
});
/// itsdangerous `payload.timestamp.signature` (HMAC-SHA1: 27 characters).
static ITSDANGEROUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^A-Za-z0-9_.-])\.?[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27}(?:$|[^A-Za-z0-9_-])")
        .expect("valid regex")
});

/// Technologies recognised by the shape of the tokens in play in one
/// exchange (`body`: its lower-cased prefix): JWTs and itsdangerous-signed
/// values (Flask sessions, signed URLs).
fn token_hints(exchange: &Exchange, body: &str) -> Vec<(&'static str, String)> {
    let mut hints = Vec::new();
    let sent = exchange.request.headers.iter().map(|(_, v)| v.as_str());
    let cookies = exchange.response.headers.all("set-cookie");
    let texts: Vec<&str> = sent.chain(cookies).chain(std::iter::once(body)).collect();
    let place = format!("{} {}", exchange.request.method, exchange.endpoint_path());
    // Bodies were lower-cased, which is fine for the shapes but not for
    // `eyJ`; the header texts keep their case.
    let jwt = texts.iter().find_map(|t| JWT.find(t)).or_else(|| {
        body.contains("eyj")
            .then(|| JWT.find(exchange.body_text()))
            .flatten()
    });
    if let Some(token) = jwt {
        let algorithm = jwt_algorithm(token.as_str())
            .map(|alg| format!(" (alg {alg})"))
            .unwrap_or_default();
        hints.push(("jwt", format!("a JWT{algorithm} seen in {place}")));
    }
    if texts.iter().any(|t| ITSDANGEROUS.is_match(t)) {
        hints.push((
            "itsdangerous",
            format!("an itsdangerous-signed value seen in {place}"),
        ));
    }
    hints
}

/// The `alg` of a JWT's header, e.g. "HS256" or "none"; only printable,
/// short values are believed.
fn jwt_algorithm(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let alg = json.get("alg")?.as_str()?;
    (alg.len() <= 16 && alg.chars().all(|c| c.is_ascii_alphanumeric())).then(|| alg.to_string())
}

/// How much of each body fingerprinting reads.
const BODY_PREFIX: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::{RecordedRequest, RecordedResponse};

    fn exchange(
        request_headers: &[(&str, &str)],
        response_headers: &[(&str, &str)],
        body: &str,
    ) -> Arc<Exchange> {
        let pairs = |h: &[(&str, &str)]| {
            h.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        Arc::new(Exchange::new(
            RecordedRequest {
                method: "GET".into(),
                url: "http://127.0.0.1/x".into(),
                headers: pairs(request_headers),
                body: None,
                identity: None,
            },
            RecordedResponse {
                status: 200,
                http_version: "HTTP/1.1",
                headers: response_headers.iter().copied().collect(),
                body: body.to_string().into(),
                truncated: false,
            },
            Duration::ZERO,
            None,
        ))
    }

    #[test]
    fn the_rules_file_reads_whole_and_a_malformed_rule_is_refused() {
        let text = include_str!("rules.toml");
        let rules = parse_rules(text).expect("well-formed");
        assert_eq!(rules.len(), text.matches("[[rule]]").count());
        assert!(matches!(&rules[0].place, ResponseHeader(name) if name == "server"));
        assert_eq!(rules[0].needle, "werkzeug");
        let rails = rules
            .iter()
            .find(|r| matches!(&r.place, ResponseHeader(name) if name == "x-runtime"))
            .expect("the rails rule");
        assert_eq!(
            (rails.needle.as_str(), rails.confidence()),
            ("", Confidence::Tentative)
        );
        let rule = |place: &str, strength: &str, conclusions: &str| {
            format!(
                "[[rule]]\nplace = \"{place}\"\nstrength = \"{strength}\"\nconclusions = [{conclusions}]\n"
            )
        };
        assert!(parse_rules(&rule("body", "firm", "\"framework:a\"")).is_ok());
        for (text, why) in [
            (rule("footer", "firm", "\"framework:a\""), "unknown place"),
            (rule("body", "strong", "\"framework:a\""), "unknown variant"),
            (rule("body", "firm", "\"language:a\""), "unknown conclusion"),
            (rule("body", "firm", ""), "concludes nothing"),
            (text.replace("needle", "pattern"), "unknown field"),
        ] {
            let error = parse_rules(&text).expect_err(why).to_string();
            assert!(error.contains(why), "{why}: {error}");
        }
    }

    #[test]
    fn nothing_tell_tale_means_unknown() {
        let stack = Stack::fingerprint(&[exchange(
            &[],
            &[("content-type", "application/json")],
            r#"{"ok":true}"#,
        )]);
        assert_eq!(stack.label(), "unknown");
        assert!(stack.framework.is_none() && stack.server.is_none() && stack.evidence.is_empty());
    }

    #[test]
    fn flask_dynamodb_api_keys_and_itsdangerous_are_recognised_with_evidence() {
        let stack = Stack::fingerprint(&[
            exchange(
                &[("X-API-Key", "k")],
                &[("Server", "Werkzeug/3.1.3 Python/3.11")],
                "{}",
            ),
            exchange(
                &[],
                &[],
                r#"{"error":"An error occurred (ValidationException) when calling the Query operation"}"#,
            ),
            exchange(
                &[],
                &[(
                    "Set-Cookie",
                    "session=eyJ1c2VyIjoiYWxpY2UifQ.ZmB3kA.3q2-9vYtX0bGm8Jk1uQ4r5s6t7w; HttpOnly",
                )],
                "{}",
            ),
        ]);
        assert_eq!(stack.framework.as_deref(), Some("flask"));
        assert_eq!(stack.server.as_deref(), Some("werkzeug"));
        for technology in ["dynamodb", "api-keys", "itsdangerous"] {
            assert!(
                stack.technologies.iter().any(|t| t == technology),
                "{technology}: {stack:?}"
            );
        }
        assert_eq!(stack.evidence.len(), 2 + 3);
        assert!(stack.tokens().contains(&"flask".to_string()));
    }

    #[test]
    fn other_frameworks_are_told_apart() {
        let express = Stack::fingerprint(&[exchange(&[], &[("X-Powered-By", "Express")], "")]);
        assert_eq!(express.framework.as_deref(), Some("express"));
        let spring = Stack::fingerprint(&[exchange(&[], &[], "<h1>Whitelabel Error Page</h1>")]);
        assert_eq!(spring.framework.as_deref(), Some("spring"));
        let fastapi = Stack::fingerprint(&[exchange(&[], &[], r#"{"detail":"Not Found"}"#)]);
        assert_eq!(fastapi.framework.as_deref(), Some("fastapi"));
        let drf = Stack::fingerprint(&[exchange(&[], &[], r#"{"detail":"Not found."}"#)]);
        assert_eq!(drf.framework.as_deref(), Some("django"));
        let go = Stack::fingerprint(&[exchange(&[], &[], "404 page not found\n")]);
        assert_eq!(go.framework.as_deref(), Some("go"));
        assert_eq!(go.evidence[0].confidence, Confidence::Tentative);
        let spring_json = Stack::fingerprint(&[exchange(
            &[],
            &[],
            r#"{"timestamp":"2026-01-01T00:00:00.000+00:00","status":404,"error":"Not Found","path":"/x"}"#,
        )]);
        assert_eq!(spring_json.framework.as_deref(), Some("spring"));
        let aspnet = Stack::fingerprint(&[exchange(
            &[],
            &[],
            r#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Not Found","status":404}"#,
        )]);
        assert_eq!(aspnet.framework.as_deref(), Some("aspnet"));
        let werkzeug_404 = Stack::fingerprint(&[exchange(
            &[],
            &[("Server", "nginx")],
            "<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>",
        )]);
        assert_eq!(werkzeug_404.framework.as_deref(), Some("flask"));
        assert_eq!(werkzeug_404.server.as_deref(), Some("nginx"));
        let jwt = Stack::fingerprint(&[exchange(
            &[(
                "Authorization",
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijklmnopqrstuv",
            )],
            &[],
            "",
        )]);
        assert_eq!(jwt.technologies, vec!["jwt"]);
    }

    #[test]
    fn jwt_algorithm_is_read_from_the_header() {
        // {"alg":"HS256","typ":"JWT"}
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(jwt_algorithm(token).as_deref(), Some("HS256"));
        let stack = Stack::fingerprint(&[exchange(
            &[("Authorization", &format!("Bearer {token}"))],
            &[],
            "",
        )]);
        let clue = stack
            .evidence
            .iter()
            .find(|c| c.part == "jwt")
            .expect("jwt clue");
        assert!(clue.seen.contains("alg HS256"), "{}", clue.seen);
        assert_eq!(jwt_algorithm("not-base64!.x.y"), None);
    }
}
