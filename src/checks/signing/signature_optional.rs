//! Signature removed or corrupted, and still accepted.
//!
//! A signed URL is only as strong as its verification. Code like
//! `if token: serializer.loads(token)` skips verification when the token is
//! absent; a cache in front of (or inside) the view can serve a stored
//! response before any verification runs. Rampart drops the signature, and
//! corrupts one character of it, on a link the API itself issued.

use async_trait::async_trait;

use super::{corrupt, links_for, signature_of, with_param};
use crate::checks::authz::success_json;
use crate::checks::cache::same_response;
use crate::checks::{Check, CheckMeta, Mode, ProbeContext};
use crate::discover::Endpoint;
use crate::engine::{Caller, EngineError};
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct SignatureOptional;

static META: CheckMeta = CheckMeta {
    id: "signing.signature-optional",
    family: "signing",
    category: Category::Signature,
    severity: Severity::High,
    summary: "Signed links accepted with the signature removed or corrupted",
    mode: Mode::Active,
    min_identities: 1,
};

#[async_trait]
impl Check for SignatureOptional {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(
        &self,
        ctx: &ProbeContext<'_>,
        endpoint: &Endpoint,
    ) -> Result<Vec<FindingDraft>, EngineError> {
        let mut drafts = Vec::new();
        for link in links_for(ctx, endpoint).into_iter().take(1) {
            let owner = Caller::Identity(link.owner.clone());
            let genuine_url = ctx.engine.buster().bust(&link.url);
            let genuine = ctx.get(endpoint, &genuine_url, &owner, &[]).await?;
            if !success_json(&genuine) {
                continue;
            }
            let param = &link.signature_param;
            let removed = ctx
                .get(
                    endpoint,
                    &with_param(ctx, &link.url, param, None),
                    &owner,
                    &[],
                )
                .await?;
            if same_response(&genuine, &removed) {
                drafts.push(
                    FindingDraft::at_exchange(&removed, Severity::High, Confidence::Confirmed)
                        .title(format!("Signed link accepted without its signature (`{param}` removed)"))
                        .description(format!(
                            "The link from `{}` returned the same data with `{param}` removed: the signature is checked only when present.",
                            link.field
                        ))
                        .parameter(param.clone())
                        .key("removed")
                        .evidence("The signed link as issued", &genuine, None)
                        .evidence("The same link without the signature", &removed, None),
                );
            }
            let bad = corrupt(&signature_of(link));
            let corrupted = ctx
                .get(
                    endpoint,
                    &with_param(ctx, &link.url, param, Some(&bad)),
                    &owner,
                    &[],
                )
                .await?;
            if same_response(&genuine, &corrupted) {
                drafts.push(
                    FindingDraft::at_exchange(&corrupted, Severity::High, Confidence::Confirmed)
                        .title(format!("Signed link accepted with a corrupted signature in `{param}`"))
                        .description("One changed character in the signature still returned the data: the signature is not verified.")
                        .parameter(param.clone())
                        .key("corrupted")
                        .evidence("The signed link as issued", &genuine, None)
                        .evidence("The same link with one signature character changed", &corrupted, None),
                );
            }
        }
        Ok(drafts)
    }
}
