//! Replay of old signed tokens.
//!
//! A signed token without an expiry check (itsdangerous `loads` without
//! `max_age`, a signature over no timestamp) is valid forever: a link copied
//! from a log last year still works. itsdangerous tokens carry their issue
//! time in clear, so Rampart can tell how old an accepted token is without
//! knowing the secret.

use async_trait::async_trait;

use super::{fetch_as_owner, links_for};
use crate::checks::probe::success_json;
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Replay;

/// Older than this, an accepted signed token is a replay risk.
pub const MAX_AGE_SECONDS: i64 = 24 * 3600;

static META: CheckMeta = CheckMeta {
    id: "signing.replay",
    category: Category::Signature,
    severity: Severity::High,
    summary: "Signed tokens accepted long after they were issued (no expiry)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::SIGNED_LINKS,
};

#[async_trait]
impl Check for Replay {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let links = links_for(ctx, endpoint);
        if links.is_empty() {
            return Err(Skip::Missing("no signed link points here"));
        }
        for link in links {
            let Some(age) = link.age_seconds().filter(|age| *age >= MAX_AGE_SECONDS) else {
                continue;
            };
            let (_, answer) = fetch_as_owner(ctx, endpoint, link).await?;
            if !success_json(&answer) {
                continue;
            }
            let days = age as f64 / 86400.0;
            return Ok(vec![FindingDraft::at_exchange(&answer, Severity::High, Confidence::Confirmed)
                .title(format!("Signed token accepted {days:.1} days after it was issued"))
                .description(format!(
                    "The itsdangerous token in `{}` (from `{}`) was issued {days:.1} days ago and is still accepted: \
                     verification sets no maximum age.",
                    link.signature_param, link.field
                ))
                .parameter(link.signature_param.clone())
                .key("expiry")
                .evidence("The old signed link is still accepted", &answer, None)]);
        }
        Ok(Vec::new())
    }
}
