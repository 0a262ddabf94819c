//! What the scan learns once about the target, after the baseline and
//! before the checks, and shares with every check.
//!
//! A check declares what it needs in its [`crate::checks::CheckMeta::needs`];
//! [`learn`] learns the union of what the selected checks need, and nothing
//! else, so a scan that runs no cache check sends no cache-profiling request
//! and one that runs no TLS check opens no handshake.

pub mod baselines;
pub mod cache_profile;
pub mod identities;
pub mod signed_links;
pub mod tokens;
pub mod values;
pub mod volatility;
pub mod watch;

use serde_json::Value;

pub use baselines::Baselines;
pub use cache_profile::CacheProfile;
pub use identities::{IdentityFacts, IdentityLearner};
pub use signed_links::SignedLink;
pub use tokens::{CrackSettings, TokenFacts};
pub use values::ResponseValues;
pub use volatility::{Varies, Volatility};

use crate::discover::Endpoint;
use crate::engine::{Engine, Exchange};
use crate::tls_probe::{self, TlsReport};

/// The facts a check needs learned before it runs: a set of the constants
/// below, combined with [`Needs::and`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs(u8);

impl Needs {
    pub const NOTHING: Needs = Needs(0);
    /// What each identity's own responses reveal about it ([`IdentityFacts`];
    /// read from the baselines, no request).
    pub const IDENTITIES: Needs = Needs(1);
    /// Signed links in the identities' own responses ([`SignedLink`]; read
    /// from the baselines, no request).
    pub const SIGNED_LINKS: Needs = Needs(1 << 1);
    /// The caches in front of the target, path by path ([`CacheProfile`]; a
    /// few requests per read-only endpoint).
    pub const CACHE_PROFILE: Needs = Needs(1 << 2);
    /// The TLS handshake probe of an https target (dozens of handshakes).
    pub const TLS: Needs = Needs(1 << 3);
    /// The signed tokens in play and the keys the API publishes
    /// ([`TokenFacts`]; read from the baselines, plus a few requests for a
    /// JWKS when a token is signed with a public key).
    pub const TOKENS: Needs = Needs(1 << 4);
    /// The tokens' HMAC secrets, recovered offline (CPU-bound: seconds to
    /// tens of seconds; no request). Implies [`Needs::TOKENS`].
    pub const TOKEN_SECRETS: Needs = Needs(1 << 4 | 1 << 5);
    /// The values the API's own successful answers contained
    /// ([`ResponseValues`]; read from the baselines, no request).
    pub const RESPONSE_VALUES: Needs = Needs(1 << 6);

    /// What either needs.
    pub const fn and(self, other: Needs) -> Needs {
        Needs(self.0 | other.0)
    }

    /// Whether everything `other` needs is needed here too.
    pub const fn includes(self, other: Needs) -> bool {
        self.0 & other.0 == other.0
    }
}

/// Facts about the target learned once and shared by every check. A fact no
/// selected check needs stays at its default (empty).
#[derive(Debug, Clone, Default)]
pub struct TargetFacts {
    pub cache: CacheProfile,
    pub identities: IdentityFacts,
    /// Signed links the identities received in their own responses.
    pub signed_links: Vec<SignedLink>,
    /// The TLS handshake probe of an https target (or why it failed).
    pub tls: Option<Result<TlsReport, String>>,
    /// Values the API returned, to use as parameter values it recognises.
    pub values: ResponseValues,
    /// Signed tokens, published keys and recovered secrets.
    pub tokens: TokenFacts,
    /// Which endpoints answer identical requests differently, and where.
    pub volatility: Volatility,
    /// Every endpoint the scan knows: a check probing one operation finds
    /// the others on the same objects (create, then read, update, delete).
    pub endpoints: Vec<Endpoint>,
    /// What shadow probing found: undocumented endpoints, zombie
    /// operations, methods an `Allow` header names, the route miss.
    pub reach: crate::discover::shadow::Reach,
}

impl TargetFacts {
    /// The TLS report, when the target is https and the probe worked.
    pub fn tls_report(&self) -> Option<&TlsReport> {
        self.tls.as_ref()?.as_ref().ok()
    }

    /// Why the TLS probe failed, when it ran and failed.
    pub fn tls_failure(&self) -> Option<&str> {
        self.tls.as_ref()?.as_ref().err().map(String::as_str)
    }
}

/// Calls `visit` with every leaf (string, number, boolean or null) of a
/// JSON document and the key it sits under (an array's items sit under the
/// array's key), depth first and no deeper than `max_depth`, for as long as
/// `visit` returns true.
pub(crate) fn visit_leaves<'v>(
    value: &'v Value,
    max_depth: usize,
    visit: &mut impl FnMut(Option<&'v str>, &'v Value) -> bool,
) {
    fn walk<'v>(
        value: &'v Value,
        key: Option<&'v str>,
        depth: usize,
        max_depth: usize,
        visit: &mut impl FnMut(Option<&'v str>, &'v Value) -> bool,
    ) -> bool {
        if depth > max_depth {
            return true;
        }
        match value {
            Value::Object(map) => map
                .iter()
                .all(|(k, v)| walk(v, Some(k), depth + 1, max_depth, visit)),
            Value::Array(items) => items
                .iter()
                .all(|v| walk(v, key, depth + 1, max_depth, visit)),
            leaf => visit(key, leaf),
        }
    }
    walk(value, None, 0, max_depth, visit);
}

/// How facts are learned: what the offline secret recovery may try, and
/// where its progress notes go.
pub struct Learning<'a> {
    pub crack: &'a CrackSettings,
    pub notes: &'a (dyn Fn(&str) + Sync),
}

/// Learns, once, what the checks `needs` about the target.
pub async fn learn(
    engine: &Engine,
    needs: Needs,
    endpoints: &[Endpoint],
    baselines: &Baselines,
    learning: &Learning<'_>,
) -> TargetFacts {
    let mut learner = Learner::new(engine, needs, endpoints);
    for exchange in baselines.values().flatten() {
        learner.see(exchange);
    }
    learner.finish(baselines, learning).await
}

/// Learns what the checks need in two steps: what is read from the
/// baselines, one baseline at a time as each arrives whole ([`see`]), then
/// what takes requests of its own ([`finish`]). Reading each baseline as it
/// comes is what lets the scan keep baselines compact afterwards.
///
/// [`see`]: Learner::see
/// [`finish`]: Learner::finish
pub struct Learner<'a> {
    engine: &'a Engine,
    needs: Needs,
    endpoints: &'a [Endpoint],
    identities: Option<IdentityLearner>,
    signed_links: Vec<SignedLink>,
    values: ResponseValues,
}

impl<'a> Learner<'a> {
    pub fn new(engine: &'a Engine, needs: Needs, endpoints: &'a [Endpoint]) -> Self {
        Learner {
            engine,
            needs,
            endpoints,
            identities: needs
                .includes(Needs::IDENTITIES)
                .then(|| IdentityLearner::new(endpoints)),
            signed_links: Vec::new(),
            values: ResponseValues::default(),
        }
    }

    /// Reads one baseline, whole.
    pub fn see(&mut self, exchange: &Exchange) {
        if exchange.is_compact() {
            return;
        }
        if let Some(identities) = &mut self.identities {
            identities.see(exchange);
        }
        if self.needs.includes(Needs::SIGNED_LINKS) {
            signed_links::harvest_into(self.engine, exchange, &mut self.signed_links);
        }
        if self.needs.includes(Needs::RESPONSE_VALUES) {
            self.values.see(exchange);
        }
    }

    /// The facts: what the baselines taught, then what needs requests.
    pub async fn finish(mut self, baselines: &Baselines, learning: &Learning<'_>) -> TargetFacts {
        let engine = self.engine;
        self.values.keep_collections_of(self.endpoints);
        let mut facts = TargetFacts {
            identities: self
                .identities
                .map(IdentityLearner::finish)
                .unwrap_or_default(),
            signed_links: self.signed_links,
            endpoints: self.endpoints.to_vec(),
            values: self.values,
            ..TargetFacts::default()
        };
        // A stopped scan opens no more handshakes either.
        if self.needs.includes(Needs::TLS) && engine.stop_signal().reason().is_none() {
            facts.tls = probe_tls(engine).await;
        }
        if self.needs.includes(Needs::CACHE_PROFILE) {
            facts.cache = CacheProfile::learn(engine, self.endpoints, baselines).await;
        }
        // Tokens are read from the baselines as kept: a body past the
        // baselines' memory budget was kept compact and is not searched.
        if self.needs.includes(Needs::TOKENS) {
            facts.tokens = learn_tokens(engine, self.endpoints, baselines).await;
        }
        if self.needs.includes(Needs::TOKEN_SECRETS) {
            let (recovered, summary) = tokens::recover_secrets(
                engine,
                &facts.tokens.tokens,
                learning.crack,
                learning.notes,
            )
            .await;
            facts.tokens.recovered = recovered;
            facts.tokens.crack = summary;
        }
        facts
    }
}

/// The tokens in play, the keys the target publishes, and where to try
/// forged ones.
async fn learn_tokens(
    engine: &Engine,
    endpoints: &[Endpoint],
    baselines: &Baselines,
) -> TokenFacts {
    let found = tokens::harvest(engine, baselines);
    let (points, answers) = tokens::probe_points(endpoints, baselines);
    TokenFacts {
        keys: tokens::published_keys(engine, endpoints, baselines, &found).await,
        tokens: found,
        probe_points: points,
        answers,
        logout_paths: endpoints
            .iter()
            .filter(|e| tokens::is_logout_path(&e.path) && !e.path.contains('{'))
            .map(|e| e.path.clone())
            .collect(),
        ..TokenFacts::default()
    }
}

/// The handshake probe of the target's own host and port; `None` for a
/// plain-HTTP target.
async fn probe_tls(engine: &Engine) -> Option<Result<TlsReport, String>> {
    let target = engine.target();
    if target.scheme() != "https" {
        return None;
    }
    let host = target
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_string();
    let port = target.port_or_known_default().unwrap_or(443);
    let probe = tls_probe::probe(&host, port, &host, engine.timeout()).await;
    Some(probe.map_err(|e| format!("TLS probe failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_add_up() {
        let both = Needs::CACHE_PROFILE.and(Needs::TLS);
        assert!(both.includes(Needs::CACHE_PROFILE) && both.includes(Needs::TLS));
        assert!(!both.includes(Needs::IDENTITIES) && !both.includes(Needs::SIGNED_LINKS));
        assert!(Needs::TOKEN_SECRETS.includes(Needs::TOKENS));
        assert!(!Needs::TOKENS.includes(Needs::TOKEN_SECRETS));
        assert!(both.includes(Needs::NOTHING));
        assert_eq!(Needs::NOTHING.and(Needs::NOTHING), Needs::NOTHING);
        assert_eq!(Needs::IDENTITIES.and(Needs::IDENTITIES), Needs::IDENTITIES);
    }

    #[test]
    fn leaves_are_visited_under_their_keys_within_the_depth_until_told_to_stop() {
        let json = serde_json::json!({"a": 1, "b": [true, {"c": "x"}], "d": {"e": {"f": null}}});
        let leaves = |max_depth| {
            let mut seen = Vec::new();
            visit_leaves(&json, max_depth, &mut |key, leaf| {
                seen.push((key.map(String::from), leaf.clone()));
                true
            });
            seen
        };
        let shallow = vec![
            (Some("a".to_string()), serde_json::json!(1)),
            (Some("b".to_string()), serde_json::json!(true)),
        ];
        assert_eq!(leaves(2), shallow);
        let mut deeper = shallow.clone();
        deeper.push((Some("c".into()), serde_json::json!("x")));
        deeper.push((Some("f".into()), serde_json::Value::Null));
        assert_eq!(leaves(3), deeper);
        let mut count = 0;
        visit_leaves(&json, 8, &mut |_, _| {
            count += 1;
            count < 2
        });
        assert_eq!(count, 2);
    }
}
