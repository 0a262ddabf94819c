//! Personal data returned in clear.
//!
//! Social Security numbers, payment card numbers and lists of other people's
//! email addresses are what identity thieves and spammers harvest. An API that
//! returns them unmasked turns every caller, or every leaked token, into a
//! data breach.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{drafts_by_kind, Worded};
use crate::checks::{Check, CheckMeta, Mode};
use crate::detect::{self, PiiKind, BULK_EMAIL_THRESHOLD};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, FindingDraft, Severity};

pub struct Pii;

static META: CheckMeta = CheckMeta {
    id: "exposure.pii",
    category: Category::DataExposure,
    severity: Severity::High,
    summary: "US Social Security numbers, payment card numbers and bulk email addresses returned in clear",
    mode: Mode::Passive,
    min_identities: 0,
    needs: Needs::NOTHING,
};

impl Check for Pii {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn inspect(&self, exchange: &Arc<Exchange>) -> Vec<FindingDraft> {
        let detections = detect::find_pii(exchange.body_text(), exchange.body_json());
        drafts_by_kind(exchange, detections, |kind, found| {
            let distinct: BTreeSet<&str> = found.iter().map(|d| d.matched.as_str()).collect();
            let (severity, key, title, what) = match kind {
                PiiKind::UsSsn => (
                    Severity::High,
                    "ssn",
                    "US Social Security number returned in clear",
                    "Social Security number(s)",
                ),
                PiiKind::PaymentCard => (
                    Severity::High,
                    "card",
                    "Payment card number returned in clear",
                    "full payment card number(s) (Luhn-valid, known issuer prefix)",
                ),
                PiiKind::Email if distinct.len() >= BULK_EMAIL_THRESHOLD => (
                    Severity::Medium,
                    "email-bulk",
                    "Email addresses of many people returned in bulk",
                    "distinct email addresses",
                ),
                PiiKind::Email => return None,
            };
            Some(Worded {
                severity,
                key,
                title: title.to_string(),
                description: format!("The response contains {} {what}.", distinct.len()),
            })
        })
    }
}
