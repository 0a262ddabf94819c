//! Unkeyed and cloaked query parameters.
//!
//! Caches often drop tracking parameters (`utm_*`, `fbclid`, `gclid`) from
//! the key while still passing them to the origin, and some leave the whole
//! query string out of the key. If the origin reflects such a parameter,
//! one attacker request poisons the entry every visitor of the plain URL
//! receives. Rampart guesses tracking and common parameters with a canary
//! each in one request, then proves each reflected one alone: the attack
//! adds it to a fresh key, a clean request without it gets the attacker's
//! value. The same marker also travels cloaked behind a `;`, in the body of
//! a GET, and in a differently cased or encoded spelling that a cache may
//! normalise into the visitor's key.

use async_trait::async_trait;
use url::Url;

use super::{in_batches, key_note, keyed, prove_poisoning, reflection_site, Attempt, Keyed};
use crate::checks::probe::reflects;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn};
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::buster::without_param;
use crate::engine::{Exchange, Probe};
use crate::facts::cache_profile::{Key, KeyComponent};
use crate::facts::Needs;
use crate::finding::{Category, FindingDraft, Severity};

pub struct UnkeyedParam;

pub static META: CheckMeta = CheckMeta {
    check: &UnkeyedParam,
    id: "cache.unkeyed-param",
    category: Category::CachePoisoning,
    severity: Severity::High,
    summary: "Query parameters excluded from the cache key but reflected by the origin",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::CACHE_PROFILE,
};

/// Tracking parameters caches and CDNs commonly drop from the key.
static EXCLUDED: &[&str] = &[
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "utm_id",
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "yclid",
    "igshid",
    "ttclid",
    "twclid",
    "_hsenc",
    "_hsmi",
    "ref_src",
    "callback",
    "jsonp",
];

/// Parameters origins commonly reflect (searches, languages, redirects),
/// worth guessing where the cache ignores the query altogether.
static COMMON: &[&str] = &[
    "q",
    "s",
    "search",
    "query",
    "term",
    "keyword",
    "lang",
    "locale",
    "ref",
    "redirect",
    "url",
    "next",
    "return",
    "returnUrl",
    "view",
    "theme",
    "format",
    "name",
    "preview",
    "template",
    "type",
    "sort",
    "filter",
    "category",
    "source",
    "debug",
];

/// Parameters the cloaking technique overrides.
const CLOAKED: [&str; 2] = ["callback", "jsonp"];

/// How a parameter carrying the attacker's marker reaches the origin
/// without reaching the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Technique {
    /// A parameter the cache leaves out of its key.
    Unkeyed,
    /// Parameter cloaking: `utm_content=x;callback=evil` is one parameter
    /// to a cache that splits on `&` only (and drops it from the key as
    /// utm_*), but a second `callback` to an origin that also splits on `;`.
    Cloaked,
    /// Fat GET: a GET with a JSON body the origin reads but the cache ignores.
    FatGet,
    /// Fat GET with a form-encoded body.
    FatGetForm,
    /// The value in upper case, for a cache that lower-cases its key.
    Case,
    /// The value with a percent-encoded letter, for a cache that decodes
    /// its key while the origin reflects what it was sent.
    Encoding,
}

/// `url` with `param` set to `value` (replacing any value it had), last.
fn with_param(url: &Url, param: &str, value: &str) -> Url {
    let mut out = without_param(url, param);
    out.query_pairs_mut().append_pair(param, value);
    out
}

/// `url` with `&raw` appended to its query as written (no re-encoding).
fn with_raw(url: &Url, raw: &str) -> Url {
    let mut out = url.clone();
    let query = match url.query() {
        Some(q) if !q.is_empty() => format!("{q}&{raw}"),
        _ => raw.to_string(),
    };
    out.set_query(Some(&query));
    out
}

impl Technique {
    /// The attacker's request putting `marker` into `param` on `key`, the
    /// key a visitor asks for, and what shows the attacker's input there.
    fn plan(self, keyed: &Keyed<'_>, key: &Key, param: &str, marker: &str) -> Option<Attempt> {
        let attempt = |url: Url, victim: Key, shows: String| {
            Some(Attempt {
                attack: keyed.request(
                    &Key {
                        url,
                        headers: key.headers.clone(),
                    },
                    &[],
                ),
                victim,
                shows,
            })
        };
        let victim_with = |value: &str| Key {
            url: with_param(&key.url, param, value),
            headers: key.headers.clone(),
        };
        match self {
            Technique::Unkeyed => attempt(
                with_param(&key.url, param, marker),
                key.clone(),
                marker.into(),
            ),
            Technique::Cloaked => {
                let victim = victim_with("rampartsafe");
                // Built by hand: the `;` must reach the wire unencoded.
                let url = with_raw(&victim.url, &format!("utm_content=x;{param}={marker}"));
                attempt(url, victim, marker.into())
            }
            Technique::FatGet | Technique::FatGetForm => {
                let (content_type, body) = if self == Technique::FatGet {
                    (
                        "application/json",
                        serde_json::json!({ param: marker }).to_string(),
                    )
                } else {
                    (
                        "application/x-www-form-urlencoded",
                        format!("{param}={marker}"),
                    )
                };
                let mut attack =
                    keyed.request(key, &[("Content-Type".into(), content_type.into())]);
                attack.body = Some(body.into());
                Some(Attempt {
                    attack,
                    victim: key.clone(),
                    shows: marker.into(),
                })
            }
            Technique::Case => {
                let upper = marker.to_ascii_uppercase();
                attempt(
                    with_param(&key.url, param, &upper),
                    victim_with(marker),
                    upper,
                )
            }
            Technique::Encoding => {
                // `rampart…` with its `r` sent as `%72`: only an origin that
                // reflects the raw query shows `%72ampart…`.
                let encoded = format!("%72{}", marker.get(1..)?);
                let url = with_raw(
                    &without_param(&key.url, param),
                    &format!("{param}={encoded}"),
                );
                attempt(url, victim_with(marker), encoded)
            }
        }
    }

    /// The finding for a poisoning that worked through `param`.
    fn draft(
        self,
        keyed: &Keyed<'_>,
        proven: &super::Proven,
        param: &str,
        query_unkeyed: bool,
    ) -> FindingDraft {
        let site = reflection_site(&proven.victim, &proven.shows);
        let (attack_step, victim_step, title, description, key) = match self {
            Technique::Unkeyed if query_unkeyed => (
                format!("Attacker request with {param}"),
                "Request with the visitor's query receives the poisoned response".to_string(),
                format!("Cache poisoned through the query string (`{param}`), which the cache leaves out of its key"),
                format!(
                    "The origin writes `{param}` into {site} but the cache keys this path without the query string: a \
                     request with another query received the attacker's value."
                ),
                format!("query-{param}"),
            ),
            Technique::Unkeyed => (
                format!("Attacker request with {param}"),
                "Request without the parameter receives the poisoned response".to_string(),
                format!("Cache poisoned through the unkeyed query parameter {param}"),
                format!(
                    "The origin writes `{param}` into {site} but the cache leaves it out of the key: the URL without the \
                     parameter received the attacker's value."
                ),
                param.to_string(),
            ),
            Technique::Cloaked => (
                format!("Attacker request with a cloaked {param}"),
                format!("Request with the legitimate {param} receives the attacker's"),
                format!("Cache poisoned through parameter cloaking of {param}"),
                format!(
                    "The cache reads `utm_content=x;{param}=…` as one unkeyed parameter, the origin as a second \
                     `{param}` that overrides the keyed one: the plain URL received the attacker's value."
                ),
                format!("cloaking-{param}"),
            ),
            Technique::FatGet | Technique::FatGetForm => (
                "Attacker GET with a body".to_string(),
                "Plain GET to the same URL".to_string(),
                format!("Cache poisoned through a GET body overriding {param} (fat GET)"),
                format!(
                    "The origin takes `{param}` from the body of a GET request, which the cache does not key on: a \
                     plain GET to the same URL received the value from the attacker's body."
                ),
                format!("fat-get-{param}"),
            ),
            Technique::Case => (
                format!("Attacker request with {param} in upper case"),
                format!("Request with {param} in lower case receives the upper-case value"),
                format!("Cache key normalisation: {param} in another case poisons the visitor's key"),
                format!(
                    "The cache lower-cases its key while the origin reflects `{param}` as sent: the attacker's \
                     upper-case value was stored under the key of the lower-case URL visitors use."
                ),
                format!("case-{param}"),
            ),
            Technique::Encoding => (
                format!("Attacker request with {param} percent-encoded"),
                format!("Request with {param} as plain text receives the encoded value"),
                format!("Cache key normalisation: an encoded {param} poisons the visitor's key"),
                format!(
                    "The cache decodes its key while the origin reflects `{param}` as sent: the attacker's encoded \
                     spelling was stored under the key of the plain URL visitors use."
                ),
                format!("encoding-{param}"),
            ),
        };
        proven
            .draft(Severity::High, &attack_step, &victim_step)
            .title(title)
            .description(format!("{description} {}", key_note(keyed)))
            .parameter(param)
            .key(key)
    }
}

/// Requests one endpoint's parameter discovery may spend.
const DISCOVERY_BUDGET: usize = 12;
/// Parameters per discovery request.
const BATCH: usize = 40;

#[async_trait]
impl Check for UnkeyedParam {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let keyed = keyed(ctx, endpoint)?;
        let reference = keyed.reference().cloned().ok_or(super::NO_REFERENCE)?;
        let query_unkeyed = keyed.component() != Some(&KeyComponent::Query);
        let known: Vec<String> = endpoint
            .parameters
            .iter()
            .filter(|p| p.location == ParamLocation::Query)
            .map(|p| p.name.clone())
            .chain(
                Url::parse(keyed.path.url.as_str())
                    .map(|u| {
                        u.query_pairs()
                            .map(|(k, _)| k.into_owned())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            )
            .collect();
        let mut names: Vec<String> = EXCLUDED.iter().map(|p| p.to_string()).collect();
        for name in known
            .iter()
            .cloned()
            .chain(COMMON.iter().map(|p| p.to_string()))
        {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        // Discovery: which parameters the origin reflects at all, a canary
        // each; a batch that fails is split.
        let guesses: Vec<(String, String)> =
            names.into_iter().map(|n| (n, keyed.canary())).collect();
        let mut reflected: Vec<String> = Vec::new();
        let mut budget = DISCOVERY_BUDGET;
        let send = |key: &Key, batch: &[(String, String)]| -> Probe {
            let mut url = key.url.clone();
            for (name, canary) in batch {
                url = with_param(&url, name, canary);
            }
            keyed.request(
                &Key {
                    url,
                    headers: key.headers.clone(),
                },
                &[],
            )
        };
        let seen = |batch: &[(String, String)], answer: &Exchange| {
            for (name, canary) in batch {
                if reflects(answer, canary) && !reflected.contains(name) {
                    reflected.push(name.clone());
                }
            }
        };
        let status = reference.response.status;
        in_batches(&keyed, guesses, BATCH, &mut budget, send, seen, |a| {
            a.response.status != status
        })
        .await?;

        let mut attempts: Vec<(Technique, String)> = Vec::new();
        for param in &reflected {
            attempts.push((Technique::Unkeyed, param.clone()));
        }
        for param in reflected.iter().map(String::as_str).chain(CLOAKED).take(4) {
            if !attempts.contains(&(Technique::Cloaked, param.to_string())) {
                attempts.push((Technique::Cloaked, param.to_string()));
            }
        }
        for param in known.iter().chain(&reflected) {
            for technique in [Technique::FatGet, Technique::FatGetForm] {
                if !attempts.contains(&(technique, param.clone())) {
                    attempts.push((technique, param.clone()));
                }
            }
        }
        for param in &reflected {
            attempts.push((Technique::Case, param.clone()));
            attempts.push((Technique::Encoding, param.clone()));
        }

        let mut drafts = Vec::new();
        let mut poisoned: Vec<String> = Vec::new();
        for (technique, param) in attempts {
            // One way in per parameter is enough: the first that works.
            if poisoned.contains(&param) && technique != Technique::Cloaked {
                continue;
            }
            let plan = |key: &Key, marker: &str| technique.plan(&keyed, key, &param, marker);
            if let Some(proven) = prove_poisoning(&keyed, plan, super::Taint::Marker).await? {
                drafts.push(technique.draft(&keyed, &proven, &param, query_unkeyed));
                poisoned.push(param);
            }
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_set_replaced_and_appended_raw() {
        let url = Url::parse("http://h/p?q=1&rampart_cb=9").unwrap();
        assert_eq!(
            with_param(&url, "q", "mk").as_str(),
            "http://h/p?rampart_cb=9&q=mk"
        );
        assert_eq!(
            with_param(&url, "x", "mk").as_str(),
            "http://h/p?q=1&rampart_cb=9&x=mk"
        );
        assert_eq!(
            with_raw(&url, "utm_content=x;callback=mk").as_str(),
            "http://h/p?q=1&rampart_cb=9&utm_content=x;callback=mk"
        );
        let bare = Url::parse("http://h/p").unwrap();
        assert_eq!(with_raw(&bare, "a=%72x").as_str(), "http://h/p?a=%72x");
    }

    #[test]
    fn the_lists_hold_no_duplicates() {
        for list in [EXCLUDED, COMMON] {
            let unique: std::collections::HashSet<&&str> = list.iter().collect();
            assert_eq!(unique.len(), list.len());
        }
    }

    use crate::checks::cache::Keyed;
    use crate::checks::probe::fixtures::{engine, exchange};
    use crate::discover::EndpointSource;
    use crate::facts::cache_profile::PathCache;

    #[test]
    fn each_technique_hides_the_marker_where_the_cache_does_not_look() {
        let engine = engine();
        let endpoint = Endpoint::discovered("/api/promo", EndpointSource::Crawl);
        let plain = engine.url_for("/api/promo").unwrap();
        let reference = exchange(plain.as_str(), None, 200, &[], "{}");
        let path = PathCache::keyed_for_tests(KeyComponent::Query, &plain, reference);
        let keyed = Keyed::for_tests(&engine, &endpoint, &path);
        let key = keyed.fresh().unwrap();
        let plan = |t: Technique| t.plan(&keyed, &key, "callback", "rampartmk").unwrap();

        let unkeyed = plan(Technique::Unkeyed);
        assert_eq!(
            unkeyed.attack.url.as_str(),
            format!("{}&callback=rampartmk", key.url)
        );
        assert_eq!(unkeyed.victim, key);

        let cloaked = plan(Technique::Cloaked);
        assert!(cloaked
            .victim
            .url
            .as_str()
            .ends_with("&callback=rampartsafe"));
        assert_eq!(
            cloaked.attack.url.as_str(),
            format!("{}&utm_content=x;callback=rampartmk", cloaked.victim.url)
        );

        let fat = plan(Technique::FatGet);
        assert_eq!(fat.attack.url, key.url);
        assert_eq!(fat.attack.method, "GET");
        assert_eq!(
            fat.attack.body.as_deref(),
            Some(&br#"{"callback":"rampartmk"}"#[..])
        );
        let form = plan(Technique::FatGetForm);
        assert_eq!(
            form.attack.body.as_deref(),
            Some(&b"callback=rampartmk"[..])
        );

        let case = plan(Technique::Case);
        assert!(case.attack.url.as_str().ends_with("callback=RAMPARTMK"));
        assert!(case.victim.url.as_str().ends_with("callback=rampartmk"));
        assert_eq!(case.shows, "RAMPARTMK");

        let encoded = plan(Technique::Encoding);
        assert!(
            encoded
                .attack
                .url
                .as_str()
                .ends_with("callback=%72ampartmk"),
            "{}",
            encoded.attack.url
        );
        assert!(encoded.victim.url.as_str().ends_with("callback=rampartmk"));
        // Every attempt works on the fresh key.
        for attempt in [unkeyed, cloaked, fat, case, encoded] {
            assert!(attempt.attack.url.as_str().contains("rampart_cb="));
        }
    }

    use crate::facts::cache_profile::fixture::{Config, Flaws, KeyRule, TestCache};

    async fn scan(key: KeyRule) -> crate::report::Report {
        let cache = TestCache::start(Config {
            key,
            flaws: Flaws {
                reflect_params: &["q"],
                ..Flaws::default()
            },
            paths: &["/", "/search"],
            links: &["/search?q=cache"],
            ..Config::default()
        })
        .await;
        cache.scan("cache.unkeyed-param").await
    }

    #[tokio::test]
    async fn caches_that_normalise_their_key_are_poisoned_by_another_spelling() {
        for (key, title, sent) in [
            (KeyRule::LowercasedUrl, "another case", "q=RAMPART"),
            (KeyRule::DecodedUrl, "encoded", "q=%72ampart"),
        ] {
            let report = scan(key).await;
            let found = report
                .findings
                .iter()
                .find(|f| f.head.title.contains(title));
            let found = found.unwrap_or_else(|| panic!("{key:?}: {:?}", report.findings));
            assert_eq!(found.head.parameter.as_deref(), Some("q"));
            assert!(found.evidence[0].request.url.contains(sent), "{key:?}");
        }

        // A cache that keys on the URL as sent: the origin still reflects
        // `q`, but no spelling of it reaches another key.
        let exact = scan(KeyRule::FullUrl).await;
        assert!(exact.findings.is_empty(), "{:?}", exact.findings);
    }
}
