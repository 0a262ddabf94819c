//! Unkeyed header poisoning.
//!
//! Frameworks build absolute links, redirects and script URLs from headers
//! such as `X-Forwarded-Host` that a cache does not include in its key. An
//! attacker sends one request with `X-Forwarded-Host: evil.example`, the
//! cache stores the response that now points at the attacker's host, and
//! every later visitor of that URL receives it. Rampart sends its probe to a
//! fresh cache-busted URL, then shows a clean request to the same URL
//! receives the poisoned response while another fresh URL does not.

use async_trait::async_trait;

use super::{busted, cache_note, canary, poisonable_url, reflects};
use crate::checks::{Check, CheckMeta, Mode, ProbeContext};
use crate::discover::Endpoint;
use crate::engine::{Caller, EngineError};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct UnkeyedHeader;

static META: CheckMeta = CheckMeta {
    id: "cache.unkeyed-header",
    family: "cache",
    category: Category::CachePoisoning,
    severity: Severity::High,
    summary: "Headers such as X-Forwarded-Host change a response the cache stores for everyone",
    mode: Mode::Active,
    min_identities: 0,
    needs: Needs {
        cache_profile: true,
        ..Needs::NOTHING
    },
};

/// How a header's value is written so that a reflection is recognisable.
#[derive(Clone, Copy)]
enum Shape {
    /// A host name: `canary.invalid`.
    Host,
    /// `Forwarded: host=canary.invalid`.
    Forwarded,
    /// A path: `/canary`.
    Path,
}

/// Headers commonly trusted by frameworks and proxies yet left out of cache
/// keys (after the public research on unkeyed inputs).
static HEADERS: &[(&str, Shape)] = &[
    ("X-Forwarded-Host", Shape::Host),
    ("X-Host", Shape::Host),
    ("X-Forwarded-Server", Shape::Host),
    ("X-Original-Host", Shape::Host),
    ("X-HTTP-Host-Override", Shape::Host),
    ("X-Backend-Host", Shape::Host),
    ("Forwarded", Shape::Forwarded),
    ("X-Original-URL", Shape::Path),
    ("X-Rewrite-URL", Shape::Path),
    ("X-Forwarded-Prefix", Shape::Path),
];

/// Headers whose effect is a changed status or redirect, not a reflection.
static SCHEME_HEADERS: &[(&str, &str)] = &[
    ("X-Forwarded-Scheme", "http"),
    ("X-Forwarded-Proto", "http"),
    ("X-Forwarded-Port", "1"),
    ("X-Forwarded-SSL", "off"),
];

fn value_for(shape: Shape, marker: &str) -> String {
    match shape {
        Shape::Host => format!("{marker}.invalid"),
        Shape::Forwarded => format!("host={marker}.invalid"),
        Shape::Path => format!("/{marker}"),
    }
}

#[async_trait]
impl Check for UnkeyedHeader {
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
        let mut drafts = Vec::new();

        for (header, shape) in HEADERS {
            let marker = canary(ctx);
            let poisoned_url = busted(ctx, &url);
            let poison = vec![(header.to_string(), value_for(*shape, &marker))];
            let poisoned = ctx.get(endpoint, &poisoned_url, &caller, &poison).await?;
            if !reflects(&poisoned, &marker) {
                continue;
            }
            let victim = ctx.get(endpoint, &poisoned_url, &caller, &[]).await?;
            if !reflects(&victim, &marker) {
                continue;
            }
            drafts.push(
                FindingDraft::at_exchange(&victim, Severity::High, Confidence::Confirmed)
                    .title(format!("Cache poisoned through the unkeyed {header} header"))
                    .description(format!(
                        "The response reflects {header} and the cache stores it without keying on the header: a clean \
                         request to the same URL received the attacker-controlled value."
                    ))
                    .parameter(*header)
                    .key(header.to_ascii_lowercase())
                    .evidence(format!("Attacker request with {header}{}", cache_note(&poisoned)), &poisoned, None)
                    .evidence(
                        format!("Clean request to the same URL receives the poisoned response{}", cache_note(&victim)),
                        &victim,
                        None,
                    ),
            );
        }

        let Some(clean) = ctx.baseline(&caller).cloned() else {
            return Ok(drafts);
        };
        for (header, value) in SCHEME_HEADERS {
            let poisoned_url = busted(ctx, &url);
            let poison = vec![(header.to_string(), value.to_string())];
            let poisoned = ctx.get(endpoint, &poisoned_url, &caller, &poison).await?;
            let changed = poisoned.response.status != clean.response.status
                && (300..600).contains(&poisoned.response.status);
            if !changed {
                continue;
            }
            let victim = ctx.get(endpoint, &poisoned_url, &caller, &[]).await?;
            let fresh = ctx.get(endpoint, &busted(ctx, &url), &caller, &[]).await?;
            if victim.response.status != poisoned.response.status
                || fresh.response.status == poisoned.response.status
            {
                continue;
            }
            drafts.push(
                FindingDraft::at_exchange(&victim, Severity::High, Confidence::Confirmed)
                    .title(format!("Cache poisoned through the unkeyed {header} header"))
                    .description(format!(
                        "{header}: {value} turns the response into HTTP {} and the cache stores it for the plain URL \
                         (a fresh URL still answers HTTP {}): visitors get a redirect loop or an error.",
                        poisoned.response.status, fresh.response.status
                    ))
                    .parameter(*header)
                    .key(header.to_ascii_lowercase())
                    .evidence(format!("Attacker request with {header}: {value}"), &poisoned, None)
                    .evidence(format!("Clean request to the same URL{}", cache_note(&victim)), &victim, None)
                    .evidence("Clean request to a fresh URL, for comparison", &fresh, None),
            );
        }
        Ok(drafts)
    }
}
