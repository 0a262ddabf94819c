//! Web cache poisoning and cache deception.
//!
//! Every probe that can store attacker-chosen content goes to a fresh cache
//! key that the scan has proven, for that very path, to be a key of its own
//! ([`crate::facts::cache_profile::PathCache`]): the query buster where the
//! cache keys on the query, another part of the primary key (a path
//! parameter, percent-encoded letters, a fresh last segment, a keyed query
//! parameter, the Host header) where it does not. A path without such a
//! proof gets no poisoning probe at all. Every poisoning finding is shown on
//! a fresh key as attack then clean victim request, and replayed once on
//! another fresh key before it is reported.

pub mod auth_after_lookup;
pub mod cached_error;
pub mod client_class;
pub mod deception;
pub mod identity_unkeyed;
pub mod risky_headers;
pub mod unkeyed_header;
pub mod unkeyed_param;

#[cfg(test)]
mod safety_tests;

use std::sync::Arc;

use url::Url;

use crate::checks::probe::{cache_note, reflects, same_response};
use crate::checks::{Family, ProbeContext, Skip};
use crate::discover::Endpoint;
use crate::engine::{Caller, Engine, EngineError, Exchange, Probe};
use crate::facts::cache_profile::{CacheVerdict, Key, KeyComponent, Keying, PathCache};
use crate::finding::{Confidence, FindingDraft, Severity};

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &identity_unkeyed::META,
        &auth_after_lookup::META,
        &unkeyed_header::META,
        &unkeyed_param::META,
        &cached_error::META,
        &client_class::META,
        &deception::META,
        &risky_headers::META,
    ],
};

/// An endpoint whose cache keying is proven: probes that store content go
/// only to fresh keys made from the proven component.
pub(crate) struct Keyed<'a> {
    engine: &'a Engine,
    endpoint: &'a Endpoint,
    pub path: &'a PathCache,
}

/// The endpoint, when probes may store attacker-chosen content there; why
/// not otherwise, for the coverage section.
pub(crate) fn keyed<'a>(
    ctx: &'a ProbeContext<'_>,
    endpoint: &'a Endpoint,
) -> Result<Keyed<'a>, Skip> {
    if endpoint.method != "GET" {
        return Err(Skip::NotApplicable("not a GET"));
    }
    let path = ctx
        .facts
        .cache
        .path(&endpoint.label())
        .ok_or(Skip::Missing(
            "not profiled (no baseline answer, or past the first 150 endpoints)",
        ))?;
    path.usable()?;
    Ok(Keyed {
        engine: ctx.engine,
        endpoint,
        path,
    })
}

/// A proven path always has the clean answer to its first fresh key.
pub(crate) const NO_REFERENCE: Skip = Skip::Missing("no clean answer on a fresh key");

/// Why a probe stops when its path has no fresh key left.
pub(crate) fn out_of_keys() -> Skip {
    Skip::NotCacheSafe("no usable fresh key left".into())
}

/// The endpoint's URL for a read-only probe.
pub(crate) fn read_url(ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Result<Url, Skip> {
    if !endpoint.is_read_only() {
        return Err(Skip::NotApplicable("not a read"));
    }
    ctx.url(endpoint).ok_or(Skip::NoSampleValue)
}

impl<'a> Keyed<'a> {
    /// A keyed endpoint for unit tests that plan probes.
    #[cfg(test)]
    pub(crate) fn for_tests(
        engine: &'a Engine,
        endpoint: &'a Endpoint,
        path: &'a PathCache,
    ) -> Self {
        Keyed {
            engine,
            endpoint,
            path,
        }
    }

    pub fn engine(&self) -> &Engine {
        self.engine
    }

    pub fn component(&self) -> Option<&KeyComponent> {
        self.path.component()
    }

    /// A fresh key, unless the path ran out of them or its proof broke.
    pub fn fresh(&self) -> Option<Key> {
        self.path.fresh(self.engine)
    }

    /// The clean answer to a fresh key, probes' point of comparison.
    pub fn reference(&self) -> Option<&Arc<Exchange>> {
        self.path.reference.as_ref()
    }

    /// A unique marker that cannot occur in a real response.
    pub fn canary(&self) -> String {
        format!("rampart{}", self.engine.buster().next_token())
    }

    /// An anonymous GET of `key` with the endpoint's sample headers, the
    /// key's headers, then `extra` (later ones win).
    pub fn request(&self, key: &Key, extra: &[(String, String)]) -> Probe {
        let mut probe = Probe::get(key.url.clone())
            .as_caller(Caller::Anonymous)
            .template(Some(self.endpoint.path.clone()));
        probe.headers = self.endpoint.sample_headers();
        for (name, value) in key.headers.iter().chain(extra) {
            probe.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            probe.headers.push((name.clone(), value.clone()));
        }
        probe
    }

    /// A clean request to `key`, as a visitor of that key would send it.
    pub async fn visit(&self, key: &Key) -> Result<Arc<Exchange>, EngineError> {
        self.engine.send(self.request(key, &[])).await
    }

    /// Sends a probe to a key that must be fresh. `None` when there is no
    /// answer to judge: the server refused the request itself (reset the
    /// connection, never answered, or the request could not be written),
    /// which no cache can store; or the answer came from the cache, so the
    /// key was not fresh after all, the proof no longer holds, and the path
    /// gets no more probes.
    pub async fn attack(&self, probe: Probe) -> Result<Option<Arc<Exchange>>, EngineError> {
        let answer = match self.engine.send(probe).await {
            Ok(answer) => answer,
            Err(
                EngineError::Http(_) | EngineError::Timeout(_) | EngineError::InvalidRequest(_),
            ) => return Ok(None),
            Err(error) => return Err(error),
        };
        if crate::facts::cache_profile::verdict(&answer).0 == CacheVerdict::Hit {
            self.path.mark_broken();
            return Ok(None);
        }
        Ok(Some(answer))
    }
}

/// A fresh key for probes that store a caller's own answer under it (the
/// identity and deception probes): one made from the path's proven
/// component; the query buster where no cache was seen storing the path
/// (an application cache may still key on it); none where a cache stores
/// the path and no fresh key was proven, since the caller's private answer
/// would land in an entry visitors share.
pub(crate) fn private_key(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    url: &Url,
) -> Result<Key, Skip> {
    let fallback = || Key {
        url: ctx.fresh(url),
        headers: Vec::new(),
    };
    let Some(path) = ctx.facts.cache.path(&endpoint.label()) else {
        return Ok(fallback());
    };
    match (&path.keying, path.usable()) {
        (Keying::NotCached(_), Err(Skip::NoCache(_))) => Ok(fallback()),
        (_, Err(skip)) => Err(skip),
        (_, Ok(())) => path.fresh(ctx.engine).ok_or_else(out_of_keys),
    }
}

/// What [`served_across`] saw: the key, the first caller's answer and the
/// second caller's (the same bytes).
pub(crate) type Across = (Key, Arc<Exchange>, Arc<Exchange>);

/// One caller fills a fresh private key, another asks for the same key:
/// the key and both answers, when the second is the first's byte for byte
/// (and the first is a success); `None` when it is not.
pub(crate) async fn served_across(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    url: &Url,
    first: (&Caller, &[(String, String)]),
    second: (&Caller, &[(String, String)]),
) -> Result<Option<Across>, Skip> {
    let key = private_key(ctx, endpoint, url)?;
    let with = |extra: &[(String, String)]| [key.headers.clone(), extra.to_vec()].concat();
    let primed = ctx.get(endpoint, &key.url, first.0, &with(first.1)).await?;
    if !crate::checks::probe::is_success(&primed) {
        return Err(Skip::NoSuccessfulAnswer);
    }
    let served = ctx
        .get(endpoint, &key.url, second.0, &with(second.1))
        .await?;
    Ok(same_response(&primed, &served).then_some((key, primed, served)))
}

/// What a poisoning attack changes in the answer, so that a victim's answer
/// can be recognised as the attacker's.
#[derive(Clone, Copy)]
pub(crate) enum Taint<'a> {
    /// The attack's marker (or a value built from it) is reflected.
    Marker,
    /// The attack provokes a status for which the function holds; the
    /// victim gets the very same status and a fresh key does not.
    Status(&'a (dyn Fn(u16) -> bool + Sync)),
    /// The victim (asking differently) gets the attack's answer byte for
    /// byte; the caller knows the victim's own answer differs.
    SameAnswer,
}

/// One attempt: the attacker's request for a key and a marker, the key a
/// victim then asks for, and the text whose reflection shows the taint.
pub(crate) struct Attempt {
    pub attack: Probe,
    pub victim: Key,
    pub shows: String,
}

/// A poisoning seen twice, each time on its own fresh key.
pub(crate) struct Proven {
    pub attack: Arc<Exchange>,
    pub victim: Arc<Exchange>,
    pub replay_attack: Arc<Exchange>,
    pub replay_victim: Arc<Exchange>,
    /// A clean request to a fresh key, for status taints.
    pub control: Option<Arc<Exchange>>,
    /// What showed the taint in the first round (its marker).
    pub shows: String,
}

/// Poison, then check as the victim, then do it all again on another fresh
/// key. `plan(key, marker)` builds one attempt; each round gets a fresh key
/// and a fresh marker. `Some` only when both rounds' victims, asking
/// without any attacker input, got the attacker's answer, and (for status
/// taints) a clean request to yet another fresh key did not.
pub(crate) async fn prove_poisoning(
    keyed: &Keyed<'_>,
    plan: impl Fn(&Key, &str) -> Option<Attempt>,
    taint: Taint<'_>,
) -> Result<Option<Proven>, EngineError> {
    let mut rounds: Vec<(Arc<Exchange>, Arc<Exchange>)> = Vec::new();
    let mut shows = String::new();
    for _ in 0..2 {
        let Some(key) = keyed.fresh() else {
            return Ok(None);
        };
        let marker = keyed.canary();
        let Some(attempt) = plan(&key, &marker) else {
            return Ok(None);
        };
        let Some(attack) = keyed.attack(attempt.attack).await? else {
            return Ok(None);
        };
        let provoked = match taint {
            Taint::Marker => reflects(&attack, &attempt.shows),
            Taint::Status(holds) => holds(attack.response.status),
            Taint::SameAnswer => true,
        };
        if !provoked {
            return Ok(None);
        }
        let victim = keyed.visit(&attempt.victim).await?;
        let served = match taint {
            Taint::Marker => reflects(&victim, &attempt.shows),
            Taint::Status(_) => victim.response.status == attack.response.status,
            Taint::SameAnswer => same_response(&attack, &victim),
        };
        if !served {
            return Ok(None);
        }
        if rounds.is_empty() {
            shows = attempt.shows;
        }
        rounds.push((attack, victim));
    }
    let control = match taint {
        Taint::Marker | Taint::SameAnswer => None,
        Taint::Status(_) => {
            let Some(key) = keyed.fresh() else {
                return Ok(None);
            };
            let control = keyed.visit(&key).await?;
            if control.response.status == rounds[0].0.response.status {
                return Ok(None);
            }
            Some(control)
        }
    };
    let mut rounds = rounds.into_iter();
    let (Some((attack, victim)), Some((replay_attack, replay_victim))) =
        (rounds.next(), rounds.next())
    else {
        return Ok(None);
    };
    Ok(Some(Proven {
        attack,
        victim,
        replay_attack,
        replay_victim,
        control,
        shows,
    }))
}

impl Proven {
    /// A confirmed finding at the victim's request: the attack, the victim,
    /// the replay on another fresh key, and the control when there is one.
    pub fn draft(&self, severity: Severity, attack_step: &str, victim_step: &str) -> FindingDraft {
        let mut draft = FindingDraft::at_exchange(&self.victim, severity, Confidence::Confirmed)
            .evidence(
                format!("{attack_step}{}", cache_note(&self.attack)),
                &self.attack,
                None,
            )
            .evidence(
                format!("{victim_step}{}", cache_note(&self.victim)),
                &self.victim,
                None,
            )
            .evidence(
                format!(
                    "Replayed on another fresh key: the attack{}",
                    cache_note(&self.replay_attack)
                ),
                &self.replay_attack,
                None,
            )
            .evidence(
                format!(
                    "Replayed: the clean request is served it again{}",
                    cache_note(&self.replay_victim)
                ),
                &self.replay_victim,
                None,
            );
        if let Some(control) = &self.control {
            draft = draft.evidence(
                "A clean request to a fresh key, for comparison",
                control,
                None,
            );
        }
        draft
    }
}

/// Sends `items` in batches of `size`, each on a fresh key, and hands every
/// answer to `seen` with its batch. A batch whose answer `changed` flags is
/// split in halves until single items remain: those are returned (they
/// change the answer on their own). A change that disappears when split
/// came from the batch as a whole (say, too many headers for the origin),
/// and smaller batches carry on. Stops when `budget` requests are spent.
pub(crate) async fn in_batches<T: Clone>(
    keyed: &Keyed<'_>,
    items: Vec<T>,
    size: usize,
    budget: &mut usize,
    probe: impl Fn(&Key, &[T]) -> Probe,
    mut seen: impl FnMut(&[T], &Exchange),
    changed: impl Fn(&Exchange) -> bool,
) -> Result<Vec<T>, EngineError> {
    let mut singles = Vec::new();
    let mut queue: Vec<Vec<T>> = items.chunks(size.max(1)).rev().map(<[T]>::to_vec).collect();
    while let Some(batch) = queue.pop() {
        if *budget == 0 {
            break;
        }
        let Some(key) = keyed.fresh() else {
            break;
        };
        *budget -= 1;
        let Some(answer) = keyed.attack(probe(&key, &batch)).await? else {
            if keyed.path.is_broken() {
                break;
            }
            continue;
        };
        seen(&batch, &answer);
        if changed(&answer) {
            if batch.len() == 1 {
                singles.extend(batch);
            } else {
                let (left, right) = batch.split_at(batch.len() / 2);
                queue.push(right.to_vec());
                queue.push(left.to_vec());
            }
        }
    }
    Ok(singles)
}

/// How the key was made fresh, for finding texts.
pub(crate) fn key_note(keyed: &Keyed<'_>) -> String {
    match keyed.component() {
        Some(component) => format!(
            "Rampart first proved that the cache in front of this path keys on {}, and sent every probe to a fresh \
             key of its own.",
            component.describe()
        ),
        None => String::new(),
    }
}

/// Where `marker` shows in the answer: a header by name, or the kind of
/// place in the body (a script or stylesheet URL, a link, the text).
pub(crate) fn reflection_site(exchange: &Exchange, marker: &str) -> String {
    for (name, value) in &exchange.response.headers {
        if value.contains(marker) {
            // Header names arrive in lower case; say them as people write them.
            let name: Vec<String> = name
                .split('-')
                .map(|part| {
                    let mut chars = part.chars();
                    chars.next().map_or_else(String::new, |first| {
                        first.to_ascii_uppercase().to_string() + chars.as_str()
                    })
                })
                .collect();
            return format!("the {} header", name.join("-"));
        }
    }
    let body = exchange.body_text();
    let Some(at) = body.find(marker) else {
        return "the response".into();
    };
    let before = &body[..at];
    let tag_start = before.rfind('<').unwrap_or(0);
    let inside_tag = !before[tag_start..].contains('>');
    if inside_tag {
        let tag = before[tag_start..].to_ascii_lowercase();
        for (prefix, place) in [
            ("<script", "a <script src> URL"),
            ("<link", "a <link href> URL"),
            ("<img", "an <img src> URL"),
            ("<form", "a form action"),
            ("<a ", "a link"),
            ("<meta", "a <meta> tag"),
        ] {
            if tag.starts_with(prefix) {
                return place.into();
            }
        }
    }
    "the body".into()
}

/// `url` with its path replaced by `path` (kept byte for byte), or `None`
/// when the URL crate would change it.
pub(crate) fn with_path(url: &Url, path: &str) -> Option<Url> {
    let mut out = url.clone();
    out.set_path(path);
    (out.path() == path).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::exchange;

    #[test]
    fn reflections_are_located() {
        let marker = "rampart1a2b";
        let located = |headers: &[(&str, &str)], body: &str| {
            reflection_site(&exchange("http://h/", None, 200, headers, body), marker)
        };
        assert_eq!(
            located(&[("location", "http://rampart1a2b.invalid/")], ""),
            "the Location header"
        );
        assert_eq!(
            located(&[("set-cookie", "lang=rampart1a2b")], ""),
            "the Set-Cookie header"
        );
        assert_eq!(
            located(
                &[],
                r#"<script src="//rampart1a2b.invalid/app.js"></script>"#
            ),
            "a <script src> URL"
        );
        assert_eq!(
            located(
                &[],
                r#"<link rel="canonical" href="http://rampart1a2b.invalid/">"#
            ),
            "a <link href> URL"
        );
        assert_eq!(located(&[], "<p>Hello rampart1a2b</p>"), "the body");
        assert_eq!(located(&[], "nothing"), "the response");
    }
}
