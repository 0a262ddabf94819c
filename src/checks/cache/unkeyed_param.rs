//! Unkeyed query parameters.
//!
//! Caches often drop tracking parameters (`utm_*`, `fbclid`, `gclid`) from
//! the key while still passing them to the origin. If the origin reflects
//! such a parameter, one attacker request poisons the entry that every
//! visitor of the plain URL receives. Rampart adds the parameters with a
//! unique marker to a fresh busted URL, then fetches that URL without them.

use async_trait::async_trait;
use url::Url;

use super::poisonable_url;
use crate::checks::probe::{poison, reflects, Taint};
use crate::checks::{Check, CheckMeta, Mode, ProbeContext};
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::{Caller, EngineError};
use crate::facts::Needs;
use crate::finding::{Category, FindingDraft, Severity};

pub struct UnkeyedParam;

static META: CheckMeta = CheckMeta {
    id: "cache.unkeyed-param",
    category: Category::CachePoisoning,
    severity: Severity::High,
    summary: "Query parameters excluded from the cache key but reflected by the origin",
    mode: Mode::Active,
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

#[async_trait]
impl Check for UnkeyedParam {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(
        &self,
        ctx: &ProbeContext<'_>,
        endpoint: &Endpoint,
    ) -> Result<Vec<FindingDraft>, EngineError> {
        let Some(url) = poisonable_url(ctx, endpoint) else {
            return Ok(Vec::new());
        };
        let caller = Caller::Anonymous;
        // One request finds which candidates the origin reflects at all...
        let markers: Vec<(&str, String)> = PARAMS.iter().map(|p| (*p, ctx.canary())).collect();
        let mut batch_url: Url = ctx.fresh(&url);
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
            let base = ctx.fresh(&url);
            let marker = ctx.canary();
            let mut poisoned_url = base.clone();
            poisoned_url.query_pairs_mut().append_pair(param, &marker);
            let attack = ctx.request(endpoint, &poisoned_url, &caller, &[]);
            let taint = Taint::Marker(&marker);
            let Some(poisoned) = poison(ctx, endpoint, attack, &base, taint).await? else {
                continue;
            };
            drafts.push(
                poisoned
                    .draft(
                        Severity::High,
                        &format!("Attacker request with {param}"),
                        "Request without the parameter receives the poisoned response",
                    )
                    .title(format!("Cache poisoned through the unkeyed query parameter {param}"))
                    .description(format!(
                        "The origin reflects `{param}` but the cache leaves it out of the key: the URL without the \
                         parameter received the attacker's value."
                    ))
                    .parameter(param)
                    .key(param),
            );
        }
        drafts.extend(cloaking(ctx, endpoint, &url).await?);
        drafts.extend(fat_get(ctx, endpoint, &url).await?);
        Ok(drafts)
    }
}

/// Parameter cloaking: `utm_content=x;callback=evil` is one parameter to a
/// cache that splits on `&` only (and drops it from the key as utm_*), but a
/// second `callback` to an origin that also splits on `;`.
async fn cloaking(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    url: &Url,
) -> Result<Vec<FindingDraft>, EngineError> {
    let caller = Caller::Anonymous;
    let mut drafts = Vec::new();
    for param in ["callback", "jsonp"] {
        let base = ctx.fresh(url);
        let mut keyed = base.clone();
        keyed.query_pairs_mut().append_pair(param, "rampartsafe");
        let marker = ctx.canary();
        // Built by hand: the `;` must reach the wire unencoded.
        let cloaked_query = format!(
            "{}&utm_content=x;{param}={marker}",
            keyed.query().unwrap_or("")
        );
        let mut cloaked = keyed.clone();
        cloaked.set_query(Some(&cloaked_query));
        let attack = ctx.request(endpoint, &cloaked, &caller, &[]);
        let taint = Taint::Marker(&marker);
        let Some(poisoned) = poison(ctx, endpoint, attack, &keyed, taint).await? else {
            continue;
        };
        drafts.push(
            poisoned
                .draft(
                    Severity::High,
                    &format!("Attacker request with a cloaked {param}"),
                    &format!("Request with the legitimate {param} receives the attacker's"),
                )
                .title(format!("Cache poisoned through parameter cloaking of {param}"))
                .description(format!(
                    "The cache reads `utm_content=x;{param}=…` as one unkeyed parameter, the origin as a second \
                     `{param}` that overrides the keyed one: the plain URL received the attacker's value."
                ))
                .parameter(param)
                .key(format!("cloaking-{param}")),
        );
    }
    Ok(drafts)
}

/// Fat GET: a GET with a body the origin reads but the cache ignores.
async fn fat_get(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    url: &Url,
) -> Result<Vec<FindingDraft>, EngineError> {
    let query_params: Vec<&str> = endpoint
        .parameters
        .iter()
        .filter(|p| p.location == ParamLocation::Query)
        .map(|p| p.name.as_str())
        .collect();
    let mut drafts = Vec::new();
    for param in query_params {
        let target = ctx.fresh(url);
        let marker = ctx.canary();
        let json = [("Content-Type".to_string(), "application/json".to_string())];
        let mut attack = ctx.request(endpoint, &target, &Caller::Anonymous, &json);
        attack.body = Some(serde_json::json!({ param: marker }).to_string().into());
        let taint = Taint::Marker(&marker);
        let Some(poisoned) = poison(ctx, endpoint, attack, &target, taint).await? else {
            continue;
        };
        drafts.push(
            poisoned
                .draft(
                    Severity::High,
                    "Attacker GET with a JSON body",
                    "Plain GET to the same URL",
                )
                .title(format!("Cache poisoned through a GET body overriding {param} (fat GET)"))
                .description(format!(
                    "The origin takes `{param}` from the body of a GET request, which the cache does not key on: a \
                     plain GET to the same URL received the value from the attacker's body."
                ))
                .parameter(param)
                .key(format!("fat-get-{param}")),
        );
    }
    Ok(drafts)
}
