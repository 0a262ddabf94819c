//! Signed requests that can be replayed.
//!
//! A request signature proves who made a request, not when or how often.
//! Unless the server refuses a timestamp outside a short window and
//! remembers every nonce it has accepted, a signed request captured once —
//! from a log, a proxy, a HAR file, a screenshot of a debugging session — is
//! valid again and again, for ever, and a replayed write repeats its action.
//!
//! With the signing recipe from the identity file, Rampart sends a correctly
//! signed request, then the identical request again (same timestamp, nonce
//! and signature), then correctly signed requests dated an hour in the past
//! and an hour in the future. It reports only where the same request with a
//! corrupted signature is refused, so the server is known to verify
//! signatures. Read-only endpoints only, unless `--active`.

use async_trait::async_trait;

use super::recipe::{accepted, control, same_answer};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn};
use crate::discover::Endpoint;
use crate::engine::{SignOptions, Signing};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};
use crate::identity::signing::fresh_nonce;

pub struct RequestReplay;

/// How far from now the out-of-window probes are dated.
pub const SKEW_SECONDS: i64 = 3600;

pub static META: CheckMeta = CheckMeta {
    check: &RequestReplay,
    id: "signing.request-replay",
    category: Category::Signature,
    severity: Severity::High,
    summary: "Signed requests accepted again unchanged, or dated an hour in the past or future (needs a signing recipe)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 1,
    needs: Needs::NOTHING,
};

/// One way of replaying a signed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// The identical request a second time.
    Reuse,
    /// Correctly signed, dated `SKEW_SECONDS` ago.
    Stale,
    /// Correctly signed, dated `SKEW_SECONDS` ahead.
    Future,
}

impl Replay {
    fn key(self) -> &'static str {
        match self {
            Replay::Reuse => "reuse",
            Replay::Stale => "stale",
            Replay::Future => "future",
        }
    }

    fn severity(self, read_only: bool) -> Severity {
        match (self, read_only) {
            (Replay::Stale, _) | (_, false) => Severity::High,
            (Replay::Reuse | Replay::Future, true) => Severity::Medium,
        }
    }
}

#[async_trait]
impl Check for RequestReplay {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let now = chrono::Utc::now().timestamp();
        let pinned = SignOptions {
            timestamp: Some(now),
            nonce: Some(fresh_nonce()),
            ..SignOptions::default()
        };
        let control = control(ctx, endpoint, &pinned).await?;
        let (recipe, planned) = (control.recipe, &control.planned);
        let who = control.who.as_str();
        let read_only = endpoint.is_read_only();
        let nonce_note = match &recipe.nonce_header {
            Some(header) => format!("the same `{header}`"),
            None => "no nonce (the recipe sends none)".to_string(),
        };
        let mut drafts = Vec::new();

        // 1. The identical request again.
        let again = ctx.engine.send(control.genuine_probe.clone()).await?;
        if accepted(&again) && same_answer(&control.genuine, &again) {
            let draft =
                FindingDraft::at_exchange(&again, Replay::Reuse.severity(read_only), Confidence::Confirmed)
                    .title("Signed request accepted again when replayed unchanged (no nonce check)")
                    .description(format!(
                        "{who}'s correctly signed request was sent twice, byte for byte ({nonce_note}, the same \
                         timestamp and signature), and accepted both times (HTTP {}), while a corrupted signature \
                         is refused (HTTP {}): the server verifies signatures but does not remember which requests \
                         it has already accepted. Anyone who captures a signed request can send it again{}.",
                        again.response.status,
                        control.corrupted.response.status,
                        if read_only { "" } else { ", repeating its action" }
                    ))
                    .parameter(recipe.nonce_header.clone().unwrap_or_else(|| recipe.header.clone()))
                    .key(Replay::Reuse.key());
            drafts.push(control.evidence(draft).evidence(
                "The identical signed request, sent again, is accepted again",
                &again,
                None,
            ));
        }

        // 2. Correctly signed, but dated outside any sensible window.
        let Some(timestamp_header) = recipe.timestamp_header.clone() else {
            return Ok(drafts);
        };
        let unsigned_note = if recipe.signs_timestamp() {
            ""
        } else {
            " The recipe does not even sign the timestamp, so it can be changed on a captured request."
        };
        for (replay, offset, when) in [
            (Replay::Stale, -SKEW_SECONDS, "an hour old"),
            (Replay::Future, SKEW_SECONDS, "an hour in the future"),
        ] {
            let options = SignOptions {
                timestamp: Some(now + offset),
                ..SignOptions::default()
            };
            let url = ctx.fresh(&planned.url);
            let answer = ctx
                .engine
                .send(planned.probe(endpoint, url, None, who, Signing::With(options)))
                .await?;
            if !(accepted(&answer) && same_answer(&control.genuine, &answer)) {
                continue;
            }
            let consequence = match replay {
                Replay::Stale => "a signed request captured at any time in the past is still good",
                _ => "a client (or anyone who obtains one of its signatures) can pre-sign requests that stay valid long into the future",
            };
            let draft =
                FindingDraft::at_exchange(&answer, replay.severity(read_only), Confidence::Confirmed)
                    .title(format!(
                        "Signed request with a timestamp {when} accepted (no time window)"
                    ))
                    .description(format!(
                        "A request correctly signed by {who} with `{timestamp_header}` set {} seconds {} was accepted \
                         (HTTP {}), while a corrupted signature is refused (HTTP {}): the server checks the signature \
                         but enforces no time window, so {consequence}.{unsigned_note}",
                        offset.abs(),
                        if offset < 0 { "in the past" } else { "in the future" },
                        answer.response.status,
                        control.corrupted.response.status,
                    ))
                    .parameter(timestamp_header.clone())
                    .key(replay.key());
            drafts.push(control.evidence(draft).evidence(
                format!("A correctly signed request dated {when} is accepted"),
                &answer,
                None,
            ));
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_of_writes_are_high_and_a_missing_window_is_always_high() {
        assert_eq!(Replay::Reuse.severity(true), Severity::Medium);
        assert_eq!(Replay::Reuse.severity(false), Severity::High);
        assert_eq!(Replay::Stale.severity(true), Severity::High);
        assert_eq!(Replay::Future.severity(true), Severity::Medium);
        assert_eq!(Replay::Future.severity(false), Severity::High);
        let keys = [Replay::Reuse, Replay::Stale, Replay::Future].map(Replay::key);
        assert_eq!(keys, ["reuse", "stale", "future"]);
    }

    #[test]
    fn meta_needs_no_second_identity_and_stays_read_only() {
        let meta = &META;
        assert_eq!(meta.id, "signing.request-replay");
        assert_eq!(meta.category, Category::Signature);
        assert_eq!(meta.mode, Mode::Active);
        assert_eq!(meta.min_identities, 1);
    }
}
