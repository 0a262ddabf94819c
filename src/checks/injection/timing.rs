//! Proof by delay, for injections whose answer never shows their effect: a
//! payload that makes the server wait `d` (a database sleep, a shell
//! `sleep`), with `d` chosen from the endpoint's measured latency, must
//! delay the answer by about `d`; twice the delay must delay it about twice
//! as long; and the same payload asking for no delay must come back at the
//! usual speed. Three requests when it holds, one when it does not.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::Halt;
use crate::engine::{EngineError, Exchange};

/// The shortest delay worth asking for: below it, scheduling noise on a
/// busy machine can pass for a sleep.
pub const MIN_DELAY: Duration = Duration::from_millis(400);
/// The longest delay asked for (the doubled probe waits twice this).
const MAX_DELAY: Duration = Duration::from_secs(3);

/// The delay to ask for: at least five times the slowest ordinary answer,
/// rounded up to 100 ms; `None` when that would exceed the cap or a third
/// of the request timeout (too slow a target to time reliably).
pub fn delay_for(latencies: &[Duration], timeout: Duration) -> Option<Duration> {
    let slowest = latencies.iter().max().copied().unwrap_or_default();
    let wanted = (slowest * 5).max(MIN_DELAY);
    let step = 100u128;
    let millis = wanted.as_millis().div_ceil(step) * step;
    let delay = Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX));
    (delay <= MAX_DELAY && delay * 3 <= timeout).then_some(delay)
}

fn median(latencies: &[Duration]) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// The three answers agree with a server that waited as asked: the first
/// about `delay` late, the doubled one about twice as late (proportional),
/// the zero-delay one on time.
pub fn delays_agree(
    usual: Duration,
    delay: Duration,
    once: Duration,
    twice: Duration,
    none: Duration,
) -> bool {
    let late = |took: Duration| took.saturating_sub(usual).as_secs_f64();
    let d = delay.as_secs_f64();
    let (first, second) = (late(once), late(twice));
    first >= 0.8 * d
        && second >= 1.6 * d
        && (1.5..=2.7).contains(&(second / first.max(1e-3)))
        && late(none) < 0.5 * d
}

/// What proved the delay.
#[derive(Debug)]
pub struct Delayed {
    pub delay: Duration,
    pub once: Arc<Exchange>,
    pub twice: Arc<Exchange>,
    pub none: Arc<Exchange>,
}

/// How often a late first answer gets its doubled and zero-delay probes:
/// a second round absorbs one burst of load on the target.
const ROUNDS: usize = 2;

/// Sends `payload(delay)`, and only when that answer came late the doubled
/// and the zero delays; `Some` when [`delays_agree`]. A late answer whose
/// confirmation failed gets one more round. A timed-out probe proves
/// nothing (a sleep run once per row waits longer than asked).
pub async fn prove<F, Fut>(
    latencies: &[Duration],
    timeout: Duration,
    send: F,
) -> Result<Option<Delayed>, Halt>
where
    F: Fn(Duration) -> Fut,
    Fut: Future<Output = Result<Option<Arc<Exchange>>, Halt>>,
{
    let Some(delay) = delay_for(latencies, timeout) else {
        return Ok(None);
    };
    let usual = median(latencies);
    let quiet = |result: Result<Option<Arc<Exchange>>, Halt>| match result {
        Err(Halt::Engine(EngineError::Timeout(_))) => Ok(None),
        other => other,
    };
    for _ in 0..ROUNDS {
        let Some(once) = quiet(send(delay).await)? else {
            return Ok(None);
        };
        if once.elapsed.saturating_sub(usual).as_secs_f64() < 0.8 * delay.as_secs_f64() {
            return Ok(None);
        }
        let Some(twice) = quiet(send(delay * 2).await)? else {
            return Ok(None);
        };
        let Some(none) = quiet(send(Duration::ZERO).await)? else {
            return Ok(None);
        };
        if delays_agree(usual, delay, once.elapsed, twice.elapsed, none.elapsed) {
            return Ok(Some(Delayed {
                delay,
                once,
                twice,
                none,
            }));
        }
    }
    Ok(None)
}

/// A delay as a database or shell writes it: seconds with up to three decimals.
pub fn seconds(delay: Duration) -> String {
    let text = format!("{:.3}", delay.as_secs_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_delay_follows_the_measured_latency_within_bounds() {
        let timeout = Duration::from_secs(10);
        assert_eq!(delay_for(&[ms(3), ms(5)], timeout), Some(ms(400)));
        assert_eq!(delay_for(&[ms(130), ms(90)], timeout), Some(ms(700)));
        assert_eq!(delay_for(&[ms(900)], timeout), None);
        assert_eq!(delay_for(&[ms(10)], Duration::from_secs(1)), None);
        assert_eq!(seconds(ms(400)), "0.4");
        assert_eq!(seconds(ms(1000)), "1");
        assert_eq!(seconds(Duration::ZERO), "0");
    }

    #[test]
    fn only_proportional_delays_agree() {
        let d = ms(400);
        assert!(delays_agree(ms(5), d, ms(410), ms(812), ms(6)));
        // A slow server is slow for every request, the zero delay included.
        assert!(!delays_agree(ms(5), d, ms(900), ms(1700), ms(880)));
        // A single hiccup is not proportional.
        assert!(!delays_agree(ms(5), d, ms(600), ms(610), ms(5)));
        // A sleep run once per row overshoots the ratio.
        assert!(!delays_agree(ms(5), d, ms(420), ms(2400), ms(5)));
        assert!(!delays_agree(ms(5), d, ms(200), ms(400), ms(5)));
    }

    #[tokio::test]
    async fn a_prompt_answer_costs_one_request() {
        let sent = std::sync::atomic::AtomicUsize::new(0);
        let proved = prove(&[ms(2), ms(3)], Duration::from_secs(10), |_| {
            sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async {
                Ok(Some(crate::checks::probe::fixtures::exchange(
                    "http://h/x",
                    None,
                    200,
                    &[],
                    "{}",
                )))
            }
        })
        .await;
        assert!(matches!(proved, Ok(None)));
        assert_eq!(sent.into_inner(), 1);
    }
}
