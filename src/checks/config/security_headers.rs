//! `X-Content-Type-Options: nosniff` on API answers.
//!
//! Without it, a browser that is led to an API URL may guess ("sniff") a
//! type other than the one declared, and render a JSON answer that carries
//! user-controlled text as HTML or run it as a script. APIs rarely face
//! browsers, so this is a note, not an alarm. (Caller-specific answers
//! without `Cache-Control: private`/`no-store` are `cache.risky-headers`.)

use std::sync::Arc;

use super::deployment_draft;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Severity};

pub struct SecurityHeaders;

pub static META: CheckMeta = CheckMeta {
    check: &SecurityHeaders,
    id: "config.security-headers",
    category: Category::Configuration,
    severity: Severity::Info,
    summary: "API answers without X-Content-Type-Options: nosniff",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

impl Check for SecurityHeaders {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        let status = exchange.response.status;
        let typed = exchange.content_type().is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.contains("json") || ct.contains("html") || ct.contains("text/")
        });
        if !(200..300).contains(&status) || exchange.response.body.is_empty() || !typed {
            return Err(Skip::NotApplicable("no body a browser would render"));
        }
        let nosniff = exchange
            .response_header("x-content-type-options")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("nosniff"));
        if nosniff {
            return Ok(Vec::new());
        }
        Ok(vec![deployment_draft(
            exchange,
            Severity::Info,
            "nosniff".into(),
            "Answers without `X-Content-Type-Options: nosniff`".into(),
            "Answers do not forbid browsers to guess their type; add \
             `X-Content-Type-Options: nosniff` to every answer."
                .into(),
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{inspected, Answer};

    #[test]
    fn json_without_nosniff_is_one_note_and_with_it_none() {
        let json = [("Content-Type", "application/json")];
        let bare = Answer::new(200, "{\"a\":1}").headers(&json).exchange();
        let drafts = inspected(&SecurityHeaders, &bare);
        assert_eq!(drafts.len(), 1);
        assert_eq!(
            (drafts[0].head.severity, drafts[0].head.path.as_str()),
            (Severity::Info, "/")
        );
        let safe = Answer::new(200, "{\"a\":1}")
            .headers(&[json[0], ("X-Content-Type-Options", "nosniff")])
            .exchange();
        assert!(inspected(&SecurityHeaders, &safe).is_empty());
        let empty = Answer::new(204, "").headers(&json).exchange();
        assert!(SecurityHeaders.inspect(&empty).is_err());
    }
}
