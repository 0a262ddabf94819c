//! Unkeyed query parameters.
//!
//! Caches often drop tracking parameters (`utm_*`, `fbclid`, `gclid`) from
//! the key while still passing them to the origin. If the origin reflects
//! such a parameter, one attacker request poisons the entry that every
//! visitor of the plain URL receives. Rampart adds the parameters with a
//! unique marker to a fresh busted URL, then fetches that URL without them.

use async_trait::async_trait;
use url::Url;

use super::{busted, cache_note, canary, reflects};
use crate::checks::{Check, CheckMeta, Mode, ProbeContext};
use crate::discover::Endpoint;
use crate::engine::{Caller, EngineError};
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UnkeyedParam;

static META: CheckMeta = CheckMeta {
    id: "cache.unkeyed-param",
    family: "cache",
    category: Category::CachePoisoning,
    severity: Severity::High,
    summary: "Query parameters excluded from the cache key but reflected by the origin",
    mode: Mode::Active,
    min_identities: 0,
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

#[async_trait]
impl Check for UnkeyedParam {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Result<Vec<FindingDraft>, EngineError> {
        if !ctx.facts.cache.safe_to_poison() || !endpoint.is_read_only() {
            return Ok(Vec::new());
        }
        let Some(url) = ctx.url(endpoint) else { return Ok(Vec::new()) };
        let caller = Caller::Anonymous;
        // One request finds which candidates the origin reflects at all...
        let markers: Vec<(&str, String)> = PARAMS.iter().map(|p| (*p, canary(ctx))).collect();
        let mut batch_url: Url = busted(ctx, &url);
        for (param, marker) in &markers {
            batch_url.query_pairs_mut().append_pair(param, marker);
        }
        let batch = ctx.get(endpoint, &batch_url, &caller, &[]).await?;
        let reflected: Vec<&str> = markers
            .iter()
            .filter(|(_, m)| reflects(&batch, m))
            .map(|(p, _)| *p)
            .collect();
        // ...then each reflected one alone, since any keyed parameter in a
        // batch would give the batch its own cache entry.
        let mut drafts = Vec::new();
        for param in reflected {
            let base = busted(ctx, &url);
            let marker = canary(ctx);
            let mut poisoned_url = base.clone();
            poisoned_url.query_pairs_mut().append_pair(param, &marker);
            let poisoned = ctx.get(endpoint, &poisoned_url, &caller, &[]).await?;
            if !reflects(&poisoned, &marker) {
                continue;
            }
            let victim = ctx.get(endpoint, &base, &caller, &[]).await?;
            if !reflects(&victim, &marker) {
                continue;
            }
            drafts.push(
                FindingDraft::at_exchange(&victim, Severity::High, Confidence::Confirmed)
                    .title(format!("Cache poisoned through the unkeyed query parameter {param}"))
                    .description(format!(
                        "The origin reflects `{param}` but the cache leaves it out of the key: the URL without the \
                         parameter received the attacker's value."
                    ))
                    .parameter(param)
                    .key(param)
                    .evidence(format!("Attacker request with {param}{}", cache_note(&poisoned)), &poisoned, None)
                    .evidence(
                        format!("Request without the parameter receives the poisoned response{}", cache_note(&victim)),
                        &victim,
                        None,
                    ),
            );
        }
        Ok(drafts)
    }
}
