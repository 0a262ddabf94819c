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

use crate::checks::{Family, ProbeContext};
use crate::discover::Endpoint;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &identity_unkeyed::IdentityUnkeyed,
        &auth_after_lookup::AuthAfterLookup,
        &unkeyed_header::UnkeyedHeader,
        &unkeyed_param::UnkeyedParam,
        &cached_error::CachedError,
        &deception::Deception,
        &risky_headers::RiskyHeaders,
    ],
};

/// The endpoint's URL when probes may store attacker-chosen content there:
/// a read-only endpoint behind a cache proven to key on the buster.
pub(crate) fn poisonable_url(ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Option<Url> {
    if !ctx.facts.cache.safe_to_poison() || !endpoint.is_read_only() {
        return None;
    }
    ctx.url(endpoint)
}
