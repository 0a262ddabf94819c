//! The journal of state changes: what an `--active` scan changed on the
//! target and whether it was undone. A check that writes records each
//! change here as it makes it, and again once it has restored it, so that
//! a scan cut short still says what it left behind.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One change Rampart made to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The endpoint that made it (`PATCH /api/users/{user_id}`).
    pub request: String,
    /// What changed, in words (`role, is_admin set on alice's record`).
    pub what: String,
    /// Whether Rampart put it back as it was (or deleted what it created).
    pub restored: bool,
}

/// Every change of one scan, in the order they were made. A change is
/// recorded when it is made (`restored: false`) and marked restored once
/// undone, so a probe interrupted in between leaves an honest entry.
#[derive(Debug, Default)]
pub struct Journal {
    /// `None` where a recorded write turned out to change nothing.
    changes: Mutex<Vec<Option<Change>>>,
    /// Writes the target accepted (2xx), by endpoint (`POST /api/orders`):
    /// every one is a change unless a check accounted for it, and the
    /// endpoints checks recorded changes for (even changes that came to
    /// nothing).
    writes: Mutex<Writes>,
}

#[derive(Debug, Default)]
struct Writes {
    accepted: std::collections::BTreeMap<String, usize>,
    accounted: std::collections::BTreeSet<String>,
}

/// Where a change sits in the [`Journal`], to mark it restored later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeId(usize);

impl Journal {
    /// Records a change just made (not restored yet).
    pub fn made(&self, request: impl Into<String>, what: impl Into<String>) -> ChangeId {
        let request = request.into();
        self.writes().accounted.insert(String::clone(&request));
        let mut changes = self.lock();
        changes.push(Some(Change {
            request,
            what: what.into(),
            restored: false,
        }));
        ChangeId(changes.len() - 1)
    }

    /// The change was undone; `what` replaces its description when given
    /// (e.g. "… set and restored").
    pub fn restored(&self, id: ChangeId, what: Option<String>) {
        if let Some(Some(change)) = self.lock().get_mut(id.0) {
            change.restored = true;
            if let Some(what) = what {
                change.what = what;
            }
        }
    }

    /// A better description of a change that stays unrestored.
    pub fn describe(&self, id: ChangeId, what: String) {
        if let Some(Some(change)) = self.lock().get_mut(id.0) {
            change.what = what;
        }
    }

    /// The write recorded as `id` changed nothing after all (the server
    /// ignored it): it is no change to report.
    pub fn unchanged(&self, id: ChangeId) {
        if let Some(slot) = self.lock().get_mut(id.0) {
            *slot = None;
        }
    }

    /// The target accepted a write (`POST`, `PUT`, `PATCH`, `DELETE`, …)
    /// sent for `request` (`POST /api/orders`). The engine calls this for
    /// every accepted write, so that none goes unreported.
    pub fn write_accepted(&self, request: &str) {
        *self
            .writes()
            .accepted
            .entry(request.to_string())
            .or_default() += 1;
    }

    fn writes(&self) -> std::sync::MutexGuard<'_, Writes> {
        self.writes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every change so far: those the checks recorded, then — for every
    /// endpoint whose accepted writes no check accounted for — the writes
    /// themselves, not undone.
    pub fn changes(&self) -> Vec<Change> {
        // The same change made and undone again (a finding confirmed by
        // repeating its probe) is one entry that says how often.
        let mut changes: Vec<Change> = Vec::new();
        let mut times: Vec<usize> = Vec::new();
        for change in self.lock().iter().flatten() {
            match changes.iter().position(|c| c == change) {
                Some(at) => times[at] += 1,
                None => {
                    changes.push(change.clone());
                    times.push(1);
                }
            }
        }
        for (change, n) in changes.iter_mut().zip(times) {
            if n > 1 {
                change.what = format!("{} ({n} times)", change.what);
            }
        }
        let writes = self.writes();
        for (request, count) in &writes.accepted {
            if writes.accounted.contains(request) {
                continue;
            }
            let method = request.split(' ').next().unwrap_or("write");
            changes.push(Change {
                request: request.clone(),
                what: format!(
                    "{count} {method} request{} accepted; Rampart cannot undo {}",
                    if *count == 1 { "" } else { "s" },
                    if *count == 1 { "it" } else { "them" }
                ),
                restored: false,
            });
        }
        changes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<Change>>> {
        // A poisoned journal still holds the truth about what was changed.
        self.changes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_stays_unrestored_until_marked() {
        let journal = Journal::default();
        let kept = journal.made("PATCH /u/{id}", "role set on alice's record");
        let undone = journal.made("POST /items", "item created");
        journal.restored(undone, Some("item created and deleted".into()));
        let again = journal.made("POST /items", "item created");
        journal.restored(again, Some("item created and deleted".into()));
        let ignored = journal.made("PATCH /u/{id}", "is_admin sent");
        journal.unchanged(ignored);
        let changes = journal.changes();
        assert_eq!(changes.len(), 2);
        // Writes no check accounted for are changes too; the ignored
        // PATCH above still accounts for its endpoint's writes.
        journal.write_accepted("POST /items");
        journal.write_accepted("DELETE /items/{id}");
        journal.write_accepted("DELETE /items/{id}");
        journal.write_accepted("PATCH /u/{id}");
        let changes = journal.changes();
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert_eq!(changes[2].request, "DELETE /items/{id}");
        assert_eq!(
            changes[2].what,
            "2 DELETE requests accepted; Rampart cannot undo them"
        );
        assert!(!changes[2].restored);
        assert!(!changes[0].restored);
        assert_eq!(changes[0].what, "role set on alice's record");
        assert_eq!(changes[1].what, "item created and deleted (2 times)");
        assert!(changes[1].restored);
        let _ = kept;
    }
}
