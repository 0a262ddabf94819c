//! What shared caches say about a response, and what Rampart learns, path
//! by path, about the caches in front of the target.
//!
//! Whether a cache keys on Rampart's buster is a property of one path and
//! method, not of the target: one path's cache rule may key on the whole
//! URL while another ignores the query string, and a probe sent there with
//! a query buster would store its content for every visitor. So every
//! read-only endpoint gets its own proof ([`PathCache`]) before any probe
//! that can store attacker-chosen content touches it: a fresh key misses,
//! its repeat hits, a second fresh key misses while the first key's entry
//! lives on, the origin answers the fresh key like the plain URL, and the
//! plain URL's own entry is not the one the fresh keys made. Where the query
//! string is not keyed, the other parts of the primary key are tried
//! ([`KeyComponent`]); where none holds, the path is marked unsafe with the
//! reason, and no poisoning probe goes there.

#[cfg(test)]
pub(crate) mod fixture;
pub mod keys;
pub mod signals;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use url::Url;

pub use keys::{Key, KeyComponent, KeyMaker};
pub use signals::{is_hit, verdict, CacheVerdict};

use super::Baselines;
use crate::checks::Skip;
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::buster::without_buster;
use crate::engine::{Caller, Engine, EngineError, Exchange, Probe};

/// What Rampart learned about the target's caches, path by path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheProfile {
    /// Some response carried cache headers, or timing showed a cache.
    pub cache_seen: bool,
    /// The first header (or timing) that showed it, e.g. `X-Cache: HIT`.
    pub signal: Option<String>,
    /// Some path's repeated request was served from cache.
    pub stores_responses: bool,
    /// Some path has a proven keyed component.
    pub buster_keyed: bool,
    /// Each profiled endpoint, by its label (`GET /path`).
    pub paths: BTreeMap<String, PathCache>,
}

/// How one path's cache keys requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "detail")]
pub enum Keying {
    /// A fresh value of this component gives a key of its own.
    Keyed(KeyComponent),
    /// No cache was seen storing this path's answers.
    NotCached(String),
    /// A cache stores this path's answers, but no component Rampart can
    /// make fresh was proven to be part of the key.
    Unsafe(String),
}

/// The cache facts of one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct PathCache {
    pub method: String,
    /// The plain URL visitors use.
    pub url: String,
    /// The header (or timing) that showed a cache on this path.
    pub signal: Option<String>,
    /// A repeated request was served from cache.
    pub stores: bool,
    pub keying: Keying,
    /// Why the plain URL's entry could not be observed, when it could not.
    pub plain_unobserved: Option<String>,
    #[serde(skip)]
    maker: Option<KeyMaker>,
    /// Set when a fresh key was answered from cache after all: keying
    /// changed under the scan, and no more probes go to this path.
    #[serde(skip)]
    broken: Arc<AtomicBool>,
    /// The answer to the first fresh key: the clean response probes are
    /// compared with.
    #[serde(skip)]
    pub reference: Option<Arc<Exchange>>,
    /// The requests that proved the keying (or its absence).
    #[serde(skip)]
    pub proof: Vec<Arc<Exchange>>,
}

impl PathCache {
    fn new(method: &str, url: &Url) -> Self {
        PathCache {
            method: method.to_string(),
            url: url.to_string(),
            signal: None,
            stores: false,
            keying: Keying::NotCached("not profiled".into()),
            plain_unobserved: None,
            maker: None,
            broken: Arc::default(),
            reference: None,
            proof: Vec::new(),
        }
    }

    /// The component probes may give fresh values to, when one is proven
    /// and nothing has broken the proof since.
    pub fn component(&self) -> Option<&KeyComponent> {
        match &self.keying {
            Keying::Keyed(component) if !self.broken.load(Ordering::Relaxed) => Some(component),
            _ => None,
        }
    }

    /// A fresh key no visitor will ever ask for; `None` when the path has no
    /// proven component (or it ran out of distinct keys, or broke).
    pub fn fresh(&self, engine: &Engine) -> Option<Key> {
        self.component()?;
        self.maker.as_ref()?.fresh(engine.buster())
    }

    /// Stops every further probe of this path: a key that should have been
    /// fresh was answered from the cache.
    pub fn mark_broken(&self) {
        self.broken.store(true, Ordering::Relaxed);
    }

    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Whether probes that store content may go to this path, and why not.
    pub fn usable(&self) -> Result<(), Skip> {
        if self.is_broken() {
            return Err(Skip::NotCacheSafe(
                "a fresh key was answered from the cache mid-scan; probing stopped".into(),
            ));
        }
        match &self.keying {
            Keying::Keyed(_) => Ok(()),
            Keying::NotCached(why) => Err(Skip::NoCache(why.clone())),
            Keying::Unsafe(why) => Err(Skip::NotCacheSafe(why.clone())),
        }
    }
}

#[cfg(test)]
impl PathCache {
    /// A path proven keyed by `component`, for unit tests that plan probes.
    pub(crate) fn keyed_for_tests(
        component: KeyComponent,
        plain: &Url,
        reference: Arc<Exchange>,
    ) -> Self {
        let mut path = PathCache::new("GET", plain);
        path.keying = Keying::Keyed(component.clone());
        path.maker = Some(KeyMaker::new(component, plain.clone()));
        path.stores = true;
        path.reference = Some(reference);
        path
    }
}

impl CacheProfile {
    /// The facts of the endpoint labelled `label` (`GET /path`).
    pub fn path(&self, label: &str) -> Option<&PathCache> {
        self.paths.get(label)
    }

    /// Profiles every read-only endpoint that has a baseline, a few at a
    /// time. Proof requests go out anonymously, as a visitor's would.
    pub async fn learn(
        engine: &Engine,
        endpoints: &[Endpoint],
        baselines: &Baselines,
    ) -> CacheProfile {
        let jobs: Vec<(&Endpoint, Arc<Exchange>)> = endpoints
            .iter()
            .filter(|e| e.method == "GET")
            .filter_map(|e| {
                let exchanges = baselines.get(&e.label())?;
                let sample = exchanges
                    .iter()
                    .find(|x| x.request.identity.is_none())
                    .or(exchanges.first())?;
                Some((e, Arc::clone(sample)))
            })
            .take(MAX_PROFILED_PATHS)
            .collect();
        let quiet = AtomicUsize::new(0);
        let quiet = &quiet;
        let learned: Vec<(String, PathCache)> = stream::iter(jobs)
            .map(|(endpoint, sample)| async move {
                let sample = whole_sample(engine, endpoint, sample).await;
                let mut path = PathLearner::new(engine, endpoint, &sample, quiet)
                    .learn()
                    .await;
                // The proof's answers are kept for their headers; their
                // bodies would make the profile grow with the API.
                for exchange in &mut path.proof {
                    *exchange = Arc::new(exchange.compact());
                }
                (endpoint.label(), path)
            })
            .buffer_unordered(PROFILE_CONCURRENCY)
            .collect()
            .await;
        let mut profile = CacheProfile::default();
        for (label, path) in learned {
            profile.cache_seen |= path.signal.is_some();
            if profile.signal.is_none() {
                profile.signal = path.signal.clone();
            }
            profile.stores_responses |= path.stores;
            profile.buster_keyed |= matches!(path.keying, Keying::Keyed(_));
            profile.paths.insert(label, path);
        }
        profile
    }
}

/// The baseline whole: one kept compact (past the baselines' memory
/// budget) is requested again, anonymously and on a fresh buster, since the
/// proof compares bodies with it.
async fn whole_sample(
    engine: &Engine,
    endpoint: &Endpoint,
    sample: Arc<Exchange>,
) -> Arc<Exchange> {
    if !sample.is_compact() {
        return sample;
    }
    let Ok(url) = Url::parse(&sample.request.url) else {
        return sample;
    };
    let probe = crate::facts::baselines::baseline_probe(
        engine,
        endpoint,
        &without_buster(&url),
        Caller::Anonymous,
    );
    engine.send(probe).await.unwrap_or(sample)
}

/// Paths profiled at most (each costs a handful of requests).
const MAX_PROFILED_PATHS: usize = 150;
/// Paths profiled at once.
const PROFILE_CONCURRENCY: usize = 4;
/// Paths without any cache header whose every part of the key timing
/// looked at was quick; past this many, only the query buster is timed on
/// the rest (a target this quiet has no cache hiding behind its paths, and
/// each other part costs two requests per path).
const QUIET_PATHS: usize = 12;

/// What one proof attempt showed about one component.
enum Proof {
    Keyed,
    /// A key that should have been fresh shared an entry: not keyed.
    NotKeyed(String),
    /// The repeat was not served from cache.
    NotStored(String),
    /// The origin answered the fresh key unlike the plain URL.
    NotServed(String),
    /// No header speaks about a cache.
    Silent,
    /// The component cannot make a key for this URL.
    Unavailable,
}

/// Learns one path's [`PathCache`].
struct PathLearner<'a> {
    engine: &'a Engine,
    endpoint: &'a Endpoint,
    plain: Url,
    /// The baseline answer: what the plain URL looks like.
    sample: Arc<Exchange>,
    path: PathCache,
    /// Paths so far where timing showed nothing anywhere.
    quiet: &'a AtomicUsize,
}

impl<'a> PathLearner<'a> {
    fn new(
        engine: &'a Engine,
        endpoint: &'a Endpoint,
        sample: &Arc<Exchange>,
        quiet: &'a AtomicUsize,
    ) -> Self {
        let plain = Url::parse(&sample.request.url)
            .map(|url| without_buster(&url))
            .unwrap_or_else(|_| engine.target().clone());
        let path = PathCache::new(&endpoint.method, &plain);
        PathLearner {
            engine,
            endpoint,
            plain,
            sample: Arc::clone(sample),
            path,
            quiet,
        }
    }

    /// A GET of `url` with `headers`, as an anonymous visitor would send it
    /// (plus the endpoint's sample headers).
    async fn get(
        &self,
        url: &Url,
        headers: &[(String, String)],
    ) -> Result<Arc<Exchange>, EngineError> {
        let mut probe = Probe::get(url.clone())
            .as_caller(Caller::Anonymous)
            .template(Some(self.endpoint.path.clone()));
        probe.headers = self.endpoint.sample_headers();
        for (name, value) in headers {
            probe.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            probe.headers.push((name.clone(), value.clone()));
        }
        self.engine.send(probe).await
    }

    async fn send(&mut self, key: &Key) -> Result<Arc<Exchange>, EngineError> {
        let exchange = self.get(&key.url, &key.headers).await?;
        self.path.proof.push(Arc::clone(&exchange));
        if self.path.signal.is_none() {
            self.path.signal = verdict(&exchange)
                .1
                .or_else(|| signals::presence(&exchange));
        }
        Ok(exchange)
    }

    async fn learn(mut self) -> PathCache {
        let plain_before = self.observe_plain().await;
        let params: Vec<String> = self
            .endpoint
            .parameters
            .iter()
            .filter(|p| p.location == ParamLocation::Query)
            .map(|p| p.name.clone())
            .collect();
        let mut reasons: Vec<String> = Vec::new();
        let query = KeyMaker::new(KeyComponent::Query, self.plain.clone());
        for component in KeyComponent::candidates(&self.plain, &params) {
            let first = component == KeyComponent::Query;
            // The query key shares the visitors' entry here. A component
            // that does not split the key is answered from that entry and
            // stores nothing, as long as the entry lives; so refresh it with
            // a clean request right before each try, lest a fresh Host or
            // encoded path be reflected into an entry visitors get.
            if !first {
                self.refresh_shared_entry(&query).await;
            }
            let maker = KeyMaker::new(component.clone(), self.plain.clone());
            let outcome = match self.prove(&maker).await {
                Ok(outcome) => outcome,
                Err(error) => Proof::NotStored(format!("the proof failed: {error}")),
            };
            match outcome {
                Proof::Keyed => {
                    return self.keyed(maker, plain_before.as_ref()).await;
                }
                Proof::NotKeyed(why) => {
                    self.path.stores = true;
                    reasons.push(format!("{}: {why}", component.describe()));
                }
                Proof::NotServed(why) => reasons.push(format!("{}: {why}", component.describe())),
                // Every key carries the query buster: when the query key's
                // answer is not stored, no other key's is.
                Proof::NotStored(why) if first => {
                    self.path.keying = Keying::NotCached(why);
                    return self.path;
                }
                Proof::Silent if first => return self.learn_by_timing(&params).await,
                Proof::NotStored(why) => reasons.push(format!("{}: {why}", component.describe())),
                Proof::Silent | Proof::Unavailable => {}
            }
        }
        self.path.keying = Keying::Unsafe(if reasons.is_empty() {
            "no component of the key could be made fresh".into()
        } else {
            reasons.join("; ")
        });
        self.path
    }

    /// Asks for a fresh query key: where the query does not split the key,
    /// this is answered from the entry visitors share or, when that had
    /// expired, stores it anew with a clean answer. Either way the entry is
    /// alive for the try that follows.
    async fn refresh_shared_entry(&mut self, query: &KeyMaker) -> Option<Arc<Exchange>> {
        let key = query.fresh(self.engine.buster())?;
        self.send(&key).await.ok()
    }

    /// The plain URL as a visitor gets it, when Rampart may ask as one and
    /// a cache header could tell its entry from another (the baseline
    /// answer carried one).
    async fn observe_plain(&mut self) -> Option<Arc<Exchange>> {
        if verdict(&self.sample).0 == CacheVerdict::Unknown {
            self.path.plain_unobserved = Some("no cache header to tell entries apart".into());
            return None;
        }
        if self.engine.defaults_carry_credentials() {
            self.path.plain_unobserved =
                Some("--header carries a credential, so no request goes out as a visitor's".into());
            return None;
        }
        let plain = self.plain.clone();
        self.get(&plain, &[]).await.ok()
    }

    /// Header proof of one component: fresh key k1 misses, its repeat hits,
    /// a second fresh key k2 misses, k1's entry is still the same object,
    /// and the origin answered k1 like the plain URL.
    async fn prove(&mut self, maker: &KeyMaker) -> Result<Proof, EngineError> {
        let Some(k1) = maker.fresh(self.engine.buster()) else {
            return Ok(Proof::Unavailable);
        };
        let r1 = self.send(&k1).await?;
        let (v1, s1) = verdict(&r1);
        if v1 == CacheVerdict::Hit {
            return Ok(Proof::NotKeyed(format!(
                "a fresh key was answered from the cache ({})",
                s1.unwrap_or_default()
            )));
        }
        let mut r1b = self.send(&k1).await?;
        let (mut v1b, s1b) = verdict(&r1b);
        if v1 == CacheVerdict::Unknown && v1b == CacheVerdict::Unknown {
            return Ok(Proof::Silent);
        }
        if v1b != CacheVerdict::Hit && only_age_speaks(&r1b) {
            // `Age: 0` on a hit stored this second: a hit shows once it grows.
            tokio::time::sleep(AGE_TICK).await;
            r1b = self.send(&k1).await?;
            v1b = verdict(&r1b).0;
        }
        if v1b != CacheVerdict::Hit || r1b.response.status != r1.response.status {
            return Ok(Proof::NotStored(format!(
                "a repeated request was not served from cache ({})",
                s1b.unwrap_or_else(|| "no cache header".into())
            )));
        }
        let Some(k2) = maker.fresh(self.engine.buster()) else {
            return Ok(Proof::Unavailable);
        };
        let r2 = self.send(&k2).await?;
        if verdict(&r2).0 == CacheVerdict::Hit {
            return Ok(Proof::NotKeyed(
                "a second fresh key was served the first key's entry".into(),
            ));
        }
        let r1d = self.send(&k1).await?;
        let same_object = match (signals::object_id(&r1b), signals::object_id(&r1d)) {
            (Some(a), Some(b)) => a == b,
            _ => match (signals::hits_count(&r1b), signals::hits_count(&r1d)) {
                (Some(a), Some(b)) => b > a,
                _ => true,
            },
        };
        if verdict(&r1d).0 != CacheVerdict::Hit || !same_object {
            return Ok(Proof::NotKeyed(
                "the first key's entry did not outlive the second key's miss, so the miss proves nothing"
                    .into(),
            ));
        }
        if !serves_like(&r1, &self.sample) {
            return Ok(Proof::NotServed(format!(
                "the origin answered a fresh key with HTTP {} instead of HTTP {}",
                r1.response.status, self.sample.response.status
            )));
        }
        self.path.reference = Some(r1);
        Ok(Proof::Keyed)
    }

    /// The path is keyed by `maker`'s component, unless the plain URL's
    /// entry turns out to be one the fresh keys made.
    async fn keyed(mut self, maker: KeyMaker, before: Option<&Arc<Exchange>>) -> PathCache {
        self.path.stores = true;
        let touched = match before {
            Some(before) => match self.get(&self.plain.clone(), &[]).await {
                Ok(after) => plain_touched(before, &after, &self.path.proof),
                Err(_) => None,
            },
            None => None,
        };
        self.path.keying = match touched {
            Some(why) => Keying::Unsafe(why),
            None => {
                let component = maker.component().clone();
                self.path.maker = Some(maker);
                Keying::Keyed(component)
            }
        };
        self.path
    }

    /// For caches that say nothing: repeats of one fresh key answered much
    /// faster than fresh keys, every time. The query buster first; when its
    /// keys are all fast (answered from an entry the query does not split,
    /// or by a fast origin), a single request per other component looks for
    /// one whose fresh key is slow, and that component is put to the proof.
    async fn learn_by_timing(mut self, params: &[String]) -> PathCache {
        // How long answers from an entry (or a fast origin) take here; their
        // median, so that one answer slowed by load hides nothing.
        let mut quick: Vec<Duration> = Vec::new();
        let query = KeyMaker::new(KeyComponent::Query, self.plain.clone());
        let explore = self.quiet.load(Ordering::Relaxed) < QUIET_PATHS;
        for component in KeyComponent::candidates(&self.plain, params) {
            if component != KeyComponent::Query && !explore {
                break;
            }
            let maker = KeyMaker::new(component.clone(), self.plain.clone());
            for _attempt in 0..TIMING_ATTEMPTS {
                let Some(k1) = maker.fresh(self.engine.buster()) else {
                    break;
                };
                if component != KeyComponent::Query {
                    // As in the header proof: the shared entry is alive (or
                    // stored anew, cleanly) right before the component's try.
                    if let Some(refresh) = self.refresh_shared_entry(&query).await {
                        quick.push(refresh.elapsed);
                    }
                }
                let Ok(r1) = self.send(&k1).await else {
                    return self.not_seen_by_timing();
                };
                if component != KeyComponent::Query && !slower(r1.elapsed, median(&quick)) {
                    quick.push(r1.elapsed);
                    break;
                }
                match self.prove_by_timing(&maker, &k1, &r1).await {
                    Ok(Ok(signal)) if serves_like(&r1, &self.sample) => {
                        self.path.signal = Some(signal);
                        self.path.reference = Some(r1);
                        self.path.stores = true;
                        self.path.maker = Some(maker);
                        self.path.keying = Keying::Keyed(component);
                        return self.path;
                    }
                    Ok(Ok(_)) => break,
                    // A first key that was slow is worth another try: one
                    // repeat slowed by load must not hide a cache.
                    Ok(Err(seen)) => {
                        quick.push(seen);
                        if !slower(r1.elapsed, median(&quick)) {
                            break;
                        }
                    }
                    Err(_) => return self.not_seen_by_timing(),
                }
            }
        }
        self.quiet.fetch_add(1, Ordering::Relaxed);
        self.not_seen_by_timing()
    }

    fn not_seen_by_timing(mut self) -> PathCache {
        self.path.keying = Keying::NotCached(
            "no cache header, and timing showed no cache (a cache that hides its headers cannot be told from a fast origin)"
                .into(),
        );
        self.path
    }

    /// Three fresh keys slow, four repeats fast: a cache keyed on the
    /// component, with the timing as its signal. Otherwise the slowest
    /// answer seen, which is what an answer takes here anyway.
    async fn prove_by_timing(
        &mut self,
        maker: &KeyMaker,
        k1: &Key,
        r1: &Arc<Exchange>,
    ) -> Result<Result<String, Duration>, EngineError> {
        let r1b = self.send(k1).await?;
        if !slower(r1.elapsed, r1b.elapsed) {
            return Ok(Err(r1b.elapsed));
        }
        let mut fresh = vec![r1.elapsed];
        let mut repeats = vec![r1b.elapsed];
        for _ in 0..2 {
            let Some(k) = maker.fresh(self.engine.buster()) else {
                return Ok(Err(r1b.elapsed));
            };
            let first = self.send(&k).await?;
            let again = self.send(&k).await?;
            fresh.push(first.elapsed);
            repeats.push(again.elapsed);
        }
        repeats.push(self.send(k1).await?.elapsed);
        Ok(timing_signal(&fresh, &repeats).ok_or(r1b.elapsed))
    }
}

/// Tries of the timing proof per component whose first key was slow.
const TIMING_ATTEMPTS: usize = 2;

/// The median of `durations`, zero when there are none.
fn median(durations: &[Duration]) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// Time for `Age` to tick once.
const AGE_TICK: Duration = Duration::from_millis(1100);

/// The only cache signal is `Age`.
fn only_age_speaks(exchange: &Exchange) -> bool {
    matches!(verdict(exchange).1, Some(signal) if signal.starts_with("Age:"))
}

/// `slow` is clearly slower than `fast`, by a factor and a margin no jitter
/// explains.
fn slower(slow: Duration, fast: Duration) -> bool {
    slow >= fast * 3 && slow >= fast + TIMING_MARGIN
}

const TIMING_MARGIN: Duration = Duration::from_millis(20);

/// A cache seen by timing alone: every fresh key is at least three times
/// slower than every repeat, and by a margin no jitter explains.
pub fn timing_signal(fresh_urls: &[Duration], repeats: &[Duration]) -> Option<String> {
    let slowest_repeat = *repeats.iter().max()?;
    let fastest_fresh = *fresh_urls.iter().min()?;
    slower(fastest_fresh, slowest_repeat).then(|| {
        format!(
            "timing: fresh keys took ≥{} ms, repeats ≤{} ms",
            fastest_fresh.as_millis(),
            slowest_repeat.as_millis()
        )
    })
}

/// The origin answered `fresh` the way it answers the plain URL: the same
/// status, and the same document give or take what a key can change in it
/// (a host name in links, a token echoed back).
fn serves_like(fresh: &Exchange, plain: &Exchange) -> bool {
    if fresh.response.status != plain.response.status {
        return false;
    }
    let (a, b) = (&fresh.response.body, &plain.response.body);
    if a == b {
        return true;
    }
    if let (Some(x), Some(y)) = (fresh.body_json(), plain.body_json()) {
        return match (x.as_object(), y.as_object()) {
            (Some(x), Some(y)) => x.keys().eq(y.keys()),
            _ => x.is_array() == y.is_array(),
        };
    }
    let (short, long) = if a.len() < b.len() {
        (a.len(), b.len())
    } else {
        (b.len(), a.len())
    };
    long - short <= 64 || short * 4 >= long * 3
}

/// Why the plain URL's entry looks like one the proof's fresh keys made
/// (or remade), if it does: the object a visitor gets must be the one it got
/// before, never an object a fresh key stored.
fn plain_touched(before: &Exchange, after: &Exchange, proof: &[Arc<Exchange>]) -> Option<String> {
    if verdict(after).0 != CacheVerdict::Hit {
        return None;
    }
    if let Some(object) = signals::object_id(after) {
        let made_by_probe = proof.iter().any(|p| {
            p.response_header("x-varnish")
                .and_then(|v| v.split_whitespace().next())
                == Some(object.as_str())
        });
        if made_by_probe {
            return Some(format!(
                "the plain URL is now served the object a fresh key stored (X-Varnish {object})"
            ));
        }
    }
    if verdict(before).0 == CacheVerdict::Hit {
        if let (Some(a), Some(b)) = (signals::age(before), signals::age(after)) {
            if b < a {
                return Some(format!(
                    "the plain URL's entry was replaced during the proof (Age {a} → {b})"
                ));
            }
        }
        if before.response.body != after.response.body {
            return Some("the plain URL's cached body changed during the proof".into());
        }
    }
    None
}

#[cfg(test)]
mod tests;
