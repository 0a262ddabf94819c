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
    changes: Mutex<Vec<Change>>,
}

/// Where a change sits in the [`Journal`], to mark it restored later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeId(usize);

impl Journal {
    /// Records a change just made (not restored yet).
    pub fn made(&self, request: impl Into<String>, what: impl Into<String>) -> ChangeId {
        let mut changes = self.lock();
        changes.push(Change {
            request: request.into(),
            what: what.into(),
            restored: false,
        });
        ChangeId(changes.len() - 1)
    }

    /// The change was undone; `what` replaces its description when given
    /// (e.g. "… set and restored").
    pub fn restored(&self, id: ChangeId, what: Option<String>) {
        if let Some(change) = self.lock().get_mut(id.0) {
            change.restored = true;
            if let Some(what) = what {
                change.what = what;
            }
        }
    }

    /// Every change so far.
    pub fn changes(&self) -> Vec<Change> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Change>> {
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
        let changes = journal.changes();
        assert!(!changes[0].restored);
        assert_eq!(changes[0].what, "role set on alice's record");
        assert_eq!(changes[1].what, "item created and deleted");
        assert!(changes[1].restored);
        let _ = kept;
    }
}
