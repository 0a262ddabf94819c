//! What the injection checks share during one scan: the user's settings
//! (request budgets, a collaborator URL), the family's request counter, the
//! callback listener (started on first use), each input's profile
//! (computed once, used by every check) and the checks whose probing was cut
//! short.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;
use url::Url;

use super::listener::Listener;
use super::profile::Profile;

/// Requests one check may spend on one input, unless the user says otherwise.
pub const DEFAULT_PARAM_BUDGET: u32 = 40;
/// Requests the whole family may spend in one scan, unless the user says otherwise.
pub const DEFAULT_SCAN_BUDGET: u64 = 2500;

/// The user's settings for the family (`--oob-url`, `--injection-budget`,
/// `--injection-param-budget`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// A collaborator the user controls, for SSRF probes whose callback can
    /// only be seen there.
    pub oob_url: Option<Url>,
    /// Requests one check may send for one input.
    pub param_budget: u32,
    /// Requests the family may send in one scan.
    pub scan_budget: u64,
    /// `--injection-writes`: with `--active`, the inputs of write
    /// operations are probed too. Their probes create and change records
    /// that Rampart cannot put back, so `--active` alone (whose checks
    /// restore what they change) does not send them.
    pub writes: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            oob_url: None,
            param_budget: DEFAULT_PARAM_BUDGET,
            scan_budget: DEFAULT_SCAN_BUDGET,
            writes: false,
        }
    }
}

type ProfileSlot = Arc<OnceCell<Option<Arc<Profile>>>>;

/// One scan's shared state for the family.
#[derive(Default)]
pub struct Session {
    settings: Settings,
    sent: AtomicU64,
    listener: OnceCell<Option<Listener>>,
    profiles: Mutex<HashMap<String, ProfileSlot>>,
    cut_short: Mutex<BTreeSet<&'static str>>,
    /// Write operations the family has sent probes to.
    written: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("settings", &self.settings)
            .field("sent", &self.sent.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Session {
    pub fn new(settings: Settings) -> Self {
        Session {
            settings,
            ..Session::default()
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Takes one request from the family's scan budget; false once spent.
    pub(super) fn take(&self) -> bool {
        self.sent
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |sent| {
                (sent < self.settings.scan_budget).then_some(sent + 1)
            })
            .is_ok()
    }

    /// Requests the family has sent (or is about to send) in this scan.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// The callback listener on 127.0.0.1, started on first use; `None`
    /// when no loopback port could be bound.
    pub(super) async fn listener(&self) -> Option<&Listener> {
        self.listener
            .get_or_init(|| async { Listener::start().await.ok() })
            .await
            .as_ref()
    }

    /// The slot holding one input's profile (`key` names the endpoint and
    /// the input), shared by every check.
    pub(super) fn profile_slot(&self, key: &str) -> ProfileSlot {
        Arc::clone(lock(&self.profiles).entry(key.to_string()).or_default())
    }

    /// Remembers that `check` stopped early because the family's budget ran out.
    pub(super) fn mark_cut_short(&self, check: &'static str) {
        lock(&self.cut_short).insert(check);
    }

    pub(super) fn was_cut_short(&self, check: &str) -> bool {
        lock(&self.cut_short).contains(check)
    }

    /// Remembers a probe of the write operation `endpoint`; true the first
    /// time, when the change is worth a journal entry.
    pub(super) fn first_write_to(&self, endpoint: &str) -> bool {
        lock(&self.written).insert(endpoint.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_budget_is_never_overspent() {
        let session = Session::new(Settings {
            scan_budget: 3,
            ..Settings::default()
        });
        assert!((0..3).all(|_| session.take()));
        assert!(!session.take());
        assert_eq!(session.sent(), 3);
        session.mark_cut_short("injection.sql");
        assert!(session.was_cut_short("injection.sql"));
        assert!(!session.was_cut_short("injection.ssrf"));
    }
}
