//! Strict-Transport-Security.
//!
//! Without HSTS, the first request a client makes to the API's host can be
//! plain HTTP and an attacker on the path can keep it that way (SSL
//! stripping). A short `max-age` or a missing `includeSubDomains` leaves
//! the same gap open part of the time or on sibling hosts.

use std::sync::Arc;

use crate::checks::probe::target_draft;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::engine::Exchange;
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, Severity};

pub struct Hsts;

/// 180 days: shorter lifetimes lapse between visits.
pub const MIN_MAX_AGE: u64 = 180 * 24 * 3600;

pub static META: CheckMeta = CheckMeta {
    check: &Hsts,
    id: "transport.hsts",
    category: Category::Cryptography,
    severity: Severity::Medium,
    summary: "HTTPS responses without Strict-Transport-Security, or with a short max-age",
    mode: Mode::Passive,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::NOTHING,
};

/// What is wrong with an HSTS header value, if anything.
pub fn weakness(value: Option<&str>) -> Option<(Severity, String)> {
    let Some(value) = value else {
        return Some((
            Severity::Medium,
            "no Strict-Transport-Security header".into(),
        ));
    };
    let directives: Vec<String> = value
        .split(';')
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    let max_age = directives.iter().find_map(|d| {
        d.strip_prefix("max-age=")?
            .trim_matches('"')
            .parse::<u64>()
            .ok()
    });
    match max_age {
        None => Some((Severity::Medium, format!("`{value}` has no valid max-age"))),
        Some(age) if age < MIN_MAX_AGE => {
            Some((Severity::Low, format!("max-age={age} is under 180 days")))
        }
        Some(_) if !directives.iter().any(|d| d == "includesubdomains") => {
            Some((Severity::Low, "no includeSubDomains".into()))
        }
        Some(_) => None,
    }
}

impl Check for Hsts {
    fn judge_target(&self, root: &Arc<Exchange>, _facts: &TargetFacts) -> Outcome {
        if !root.request.url.starts_with("https://") {
            return Err(Skip::NotApplicable("the target is not https"));
        }
        let Some((severity, why)) = weakness(root.response_header("strict-transport-security"))
        else {
            return Ok(Vec::new());
        };
        Ok(vec![target_draft(
            root,
            severity,
            "Missing or weak HTTP Strict Transport Security".into(),
            format!("The HTTPS response has {why}."),
            "hsts".into(),
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_values_are_judged() {
        assert!(weakness(None).is_some());
        assert!(weakness(Some("max-age=300")).is_some());
        assert!(weakness(Some("max-age=31536000")).is_some());
        assert!(weakness(Some("max-age=31536000; includeSubDomains")).is_none());
        assert!(weakness(Some("includeSubDomains")).is_some());
    }

    #[test]
    fn only_https_roots_are_judged() {
        use crate::checks::probe::fixtures::{exchange, Answer};
        let facts = TargetFacts::default();
        let bare = Answer::new(200, "{}")
            .at("https://api.example.com/")
            .exchange();
        let drafts = Hsts.judge_target(&bare, &facts).unwrap();
        assert_eq!(drafts.len(), 1);
        assert_eq!(drafts[0].head.severity, Severity::Medium);
        let strict = exchange(
            "https://api.example.com/?rampart_cb=1",
            None,
            200,
            &[(
                "Strict-Transport-Security",
                "max-age=31536000; includeSubDomains",
            )],
            "{}",
        );
        assert!(Hsts.judge_target(&strict, &facts).unwrap().is_empty());
        let plain = exchange("http://api.example.com/?rampart_cb=1", None, 200, &[], "{}");
        assert_eq!(
            Hsts.judge_target(&plain, &facts).unwrap_err(),
            Skip::NotApplicable("the target is not https")
        );
    }
}
