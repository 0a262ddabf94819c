//! Signature comparison time depends on where a wrong signature differs.
//!
//! A server that checks a signature with an ordinary equality test
//! (`expected == sent`, a loop that returns at the first differing
//! character) refuses a wrong signature faster the earlier it goes wrong.
//! An attacker who can time refusals guesses the signature one position at
//! a time: the candidate whose refusal takes longest has that character
//! right. A few thousand requests per character then forge a valid
//! signature for a payload of their choice, without ever knowing the secret.
//!
//! Rampart takes the first signed link an identity received in its own
//! responses, corrupts its signature once at the *first* character and once
//! near the *end* (the second-to-last data character: the last base64
//! character may carry padding bits a decoder ignores, so changing it might
//! not change the signature at all), and sends the two interleaved, in
//! alternating order, nine times each, every one on a fresh cache-busted
//! URL. Only when every probe was refused the same way, and the late
//! corruption was refused consistently and clearly slower (median gap above
//! both 5 ms and four times the larger median absolute deviation, the two
//! sets barely overlapping) is it reported — as a tentative, informational
//! hint. Eighteen requests see only gross leaks (milliseconds); the
//! nanosecond differences of `memcmp` need thousands of samples and a quiet
//! network, so a clean result proves nothing about constant time.
//!
//! The check runs once per scan, after the endpoint checks, so the other
//! checks' traffic does not blur the measurement.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{corrupt, replace_param, signature_of};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip, TargetContext};
use crate::engine::{Caller, EngineError, Exchange, Probe};
use crate::facts::Needs;
use crate::facts::SignedLink;
use crate::finding::{Category, Confidence, FindingDraft, Severity};
use crate::identity::signing::flip;

pub struct TimingCompare;

pub static META: CheckMeta = CheckMeta {
    check: &TimingCompare,
    id: "signing.timing-compare",
    category: Category::Signature,
    severity: Severity::Info,
    summary: "A wrong signature is refused more slowly the more of it matches (timing hint)",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 1,
    needs: Needs::SIGNED_LINKS,
};

/// Probes per corruption position: 2 × 9 = 18 requests, at most 20 when
/// the engine retries one after a re-login (the measurement then stops).
const SAMPLES: usize = 9;
/// Fewer samples on either side and the statistics mean nothing.
const MIN_SAMPLES: usize = 7;
/// The smallest gap between the medians worth mentioning, in milliseconds.
const MIN_GAP_MS: f64 = 5.0;
/// The gap must also exceed this many median absolute deviations.
const MAD_FACTOR: f64 = 4.0;
/// The share of (early, late) pairs in which the late probe was slower.
const MIN_DOMINANCE: f64 = 0.85;
/// A shorter signature segment leaves too few characters between the two
/// corruptions for a per-character cost to add up.
const MIN_SEGMENT: usize = 16;
/// Characters that must lie between the early and the late corruption.
const MIN_DISTANCE: usize = 12;

/// One refusal as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    /// The signature was corrupted near its end (else at its start).
    late: bool,
    status: u16,
    elapsed: Duration,
}

/// Median and median absolute deviation of one side, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spread {
    median_ms: f64,
    mad_ms: f64,
    count: usize,
}

impl Spread {
    fn of(values: &[f64]) -> Option<Spread> {
        let median_ms = median(values)?;
        let deviations: Vec<f64> = values.iter().map(|v| (v - median_ms).abs()).collect();
        Some(Spread {
            median_ms,
            mad_ms: median(&deviations)?,
            count: values.len(),
        })
    }
}

/// Why the samples look like an early-exit comparison.
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    early: Spread,
    late: Spread,
    /// The margin the gap between the medians had to exceed.
    threshold_ms: f64,
    /// The share of (early, late) pairs in which the late probe was slower.
    dominance: f64,
    /// The status every probe was refused with.
    status: u16,
}

impl Verdict {
    fn gap_ms(&self) -> f64 {
        self.late.median_ms - self.early.median_ms
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// A refusal: the server answered, and said no. Server errors are not
/// refusals of the signature but failures elsewhere.
fn refused(status: u16) -> bool {
    (400..500).contains(&status)
}

/// The pure decision: does refusing a late-corrupted signature take clearly
/// and consistently longer than refusing an early-corrupted one?
///
/// Every probe must have been refused with one and the same status (a
/// different status means a different code path, whose timing says nothing
/// about the comparison); each side needs enough samples; the gap between
/// the medians must exceed `max(5 ms, 4 × the larger MAD)`; and at least
/// 85 % of the (early, late) pairs must have the late probe slower.
fn judge(samples: &[Sample]) -> Option<Verdict> {
    let status = samples.first()?.status;
    if !samples
        .iter()
        .all(|s| s.status == status && refused(s.status))
    {
        return None;
    }
    let millis = |late: bool| -> Vec<f64> {
        samples
            .iter()
            .filter(|s| s.late == late)
            .map(|s| s.elapsed.as_secs_f64() * 1000.0)
            .collect()
    };
    let (early_ms, late_ms) = (millis(false), millis(true));
    if early_ms.len() < MIN_SAMPLES || late_ms.len() < MIN_SAMPLES {
        return None;
    }
    let early = Spread::of(&early_ms)?;
    let late = Spread::of(&late_ms)?;
    let threshold_ms = MIN_GAP_MS.max(MAD_FACTOR * early.mad_ms.max(late.mad_ms));
    if late.median_ms - early.median_ms <= threshold_ms {
        return None;
    }
    // Ties count half, as in the Mann-Whitney U statistic.
    let wins: f64 = late_ms
        .iter()
        .flat_map(|l| early_ms.iter().map(move |e| (l, e)))
        .map(|(l, e)| match l.total_cmp(e) {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.0,
        })
        .sum();
    let dominance = wins / (early_ms.len() * late_ms.len()) as f64;
    if dominance < MIN_DOMINANCE {
        return None;
    }
    Some(Verdict {
        early,
        late,
        threshold_ms,
        dominance,
        status,
    })
}

/// The two wrong signatures to time against each other.
#[derive(Debug, Clone, PartialEq)]
struct Corruptions {
    /// Changed at the first character of the signature segment.
    early: String,
    /// Changed at the second-to-last data character of the segment.
    late: String,
    /// 1-based positions of the changes within the segment, and its length.
    early_at: usize,
    late_at: usize,
    segment_len: usize,
}

/// Corrupts the signature segment (after the last `.`) of `value` at its
/// start and near its end. The late change is the second-to-last character
/// once `=` padding is stripped: the last base64 character may carry padding
/// bits a decoder ignores (HMAC-SHA1 in 27 characters keeps only 4 of its
/// 6 bits), so changing it could leave the signature valid; the one before
/// it is all data. `None` when the segment is too short to tell positions
/// apart.
fn corruptions(value: &str) -> Option<Corruptions> {
    let chars: Vec<char> = value.chars().collect();
    let start = chars
        .iter()
        .rposition(|c| *c == '.')
        .map_or(0, |dot| dot + 1);
    let end = chars
        .iter()
        .rposition(|c| *c != '=')
        .map_or(0, |last| last + 1);
    if end <= start || end - start < MIN_SEGMENT {
        return None;
    }
    let early = corrupt(value);
    let early_index = chars.iter().zip(early.chars()).position(|(a, b)| *a != b)?;
    let late_index = end - 2;
    if early_index < start || late_index < early_index + MIN_DISTANCE {
        return None;
    }
    let mut late_chars = chars.clone();
    late_chars[late_index] = flip(chars[late_index]);
    Some(Corruptions {
        early,
        late: late_chars.into_iter().collect(),
        early_at: early_index - start + 1,
        late_at: late_index - start + 1,
        segment_len: end - start,
    })
}

/// The exchange of one side whose time is closest to that side's median.
fn representative(
    probes: &[(bool, Arc<Exchange>)],
    late: bool,
    median_ms: f64,
) -> Option<&Arc<Exchange>> {
    probes
        .iter()
        .filter(|(l, _)| *l == late)
        .map(|(_, e)| e)
        .min_by(|a, b| {
            let distance = |e: &Exchange| (e.elapsed.as_secs_f64() * 1000.0 - median_ms).abs();
            distance(a).total_cmp(&distance(b))
        })
}

fn ms(exchange: &Exchange) -> f64 {
    exchange.elapsed.as_secs_f64() * 1000.0
}

#[async_trait]
impl Check for TimingCompare {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        // The first link is enough: one comparison routine per signing scheme.
        let Some(link) = ctx.facts.signed_links.first() else {
            return Err(Skip::Missing("no signed link found"));
        };
        let Some(wrong) = corruptions(&signature_of(link)) else {
            return Err(Skip::Missing(
                "the signature cannot be corrupted late and early",
            ));
        };
        let Some(probes) = measure(ctx, link, &wrong).await? else {
            return Ok(Vec::new());
        };
        let samples: Vec<Sample> = probes
            .iter()
            .map(|(late, e)| Sample {
                late: *late,
                status: e.response.status,
                elapsed: e.elapsed,
            })
            .collect();
        let Some(verdict) = judge(&samples) else {
            return Ok(Vec::new());
        };
        let (Some(early_probe), Some(late_probe)) = (
            representative(&probes, false, verdict.early.median_ms),
            representative(&probes, true, verdict.late.median_ms),
        ) else {
            return Ok(Vec::new());
        };
        Ok(vec![draft(link, &wrong, &verdict, early_probe, late_probe)])
    }
}

/// Sends the interleaved probes, each on a fresh cache-busted URL, as the
/// link's owner. `None` (stop, nothing to report) as soon as a corrupted
/// signature is accepted, refusals differ, or the engine needed more than
/// one request for a probe (a re-login retry: it spoils the timing and the
/// request bound).
async fn measure(
    ctx: &TargetContext<'_>,
    link: &SignedLink,
    wrong: &Corruptions,
) -> Result<Option<Vec<(bool, Arc<Exchange>)>>, EngineError> {
    let owner = Caller::Identity(link.owner.clone());
    let sent_before = ctx.engine.requests_sent();
    let mut probes: Vec<(bool, Arc<Exchange>)> = Vec::with_capacity(2 * SAMPLES);
    for round in 0..SAMPLES {
        // Alternate which goes first, so drift and connection warm-up fall
        // on both sides; the very first probe is an early one, so a slow
        // first request can only hide a leak, never invent one.
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for late in order {
            let value = if late { &wrong.late } else { &wrong.early };
            let wrong_url = replace_param(&link.url, &link.signature_param, Some(value));
            let url = ctx.engine.buster().bust(&wrong_url);
            let exchange = ctx
                .engine
                .send(Probe::get(url).as_caller(owner.clone()))
                .await?;
            let status = exchange.response.status;
            let first_status = probes.first().map_or(status, |(_, e)| e.response.status);
            probes.push((late, exchange));
            let sent = ctx.engine.requests_sent().saturating_sub(sent_before);
            if !refused(status) || status != first_status || sent > probes.len() as u64 {
                return Ok(None);
            }
        }
    }
    Ok(Some(probes))
}

fn draft(
    link: &SignedLink,
    wrong: &Corruptions,
    verdict: &Verdict,
    early_probe: &Arc<Exchange>,
    late_probe: &Arc<Exchange>,
) -> FindingDraft {
    let param = &link.signature_param;
    let (early, late) = (verdict.early, verdict.late);
    FindingDraft::at_exchange(late_probe, Severity::Info, Confidence::Tentative)
        .title(format!(
            "A wrong signature in `{param}` is refused more slowly the more of it matches (timing hint)"
        ))
        .description(format!(
            "Rampart sent {total} requests with the signature in `{param}` (the link from `{field}`) corrupted, \
             interleaved in alternating order: {ne} with character {ea} of its {len}-character signature changed and \
             {nl} with character {la} changed. Every one was refused (HTTP {status}). The late corruption was refused \
             in a median of {lm:.1} ms (median absolute deviation {lmad:.1} ms), the early one in {em:.1} ms \
             (MAD {emad:.1} ms): {gap:.1} ms slower, above the {threshold:.1} ms margin, and slower in {share:.0} % of \
             the early/late pairs. A comparison that stops at the first differing character behaves this way, and \
             lets an attacker recover a valid signature one character at a time by timing refusals. This is a \
             statistical hint from few samples, not proof: confirm it with many more samples (hundreds per position, \
             interleaved, from close to the server) before acting on it. The fix is a constant-time comparison of the \
             whole signature: Python `hmac.compare_digest` (itsdangerous and Django's `constant_time_compare` already \
             use one), Node `crypto.timingSafeEqual` after a length check, Java `MessageDigest.isEqual`.",
            total = early.count + late.count,
            field = link.field,
            ne = early.count,
            nl = late.count,
            ea = wrong.early_at,
            la = wrong.late_at,
            len = wrong.segment_len,
            status = verdict.status,
            lm = late.median_ms,
            lmad = late.mad_ms,
            em = early.median_ms,
            emad = early.mad_ms,
            gap = verdict.gap_ms(),
            threshold = verdict.threshold_ms,
            share = verdict.dominance * 100.0,
        ))
        .parameter(param.clone())
        .key("timing")
        .evidence(
            format!(
                "Signature changed at character {} of {}: refused in {:.1} ms (median {:.1} ms of {})",
                wrong.early_at,
                wrong.segment_len,
                ms(early_probe),
                early.median_ms,
                early.count
            ),
            early_probe,
            None,
        )
        .evidence(
            format!(
                "Signature changed at character {} of {}: refused in {:.1} ms (median {:.1} ms of {})",
                wrong.late_at,
                wrong.segment_len,
                ms(late_probe),
                late.median_ms,
                late.count
            ),
            late_probe,
            None,
        )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use axum::{Json, Router};
    use serde_json::json;
    use sha2::{Digest, Sha256};
    use url::Url;

    use super::*;
    use crate::checks::probe::fixtures::{exchange, serve, Target};
    use crate::engine::{Engine, EngineConfig};
    use crate::facts::TargetFacts;
    use crate::identity::Identity;
    use crate::scan::{self, ScanOptions};

    // ---- the decision, on synthetic samples -------------------------------

    fn samples(status: u16, early_ms: &[f64], late_ms: &[f64]) -> Vec<Sample> {
        // Interleaved like the probes, so order cannot matter to the judge.
        let mut out = Vec::new();
        for i in 0..early_ms.len().max(late_ms.len()) {
            for (late, side) in [(false, early_ms), (true, late_ms)] {
                if let Some(ms) = side.get(i) {
                    out.push(Sample {
                        late,
                        status,
                        elapsed: Duration::from_secs_f64(ms / 1000.0),
                    });
                }
            }
        }
        out
    }

    const FLAT: [f64; 9] = [1.1, 1.3, 0.9, 1.0, 1.2, 1.4, 0.8, 1.1, 1.0];

    #[test]
    fn a_leaky_comparison_is_judged_with_its_numbers() {
        let late = [76.0, 78.5, 75.2, 81.0, 77.7, 76.4, 79.9, 75.8, 77.1];
        let verdict = judge(&samples(403, &FLAT, &late)).expect("a clear leak");
        assert_eq!(verdict.status, 403);
        assert_eq!(verdict.early.count, 9);
        assert_eq!(verdict.late.count, 9);
        assert!((verdict.early.median_ms - 1.1).abs() < 1e-9);
        assert!((verdict.late.median_ms - 77.1).abs() < 1e-9);
        assert!((verdict.gap_ms() - 76.0).abs() < 1e-9);
        // Four times the late side's MAD (1.3 ms) is above the 5 ms floor.
        assert!((verdict.threshold_ms - 5.2).abs() < 1e-9);
        assert_eq!(verdict.dominance, 1.0);
        // One early outlier slower than everything does not hide the leak.
        let mut early = FLAT;
        early[3] = 120.0;
        assert!(judge(&samples(403, &early, &late)).is_some());
    }

    #[test]
    fn constant_time_noisy_or_small_differences_are_not_judged_leaky() {
        let slow_a = [80.2, 81.0, 79.6, 80.4, 80.9, 79.8, 80.1, 80.6, 80.3];
        let slow_b = [80.5, 79.9, 80.8, 80.0, 81.2, 80.3, 79.7, 80.4, 80.7];
        let cases: [(&str, [f64; 9], [f64; 9]); 6] = [
            ("slow but flat: 80 ms on both sides, jitter only", slow_a, slow_b),
            ("flat and fast", FLAT, FLAT),
            ("late faster than early is no early-exit comparison", slow_b, FLAT),
            (
                "the medians differ by 8 ms, but the spread is wider than that",
                [10.0, 25.0, 3.0, 18.0, 12.0, 30.0, 6.0, 15.0, 21.0],
                [20.0, 8.0, 35.0, 23.0, 14.0, 40.0, 17.0, 28.0, 26.0],
            ),
            (
                "a large gap in the medians, but three outliers on each side: most pairs do not favour late",
                [1.0, 1.2, 0.9, 1.1, 1.0, 1.3, 90.0, 95.0, 99.0],
                [30.0, 31.0, 29.5, 30.5, 0.8, 0.7, 0.9, 31.5, 30.2],
            ),
            ("a clear gap, but under 5 ms: not worth a note", [1.0; 9], [4.5; 9]),
        ];
        for (why, early, late) in cases {
            assert!(judge(&samples(403, &early, &late)).is_none(), "{why}");
        }
        assert!(judge(&samples(401, &FLAT, &FLAT)).is_none());
    }

    #[test]
    fn only_uniform_refusals_with_enough_samples_count() {
        let late = [76.0, 78.5, 75.2, 81.0, 77.7, 76.4, 79.9, 75.8, 77.1];
        // An accepted probe: the signature is not verified at all.
        let mut accepted = samples(403, &FLAT, &late);
        accepted[5].status = 200;
        assert!(judge(&accepted).is_none());
        // A different refusal is a different code path.
        let mut mixed = samples(403, &FLAT, &late);
        mixed[2].status = 400;
        assert!(judge(&mixed).is_none());
        // Server errors are not refusals.
        assert!(judge(&samples(500, &FLAT, &late)).is_none());
        // Too few samples.
        assert!(judge(&samples(403, &FLAT[..4], &late[..4])).is_none());
        assert!(judge(&[]).is_none());
    }

    #[test]
    fn corruptions_hit_the_first_and_a_data_carrying_late_character() {
        // itsdangerous: 27-character HMAC-SHA1 segment whose last `A`
        // carries two padding bits. The late change is the `J` before it.
        let token = "eyJpIjo0NH0.awQjUw.Q8-mTtN3KTJsH23KyvsQxQ1ujJA";
        let c = corruptions(token).expect("long enough");
        assert_eq!(c.early, "eyJpIjo0NH0.awQjUw.A8-mTtN3KTJsH23KyvsQxQ1ujJA");
        assert_eq!(c.late, "eyJpIjo0NH0.awQjUw.Q8-mTtN3KTJsH23KyvsQxQ1ujAA");
        assert_eq!((c.early_at, c.late_at, c.segment_len), (1, 26, 27));
        // Standard base64 with `=` padding: the padding is skipped.
        let padded = corruptions("q83vEjRWeJCrze8SNFZ4kA==").expect("padded");
        assert_eq!(padded.late, "q83vEjRWeJCrze8SNFZ4aA==");
        assert_eq!(padded.segment_len, 22);
        // Hex: still hex, one character changed in each.
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let c = corruptions(hex).expect("hex");
        assert_eq!(&c.early[..2], "0f");
        assert_eq!(&c.late[62..], "18");
        for wrong in [&c.early, &c.late] {
            assert_eq!(
                wrong
                    .chars()
                    .zip(hex.chars())
                    .filter(|(a, b)| a != b)
                    .count(),
                1
            );
            assert!(wrong.chars().all(|ch| ch.is_ascii_hexdigit()));
        }
        // Too short to tell positions apart.
        assert!(corruptions("payload.ts.abcdef").is_none());
        assert!(corruptions("payload.ts.").is_none());
        assert!(corruptions("===").is_none());
    }

    // ---- end to end, against an in-process server --------------------------

    const KEY: &str = "timing-test-key-alice";
    const SECRET: &str = "timing-test-secret";
    /// Per matching character, the leaky twin's comparison sleeps this long.
    const PER_CHAR: Duration = Duration::from_millis(3);

    #[derive(Clone, Copy, PartialEq)]
    enum Twin {
        /// Compares character by character and stops at the first difference.
        Leaky,
        /// Compares every byte whatever the input (and is slow, on purpose,
        /// by a constant amount).
        Fixed,
    }

    struct AppState {
        twin: Twin,
        verifications: AtomicUsize,
    }

    fn base64url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    /// A 27-character signature, HMAC-SHA1-sized.
    fn sign(file: &str) -> String {
        base64url(&Sha256::digest(format!("{SECRET}:{file}"))[..20])
    }

    #[derive(serde::Deserialize)]
    struct FileQuery {
        file: Option<String>,
        sig: Option<String>,
    }

    async fn links(headers: HeaderMap) -> Response {
        if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        Json(json!({
            "download_url": format!("/api/files/get?file=report.csv&sig={}", sign("report.csv")),
        }))
        .into_response()
    }

    async fn file(State(state): State<Arc<AppState>>, Query(query): Query<FileQuery>) -> Response {
        let (Some(file), Some(sent)) = (query.file, query.sig) else {
            return StatusCode::FORBIDDEN.into_response();
        };
        state.verifications.fetch_add(1, Ordering::Relaxed);
        let expected = sign(&file);
        let valid = match state.twin {
            Twin::Leaky => {
                let mut equal = expected.len() == sent.len();
                for (a, b) in expected.bytes().zip(sent.bytes()) {
                    if a != b {
                        equal = false;
                        break;
                    }
                    tokio::time::sleep(PER_CHAR).await;
                }
                equal
            }
            Twin::Fixed => {
                tokio::time::sleep(PER_CHAR * 10).await;
                expected.len() == sent.len()
                    && expected
                        .bytes()
                        .zip(sent.bytes())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
            }
        };
        if valid {
            Json(json!({"file": file, "rows": 12})).into_response()
        } else {
            (
                StatusCode::FORBIDDEN,
                Json(json!({"error": "bad signature"})),
            )
                .into_response()
        }
    }

    async fn spec() -> Json<serde_json::Value> {
        Json(json!({
            "openapi": "3.0.3",
            "info": {"title": "timing twin", "version": "1"},
            "paths": {"/api/links": {"get": {"responses": {"200": {"description": "links"}}}}}
        }))
    }

    async fn start(twin: Twin) -> (Target, Arc<AppState>) {
        let state = Arc::new(AppState {
            twin,
            verifications: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/openapi.json", get(spec))
            .route("/api/links", get(links))
            .route("/api/files/get", get(file))
            .with_state(Arc::clone(&state));
        (serve(app).await, state)
    }

    fn alice() -> Identity {
        Identity {
            name: "alice".into(),
            headers: vec![("X-API-Key".into(), KEY.into())],
        }
    }

    /// Harvests alice's link the way the scan does and runs the check once.
    async fn run_check(twin: Twin) -> (Vec<FindingDraft>, u64, usize) {
        let (target, state) = start(twin).await;
        let mut config = EngineConfig::new(target.url.clone());
        config.identities = vec![alice()];
        let engine = Engine::new(config).unwrap();
        let root = engine
            .send(
                Probe::get(engine.url_for("/api/links").unwrap())
                    .as_caller(Caller::Identity("alice".into())),
            )
            .await
            .unwrap();
        let facts = TargetFacts {
            signed_links: crate::facts::signed_links::harvest(&engine, std::iter::once(&root)),
            ..TargetFacts::default()
        };
        assert_eq!(facts.signed_links.len(), 1, "the link is harvested");
        assert_eq!(facts.signed_links[0].signature_param, "sig");
        // The genuine link works on both twins.
        let genuine = engine
            .send(
                Probe::get(engine.buster().bust(&facts.signed_links[0].url))
                    .as_caller(Caller::Identity("alice".into())),
            )
            .await
            .unwrap();
        assert_eq!(genuine.response.status, 200);
        let before = engine.requests_sent();
        let verified_before = state.verifications.load(Ordering::Relaxed);
        let ctx = crate::checks::probe::fixtures::target_context(&engine, &root, &facts);
        let drafts = TimingCompare.probe_target(&ctx).await.unwrap();
        (
            drafts,
            engine.requests_sent() - before,
            state.verifications.load(Ordering::Relaxed) - verified_before,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_leaky_twin_is_noted_and_the_fixed_twin_is_not() {
        let (drafts, sent, verified) = run_check(Twin::Leaky).await;
        assert_eq!(sent, 18, "nine probes per position, within the bound of 20");
        assert_eq!(verified, 18, "every probe reached the verifier");
        assert_eq!(drafts.len(), 1, "{drafts:#?}");
        let draft = &drafts[0];
        assert_eq!(draft.head.severity, Severity::Info);
        assert_eq!(draft.head.confidence, Confidence::Tentative);
        assert_eq!(draft.head.parameter.as_deref(), Some("sig"));
        assert_eq!(draft.head.path, "/api/files/get");
        assert!(draft.head.description.contains("statistical hint"));
        assert!(draft.head.description.contains("hmac.compare_digest"));
        assert!(draft.head.description.contains("HTTP 403"));
        assert_eq!(draft.evidence.len(), 2);
        let [early, late] = [&draft.evidence[0], &draft.evidence[1]];
        assert!(early.step.contains("character 1 of 27"), "{}", early.step);
        assert!(late.step.contains("character 26 of 27"), "{}", late.step);
        assert_eq!(early.exchange.response.status, 403);
        assert_eq!(late.exchange.response.status, 403);
        // Each probe had its own cache buster.
        assert_ne!(early.exchange.request.url, late.exchange.request.url);
        assert!(late.exchange.request.url.contains("rampart_cb="));

        let (drafts, sent, verified) = run_check(Twin::Fixed).await;
        assert_eq!((sent, verified), (18, 18));
        assert!(drafts.is_empty(), "constant-time twin noted: {drafts:#?}");
    }

    #[tokio::test]
    async fn no_signed_link_means_no_request() {
        let mut config = EngineConfig::new(Url::parse("http://127.0.0.1:9/").unwrap());
        config.identities = vec![alice()];
        let engine = Engine::new(config).unwrap();
        let root = exchange("http://127.0.0.1:9/", None, 200, &[], "");
        let facts = TargetFacts::default();
        let ctx = crate::checks::probe::fixtures::target_context(&engine, &root, &facts);
        assert_eq!(
            TimingCompare.probe_target(&ctx).await.unwrap_err(),
            Skip::Missing("no signed link found")
        );
        assert_eq!(engine.requests_sent(), 0);
    }

    /// Through the whole scan, selected alone as `--checks
    /// signing.timing-compare` would: registered, harvested from the
    /// baseline, run, and given its knowledge entry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scan_with_only_this_check_reports_the_leaky_twin_alone() {
        for twin in [Twin::Leaky, Twin::Fixed] {
            let (target, _) = start(twin).await;
            let mut options = ScanOptions::new(target.url.clone());
            options.spec = Some(format!("{}openapi.json", target.url));
            options.engine.identities = vec![alice()];
            options.include_checks = vec!["signing.timing-compare".into()];
            let report = scan::run(options).await.unwrap();
            let notes: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.check == "signing.timing-compare")
                .collect();
            if twin == Twin::Leaky {
                assert_eq!(notes.len(), 1, "{:#?}", report.findings);
                assert_eq!(notes[0].category, Category::Signature);
                assert!(notes[0].remediation.is_some());
            } else {
                assert!(notes.is_empty(), "{notes:#?}");
            }
            assert!(report.errors.is_empty(), "{:#?}", report.errors);
        }
    }
}
