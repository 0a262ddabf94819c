//! Personal data returned in clear.
//!
//! Social Security numbers, payment card numbers and lists of other people's
//! email addresses are what identity thieves and spammers harvest. An API that
//! returns them unmasked turns every caller, or every leaked token, into a
//! data breach.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{drafts_by_kind, Worded};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::detect::{self, Detection, PiiKind, BULK_EMAIL_THRESHOLD};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Severity};

pub struct Pii;

pub static META: CheckMeta = CheckMeta {
    check: &Pii,
    id: "exposure.pii",
    category: Category::DataExposure,
    severity: Severity::High,
    summary: "US Social Security numbers, payment card numbers and bulk email addresses returned in clear",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

impl Check for Pii {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        Ok(drafts_by_kind(
            exchange,
            detect::find_pii(exchange.body_text(), exchange.body_json()),
            word,
        ))
    }
}

/// How one kind of personal data in a response is reported: each SSN or card
/// number, but email addresses only in bulk (one is usually the caller's own).
fn word(kind: PiiKind, found: &[Detection<PiiKind>]) -> Option<Worded> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(kind: PiiKind, values: &[&str]) -> Vec<Detection<PiiKind>> {
        values
            .iter()
            .map(|v| Detection {
                kind,
                start: 0,
                end: v.len(),
                matched: v.to_string(),
                field: None,
            })
            .collect()
    }

    #[test]
    fn ssns_and_cards_are_reported_emails_only_in_bulk() {
        let ssn = word(PiiKind::UsSsn, &found(PiiKind::UsSsn, &["536-22-4187"])).unwrap();
        assert_eq!((ssn.severity, ssn.key), (Severity::High, "ssn"));
        assert_eq!(
            ssn.description,
            "The response contains 1 Social Security number(s)."
        );
        let card = word(
            PiiKind::PaymentCard,
            &found(PiiKind::PaymentCard, &["4111"]),
        )
        .unwrap();
        assert_eq!(card.key, "card");
        let few: Vec<String> = (1..BULK_EMAIL_THRESHOLD)
            .map(|i| format!("u{i}@x.test"))
            .collect();
        let few: Vec<&str> = few.iter().map(String::as_str).collect();
        assert!(word(PiiKind::Email, &found(PiiKind::Email, &few)).is_none());
        // The same address twice is one person.
        let mut repeated = few.clone();
        repeated.push(few[0]);
        assert!(word(PiiKind::Email, &found(PiiKind::Email, &repeated)).is_none());
        let many: Vec<String> = (0..BULK_EMAIL_THRESHOLD)
            .map(|i| format!("u{i}@x.test"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let bulk = word(PiiKind::Email, &found(PiiKind::Email, &many)).unwrap();
        assert_eq!((bulk.severity, bulk.key), (Severity::Medium, "email-bulk"));
    }
}
