//! Cached error responses (cache-poisoned denial of service, CPDoS).
//!
//! A request the origin rejects — a method-override header asking for
//! DELETE, a header larger than the origin accepts — yields an error page.
//! If the cache stores that error under the normal URL's key, one attacker
//! request takes the URL down for everyone until the entry expires. Rampart
//! sends the trigger to a fresh busted URL and shows that a clean request to
//! that URL then receives the error while a fresh URL still works.

use async_trait::async_trait;

use super::poisonable_url;
use crate::checks::probe::{poison, Taint};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::Caller;
use crate::facts::Needs;
use crate::finding::{Category, Severity};

pub struct CachedError;

static META: CheckMeta = CheckMeta {
    id: "cache.cached-error",
    category: Category::CachePoisoning,
    severity: Severity::Medium,
    summary: "Error responses triggered by one request are cached for everyone (CPDoS)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::CACHE_PROFILE,
};

/// Header sizes between common origin limits and common cache limits
/// (origins often stop at 4-8 KiB, CDNs accept 16-20 KiB).
const OVERSIZED_HEADER_BYTES: [usize; 2] = [4 * 1024, 12 * 1024];

fn triggers() -> Vec<(&'static str, String, String)> {
    vec![
        (
            "method-override",
            "X-HTTP-Method-Override".into(),
            "DELETE".into(),
        ),
        ("method-override", "X-HTTP-Method".into(), "DELETE".into()),
        (
            "method-override",
            "X-Method-Override".into(),
            "DELETE".into(),
        ),
        (
            "oversized-header",
            "X-Rampart-Oversized".into(),
            "a".repeat(OVERSIZED_HEADER_BYTES[0]),
        ),
        (
            "oversized-header",
            "X-Rampart-Oversized".into(),
            "a".repeat(OVERSIZED_HEADER_BYTES[1]),
        ),
        ("meta-character", "X-Rampart-Meta".into(), "\\".into()),
    ]
}

#[async_trait]
impl Check for CachedError {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let url = poisonable_url(ctx, endpoint)?;
        let caller = Caller::Anonymous;
        let Some(clean) = ctx.baseline(&caller) else {
            return Err(Skip::Missing("no anonymous baseline"));
        };
        if !(200..300).contains(&clean.response.status) {
            return Err(Skip::NoSuccessfulAnswer);
        }
        let mut drafts = Vec::new();
        let mut reported_kinds: Vec<&str> = Vec::new();
        for (kind, header, value) in triggers() {
            if reported_kinds.contains(&kind) {
                continue;
            }
            let target = ctx.fresh(&url);
            let attack = ctx.request(
                endpoint,
                &target,
                &caller,
                &[(header.clone(), value.clone())],
            );
            let taint = Taint::Status(&|status| status >= 400);
            let Some(poisoned) = poison(ctx, endpoint, attack, &target, taint).await? else {
                continue;
            };
            let fresh = ctx.get(endpoint, &ctx.fresh(&url), &caller, &[]).await?;
            if fresh.response.status >= 400 {
                continue;
            }
            reported_kinds.push(kind);
            let shown = if value.len() > 40 {
                format!("{} bytes", value.len())
            } else {
                value.clone()
            };
            drafts.push(
                poisoned
                    .draft(
                        Severity::Medium,
                        &format!("Attacker request with {header}"),
                        "Clean request to the same URL gets the error",
                    )
                    .title(format!(
                        "Error response cached for everyone after one request with {header} (CPDoS)"
                    ))
                    .description(format!(
                        "{header} ({shown}) makes the origin answer HTTP {} and the cache stores that error under the \
                         plain URL's key; a fresh URL still answers HTTP {}.",
                        poisoned.attack.response.status, fresh.response.status
                    ))
                    .parameter(header.clone())
                    .key(kind)
                    .evidence("Clean request to a fresh URL still works", &fresh, None),
            );
        }
        Ok(drafts)
    }
}
