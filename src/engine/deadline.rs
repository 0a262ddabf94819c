//! Request deadlines without a timer per request.
//!
//! Every request in flight waits on one shared tick, which a single task
//! gives every [`TICK`] while requests are in flight (and at once when the
//! scan is stopped); a woken request looks at its own deadline and the stop
//! signal. A timer per request costs more: registering and clearing it, and
//! the runtime's timer bookkeeping on every park, took a tenth of the
//! engine's request rate on loopback. The price is precision: a request
//! times out up to one tick after its deadline.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::stop::{StopReason, StopSignal};

/// How often requests in flight look at their deadline.
pub(super) const TICK: Duration = Duration::from_millis(50);

/// Why a request's wait ended before its answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expired {
    TimedOut,
    Stopped(StopReason),
}

#[derive(Default)]
pub(super) struct Watchdog {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    tick: Notify,
    in_flight: AtomicUsize,
    ticking: AtomicBool,
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog")
            .field("in_flight", &self.shared.in_flight.load(Ordering::Relaxed))
            .finish()
    }
}

impl Watchdog {
    /// Resolves once `deadline` has passed or `stop` is given. Must be
    /// polled within a Tokio runtime (it may start the ticking task).
    pub(super) async fn expired(&self, deadline: Instant, stop: &StopSignal) -> Expired {
        let _in_flight = InFlight::enter(&self.shared, stop);
        // The deadline was set a moment ago: the clock need not be read
        // before the first tick.
        let mut first = true;
        loop {
            // Created before the checks: a tick between them is not missed.
            let tick = self.shared.tick.notified();
            if let Some(reason) = stop.reason() {
                return Expired::Stopped(reason);
            }
            if !first && Instant::now() >= deadline {
                return Expired::TimedOut;
            }
            first = false;
            tick.await;
        }
    }
}

/// One request waiting; the ticking task runs while there is one.
struct InFlight<'a>(&'a Arc<Shared>);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Arc<Shared>, stop: &StopSignal) -> Self {
        shared.in_flight.fetch_add(1, Ordering::AcqRel);
        if !shared.ticking.swap(true, Ordering::AcqRel) {
            tokio::spawn(ticks(Arc::clone(shared), stop.clone()));
        }
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Ticks while requests are in flight, then ends (the next request starts
/// another).
async fn ticks(shared: Arc<Shared>, stop: StopSignal) {
    loop {
        if stop.reason().is_none() {
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.stopped() => {}
            }
        } else {
            tokio::time::sleep(TICK).await;
        }
        shared.tick.notify_waiters();
        if shared.in_flight.load(Ordering::Acquire) == 0 {
            shared.ticking.store(false, Ordering::Release);
            // A request that came meanwhile saw the flag still set and
            // started no task: this one goes on for it, unless another
            // task was started after the flag was cleared.
            if shared.in_flight.load(Ordering::Acquire) == 0
                || shared.ticking.swap(true, Ordering::AcqRel)
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_within_a_tick_of_its_deadline() {
        let watchdog = Watchdog::default();
        let stop = StopSignal::default();
        let started = Instant::now();
        let deadline = started + Duration::from_millis(120);
        assert_eq!(watchdog.expired(deadline, &stop).await, Expired::TimedOut);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(120), "{waited:?}");
        assert!(waited <= Duration::from_millis(120) + TICK, "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_every_wait_at_once() {
        let watchdog = Arc::new(Watchdog::default());
        let stop = StopSignal::default();
        let far = Instant::now() + Duration::from_secs(3600);
        let waits: Vec<_> = (0..3)
            .map(|_| {
                let (watchdog, stop) = (Arc::clone(&watchdog), stop.clone());
                tokio::spawn(async move { watchdog.expired(far, &stop).await })
            })
            .collect();
        tokio::task::yield_now().await;
        let started = Instant::now();
        stop.stop(StopReason::Interrupted);
        for wait in waits {
            assert_eq!(
                wait.await.unwrap(),
                Expired::Stopped(StopReason::Interrupted)
            );
        }
        assert!(started.elapsed() < TICK);
    }

    #[tokio::test(start_paused = true)]
    async fn the_ticking_stops_when_nothing_is_in_flight_and_starts_again() {
        let watchdog = Watchdog::default();
        let stop = StopSignal::default();
        let soon = || Instant::now() + Duration::from_millis(10);
        assert_eq!(watchdog.expired(soon(), &stop).await, Expired::TimedOut);
        tokio::time::sleep(TICK * 3).await;
        assert!(!watchdog.shared.ticking.load(Ordering::Acquire));
        assert_eq!(watchdog.shared.in_flight.load(Ordering::Acquire), 0);
        // A later wait is still woken: a new task ticks for it.
        assert_eq!(watchdog.expired(soon(), &stop).await, Expired::TimedOut);
    }
}
