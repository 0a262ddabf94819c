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

static META: CheckMeta = CheckMeta {
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
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

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
