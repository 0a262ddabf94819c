//! Responses that vary by client class.
//!
//! Many sites answer phones, tablets, desktop browsers and bots differently
//! (another layout, other scripts, a redirect to `m.`), judged from the
//! `User-Agent`. A shared cache must then keep one entry per class — by
//! honouring `Vary: User-Agent` or by keying on a normalised device class —
//! or it hands whichever class came first to everyone: the mobile page to
//! desktops, a bot's stripped page to users. Rampart asks for each common
//! class on a fresh key to see whether the answers differ, then asks as one
//! class and immediately as another on the same fresh key: getting the
//! first class's answer proves the cache mixes them. Where the cache does
//! keep the classes apart but the answer carries no `Vary`, every other
//! cache on the way (a CDN added later, a corporate proxy) will not.

use async_trait::async_trait;

use super::{key_note, keyed, prove_poisoning, Attempt, Taint};
use crate::checks::probe::same_response;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Exchange;
use crate::facts::cache_profile::Key;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct ClientClass;

pub static META: CheckMeta = CheckMeta {
    check: &ClientClass,
    id: "cache.client-class",
    category: Category::CachePoisoning,
    severity: Severity::Medium,
    summary: "Responses that differ by browser or device class are cached for every class",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::CACHE_PROFILE,
};

/// The common client classes, each with a typical user agent.
static CLASSES: &[(&str, &str)] = &[
    (
        "desktop Chrome",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    ),
    (
        "desktop Firefox",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    ),
    (
        "desktop Safari",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    ),
    (
        "iPhone",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    ),
    (
        "Android phone",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    ),
    (
        "iPad",
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/604.1",
    ),
    (
        "search bot",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ),
];

fn user_agent(ua: &str) -> Vec<(String, String)> {
    vec![("User-Agent".to_string(), ua.to_string())]
}

/// The article a class name takes at the start of a sentence.
fn an(class: &str) -> &'static str {
    let vowel = class
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    if vowel {
        "An"
    } else {
        "A"
    }
}

/// `Vary` names the user agent (or everything).
fn varies_on_user_agent(exchange: &Exchange) -> bool {
    exchange
        .response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("vary"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .any(|v| v == "*" || v.eq_ignore_ascii_case("user-agent"))
}

#[async_trait]
impl Check for ClientClass {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let keyed = keyed(ctx, endpoint)?;
        // Each class on its own fresh key: what the origin gives each.
        let mut answers = Vec::new();
        for (class, ua) in CLASSES {
            let key = keyed.fresh().ok_or_else(super::out_of_keys)?;
            let answer = keyed
                .attack(keyed.request(&key, &user_agent(ua)))
                .await?
                .ok_or_else(super::out_of_keys)?;
            answers.push((*class, *ua, answer));
        }
        // A page that differs between two asks of one class is volatile:
        // differences say nothing about classes.
        let key = keyed.fresh().ok_or_else(super::out_of_keys)?;
        let (_, first_ua, first) = &answers[0];
        let again = keyed
            .visit(&Key {
                url: key.url,
                headers: [key.headers, user_agent(first_ua)].concat(),
            })
            .await?;
        if !same_response(first, &again) {
            return Err(Skip::Missing(
                "the page differs between two identical requests",
            ));
        }
        let Some((other, other_ua, other_answer)) = answers
            .iter()
            .find(|(_, _, answer)| !same_response(first, answer))
        else {
            return Ok(Vec::new());
        };
        let (first_class, first_ua) = (answers[0].0, answers[0].1);

        // The first class fills a fresh key; the other class asks next.
        let plan = |key: &Key, _: &str| {
            Some(Attempt {
                attack: keyed.request(key, &user_agent(first_ua)),
                victim: Key {
                    url: key.url.clone(),
                    headers: [key.headers.clone(), user_agent(other_ua)].concat(),
                },
                shows: String::new(),
            })
        };
        if let Some(proven) = prove_poisoning(&keyed, plan, Taint::SameAnswer).await? {
            let draft = proven
                .draft(
                    Severity::Medium,
                    &format!("{} {first_class} browser asks for a fresh key", an(first_class)),
                    &format!("{} {other} browser asks for the same key and gets the {first_class} answer", an(other)),
                )
                .evidence(format!("{} {other} browser's own answer, on a fresh key", an(other)), other_answer, None)
                .title(format!(
                    "Cache serves the {first_class} version of the page to {other} browsers"
                ))
                .description(format!(
                    "The origin answers {first_class} and {other} browsers differently, but the cache keeps one entry \
                     for both: whichever class asks first decides what every other class gets, and an attacker can \
                     choose by asking first with that user agent. {}",
                    key_note(&keyed)
                ))
                .parameter("User-Agent")
                .key("class-mixed");
            return Ok(vec![draft]);
        }
        let unvaried: Vec<&str> = answers
            .iter()
            .filter(|(_, _, answer)| !varies_on_user_agent(answer))
            .map(|(class, _, _)| *class)
            .collect();
        if unvaried.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![FindingDraft::at_exchange(other_answer, Severity::Low, Confidence::Firm)
            .title("Response varies by browser class without Vary: User-Agent")
            .description(format!(
                "The origin answers {first_class} and {other} browsers differently, and this cache keeps them apart, \
                 but the answers do not say `Vary: User-Agent`: any other shared cache on the way (a CDN added later, \
                 a corporate proxy) will serve one class's page to the others."
            ))
            .parameter("User-Agent")
            .key("class-no-vary")
            .evidence(format!("{} {first_class} browser's answer", an(first_class)), first, None)
            .evidence(format!("{} {other} browser's answer differs", an(other)), other_answer, None)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::exchange;

    #[test]
    fn classes_are_distinct_and_vary_is_read() {
        let uas: std::collections::HashSet<&str> = CLASSES.iter().map(|(_, ua)| *ua).collect();
        assert_eq!(uas.len(), CLASSES.len());
        let varied = exchange(
            "http://h/",
            None,
            200,
            &[("Vary", "Accept-Encoding, User-Agent")],
            "",
        );
        assert!(varies_on_user_agent(&varied));
        let plain = exchange("http://h/", None, 200, &[("Vary", "Accept-Encoding")], "");
        assert!(!varies_on_user_agent(&plain));
    }

    use crate::facts::cache_profile::fixture::{Config, Flaws, KeyRule, TestCache};

    async fn scan(key: KeyRule, vary_user_agent: bool) -> crate::report::Report {
        let cache = TestCache::start(Config {
            key,
            flaws: Flaws {
                mobile_variant: true,
                vary_user_agent,
                ..Flaws::default()
            },
            ..Config::default()
        })
        .await;
        cache.scan("cache.client-class").await
    }

    #[tokio::test]
    async fn classes_mixed_by_the_cache_or_kept_apart_without_vary_are_reported() {
        let mixed = scan(KeyRule::FullUrl, false).await;
        let finding = mixed.findings.iter().find(|f| f.head.path == "/");
        let finding = finding.unwrap_or_else(|| panic!("{:?}", mixed.findings));
        assert_eq!(finding.head.confidence.as_str(), "confirmed");
        assert_eq!(finding.head.severity.as_str(), "medium");

        let apart = scan(KeyRule::UrlAndDevice, false).await;
        let finding = apart.findings.iter().find(|f| f.head.path == "/");
        let finding = finding.unwrap_or_else(|| panic!("{:?}", apart.findings));
        assert_eq!(finding.head.severity.as_str(), "low");
        assert!(
            finding.head.title.contains("without Vary"),
            "{}",
            finding.head.title
        );

        let fixed = scan(KeyRule::UrlAndDevice, true).await;
        assert!(fixed.findings.is_empty(), "{:?}", fixed.findings);
    }
}
