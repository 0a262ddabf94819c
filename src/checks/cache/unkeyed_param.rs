//! Unkeyed query parameters.
//!
//! Caches often drop tracking parameters (`utm_*`, `fbclid`, `gclid`) from
//! the key while still passing them to the origin. If the origin reflects
//! such a parameter, one attacker request poisons the entry that every
//! visitor of the plain URL receives. Rampart adds the parameters with a
//! unique marker to a fresh busted URL, then fetches that URL without them.
//! The same marker also travels cloaked behind a `;` and in the body of a
//! GET, two more places an origin reads and a cache does not key on.

use async_trait::async_trait;
use url::Url;

use super::poisonable_url;
use crate::checks::probe::{poison, reflects, Poisoned, Taint};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn};
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::{Caller, Probe};
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

static PARAMS: &[&str] = &[
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "fbclid",
    "gclid",
    "_ga",
    "callback",
    "jsonp",
];

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
    /// Fat GET: a GET with a body the origin reads but the cache ignores.
    FatGet,
}

/// Parameters the cloaking technique overrides.
const CLOAKED: [&str; 2] = ["callback", "jsonp"];

impl Technique {
    /// The attacker's request putting `marker` into `param`, and the clean
    /// URL a visitor asks for, under whose key the answer gets stored.
    fn attack(
        self,
        ctx: &ProbeContext<'_>,
        endpoint: &Endpoint,
        url: &Url,
        param: &str,
        marker: &str,
    ) -> (Probe, Url) {
        let anonymous = Caller::Anonymous;
        let clean = ctx.fresh(url);
        match self {
            Technique::Unkeyed => {
                let mut poisoned = clean.clone();
                poisoned.query_pairs_mut().append_pair(param, marker);
                (ctx.request(endpoint, &poisoned, &anonymous, &[]), clean)
            }
            Technique::Cloaked => {
                let mut keyed = clean;
                keyed.query_pairs_mut().append_pair(param, "rampartsafe");
                // Built by hand: the `;` must reach the wire unencoded.
                let query = keyed.query().unwrap_or("");
                let cloaked_query = format!("{query}&utm_content=x;{param}={marker}");
                let mut cloaked = keyed.clone();
                cloaked.set_query(Some(&cloaked_query));
                (ctx.request(endpoint, &cloaked, &anonymous, &[]), keyed)
            }
            Technique::FatGet => {
                let json = [("Content-Type".to_string(), "application/json".to_string())];
                let mut attack = ctx.request(endpoint, &clean, &anonymous, &json);
                attack.body = Some(serde_json::json!({ param: marker }).to_string().into());
                (attack, clean)
            }
        }
    }

    /// The finding for a poisoning that worked through `param`.
    fn draft(self, poisoned: &Poisoned, param: &str) -> FindingDraft {
        let (attack_step, victim_step, title, description, key) = match self {
            Technique::Unkeyed => (
                format!("Attacker request with {param}"),
                "Request without the parameter receives the poisoned response".to_string(),
                format!("Cache poisoned through the unkeyed query parameter {param}"),
                format!(
                    "The origin reflects `{param}` but the cache leaves it out of the key: the URL without the \
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
            Technique::FatGet => (
                "Attacker GET with a JSON body".to_string(),
                "Plain GET to the same URL".to_string(),
                format!("Cache poisoned through a GET body overriding {param} (fat GET)"),
                format!(
                    "The origin takes `{param}` from the body of a GET request, which the cache does not key on: a \
                     plain GET to the same URL received the value from the attacker's body."
                ),
                format!("fat-get-{param}"),
            ),
        };
        poisoned
            .draft(Severity::High, &attack_step, &victim_step)
            .title(title)
            .description(description)
            .parameter(param)
            .key(key)
    }
}

#[async_trait]
impl Check for UnkeyedParam {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let url = poisonable_url(ctx, endpoint)?;
        // One request finds which candidates the origin reflects at all...
        let markers: Vec<(&str, String)> = PARAMS.iter().map(|p| (*p, ctx.canary())).collect();
        let mut batch_url: Url = ctx.fresh(&url);
        for (param, marker) in &markers {
            batch_url.query_pairs_mut().append_pair(param, marker);
        }
        let batch = ctx
            .get(endpoint, &batch_url, &Caller::Anonymous, &[])
            .await?;
        // ...then each reflected one alone, since any keyed parameter in a
        // batch would give the batch its own cache entry.
        let reflected = markers
            .iter()
            .filter(|(_, m)| reflects(&batch, m))
            .map(|(p, _)| (Technique::Unkeyed, *p));
        let cloaked = CLOAKED.iter().map(|p| (Technique::Cloaked, *p));
        let in_body = endpoint
            .parameters
            .iter()
            .filter(|p| p.location == ParamLocation::Query)
            .map(|p| (Technique::FatGet, p.name.as_str()));
        let attempts: Vec<(Technique, &str)> = reflected.chain(cloaked).chain(in_body).collect();
        let mut drafts = Vec::new();
        for (technique, param) in attempts {
            let marker = ctx.canary();
            let (attack, victim_url) = technique.attack(ctx, endpoint, &url, param, &marker);
            let taint = Taint::Marker(&marker);
            if let Some(poisoned) = poison(ctx, endpoint, attack, &victim_url, taint).await? {
                drafts.push(technique.draft(&poisoned, param));
            }
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::engine;
    use crate::discover::EndpointSource;
    use crate::facts::TargetFacts;

    #[test]
    fn each_technique_hides_the_marker_where_the_cache_does_not_look() {
        let engine = engine();
        let facts = TargetFacts::default();
        let session = crate::checks::injection::Session::default();
        let ctx = ProbeContext {
            engine: &engine,
            base_path: "",
            baselines: &[],
            facts: &facts,
            allow_burst: false,
            injection: &session,
        };
        let endpoint = Endpoint::discovered("/api/items", EndpointSource::Spec);
        let url = engine.url_for("/api/items").unwrap();
        let plan = |technique: Technique| technique.attack(&ctx, &endpoint, &url, "callback", "mk");

        let (attack, victim) = plan(Technique::Unkeyed);
        assert!(
            attack.url.as_str().ends_with("&callback=mk"),
            "{}",
            attack.url
        );
        assert_eq!(
            attack.url.as_str().split("&callback").next(),
            Some(victim.as_str())
        );

        let (attack, victim) = plan(Technique::Cloaked);
        assert!(
            victim.as_str().ends_with("&callback=rampartsafe"),
            "{victim}"
        );
        assert_eq!(
            attack.url.as_str(),
            format!("{victim}&utm_content=x;callback=mk")
        );

        let (attack, victim) = plan(Technique::FatGet);
        assert_eq!(attack.url, victim);
        assert_eq!(attack.method, "GET");
        assert_eq!(attack.body.as_deref(), Some(&br#"{"callback":"mk"}"#[..]));
        assert!(attack
            .headers
            .contains(&("Content-Type".into(), "application/json".into())));
        // Every technique works on its own fresh cache key.
        assert!(victim.as_str().contains("rampart_cb="));
    }
}
