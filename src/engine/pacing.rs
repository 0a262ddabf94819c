//! Adaptive pacing: how fast Rampart sends, decided by how the target answers.
//!
//! A scan starts politely ([`START_RATE`] requests per second) and, while
//! the target stays healthy — quick answers, no errors, no throttling —
//! speeds up by a factor per answer (slow start) up to the user's ceiling
//! (`--rate`), so a healthy server is scanned about as fast as the
//! concurrency cap allows. It slows down when:
//!
//! - the target throttles (`429`, or `503` with `Retry-After`): every
//!   request pauses until the time `Retry-After` names (bounded by
//!   [`MAX_PAUSE`]; without the header, a doubling back-off), the rate is
//!   halved, and the throttled request is sent again;
//! - latency climbs: the short-term average time to the first byte of an
//!   answer exceeds three times the long-term one, and by more than
//!   [`LATENCY_SLACK`];
//! - transport errors (timeouts, resets) or `503`s appear.
//!
//! After the first slow-down growth is gentle (congestion avoidance), and a
//! slow-down waits for a cool-down before the next one, so one burst of bad
//! answers does not collapse the rate. A target that keeps throttling
//! ([`GIVE_UP_AFTER`] throttled answers in a row, each after a pause) is
//! given up on: the engine stops sending and the scan says so.
//!
//! `--rate 0` turns the adaptive part off (no polite start, no latency
//! back-off); throttling is still honoured, since the server asked.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Where an adaptive scan starts, in requests per second.
pub const START_RATE: f64 = 50.0;
/// Never slower than this while still sending.
pub const MIN_RATE: f64 = 1.0;
/// Growth per healthy answer before the first slow-down. Doubling: the
/// polite start then costs a scan a few tens of milliseconds in all on a
/// healthy target (growing by a quarter, it cost a tenth of a second,
/// more than a small API's whole scan), while at most `--concurrency`
/// requests are ever in flight and any sign of distress cuts it back.
const SLOW_START_GROWTH: f64 = 2.0;
/// Growth per healthy answer after it.
const AVOIDANCE_GROWTH: f64 = 1.02;
/// Above this, a rate is as good as unlimited (the concurrency cap rules).
const UNBOUNDED_RATE: f64 = 100_000.0;
/// The longest single pause, whatever `Retry-After` asks for.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);
/// The first back-off when a throttled answer names no time.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Throttled answers in a row (each after a pause) before giving up.
pub const GIVE_UP_AFTER: u32 = 5;
/// Latency must exceed the long-term average by this much before it counts
/// as climbing: loopback latencies of a millisecond jitter by multiples, and
/// a busy scanning machine adds tens of milliseconds of its own.
const LATENCY_SLACK: Duration = Duration::from_millis(250);
/// Completions kept to measure the rate actually achieved.
const MEASURE_WINDOW: usize = 32;
/// Starts that may bunch up after a quiet spell, as time at the current
/// rate: at a fast rate a timer tick admits several requests; at a polite
/// one, one at a time.
const BURST: Duration = Duration::from_millis(10);

/// How the pace is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaceMode {
    /// Polite start, faster while healthy, slower when not; never above the
    /// ceiling.
    Adaptive,
    /// A steady rate (the ceiling), or none at all without one.
    Steady,
}

/// What an answer told the pacer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do.
    Fine,
    /// The target throttled this request: send it again once the pause
    /// (already in force for every request) is over.
    Throttled,
}

/// Why the pacer refuses to send any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GaveUp;

/// The figures the report shows about pacing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PacingReport {
    /// `adaptive` or `steady`.
    pub mode: Option<PaceMode>,
    /// The user's ceiling (`--rate`), in requests per second; none means no
    /// ceiling.
    pub ceiling_per_second: Option<f64>,
    /// Requests sent divided by the scan's duration.
    pub effective_per_second: f64,
    /// Answers that throttled (429, or 503 with Retry-After).
    pub throttled_responses: u64,
    /// Pauses taken because of them.
    pub pauses: u64,
    /// Time spent paused, in milliseconds.
    pub paused_ms: u64,
    /// Times the rate was lowered (throttling, climbing latency, errors).
    pub slowdowns: u64,
    /// The target kept throttling and Rampart stopped sending.
    pub gave_up: bool,
}

#[derive(Debug)]
struct State {
    /// The allowed rate now; infinite when unlimited.
    rate: f64,
    slow_start: bool,
    /// Requests that may start now (a token bucket filled at `rate`, up to
    /// [`BURST`] worth, at least one), as of `filled_at`. Waiters take
    /// tokens when they wake rather than reserving start times, so a rate
    /// that rises shortens every wait at once instead of leaving a queue
    /// of starts booked at the old pace.
    tokens: f64,
    filled_at: Instant,
    /// No request starts before this (a throttling pause).
    paused_until: Instant,
    /// No slow-down for latency or errors before this.
    cooldown_until: Instant,
    /// Short- and long-term average latency, in seconds.
    fast_latency: Option<f64>,
    slow_latency: Option<f64>,
    /// The next back-off when a throttled answer names no time.
    backoff: Duration,
    throttled_in_a_row: u32,
    completions: VecDeque<Instant>,
    gave_up: bool,
    throttled: u64,
    pauses: u64,
    paused: Duration,
    slowdowns: u64,
}

/// The pace of one engine; shared by every request it sends.
#[derive(Debug)]
pub struct Pacer {
    mode: PaceMode,
    ceiling: Option<f64>,
    state: Mutex<State>,
}

impl Pacer {
    /// `ceiling`: the most requests per second (`None`: no ceiling).
    pub fn new(mode: PaceMode, ceiling: Option<f64>) -> Self {
        let ceiling = ceiling.filter(|r| r.is_finite() && *r > 0.0);
        let rate = match (mode, ceiling) {
            (PaceMode::Adaptive, Some(ceiling)) => START_RATE.min(ceiling),
            (PaceMode::Adaptive, None) => START_RATE,
            (PaceMode::Steady, Some(ceiling)) => ceiling,
            (PaceMode::Steady, None) => f64::INFINITY,
        };
        let now = Instant::now();
        Pacer {
            mode,
            ceiling,
            state: Mutex::new(State {
                rate,
                slow_start: true,
                tokens: 1.0,
                filled_at: now,
                paused_until: now,
                cooldown_until: now,
                fast_latency: None,
                slow_latency: None,
                backoff: FIRST_BACKOFF,
                throttled_in_a_row: 0,
                completions: VecDeque::with_capacity(MEASURE_WINDOW),
                gave_up: false,
                throttled: 0,
                pauses: 0,
                paused: Duration::ZERO,
                slowdowns: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent at every await-free step; a panic
        // elsewhere cannot leave it half-written.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until a request may start: after any pause, and spaced by the
    /// current rate. Fails once the pacer gave up on the target.
    pub async fn admit(&self) -> Result<(), GaveUp> {
        loop {
            let wake_at = {
                let mut state = self.state();
                if state.gave_up {
                    return Err(GaveUp);
                }
                let now = Instant::now();
                if state.paused_until > now {
                    state.paused_until
                } else if !state.rate.is_finite() {
                    return Ok(());
                } else {
                    let rate = state.rate;
                    let capacity = (rate * BURST.as_secs_f64()).max(1.0);
                    let elapsed = now.duration_since(state.filled_at).as_secs_f64();
                    state.tokens = (state.tokens + elapsed * rate).min(capacity);
                    state.filled_at = now;
                    if state.tokens >= 1.0 {
                        state.tokens -= 1.0;
                        return Ok(());
                    }
                    now + Duration::from_secs_f64((1.0 - state.tokens) / rate)
                }
            };
            // Woken, it looks again: a pause may have begun, or the rate
            // risen, meanwhile, and another waiter may have taken the token.
            tokio::time::sleep_until(wake_at).await;
        }
    }

    /// Learns from one answer: its latency, its status and `Retry-After`.
    pub fn on_answer(&self, latency: Duration, status: u16, retry_after: Option<&str>) -> Verdict {
        let now = Instant::now();
        let mut state = self.state();
        let throttled = status == 429 || (status == 503 && retry_after.is_some());
        if throttled {
            state.throttled += 1;
            state.throttled_in_a_row += 1;
            if state.throttled_in_a_row >= GIVE_UP_AFTER {
                state.gave_up = true;
                return Verdict::Throttled;
            }
            let wait = retry_after
                .and_then(|value| parse_retry_after(value, chrono::Utc::now()))
                .unwrap_or(state.backoff)
                .min(MAX_PAUSE);
            state.backoff = (state.backoff * 2).min(MAX_PAUSE);
            let until = now + wait;
            if until > state.paused_until {
                // Overlapping pauses (answers to requests already in flight)
                // count once, for the part that extends the pause.
                let extra = until - state.paused_until.max(now);
                state.paused += extra;
                if state.paused_until <= now {
                    state.pauses += 1;
                }
                state.paused_until = until;
            }
            self.slow_down(&mut state, now, 0.5, true);
            return Verdict::Throttled;
        }
        state.throttled_in_a_row = 0;
        state.backoff = FIRST_BACKOFF;
        record_completion(&mut state, now);
        let sample = latency.as_secs_f64();
        let fast = state
            .fast_latency
            .map_or(sample, |f| f + 0.25 * (sample - f));
        let slow = state
            .slow_latency
            .map_or(sample, |s| s + 0.02 * (sample - s));
        state.fast_latency = Some(fast);
        state.slow_latency = Some(slow);
        let climbing = fast > 3.0 * slow && fast - slow > LATENCY_SLACK.as_secs_f64();
        if climbing || status == 503 {
            self.slow_down(&mut state, now, 0.7, false);
        } else {
            self.speed_up(&mut state);
        }
        Verdict::Fine
    }

    /// Learns from a request that got no answer (timeout, reset, refused).
    pub fn on_failure(&self) {
        let now = Instant::now();
        let mut state = self.state();
        self.slow_down(&mut state, now, 0.7, false);
    }

    /// Raises the rate after a healthy answer: quickly in slow start, then
    /// gently. A steady pace only climbs back to where it was set after a
    /// throttling slow-down.
    fn speed_up(&self, state: &mut State) {
        if !state.rate.is_finite() {
            return;
        }
        let growth = if self.mode == PaceMode::Adaptive && state.slow_start {
            SLOW_START_GROWTH
        } else {
            AVOIDANCE_GROWTH
        };
        let mut rate = state.rate * growth;
        if let Some(ceiling) = self.ceiling {
            rate = rate.min(ceiling);
        } else if rate > UNBOUNDED_RATE {
            rate = f64::INFINITY;
        }
        state.rate = rate;
    }

    /// Lowers the rate to `factor` × what the target actually handled.
    /// Throttling always counts; latency and errors only in adaptive mode
    /// and once per cool-down.
    fn slow_down(&self, state: &mut State, now: Instant, factor: f64, throttled: bool) {
        if !throttled && (self.mode != PaceMode::Adaptive || now < state.cooldown_until) {
            return;
        }
        let achieved = measured_rate(state).unwrap_or(START_RATE);
        let base = if state.rate.is_finite() {
            state.rate.min(achieved)
        } else {
            achieved
        };
        let mut rate = (base * factor).max(MIN_RATE);
        if let Some(ceiling) = self.ceiling {
            rate = rate.min(ceiling);
        }
        state.rate = rate;
        state.slow_start = false;
        state.slowdowns += 1;
        // Let the lower rate show in the answers before judging again.
        let settle = state.fast_latency.unwrap_or(0.0) * 4.0;
        state.cooldown_until = now + Duration::from_secs_f64(settle.max(1.0));
        // Tokens saved up at the old rate would keep the old pace.
        state.tokens = state.tokens.min(1.0);
        state.filled_at = now;
    }

    /// The target kept throttling and the pacer stopped admitting requests.
    pub fn gave_up(&self) -> bool {
        self.state().gave_up
    }

    /// The figures for the report; `requests` and `elapsed` give the
    /// effective rate.
    pub fn report(&self, requests: u64, elapsed: Duration) -> PacingReport {
        let state = self.state();
        let seconds = elapsed.as_secs_f64();
        PacingReport {
            mode: Some(self.mode),
            ceiling_per_second: self.ceiling,
            effective_per_second: if seconds > 0.0 {
                (requests as f64 / seconds * 10.0).round() / 10.0
            } else {
                0.0
            },
            throttled_responses: state.throttled,
            pauses: state.pauses,
            paused_ms: u64::try_from(state.paused.as_millis()).unwrap_or(u64::MAX),
            slowdowns: state.slowdowns,
            gave_up: state.gave_up,
        }
    }

    /// The rate allowed now (infinite: unlimited).
    pub fn current_rate(&self) -> f64 {
        self.state().rate
    }
}

fn record_completion(state: &mut State, now: Instant) {
    if state.completions.len() == MEASURE_WINDOW {
        state.completions.pop_front();
    }
    state.completions.push_back(now);
}

/// Answers per second over the last completions, when there are enough.
fn measured_rate(state: &State) -> Option<f64> {
    let first = state.completions.front()?;
    let last = state.completions.back()?;
    let span = last.duration_since(*first).as_secs_f64();
    (state.completions.len() >= 4 && span > 0.0)
        .then(|| (state.completions.len() - 1) as f64 / span)
}

/// The wait a `Retry-After` value asks for: delta-seconds, or an HTTP date
/// (IMF-fixdate; a date in the past asks for none). `None` when the value
/// is neither.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurd values saturate; the pause is bounded by MAX_PAUSE anyway.
        let seconds: u64 = value.parse().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds.min(u64::from(u32::MAX))));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// An adaptive pacer with no ceiling after `answers` quick answers.
    async fn warmed_up(answers: usize) -> Pacer {
        let pacer = Pacer::new(PaceMode::Adaptive, None);
        for _ in 0..answers {
            pacer.admit().await.unwrap();
            pacer.on_answer(ms(2), 200, None);
        }
        pacer
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Fri, 02 Jan 2026 03:04:15 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert!(parse_retry_after("99999999999999999999999", now).is_some());
        for junk in ["", "-1", "soon", "1.5", "Fri, 99 Foo"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_healthy_target_is_paced_faster_and_faster_up_to_the_ceiling() {
        let pacer = Pacer::new(PaceMode::Adaptive, Some(400.0));
        assert_eq!(pacer.current_rate(), START_RATE);
        for _ in 0..40 {
            pacer.admit().await.unwrap();
            assert_eq!(pacer.on_answer(ms(2), 200, None), Verdict::Fine);
        }
        assert_eq!(pacer.current_rate(), 400.0);
        assert!(warmed_up(80).await.current_rate().is_infinite());
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_pauses_everyone_halves_the_rate_and_is_counted() {
        let pacer = warmed_up(20).await;
        let before = pacer.current_rate();
        let at = Instant::now();
        assert_eq!(pacer.on_answer(ms(2), 429, Some("3")), Verdict::Throttled);
        assert!(pacer.current_rate() <= before * 0.5);
        pacer.admit().await.unwrap();
        assert!(at.elapsed() >= Duration::from_secs(3));
        let report = pacer.report(21, Duration::from_secs(4));
        assert_eq!(
            (report.throttled_responses, report.pauses, report.slowdowns),
            (1, 1, 1)
        );
        assert!(report.paused_ms >= 3000);
        // A 503 without Retry-After is an error signal, not a pause.
        assert_eq!(pacer.on_answer(ms(2), 503, None), Verdict::Fine);
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_that_only_throttles_is_given_up() {
        let pacer = Pacer::new(PaceMode::Steady, None);
        let at = Instant::now();
        for _ in 0..GIVE_UP_AFTER - 1 {
            pacer.admit().await.unwrap();
            assert_eq!(pacer.on_answer(ms(1), 429, None), Verdict::Throttled);
        }
        // Doubling back-off without Retry-After: 0.5 + 1 + 2 + 4 s so far.
        pacer.admit().await.unwrap();
        assert!(at.elapsed() >= Duration::from_millis(7500));
        pacer.on_answer(ms(1), 429, None);
        assert_eq!(pacer.admit().await, Err(GaveUp));
        assert!(pacer.report(5, Duration::from_secs(8)).gave_up);
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_is_bounded() {
        let pacer = Pacer::new(PaceMode::Steady, None);
        let at = Instant::now();
        pacer.on_answer(ms(1), 503, Some("86400"));
        pacer.admit().await.unwrap();
        let waited = at.elapsed();
        assert!(waited >= MAX_PAUSE && waited < MAX_PAUSE + Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn climbing_latency_and_errors_slow_an_adaptive_scan_down_once_per_cooldown() {
        let pacer = warmed_up(30).await;
        let fast = pacer.current_rate();
        for _ in 0..6 {
            pacer.admit().await.unwrap();
            pacer.on_answer(ms(900), 200, None);
        }
        let slowed = pacer.current_rate();
        assert!(slowed < fast, "{slowed} < {fast}");
        assert_eq!(pacer.report(0, Duration::ZERO).slowdowns, 1);
        tokio::time::advance(Duration::from_secs(5)).await;
        pacer.on_failure();
        assert!(pacer.current_rate() < slowed);
        // A steady pace ignores both, and climbs back after throttling.
        let steady = Pacer::new(PaceMode::Steady, Some(20.0));
        steady.on_failure();
        steady.on_answer(Duration::from_secs(3), 200, None);
        assert_eq!(steady.current_rate(), 20.0);
        steady.on_answer(ms(1), 429, Some("0"));
        assert!(steady.current_rate() < 20.0);
        for _ in 0..100 {
            steady.on_answer(ms(1), 200, None);
        }
        assert_eq!(steady.current_rate(), 20.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rising_rate_hurries_the_requests_already_waiting() {
        let pacer = std::sync::Arc::new(Pacer::new(PaceMode::Adaptive, None));
        let begin = Instant::now();
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let pacer = std::sync::Arc::clone(&pacer);
                tokio::spawn(async move {
                    pacer.admit().await.unwrap();
                    begin.elapsed()
                })
            })
            .collect();
        // Every waiter is waiting at the polite start's pace…
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        // …when quick answers raise the rate.
        for _ in 0..20 {
            pacer.on_answer(ms(1), 200, None);
        }
        let mut latest = Duration::ZERO;
        for waiter in waiters {
            latest = latest.max(waiter.await.unwrap());
        }
        // Booked at 50/s, the tenth would have started 180 ms in.
        assert!(latest <= ms(25), "{latest:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_rate_spaces_request_starts() {
        let pacer = Pacer::new(PaceMode::Steady, Some(10.0));
        let begin = Instant::now();
        for _ in 0..5 {
            pacer.admit().await.unwrap();
        }
        // Five starts at 10/s: the fifth starts 400 ms after the first.
        assert!(begin.elapsed() >= ms(400));
    }
}
