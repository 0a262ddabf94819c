//! Bounds on how hard Rampart leans on a target: a concurrency cap, the pace
//! (see [`super::pacing`]) and a total request budget.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::pacing::Pacer;

#[derive(Debug)]
pub struct Limits {
    slots: Arc<Semaphore>,
    pacer: Pacer,
    budget: Option<u64>,
    sent: AtomicU64,
}

/// Why a request was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `--max-requests` is spent.
    Budget,
    /// The target kept throttling and the pacer gave up on it.
    Throttled,
}

impl Limits {
    pub fn new(pacer: Pacer, concurrency: usize, budget: Option<u64>) -> Self {
        Limits {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            pacer,
            budget,
            sent: AtomicU64::new(0),
        }
    }

    /// Waits for a concurrency slot and the pacer's go, then charges the
    /// budget. The permit must be held for the lifetime of the request.
    /// Abandoning the wait (a stopped scan) charges nothing.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, Refused> {
        if self.spent() {
            return Err(Refused::Budget);
        }
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| Refused::Budget)?;
        self.pacer.admit().await.map_err(|_| Refused::Throttled)?;
        let sent = self.sent.fetch_add(1, Ordering::Relaxed);
        if self.budget.is_some_and(|budget| sent >= budget) {
            self.sent.fetch_sub(1, Ordering::Relaxed);
            return Err(Refused::Budget);
        }
        Ok(permit)
    }

    fn spent(&self) -> bool {
        self.budget
            .is_some_and(|budget| self.sent.load(Ordering::Relaxed) >= budget)
    }

    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }
}

#[cfg(test)]
mod tests {
    use super::super::pacing::PaceMode;
    use super::*;

    #[tokio::test]
    async fn budget_is_a_hard_cap() {
        let limits = Limits::new(Pacer::new(PaceMode::Steady, None), 4, Some(2));
        let _a = limits.acquire().await.unwrap();
        let _b = limits.acquire().await.unwrap();
        assert_eq!(limits.acquire().await.unwrap_err(), Refused::Budget);
        assert_eq!(limits.requests_sent(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_given_up_charges_nothing() {
        let limits = Limits::new(Pacer::new(PaceMode::Steady, Some(1.0)), 4, Some(5));
        drop(limits.acquire().await.unwrap());
        // The second start is a second away; abandon it.
        let waited = tokio::time::timeout(std::time::Duration::from_millis(10), limits.acquire());
        assert!(waited.await.is_err());
        assert_eq!(limits.requests_sent(), 1);
    }
}
