//! Coverage: what each check probed and, where it probed nothing, why.
//!
//! A check that cannot judge an endpoint (or the target) says so with a
//! [`Skip`] instead of an empty list of findings, so "nothing found" and
//! "not tested" never look alike in a report. The runner gathers every
//! outcome in one [`Tally`]; `report::finalize` turns it into the report's
//! `coverage` section.

use std::collections::{BTreeMap, HashMap};

use thiserror::Error;

use super::CheckMeta;
use crate::engine::EngineError;
use crate::finding::FindingDraft;

/// What every hook of a check returns: its findings (possibly none: it
/// looked and found nothing), or why it did not look.
pub type Outcome = Result<Vec<FindingDraft>, Skip>;

/// Why a check did not probe an endpoint, an exchange or the target.
///
/// `?` on an [`EngineError`] turns it into [`Skip::Failed`], which the
/// report also lists among its errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Skip {
    /// Cross-identity checks compare two identities.
    #[error("needs two identities")]
    NoSecondIdentity,
    /// The check compares an identity with anonymous or garbage credentials.
    #[error("needs an identity")]
    NoIdentity,
    /// No identifier parameter, or no value known for it.
    #[error("no identifier found")]
    NoIdentifier,
    /// The answer the check reads is not JSON.
    #[error("not JSON")]
    NotJson,
    /// The check judges data, and no caller got any (only errors).
    #[error("no successful answer")]
    NoSuccessfulAnswer,
    /// `--exclude-path` / `--include-path` keep it out of the scan.
    #[error("excluded by path")]
    Excluded,
    /// A read that looks like it changes state (its word in brackets), so
    /// a safe scan does not request it.
    #[error("looks state-changing ({0})")]
    LooksStateChanging(String),
    /// State-changing requests need `--active`.
    #[error("needs --active")]
    NeedsActive,
    /// A write would change a credential of the user's identities
    /// (password, email, MFA, API key), which no probe ever does.
    #[error("would change an identity's credentials ({0})")]
    ChangesCredentials(String),
    /// A path parameter has no example, default or learned value.
    #[error("no sample value for a path parameter")]
    NoSampleValue,
    /// A probe could store attacker-chosen content in a shared cache that
    /// the buster does not keep apart (why, in brackets).
    #[error("not cache-safe ({0})")]
    NotCacheSafe(String),
    /// No shared cache was seen storing this endpoint's answers, so there is
    /// nothing to poison (how Rampart looked, in brackets).
    #[error("no cache seen ({0})")]
    NoCache(String),
    /// What the check works from is not there on this target (e.g. "no
    /// signed link found", "no caller-specific answer").
    #[error("{0}")]
    Missing(&'static str),
    /// The check does not apply to this endpoint (e.g. "not a login
    /// endpoint").
    #[error("does not apply: {0}")]
    NotApplicable(&'static str),
    /// A request budget of the check's own ran out before it got here (the
    /// option that raises it in brackets).
    #[error("request budget spent ({0})")]
    BudgetSpent(&'static str),
    /// The probes would change data they cannot put back, which the user
    /// allows with the option named (beyond `--active`).
    #[error("needs {0}")]
    NeedsOptIn(&'static str),
    /// A request failed; the report's errors say so too.
    #[error("failed: {0}")]
    Failed(#[from] EngineError),
}

impl Skip {
    /// A short, stable label that groups skips of one kind (for the `-v`
    /// table): the reason without its details.
    pub fn kind(&self) -> &'static str {
        match self {
            Skip::NoSecondIdentity => "needs two identities",
            Skip::NoIdentity => "needs an identity",
            Skip::NoIdentifier => "no identifier found",
            Skip::NotJson => "not JSON",
            Skip::NoSuccessfulAnswer => "no successful answer",
            Skip::Excluded => "excluded by path",
            Skip::LooksStateChanging(_) => "looks state-changing",
            Skip::NeedsActive => "needs --active",
            Skip::NoSampleValue => "no sample value",
            Skip::ChangesCredentials(_) => "would change credentials",
            Skip::NotCacheSafe(_) => "not cache-safe",
            Skip::NoCache(_) => "no cache seen",
            Skip::Missing(what) => what,
            Skip::NotApplicable(_) => "does not apply",
            Skip::BudgetSpent(_) => "budget spent",
            Skip::NeedsOptIn(_) => "needs an opt-in",
            Skip::Failed(_) => "failed",
        }
    }
}

/// Where a check ran, as the coverage section names it.
pub const TARGET: &str = "target";
/// The place of a skip that holds for every endpoint (a check switched off
/// for the whole scan).
pub const ALL_ENDPOINTS: &str = "all endpoints";

/// What one check probed and skipped.
#[derive(Debug, Clone)]
pub struct CheckCoverage {
    pub check: &'static CheckMeta,
    /// Places (endpoint labels, [`TARGET`]) judged at least once.
    pub probed: usize,
    /// Places never judged, each with the first reason given.
    pub skipped: Vec<(String, Skip)>,
}

/// Every check's outcome per place, gathered as the scan runs. A place
/// judged once counts as probed, whatever else happened there; otherwise
/// the first reason it was skipped is kept.
///
/// A scan records an outcome for every check on every endpoint, so a
/// place's label and a reason are each held once and the checks refer to
/// them by number: a few bytes per check and endpoint.
#[derive(Debug, Default)]
pub struct Tally {
    /// In the order checks were registered with [`Tally::expect`]: place →
    /// [`PROBED`] or a reason's index in `reasons` plus one.
    checks: Vec<(&'static CheckMeta, BTreeMap<u32, u32>)>,
    places: Interned<String>,
    reasons: Interned<Skip>,
}

/// The mark of a place judged at least once.
const PROBED: u32 = 0;

/// Values held once each, numbered in the order they came.
#[derive(Debug)]
struct Interned<T> {
    values: Vec<T>,
    numbers: HashMap<String, u32>,
}

impl<T> Default for Interned<T> {
    fn default() -> Self {
        Interned {
            values: Vec::new(),
            numbers: HashMap::new(),
        }
    }
}

impl<T> Interned<T> {
    /// The number of the value `key` names, made by `make` the first time.
    fn number(&mut self, key: &str, make: impl FnOnce() -> T) -> u32 {
        if let Some(number) = self.numbers.get(key) {
            return *number;
        }
        let number = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(make());
        self.numbers.insert(key.to_string(), number);
        number
    }
}

impl Tally {
    /// Lists `check` even if it never reports anything (a passive check
    /// that saw no exchange still probed nothing).
    pub fn expect(&mut self, check: &'static CheckMeta) {
        self.places(check);
    }

    fn places(&mut self, check: &'static CheckMeta) -> &mut BTreeMap<u32, u32> {
        let at = match self.checks.iter().position(|(c, _)| c.id == check.id) {
            Some(at) => at,
            None => {
                self.checks.push((check, BTreeMap::new()));
                self.checks.len() - 1
            }
        };
        &mut self.checks[at].1
    }

    fn place(&mut self, place: &str) -> u32 {
        self.places.number(place, || place.to_string())
    }

    /// `check` judged `place`.
    pub fn probed(&mut self, check: &'static CheckMeta, place: &str) {
        let place = self.place(place);
        self.places(check).insert(place, PROBED);
    }

    /// `check` did not judge `place`, for `reason` (kept unless the place
    /// was judged, or skipped for another reason, before).
    pub fn skipped(&mut self, check: &'static CheckMeta, place: &str, reason: Skip) {
        let place = self.place(place);
        // Reasons differ by their details too (a failure's message).
        let key = format!("{reason:?}");
        let reason = self.reasons.number(&key, || reason) + 1;
        self.places(check).entry(place).or_insert(reason);
    }

    /// Each check's coverage, in the order the checks were first seen, its
    /// places in the order of their labels.
    pub fn finish(self) -> Vec<CheckCoverage> {
        let Tally {
            checks,
            places,
            reasons,
        } = self;
        checks
            .into_iter()
            .map(|(check, marks)| {
                let probed = marks.values().filter(|m| **m == PROBED).count();
                let mut skipped: Vec<(String, Skip)> = marks
                    .into_iter()
                    .filter(|(_, mark)| *mark != PROBED)
                    .map(|(place, mark)| {
                        (
                            places.values[place as usize].clone(),
                            reasons.values[mark as usize - 1].clone(),
                        )
                    })
                    .collect();
                skipped.sort_by(|a, b| a.0.cmp(&b.0));
                CheckCoverage {
                    check,
                    probed,
                    skipped,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::checks::find;

    fn meta(id: &str) -> &'static CheckMeta {
        find(id).expect("a registered check")
    }

    #[test]
    fn a_place_judged_once_is_probed_otherwise_its_first_reason_stays() {
        let (bola, pii) = (meta("authz.bola"), meta("exposure.pii"));
        let mut tally = Tally::default();
        tally.expect(pii);
        tally.skipped(bola, "GET /a", Skip::NoIdentifier);
        tally.probed(bola, "GET /a");
        tally.skipped(bola, "GET /b", Skip::NotJson);
        tally.skipped(bola, "GET /b", Skip::NoIdentifier);
        tally.probed(bola, "GET /c");
        tally.skipped(bola, "GET /c", Skip::NotJson);
        let coverage = tally.finish();
        assert_eq!(coverage.len(), 2);
        assert_eq!(coverage[0].check.id, "exposure.pii");
        assert_eq!((coverage[0].probed, coverage[0].skipped.len()), (0, 0));
        assert_eq!(coverage[1].probed, 2);
        assert_eq!(coverage[1].skipped, vec![("GET /b".into(), Skip::NotJson)]);
    }

    #[test]
    fn every_label_and_reason_is_held_once_however_many_checks_name_it() {
        // A scan records every check on every endpoint: 10,000 endpoints
        // and 60 checks once held 600,000 copies of the labels.
        let checks = [
            meta("authz.bola"),
            meta("exposure.pii"),
            meta("config.cors"),
        ];
        let mut tally = Tally::default();
        for i in (0..200).rev() {
            for check in checks {
                let place = format!("GET /r{i}");
                match i % 3 {
                    0 => tally.probed(check, &place),
                    1 => tally.skipped(check, &place, Skip::NotJson),
                    _ => tally.skipped(check, &place, Skip::NoCache(format!("seen {}", i % 2))),
                }
            }
        }
        assert_eq!(tally.places.values.len(), 200);
        assert_eq!(tally.reasons.values.len(), 3);
        let coverage = tally.finish();
        assert_eq!(coverage.len(), 3);
        for check in &coverage {
            assert_eq!(check.probed, 67);
            assert_eq!(check.skipped.len(), 133);
            // In the order of their labels, as the report lists them.
            let labels: Vec<&str> = check.skipped.iter().map(|(l, _)| l.as_str()).collect();
            let mut sorted = labels.clone();
            sorted.sort_unstable();
            assert_eq!(labels, sorted);
            assert_eq!(check.skipped[0], ("GET /r1".into(), Skip::NotJson));
            assert_eq!(
                check.skipped[3],
                ("GET /r101".into(), Skip::NoCache("seen 1".into()))
            );
        }
    }

    #[test]
    fn failures_convert_with_question_mark_and_every_skip_reads_as_a_reason() {
        fn probe() -> Outcome {
            Err(EngineError::Timeout(Duration::from_secs(2)))?;
            Ok(Vec::new())
        }
        let failed = probe().unwrap_err();
        assert_eq!(failed.to_string(), "failed: timeout after 2 s");
        assert_eq!(failed.kind(), "failed");
        let state = Skip::LooksStateChanging("reset".into());
        assert_eq!(state.to_string(), "looks state-changing (reset)");
        assert_eq!(state.kind(), "looks state-changing");
        assert_eq!(
            Skip::Missing("no signed link found").kind(),
            "no signed link found"
        );
        assert_eq!(
            Skip::NotApplicable("not a login endpoint").to_string(),
            "does not apply: not a login endpoint"
        );
    }
}
