//! Passive data exposure: secrets, personal data, password material and
//! debugging output that an API returns in clear.

pub mod debug_pages;
pub mod password_hashes;
pub mod pii;
pub mod plaintext_fields;
pub mod secrets;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::checks::Family;
use crate::detect::Detection;
use crate::engine::Exchange;
use crate::finding::{Confidence, FindingDraft, Severity};

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &secrets::META,
        &pii::META,
        &password_hashes::META,
        &debug_pages::META,
        &plaintext_fields::META,
    ],
};

/// Groups detections by kind, so one response yields one finding per kind,
/// with the first match as the evidence focus.
pub(crate) fn by_kind<K: Ord + Copy>(
    detections: Vec<Detection<K>>,
) -> BTreeMap<K, Vec<Detection<K>>> {
    let mut groups: BTreeMap<K, Vec<Detection<K>>> = BTreeMap::new();
    for detection in detections {
        groups.entry(detection.kind).or_default().push(detection);
    }
    groups
}

/// How a check words one kind of detection in one response.
pub(crate) struct Worded {
    pub severity: Severity,
    /// What tells this finding from the check's others (part of its id).
    pub key: &'static str,
    pub title: String,
    pub description: String,
}

/// One finding per kind of detection in the response, as `word` words it
/// (`None`: that kind is not worth a finding here).
pub(crate) fn drafts_by_kind<K: Ord + Copy>(
    exchange: &Arc<Exchange>,
    detections: Vec<Detection<K>>,
    mut word: impl FnMut(K, &[Detection<K>]) -> Option<Worded>,
) -> Vec<FindingDraft> {
    by_kind(detections)
        .into_iter()
        .filter_map(|(kind, found)| Some(exposure_draft(exchange, word(kind, &found)?, &found)))
        .collect()
}

/// A passive exposure finding for one kind of detection in one response.
pub(crate) fn exposure_draft<K>(
    exchange: &Arc<Exchange>,
    worded: Worded,
    detections: &[Detection<K>],
) -> FindingDraft {
    let focus = detections.first().map(|d| d.start..d.end);
    let field = detections.iter().find_map(|d| d.field.clone());
    let mut draft = FindingDraft::at_exchange(exchange, worded.severity, Confidence::Firm)
        .title(worded.title)
        .description(worded.description)
        .key(worded.key)
        .evidence("Response returned the data in clear", exchange, focus);
    if let Some(field) = field {
        draft = draft.parameter(field);
    }
    draft
}

/// Paths whose job is to hand out tokens: a token there is expected.
pub(crate) fn is_token_endpoint(path: &str) -> bool {
    let path = path.to_ascii_lowercase();
    [
        "login", "token", "oauth", "auth", "session", "signin", "refresh",
    ]
    .iter()
    .any(|w| path.contains(w))
}
