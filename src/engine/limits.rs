//! Bounds on how hard Rampart leans on a target: a global request rate, a
//! concurrency cap and a total request budget.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

#[derive(Debug)]
pub struct Limits {
    slots: Arc<Semaphore>,
    interval: Option<Duration>,
    next_start: Mutex<Instant>,
    budget: Option<u64>,
    sent: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetExhausted;

impl Limits {
    pub fn new(rate_per_second: Option<f64>, concurrency: usize, budget: Option<u64>) -> Self {
        let interval = rate_per_second
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r));
        Limits {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            interval,
            next_start: Mutex::new(Instant::now()),
            budget,
            sent: AtomicU64::new(0),
        }
    }

    /// Waits for a concurrency slot and a rate slot, and charges the budget.
    /// The permit must be held for the lifetime of the request.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, BudgetExhausted> {
        let sent = self.sent.fetch_add(1, Ordering::Relaxed);
        if self.budget.is_some_and(|budget| sent >= budget) {
            self.sent.fetch_sub(1, Ordering::Relaxed);
            return Err(BudgetExhausted);
        }
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| BudgetExhausted)?;
        if let Some(interval) = self.interval {
            // Reserve the next start time under the lock, sleep outside it so
            // waiting requests queue in order without holding the mutex.
            let start_at = {
                let mut next = self.next_start.lock().await;
                let now = Instant::now();
                let start_at = (*next).max(now);
                *next = start_at + interval;
                start_at
            };
            tokio::time::sleep_until(start_at).await;
        }
        Ok(permit)
    }

    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn budget_is_a_hard_cap() {
        let limits = Limits::new(None, 4, Some(2));
        let _a = limits.acquire().await.unwrap();
        let _b = limits.acquire().await.unwrap();
        assert_eq!(limits.acquire().await.unwrap_err(), BudgetExhausted);
        assert_eq!(limits.requests_sent(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_spaces_request_starts() {
        let limits = Limits::new(Some(10.0), 8, None);
        let begin = Instant::now();
        for _ in 0..5 {
            drop(limits.acquire().await.unwrap());
        }
        // Five starts at 10/s: the fifth starts 400 ms after the first.
        assert!(begin.elapsed() >= Duration::from_millis(400));
    }
}
