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

pub static META: CheckMeta = CheckMeta {
    check: &Replay,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{scan, serve, ALICE};
    use crate::checks::signing::fixture::{setup, Desk};

    const DAYS: i64 = 86_400;

    async fn run(desk: Desk) -> Vec<FindingDraft> {
        let target = serve(desk.app()).await;
        scan(&META, &target, setup(&[&ALICE])).await.drafts
    }

    #[tokio::test]
    async fn a_token_accepted_days_after_it_was_issued_is_reported() {
        let drafts = run(Desk {
            issued_ago: 3 * DAYS,
            ..Desk::default()
        })
        .await;
        assert_eq!(drafts.len(), 1, "{drafts:#?}");
        assert_eq!(
            drafts[0].head.title,
            "Signed token accepted 3.0 days after it was issued"
        );
        assert!(drafts[0].head.description.contains("from `download_url`"));
    }

    #[tokio::test]
    async fn fresh_tokens_and_servers_that_enforce_a_maximum_age_are_no_finding() {
        for desk in [
            Desk {
                issued_ago: 60,
                ..Desk::default()
            },
            Desk {
                issued_ago: 3 * DAYS,
                expires: true,
                ..Desk::default()
            },
        ] {
            let drafts = run(desk).await;
            assert!(drafts.is_empty(), "{desk:?}: {drafts:#?}");
        }
    }
}
