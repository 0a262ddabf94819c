//! Stopping a scan early (`--max-duration`, Ctrl-C): once the signal is
//! given, the engine sends nothing more and abandons requests in flight, so
//! the scan falls through its remaining phases at once and reports what it
//! has.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// Why a scan stopped before it was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StopReason {
    /// `--max-duration` ran out.
    Deadline,
    /// The user interrupted the scan (Ctrl-C).
    Interrupted,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::Deadline => "--max-duration reached",
            StopReason::Interrupted => "interrupted",
        })
    }
}

#[derive(Default)]
struct Inner {
    reason: OnceLock<StopReason>,
    notify: Notify,
}

/// A shared "stop now" flag; clones see the same flag. The first reason
/// given is the one that counts.
#[derive(Clone, Default)]
pub struct StopSignal(Arc<Inner>);

impl fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StopSignal").field(&self.reason()).finish()
    }
}

impl StopSignal {
    pub fn stop(&self, reason: StopReason) {
        if self.0.reason.set(reason).is_ok() {
            self.0.notify.notify_waiters();
        }
    }

    pub fn reason(&self) -> Option<StopReason> {
        self.0.reason.get().copied()
    }

    /// Resolves once the signal is given.
    pub async fn stopped(&self) -> StopReason {
        loop {
            // Registered before the check, so a stop between the check and
            // the wait is not missed.
            let notified = self.0.notify.notified();
            if let Some(reason) = self.reason() {
                return reason;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_waiter_sees_the_first_reason() {
        let signal = StopSignal::default();
        let waiter = tokio::spawn({
            let signal = signal.clone();
            async move { signal.stopped().await }
        });
        tokio::task::yield_now().await;
        assert_eq!(signal.reason(), None);
        signal.stop(StopReason::Deadline);
        signal.stop(StopReason::Interrupted);
        assert_eq!(waiter.await.unwrap(), StopReason::Deadline);
        assert_eq!(signal.stopped().await, StopReason::Deadline);
    }
}
