//! Web cache deception.
//!
//! Caches decide what to store by how a URL looks: anything ending in `.css`
//! or `.png` is "static". If the origin ignores the suffix — serving
//! `/account/x.css`, `/account;x.js` or `/account%2fx.png` as `/account` —
//! an attacker who lures a victim to such a link makes the cache store the
//! victim's private page, then fetches it themselves. Rampart uses a unique
//! file name per probe, so the stored entry is one no real user requests.

use async_trait::async_trait;
use url::Url;

use super::private_key;
use crate::checks::probe::{cache_note, is_success, private_view, same_response};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::{Caller, Exchange};
use crate::facts::cache_profile::Key;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Deception;

pub static META: CheckMeta = CheckMeta {
    check: &Deception,
    id: "cache.deception",
    category: Category::CacheDeception,
    severity: Severity::High,
    summary: "Private responses served for static-looking paths and stored by the cache",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::CACHE_PROFILE,
};

/// How a static-looking name is attached to the private path.
static SUFFIXES: &[(&str, &str)] = &[
    ("path-segment", "/{name}.css"),
    ("semicolon", ";{name}.js"),
    ("encoded-slash", "%2f{name}.png"),
    ("extension", ".{name}.css"),
];

fn deceptive_url(url: &Url, pattern: &str, name: &str) -> Option<Url> {
    let mut deceptive = url.clone();
    let path = format!(
        "{}{}",
        url.path().trim_end_matches('/'),
        pattern.replace("{name}", name)
    );
    deceptive.set_path(&path);
    (deceptive.path() == path).then_some(deceptive)
}

/// The deception URL served the owner's normal response, not an error page.
fn looks_like(owner_normal: &Exchange, candidate: &Exchange) -> bool {
    if !is_success(candidate) {
        return false;
    }
    if candidate.response.body == owner_normal.response.body {
        return true;
    }
    match (owner_normal.body_json(), candidate.body_json()) {
        (Some(serde_json::Value::Object(a)), Some(serde_json::Value::Object(b))) => {
            !a.is_empty() && a.keys().eq(b.keys())
        }
        _ => false,
    }
}

#[async_trait]
impl Check for Deception {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let url = super::read_url(ctx, endpoint)?;
        // Only private responses are worth deceiving a cache into storing.
        let Some(view) = private_view(ctx).filter(|view| is_success(&view.mine)) else {
            return Err(Skip::Missing("no caller-specific answer"));
        };
        let (owner, owner_normal) = (view.owner, view.mine);
        // A lure's file name is unique, so where the cache keys on the path
        // the lure is a key of its own; where it was proven to key on
        // something else (the Host, a parameter), the lure carries that
        // fresh component too.
        let in_path = ctx
            .facts
            .cache
            .path(&endpoint.label())
            .and_then(|p| p.component())
            .is_some_and(|c| !c.keeps_path());
        let lure_base = || -> Result<Key, Skip> {
            if in_path {
                return Ok(Key {
                    url: ctx.fresh(&url),
                    headers: Vec::new(),
                });
            }
            private_key(ctx, endpoint, &url)
        };
        // The victim opens a lure, then the attacker asks for it: the pair,
        // when the attacker got the victim's private answer.
        let (owner_ref, normal_ref, base_ref) = (&owner, &owner_normal, &lure_base);
        let lured = |pattern: &'static str| async move {
            let name = format!("rampart{}", ctx.engine.buster().next_token());
            // The buster too: an origin that ignores the suffix may key its
            // own cache on the bare path, and a probe must never create
            // that entry.
            let base = base_ref()?;
            let Some(lure) = deceptive_url(&base.url, pattern, &name) else {
                return Ok(None);
            };
            let victim = ctx.get(endpoint, &lure, owner_ref, &base.headers).await?;
            if !looks_like(normal_ref, &victim) {
                return Ok(None);
            }
            let attacker = ctx
                .get(endpoint, &lure, &Caller::Anonymous, &base.headers)
                .await?;
            Ok::<_, Skip>(same_response(&victim, &attacker).then_some((victim, attacker)))
        };
        for (kind, pattern) in SUFFIXES {
            let Some((victim, attacker)) = lured(pattern).await? else {
                continue;
            };
            // Without the victim's visit, the same kind of URL stays private.
            let control_name = format!("rampart{}", ctx.engine.buster().next_token());
            let control_base = lure_base()?;
            let Some(control_url) = deceptive_url(&control_base.url, pattern, &control_name) else {
                continue;
            };
            let control = ctx
                .get(
                    endpoint,
                    &control_url,
                    &Caller::Anonymous,
                    &control_base.headers,
                )
                .await?;
            if same_response(&victim, &control) || looks_like(&owner_normal, &control) {
                continue;
            }
            // Once more with another lure before it is reported.
            let Some((_, replayed)) = lured(pattern).await? else {
                continue;
            };
            let draft = FindingDraft::at_exchange(&attacker, Severity::High, Confidence::Confirmed)
                .title(format!("Cache deception: {}'s private response stored for a static-looking URL", owner.label()))
                .description(format!(
                    "The origin serves {} for `{}` and the cache stores it; an anonymous attacker then fetched the \
                     same URL and received {}'s private data.",
                    endpoint.path,
                    pattern.replace("{name}", "x"),
                    owner.label()
                ))
                .parameter(*kind)
                .key("deception")
                .evidence(
                    format!("Victim ({}) opens the lure URL{}", owner.label(), cache_note(&victim)),
                    &victim,
                    None,
                )
                .evidence(
                    format!("Anonymous attacker fetches the same URL{}", cache_note(&attacker)),
                    &attacker,
                    None,
                )
                .evidence("Anonymous request to an unvisited lure URL is not served the data", &control, None)
                .evidence("Replayed with another lure: the attacker again gets the private answer", &replayed, None);
            return Ok(vec![draft]);
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lure_urls_keep_the_private_path_as_prefix() {
        let url = Url::parse("http://h/api/account?x=1").unwrap();
        let urls: Vec<String> = SUFFIXES
            .iter()
            .filter_map(|(_, p)| deceptive_url(&url, p, "n"))
            .map(|u| u.to_string())
            .collect();
        assert_eq!(
            urls,
            vec![
                "http://h/api/account/n.css?x=1",
                "http://h/api/account;n.js?x=1",
                "http://h/api/account%2fn.png?x=1",
                "http://h/api/account.n.css?x=1",
            ]
        );
    }
}
