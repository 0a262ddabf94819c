//! Password hashes and passwords returned by the API.
//!
//! A password hash in a response lets an attacker crack it offline at their
//! own pace; a clear-text password needs no cracking at all. Either usually
//! means the API serialises its user records whole instead of choosing the
//! fields a caller may see.

use std::sync::Arc;

use super::{by_kind, exposure_draft, Worded};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::detect::{self, HashKind};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Severity};

pub struct PasswordHashes;

pub static META: CheckMeta = CheckMeta {
    check: &PasswordHashes,
    id: "exposure.password-hashes",
    category: Category::DataExposure,
    severity: Severity::High,
    summary: "Password hashes or clear-text password fields in responses",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

impl Check for PasswordHashes {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        let detections = detect::find_password_hashes(exchange.body_text(), exchange.body_json());
        let (clear, hashed): (Vec<_>, Vec<_>) = detections
            .into_iter()
            .partition(|d| d.kind == HashKind::ClearTextPassword);
        let mut drafts = Vec::new();
        if !hashed.is_empty() {
            let kinds: Vec<String> = by_kind(hashed.clone())
                .keys()
                .map(|k| format!("{k:?}"))
                .collect();
            let worded = Worded {
                severity: Severity::High,
                key: "hash",
                title: "Password hashes returned in response".into(),
                description: format!(
                    "The response contains {} password hash(es) ({}), which can be cracked offline.",
                    hashed.len(),
                    kinds.join(", ")
                ),
            };
            drafts.push(exposure_draft(exchange, worded, &hashed));
        }
        if !clear.is_empty() {
            let worded = Worded {
                severity: Severity::High,
                key: "clear-password",
                title: "Clear-text password field returned in response".into(),
                description: format!(
                    "The response contains {} password field(s) with an unmasked value.",
                    clear.len()
                ),
            };
            drafts.push(exposure_draft(exchange, worded, &clear));
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{inspected, Answer};
    use crate::finding::FindingDraft;

    const BCRYPT: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";

    fn judged(body: &str) -> Vec<FindingDraft> {
        inspected(&PasswordHashes, &Answer::new(200, body).exchange())
    }

    #[test]
    fn hashes_and_clear_passwords_are_one_finding_each() {
        let both = format!(
            r#"{{"users": [{{"name": "ana", "password_hash": "{BCRYPT}"}}, {{"name": "bo", "password": "hunter2-Winter"}}]}}"#
        );
        let drafts = judged(&both);
        let keys: Vec<&str> = drafts.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["hash", "clear-password"]);
        assert!(
            drafts[0]
                .head
                .description
                .contains("1 password hash(es) (Bcrypt)"),
            "{}",
            drafts[0].head.description
        );
        let focus = drafts[0].evidence[0].focus.clone().unwrap_or_default();
        assert_eq!(&both[focus], BCRYPT);
        assert_eq!(drafts[1].head.parameter.as_deref(), Some("password"));
        // A hash in text is still a hash.
        assert_eq!(judged(&format!("user ana\nhash {BCRYPT}\n")).len(), 1);
    }

    #[test]
    fn masked_empty_or_policy_fields_and_broken_json_are_no_finding() {
        for body in [
            r#"{"name": "ana", "password": "********"}"#,
            r#"{"name": "ana", "password": null, "password_policy": "12 characters"}"#,
            r#"{"password": ""}"#,
            r#"{"name": "ana", "password": "hunter2-Wint"#,
            "<html>Forgot your password?</html>",
        ] {
            let drafts = judged(body);
            assert!(drafts.is_empty(), "{body}: {drafts:#?}");
        }
    }
}
