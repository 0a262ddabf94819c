//! Risky cache headers on authenticated responses.
//!
//! A response that depends on who asked must tell shared caches not to store
//! it (`Cache-Control: private` or `no-store`) or to key it on the credential
//! (`Vary: Authorization`). Without either, any CDN or proxy added in front of
//! the API later — or one configured to cache by default — starts serving one
//! user's data to others. This check sends nothing: it reads the baseline
//! responses, so it reports a risk (firm or tentative), not a proven leak.

use async_trait::async_trait;

use crate::checks::probe::{is_success, private_view};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::{Caller, Exchange};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct RiskyHeaders;

pub static META: CheckMeta = CheckMeta {
    check: &RiskyHeaders,
    id: "cache.risky-headers",
    category: Category::CachePoisoning,
    severity: Severity::Medium,
    summary: "Caller-specific responses that shared caches may store (no private/no-store, no Vary on the credential)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::NOTHING,
};

/// Lifetime a shared cache may use, in seconds, if the response grants one.
fn shared_lifetime(cache_control: &str) -> Option<u64> {
    let directives: Vec<String> = cache_control
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    let value_of = |name: &str| {
        directives.iter().find_map(|d| {
            d.strip_prefix(name)?
                .strip_prefix('=')?
                .trim_matches('"')
                .parse::<u64>()
                .ok()
        })
    };
    value_of("s-maxage")
        .or_else(|| value_of("max-age"))
        .or_else(|| directives.iter().any(|d| d == "public").then_some(0))
}

fn forbids_shared_storage(cache_control: &str) -> bool {
    cache_control
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .any(|d| d == "private" || d == "no-store" || d.starts_with("private="))
}

fn varies_on_credential(exchange: &Exchange, credential_headers: &[String]) -> bool {
    let vary = exchange
        .response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("vary"))
        .flat_map(|(_, v)| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect::<Vec<_>>();
    vary.iter().any(|v| v == "*")
        || credential_headers
            .iter()
            .all(|h| vary.iter().any(|v| v.eq_ignore_ascii_case(h)))
}

#[async_trait]
impl Check for RiskyHeaders {
    async fn probe(&self, ctx: &ProbeContext<'_>, _endpoint: &Endpoint) -> Outcome {
        // Only responses that depend on the caller are at risk.
        let Some(view) = private_view(ctx).filter(|view| is_success(&view.mine)) else {
            return Err(Skip::Missing("no caller-specific answer"));
        };
        let (owner, mine, anonymous) = (view.owner, view.mine, view.anonymous);
        let cache_control = mine.response_header("cache-control").unwrap_or("");
        if forbids_shared_storage(cache_control) {
            return Ok(Vec::new());
        }
        let credential_headers: Vec<String> = ctx
            .engine
            .identities()
            .iter()
            .filter(|i| Caller::Identity(i.name.clone()) == owner)
            .flat_map(|i| i.headers.iter().map(|(n, _)| n.clone()))
            .collect();
        if varies_on_credential(&mine, &credential_headers) {
            return Ok(Vec::new());
        }
        let (severity, confidence, title, why) = match shared_lifetime(cache_control) {
            Some(seconds) => (
                Severity::Medium,
                Confidence::Firm,
                "Caller-specific response marked cacheable by shared caches",
                format!(
                    "`Cache-Control: {cache_control}` lets shared caches keep this caller-specific response{} and there is \
                     no `Vary` on {}.",
                    if seconds > 0 { format!(" for {seconds} s") } else { String::new() },
                    credential_headers.join(", ")
                ),
            ),
            None => (
                Severity::Low,
                Confidence::Tentative,
                "Caller-specific response without Cache-Control: private or no-store",
                format!(
                    "The response differs by caller but carries {} and no `Vary` on {}; caches configured to store by \
                     default will share it.",
                    if cache_control.is_empty() { "no Cache-Control".to_string() } else { format!("`Cache-Control: {cache_control}`") },
                    credential_headers.join(", ")
                ),
            ),
        };
        Ok(vec![FindingDraft::at_exchange(&mine, severity, confidence)
            .title(title)
            .description(why)
            .key("headers")
            .evidence(
                format!("{}'s response and its cache headers", owner.label()),
                &mine,
                None,
            )
            .evidence(
                "The anonymous response differs, so the content is caller-specific",
                &anonymous,
                None,
            )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_is_read_like_a_shared_cache_would() {
        assert_eq!(shared_lifetime("public, max-age=60"), Some(60));
        assert_eq!(shared_lifetime("max-age=60, s-maxage=300"), Some(300));
        assert_eq!(shared_lifetime("public"), Some(0));
        assert_eq!(shared_lifetime("no-cache"), None);
        assert!(forbids_shared_storage("private, max-age=60"));
        assert!(forbids_shared_storage("No-Store"));
        assert!(!forbids_shared_storage("public, max-age=60"));
    }
}
