//! Configuration: what an API exposes by how it is deployed rather than by
//! what its code does — endpoints nobody documented (and documented ones
//! that are gone), cross-origin rules that let any web page read answers,
//! banners that name the software and its version, error pages that say
//! too much, `TRACE`, and the headers that keep browsers from guessing.

pub mod banners;
pub mod cors;
pub mod security_headers;
pub mod trace;
pub mod undocumented_endpoint;
pub mod undocumented_method;
pub mod verbose_errors;
pub mod zombie_endpoint;

use std::sync::Arc;

use crate::checks::Family;
use crate::engine::Exchange;
use crate::finding::{Confidence, FindingDraft, Severity};

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &undocumented_endpoint::META,
        &zombie_endpoint::META,
        &undocumented_method::META,
        &cors::META,
        &banners::META,
        &verbose_errors::META,
        &trace::META,
        &security_headers::META,
    ],
};

/// A finding about the whole deployment, first seen on `exchange`: filed
/// under the target's root (`GET /`), so one cause is one finding however
/// many answers show it.
pub(crate) fn deployment_draft(
    exchange: &Arc<Exchange>,
    severity: Severity,
    key: String,
    title: String,
    description: String,
) -> FindingDraft {
    let mut draft = FindingDraft::at_exchange(exchange, severity, Confidence::Firm)
        .title(title)
        .description(description)
        .key(key)
        .evidence(
            format!(
                "First seen on {} {}",
                exchange.request.method,
                exchange.endpoint_path()
            ),
            exchange,
            None,
        );
    draft.head.method = "GET".into();
    draft.head.path = "/".into();
    draft
}
