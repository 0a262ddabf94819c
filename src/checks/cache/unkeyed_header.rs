//! Unkeyed header poisoning.
//!
//! Frameworks build absolute links, redirects and script URLs from headers
//! such as `X-Forwarded-Host` that a cache does not include in its key. An
//! attacker sends one request with `X-Forwarded-Host: evil.example`, the
//! cache stores the response that now points at the attacker's host, and
//! every later visitor of that URL receives it.
//!
//! Rampart guesses dozens of such inputs at once, Param-Miner style: a
//! broad catalogue of forwarding, rewrite, client-address, locale and
//! client headers plus common cookies, each with its own canary, in
//! batches; a batch that changes the answer's status is bisected down to
//! the header responsible (and a batch too large for the origin shrinks the
//! same way). Hosts are tried as canaries first, then as the target's own
//! host on another port and as `localhost`, which origins that allow-list
//! hosts still accept. Every candidate is then proven alone on a fresh key
//! and replayed on another.

use async_trait::async_trait;

use super::{
    in_batches, key_note, keyed, prove_poisoning, reflection_site, Attempt, Keyed, Proven, Taint,
};
use crate::checks::probe::reflects;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn};
use crate::discover::Endpoint;
use crate::engine::{EngineError, Exchange};
use crate::facts::cache_profile::Key;
use crate::facts::Needs;
use crate::finding::{Category, FindingDraft, Severity};

pub struct UnkeyedHeader;

pub static META: CheckMeta = CheckMeta {
    check: &UnkeyedHeader,
    id: "cache.unkeyed-header",
    category: Category::CachePoisoning,
    severity: Severity::High,
    summary: "Headers such as X-Forwarded-Host change a response the cache stores for everyone",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::CACHE_PROFILE,
};

/// How a header's value is written so that a reflection is recognisable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A host name (`X-Forwarded-Host`).
    Host,
    /// `Forwarded: host=…`.
    Forwarded,
    /// An absolute URL (`Referer`, `Origin`).
    Url,
    /// A path (`X-Original-URL`, `X-Forwarded-Prefix`).
    Path,
    /// A client address (`X-Forwarded-For`).
    Ip,
    /// A URL scheme (`X-Forwarded-Proto`): origins that take any word build
    /// `<word>://host/…` links.
    Scheme,
    /// A port (`X-Forwarded-Port`).
    Port,
    /// Free text (`Accept-Language`, `X-Api-Version`).
    Text,
    /// A browser's user agent with the canary inside.
    UserAgent,
    /// One cookie of the `Cookie` header, by name.
    Cookie,
}

/// Headers origins read and caches commonly leave out of their key (after
/// the public research on unkeyed inputs).
static HEADERS: &[(&str, Shape)] = &[
    ("X-Forwarded-Host", Shape::Host),
    ("X-Host", Shape::Host),
    ("X-Forwarded-Server", Shape::Host),
    ("X-Original-Host", Shape::Host),
    ("X-HTTP-Host-Override", Shape::Host),
    ("X-Backend-Host", Shape::Host),
    ("X-Proxy-Host", Shape::Host),
    ("X-Real-Host", Shape::Host),
    ("X-Forwarded-Hostname", Shape::Host),
    ("X-Original-Forwarded-Host", Shape::Host),
    ("Forwarded", Shape::Forwarded),
    ("Referer", Shape::Url),
    ("Origin", Shape::Url),
    ("X-Forwarded-Origin", Shape::Url),
    ("Base-Url", Shape::Url),
    ("X-Base-Url", Shape::Url),
    ("X-Wap-Profile", Shape::Url),
    ("X-Original-URL", Shape::Path),
    ("X-Rewrite-URL", Shape::Path),
    ("X-Original-URI", Shape::Path),
    ("X-Forwarded-Uri", Shape::Path),
    ("X-Forwarded-Path", Shape::Path),
    ("X-Forwarded-Prefix", Shape::Path),
    ("X-Envoy-Original-Path", Shape::Path),
    ("X-Override-URL", Shape::Path),
    ("X-Forwarded-Scheme", Shape::Scheme),
    ("X-Forwarded-Proto", Shape::Scheme),
    ("X-Forwarded-Protocol", Shape::Scheme),
    ("X-Url-Scheme", Shape::Scheme),
    ("X-Forwarded-Port", Shape::Port),
    ("X-Forwarded-For", Shape::Ip),
    ("X-Real-IP", Shape::Ip),
    ("X-Client-IP", Shape::Ip),
    ("True-Client-IP", Shape::Ip),
    ("CF-Connecting-IP", Shape::Ip),
    ("Fastly-Client-IP", Shape::Ip),
    ("X-Originating-IP", Shape::Ip),
    ("X-Remote-IP", Shape::Ip),
    ("X-Remote-Addr", Shape::Ip),
    ("X-Cluster-Client-IP", Shape::Ip),
    ("Client-IP", Shape::Ip),
    ("X-ProxyUser-Ip", Shape::Ip),
    ("Accept-Language", Shape::Text),
    ("X-Language", Shape::Text),
    ("X-Locale", Shape::Text),
    ("X-Country-Code", Shape::Text),
    ("CloudFront-Viewer-Country", Shape::Text),
    ("X-Api-Version", Shape::Text),
    ("Accept-Version", Shape::Text),
    ("X-Requested-With", Shape::Text),
    ("X-Device", Shape::Text),
    ("X-Theme", Shape::Text),
    ("X-Template", Shape::Text),
    ("User-Agent", Shape::UserAgent),
];

/// Cookies origins commonly read for presentation choices.
static COOKIES: &[&str] = &[
    "lang",
    "language",
    "locale",
    "currency",
    "country",
    "region",
    "theme",
    "timezone",
    "layout",
    "view",
    "device",
    "variant",
    "ab",
    "experiment",
    "template",
    "redirect",
    "return_to",
    "ref",
];

/// Values that turn a response into a redirect or an error rather than a
/// reflection: a scheme, port or TLS flag the origin redirects on, a path
/// it routes to. Two batches, since one header name takes one value.
static STATUS_VALUES: &[&[(&str, &str)]] = &[
    &[
        ("X-Forwarded-Scheme", "http"),
        ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Port", "1"),
        ("X-Forwarded-SSL", "off"),
        ("Front-End-Https", "off"),
        ("X-Url-Scheme", "http"),
        ("X-Original-URL", "/rampart-missing"),
        ("X-Rewrite-URL", "/rampart-missing"),
    ],
    &[
        ("X-Forwarded-Scheme", "https"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-SSL", "on"),
        ("Front-End-Https", "on"),
        ("X-Url-Scheme", "https"),
    ],
];

/// Headers per batch at first (halved where a batch changes the answer).
const BATCH: usize = 30;
/// Requests one endpoint's discovery may spend.
const DISCOVERY_BUDGET: usize = 48;

/// Which value a header gets in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// A canary: `rampart….invalid`, `/rampart…`, …
    Canary,
    /// The target's own host on a random port.
    OwnHostOtherPort,
    /// `localhost` on a random port.
    Localhost,
}

/// One guess: a header (or cookie) with a value and what shows it reflected.
#[derive(Debug, Clone)]
struct Guess {
    name: &'static str,
    shape: Shape,
    round: Round,
    value: String,
    shows: String,
}

impl Guess {
    fn header(&self) -> (String, String) {
        match self.shape {
            Shape::Cookie => ("Cookie".into(), format!("{}={}", self.name, self.value)),
            _ => (self.name.to_string(), self.value.clone()),
        }
    }
}

/// The headers a batch of guesses goes out with (cookies in one header).
fn batch_headers(guesses: &[Guess]) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let cookies: Vec<String> = guesses
        .iter()
        .filter(|g| g.shape == Shape::Cookie)
        .map(|g| format!("{}={}", g.name, g.value))
        .collect();
    headers.extend(
        guesses
            .iter()
            .filter(|g| g.shape != Shape::Cookie)
            .map(Guess::header),
    );
    if !cookies.is_empty() {
        headers.push(("Cookie".into(), cookies.join("; ")));
    }
    headers
}

/// A random port unlikely to appear in any page by chance.
fn random_port() -> u16 {
    fastrand::u16(20_000..60_000)
}

/// The guess for `name` in `round` with `canary`, or `None` when the
/// round does not apply to the shape.
fn guess(
    name: &'static str,
    shape: Shape,
    round: Round,
    canary: &str,
    host: &str,
) -> Option<Guess> {
    let made = |value: String, shows: String| {
        Some(Guess {
            name,
            shape,
            round,
            value,
            shows,
        })
    };
    let other_host = match round {
        Round::Canary => None,
        Round::OwnHostOtherPort => Some(format!("{host}:{}", random_port())),
        Round::Localhost => Some(format!("localhost:{}", random_port())),
    };
    match (shape, other_host) {
        (Shape::Host, None) => made(format!("{canary}.invalid"), canary.into()),
        (Shape::Host, Some(h)) => made(h.clone(), h),
        (Shape::Forwarded, None) => made(format!("host={canary}.invalid"), canary.into()),
        (Shape::Forwarded, Some(h)) => made(format!("host=\"{h}\""), h),
        (Shape::Url, None) => made(format!("https://{canary}.invalid/"), canary.into()),
        (Shape::Url, Some(h)) => made(format!("https://{h}/"), h),
        (_, Some(_)) => None,
        (Shape::Path, None) => made(format!("/{canary}"), canary.into()),
        (Shape::Ip, None) => {
            let ip = format!("198.18.{}.{}", fastrand::u8(1..255), fastrand::u8(1..255));
            made(ip.clone(), ip)
        }
        (Shape::Scheme, None) => made(canary.into(), canary.into()),
        (Shape::Port, None) => {
            let port = random_port().to_string();
            made(port.clone(), format!(":{port}"))
        }
        (Shape::Text, None) => made(canary.into(), canary.into()),
        (Shape::UserAgent, None) => made(
            format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 {canary}"),
            canary.into(),
        ),
        (Shape::Cookie, None) => made(canary.into(), canary.into()),
    }
}

/// The target's host name, for values that name it.
fn target_host(keyed: &Keyed<'_>) -> String {
    let target = keyed.engine().target();
    target.host_str().unwrap_or("localhost").to_string()
}

/// Every guess of a round, each with its own canary.
fn round_guesses(keyed: &Keyed<'_>, round: Round, only: Option<&[&str]>) -> Vec<Guess> {
    let host = target_host(keyed);
    let all = HEADERS
        .iter()
        .copied()
        .chain(COOKIES.iter().map(|c| (*c, Shape::Cookie)));
    all.filter(|(name, _)| only.is_none_or(|names| names.contains(name)))
        .filter_map(|(name, shape)| guess(name, shape, round, &keyed.canary(), &host))
        .collect()
}

/// Keeps the guesses of `batch` that `answer` reflects.
fn note(reflected: &mut Vec<Guess>, batch: &[Guess], answer: &Exchange) {
    for guess in batch {
        let new = !reflected.iter().any(|g| g.name == guess.name);
        if new && reflects(answer, &guess.shows) {
            reflected.push(guess.clone());
        }
    }
}

#[async_trait]
impl Check for UnkeyedHeader {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let keyed = keyed(ctx, endpoint)?;
        let reference = keyed.reference().cloned().ok_or(super::NO_REFERENCE)?;
        let reference_status = reference.response.status;
        let changed = |answer: &Exchange| answer.response.status != reference_status;
        let mut budget = DISCOVERY_BUDGET;
        let mut reflected: Vec<Guess> = Vec::new();
        let send = |key: &Key, batch: &[Guess]| keyed.request(key, &batch_headers(batch));
        let guesses = round_guesses(&keyed, Round::Canary, None);
        let mut status: Vec<(String, String)> = in_batches(
            &keyed,
            guesses,
            BATCH,
            &mut budget,
            send,
            |b, a| note(&mut reflected, b, a),
            changed,
        )
        .await?
        .iter()
        .map(Guess::header)
        .collect();
        // Hosts an allow-list may accept, for the host-like headers that did
        // not take a canary.
        for round in [Round::OwnHostOtherPort, Round::Localhost] {
            let hosts: Vec<&str> = HEADERS
                .iter()
                .filter(|(_, s)| matches!(s, Shape::Host | Shape::Forwarded | Shape::Url))
                .map(|(n, _)| *n)
                .filter(|n| !reflected.iter().any(|g| g.name == *n))
                .collect();
            let guesses: Vec<Guess> = round_guesses(&keyed, round, Some(&hosts))
                .into_iter()
                .filter(|g| !reflects(&reference, &g.shows))
                .collect();
            let seen = |b: &[Guess], a: &Exchange| note(&mut reflected, b, a);
            in_batches(&keyed, guesses, BATCH, &mut budget, send, seen, changed).await?;
        }
        for values in STATUS_VALUES {
            let values: Vec<(String, String)> = values
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            let send = |key: &Key, batch: &[(String, String)]| keyed.request(key, batch);
            for single in
                in_batches(&keyed, values, BATCH, &mut budget, send, |_, _| {}, changed).await?
            {
                if !status.contains(&single) {
                    status.push(single);
                }
            }
        }

        let mut drafts = Vec::new();
        for candidate in &reflected {
            if let Some(draft) = prove_reflection(&keyed, candidate).await? {
                drafts.push(draft);
            }
        }
        let changes_status = |status: u16| status != reference_status && status >= 300;
        for (header, value) in &status {
            let plan = |key: &Key, _: &str| {
                Some(Attempt {
                    attack: keyed.request(key, &[(header.clone(), value.clone())]),
                    victim: key.clone(),
                    shows: String::new(),
                })
            };
            let Some(proven) =
                prove_poisoning(&keyed, plan, Taint::Status(&changes_status)).await?
            else {
                continue;
            };
            drafts.push(status_draft(
                &keyed,
                &proven,
                header,
                value,
                reference_status,
            ));
        }
        Ok(drafts)
    }
}

/// Proves one reflected guess alone: each round writes the header with a
/// fresh canary (or a fresh port), then a clean visitor of that key.
async fn prove_reflection(
    keyed: &Keyed<'_>,
    candidate: &Guess,
) -> Result<Option<FindingDraft>, EngineError> {
    let host = target_host(keyed);
    let plan = |key: &Key, marker: &str| {
        let guess = guess(
            candidate.name,
            candidate.shape,
            candidate.round,
            marker,
            &host,
        )?;
        Some(Attempt {
            attack: keyed.request(key, &[guess.header()]),
            victim: key.clone(),
            shows: guess.shows,
        })
    };
    let Some(proven) = prove_poisoning(keyed, plan, Taint::Marker).await? else {
        return Ok(None);
    };
    let (header, _) = candidate.header();
    let shown = proven
        .attack
        .request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&header))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let what = match candidate.shape {
        Shape::Cookie => format!("the `{}` cookie", candidate.name),
        _ => format!("the {header} header"),
    };
    let site = reflection_site(&proven.victim, &proven.shows);
    let value_note = match candidate.round {
        Round::Canary => String::new(),
        Round::OwnHostOtherPort => {
            " (the target's own host on another port, which host allow-lists accept)".into()
        }
        Round::Localhost => {
            " (`localhost` on another port, which host allow-lists often accept)".into()
        }
    };
    let key = match candidate.shape {
        Shape::Cookie => format!("cookie-{}", candidate.name),
        _ => header.to_ascii_lowercase(),
    };
    Ok(Some(
        proven
            .draft(
                Severity::High,
                &format!("Attacker request with {header}: {shown}"),
                "Clean request to the same key receives the poisoned response",
            )
            .title(format!("Cache poisoned through {what}"))
            .description(format!(
                "The origin writes {what}{value_note} into {site} and the cache stores that answer without keying on it: \
                 a clean request to the same key received the attacker's value, twice, on two fresh keys. {}",
                key_note(keyed)
            ))
            .parameter(header)
            .key(key),
    ))
}

fn status_draft(
    keyed: &Keyed<'_>,
    proven: &Proven,
    header: &str,
    value: &str,
    clean: u16,
) -> FindingDraft {
    let status = proven.attack.response.status;
    let what = if (300..400).contains(&status) {
        "a redirect (a loop, or a visit elsewhere)"
    } else {
        "an error"
    };
    proven
        .draft(
            Severity::High,
            &format!("Attacker request with {header}: {value}"),
            "Clean request to the same key gets the attacker's answer",
        )
        .title(format!("Cache poisoned through the unkeyed {header} header"))
        .description(format!(
            "{header}: {value} turns the answer into HTTP {status} and the cache stores it under the key a clean request \
             uses (a fresh key still answers HTTP {clean}): visitors get {what}. {}",
            key_note(keyed)
        ))
        .parameter(header)
        .key(format!("{}-status", header.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guess_has_a_value_and_a_distinct_sign() {
        let canary = "rampartab12";
        for (name, shape) in HEADERS {
            let g = guess(name, *shape, Round::Canary, canary, "api.test").unwrap();
            assert!(!g.value.is_empty() && !g.shows.is_empty(), "{name}");
            assert!(
                g.value.contains(&g.shows) || g.shows.starts_with(':'),
                "{name}"
            );
        }
        let own = guess(
            "X-Forwarded-Host",
            Shape::Host,
            Round::OwnHostOtherPort,
            canary,
            "api.test",
        )
        .unwrap();
        assert!(own.value.starts_with("api.test:") && own.shows == own.value);
        assert!(guess("X-Real-IP", Shape::Ip, Round::Localhost, canary, "h").is_none());
        let names: std::collections::HashSet<&str> = HEADERS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), HEADERS.len(), "a header listed twice");
        assert!(HEADERS.len() >= 50);
    }

    #[test]
    fn cookies_travel_in_one_header_and_headers_alone() {
        let g = |name: &'static str, shape| {
            guess(name, shape, Round::Canary, "rampartc1", "h").unwrap()
        };
        let headers = batch_headers(&[
            g("lang", Shape::Cookie),
            g("X-Host", Shape::Host),
            g("theme", Shape::Cookie),
        ]);
        assert_eq!(
            headers,
            vec![
                ("X-Host".to_string(), "rampartc1.invalid".to_string()),
                (
                    "Cookie".to_string(),
                    "lang=rampartc1; theme=rampartc1".to_string()
                ),
            ]
        );
    }

    use crate::facts::cache_profile::fixture::{Config, Flaws, TestCache};

    #[tokio::test]
    async fn hosts_an_allow_list_accepts_and_scheme_redirects_are_found() {
        let flawed = Flaws {
            reflect_header: Some("x-forwarded-host"),
            // A canary host is refused; the target's own or localhost is not.
            allowed_hosts: &["127.0.0.1", "localhost"],
            scheme_redirect: true,
            ..Flaws::default()
        };
        let cache = TestCache::start(Config {
            flaws: flawed,
            ..Config::default()
        })
        .await;
        let report = cache.scan("cache.unkeyed-header").await;
        let host = report
            .findings
            .iter()
            .find(|f| f.head.parameter.as_deref() == Some("X-Forwarded-Host"))
            .unwrap_or_else(|| panic!("{:?}", report.findings));
        assert!(
            host.head.description.contains("on another port"),
            "{}",
            host.head.description
        );
        let redirect = report
            .findings
            .iter()
            .find(|f| f.head.parameter.as_deref() == Some("X-Forwarded-Proto"))
            .unwrap_or_else(|| panic!("{:?}", report.findings));
        assert_eq!(redirect.evidence[1].response.status, 301);
        assert!(
            redirect.head.description.contains("redirect"),
            "{}",
            redirect.head.description
        );

        let fixed = TestCache::start(Config::default()).await;
        let report = fixed.scan("cache.unkeyed-header").await;
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    mod on_the_shared_fixtures {
        use axum::http::HeaderMap;
        use axum::response::IntoResponse;
        use axum::response::Redirect;
        use axum::routing::get;
        use axum::Router;
        use serde_json::json;

        use super::super::*;
        use crate::checks::probe::fixtures::{
            marked_private, reply, scan, serve, Scanned, Setup, SharedCache,
        };

        /// An origin whose `/api/items` builds its links from
        /// `X-Forwarded-Host` and redirects to https when
        /// `X-Forwarded-Proto` says http.
        fn origin() -> Router {
            Router::new().route(
                "/api/items",
                get(|headers: HeaderMap| async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(String::from)
                    };
                    if header("x-forwarded-proto").as_deref() == Some("http") {
                        return Redirect::permanent("https://api.example.test/api/items")
                            .into_response();
                    }
                    let host = header("x-forwarded-host")
                        .or_else(|| header("host"))
                        .unwrap_or_default();
                    reply(
                        200,
                        json!({"items": [1], "next": format!("http://{host}/api/items?page=2")}),
                    )
                }),
            )
        }

        async fn run(app: Router) -> Scanned {
            let target = serve(app).await;
            scan(&META, &target, Setup::new(&[], &["GET /api/items"])).await
        }

        /// Keyed on the URL alone; stores redirects and errors too.
        const CDN: SharedCache = SharedCache {
            keyed_headers: &[],
            stores_errors: true,
        };

        #[tokio::test]
        async fn reflected_and_redirecting_headers_the_cache_ignores_are_reported() {
            let outcome = run(CDN.in_front_of(origin())).await;
            assert_eq!(
                outcome.keys(),
                ["x-forwarded-host", "x-forwarded-proto-status"],
                "{:#?}",
                outcome.drafts
            );
            let [reflected, redirected] = [&outcome.drafts[0], &outcome.drafts[1]];
            let victim = &reflected.evidence[1].exchange;
            assert!(victim.request_header("x-forwarded-host").is_none());
            assert!(
                victim.body_text().contains(".invalid/api/items"),
                "{}",
                victim.body_text()
            );
            assert!(
                redirected
                    .head
                    .description
                    .contains("turns the answer into HTTP 308"),
                "{}",
                redirected.head.description
            );
            assert_eq!(
                redirected.evidence[4].exchange.response.status, 200,
                "a fresh key still works"
            );
        }

        #[tokio::test]
        async fn keyed_headers_private_answers_or_no_cache_are_no_finding() {
            let keyed = SharedCache {
                keyed_headers: &["x-forwarded-host", "x-forwarded-proto"],
                stores_errors: true,
            };
            for (front, app) in [
                ("keyed on the headers", keyed.in_front_of(origin())),
                ("private answers", CDN.in_front_of(marked_private(origin()))),
                ("no cache", origin()),
            ] {
                let outcome = run(app).await;
                assert!(outcome.drafts.is_empty(), "{front}: {:#?}", outcome.drafts);
            }
        }
    }
}
