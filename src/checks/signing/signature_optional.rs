//! Signature removed or corrupted, and still accepted.
//!
//! A signed URL is only as strong as its verification. Code like
//! `if token: serializer.loads(token)` skips verification when the token is
//! absent. A cache in front of (or wrapped around) the view can serve a
//! stored response before any verification runs: when its key leaves the
//! rotating signature out — `@cache.cached(make_cache_key=…)` built from the
//! query string minus `token`, a CDN told to ignore `sig` — anyone who knows a
//! link that was fetched once gets the signed content with any signature at
//! all, for as long as the entry lives.
//!
//! Rampart works on a link the API itself issued:
//! * it drops the signature (on a fresh, cache-busted URL);
//! * it corrupts one character of the signature on a fresh URL — accepted
//!   there, the signature is simply not verified;
//! * otherwise it sends the corrupted signature on the very URL (same cache
//!   buster) its genuine request just fetched. Refused on the fresh URL but
//!   answered with the genuine response here, the answer came from a cache
//!   consulted before verification, and is reported as such.

use async_trait::async_trait;

use super::{corrupt, genuine_link, replace_param, signature_of};
use crate::checks::probe::{cache_note, same_response};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn};
use crate::discover::Endpoint;
use crate::engine::Exchange;
use crate::facts::{Needs, Varies};
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct SignatureOptional;

pub static META: CheckMeta = CheckMeta {
    check: &SignatureOptional,
    id: "signing.signature-optional",
    category: Category::Signature,
    severity: Severity::High,
    summary: "Signed links accepted with the signature removed or corrupted",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::SIGNED_LINKS,
};

/// A corrupted signature on a never-fetched URL got the genuine answer: the
/// server itself does not verify the signature.
fn accepted_fresh(genuine: &Exchange, fresh: &Exchange, varies: &Varies) -> bool {
    varies.same_data(genuine, fresh)
}

/// A corrupted signature was refused on a never-fetched URL but got the
/// genuine answer on the URL the genuine request had just fetched: a cache
/// keyed without the signature answered before verification ran.
fn served_from_cache(genuine: &Exchange, fresh: &Exchange, primed: &Exchange) -> bool {
    !(200..300).contains(&fresh.response.status) && same_response(genuine, primed)
}

#[async_trait]
impl Check for SignatureOptional {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let signed = genuine_link(ctx, endpoint).await?;
        let (link, genuine) = (signed.link, &signed.answer);
        let mut drafts = Vec::new();
        let param = &link.signature_param;
        let removed = signed.fetch_with(ctx, endpoint, param, None).await?;
        if signed.same_data(&removed) {
            drafts.push(
                FindingDraft::at_exchange(&removed, Severity::High, Confidence::Confirmed)
                    .title(format!("Signed link accepted without its signature (`{param}` removed)"))
                    .description(format!(
                        "The link from `{}` returned the same data with `{param}` removed: the signature is checked only when present.",
                        link.field
                    ))
                    .parameter(param.clone())
                    .key("removed")
                    .evidence("The signed link as issued", genuine, None)
                    .evidence(signed.compared("The same link without the signature"), &removed, None),
            );
        }
        let bad = corrupt(&signature_of(link));
        let fresh = signed.fetch_with(ctx, endpoint, param, Some(&bad)).await?;
        if accepted_fresh(genuine, &fresh, &signed.varies) {
            drafts.push(
                FindingDraft::at_exchange(&fresh, Severity::High, Confidence::Confirmed)
                    .title(format!("Signed link accepted with a corrupted signature in `{param}`"))
                    .description("One changed character in the signature still returned the data on a never-fetched URL: the signature is not verified.")
                    .parameter(param.clone())
                    .key("corrupted")
                    .evidence("The signed link as issued", genuine, None)
                    .evidence("The same link with one signature character changed", &fresh, None),
            );
            return Ok(drafts);
        }
        // Verified on a fresh URL. Is a cache keyed without the signature
        // consulted first? Ask for the URL the genuine request fetched.
        let primed_url = replace_param(&signed.url, param, Some(&bad));
        let primed = ctx.get(endpoint, &primed_url, &signed.owner, &[]).await?;
        if served_from_cache(genuine, &fresh, &primed) {
            drafts.push(
                FindingDraft::at_exchange(&primed, Severity::High, Confidence::Confirmed)
                    .title(format!(
                        "Corrupted signature in `{param}` answered from a cache that runs before verification"
                    ))
                    .description(format!(
                        "A corrupted signature was refused (HTTP {}) on a never-fetched URL, but on the URL the signed \
                         link from `{}` had just fetched it received the same data: the cache key leaves `{param}` out \
                         and is looked up before the signature is verified, so any signature opens a link fetched once.",
                        fresh.response.status, link.field
                    ))
                    .parameter(param.clone())
                    .key("cached")
                    .evidence(
                        format!("The signed link as issued, on a fresh URL{}", cache_note(genuine)),
                        genuine,
                        None,
                    )
                    .evidence("A corrupted signature on another fresh URL is refused", &fresh, None)
                    .evidence(
                        format!(
                            "The corrupted signature on the URL just fetched gets the same answer{}",
                            cache_note(&primed)
                        ),
                        &primed,
                        None,
                    ),
            );
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::checks::probe::fixtures::exchange;

    fn answer(status: u16, body: &str) -> Arc<Exchange> {
        let url = "http://h/api/reports/download?user_id=1&token=t&rampart_cb=1";
        exchange(url, Some("alice"), status, &[], body)
    }

    const REPORT: &str = r#"{"report_id":"rpt-alice","body":"alice"}"#;
    const REFUSED: &str = r#"{"error":"invalid signature"}"#;

    #[test]
    fn a_corrupted_signature_accepted_on_a_fresh_url_is_not_verified() {
        let genuine = answer(200, REPORT);
        assert!(accepted_fresh(&genuine, &answer(200, REPORT), &Varies::Not));
        assert!(!accepted_fresh(
            &genuine,
            &answer(403, REFUSED),
            &Varies::Not
        ));
    }

    #[test]
    fn only_a_refused_fresh_probe_and_an_accepted_primed_one_mean_a_cache() {
        let genuine = answer(200, REPORT);
        let refused = answer(403, REFUSED);
        // Refused fresh, genuine answer on the primed URL: the cache answered.
        assert!(served_from_cache(&genuine, &refused, &answer(200, REPORT)));
        // Refused on both: verification runs first (the fixed design).
        assert!(!served_from_cache(&genuine, &refused, &refused));
        // A different 200 on the primed URL is not the cached answer.
        assert!(!served_from_cache(
            &genuine,
            &refused,
            &answer(200, r#"{"report_id":"rpt-bob"}"#)
        ));
        // A fresh probe that was not refused proves nothing about a cache.
        assert!(!served_from_cache(
            &genuine,
            &answer(200, r#"{"other":1}"#),
            &answer(200, REPORT)
        ));
    }
}
