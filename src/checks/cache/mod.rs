//! Web cache poisoning and cache deception.
//!
//! Every probe here carries a fresh cache buster (or, for deception, a fresh
//! file name), so whatever a probe stores in a cache lives under a key no
//! real user will ever request. Probes that store attacker-chosen content
//! run only when the scan has proven that the buster is part of the cache key.

pub mod auth_after_lookup;
pub mod cached_error;
pub mod deception;
pub mod identity_unkeyed;
pub mod risky_headers;
pub mod unkeyed_header;
pub mod unkeyed_param;

use url::Url;

use crate::checks::{Family, ProbeContext, Skip};
use crate::discover::Endpoint;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &identity_unkeyed::META,
        &auth_after_lookup::META,
        &unkeyed_header::META,
        &unkeyed_param::META,
        &cached_error::META,
        &deception::META,
        &risky_headers::META,
    ],
};

/// The endpoint's URL when probes may store attacker-chosen content there:
/// a read-only endpoint behind a cache proven to key on the buster.
pub(crate) fn poisonable_url(ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Result<Url, Skip> {
    if !endpoint.is_read_only() {
        return Err(Skip::NotApplicable("not a read"));
    }
    if !ctx.facts.cache.safe_to_poison() {
        return Err(Skip::NotCacheSafe(
            "no cache proven to key on the buster".into(),
        ));
    }
    read_url(ctx, endpoint)
}

/// The endpoint's URL for a read-only probe.
pub(crate) fn read_url(ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Result<Url, Skip> {
    if !endpoint.is_read_only() {
        return Err(Skip::NotApplicable("not a read"));
    }
    ctx.url(endpoint).ok_or(Skip::NoSampleValue)
}
