//! Regular-expression denial of service (ReDoS), with `--active` only.
//!
//! Backtracking regex engines (Python's `re`, JavaScript, Java, .NET, PCRE)
//! take exponential time on patterns with nested quantifiers — the classic
//! e-mail validator `^\w+([.-]?\w+)*@…` — when the input almost matches:
//! thirty characters can hold a worker for minutes, and a handful of
//! requests takes the service down. For inputs the spec guards with a
//! `pattern`, or that hold e-mail addresses, Rampart sends growing inputs
//! built to make such patterns backtrack (a run of what the repeated group
//! matches, then a character that makes the match fail), and stops at the
//! first clear super-linear growth of the answer time — or as soon as one
//! answer takes a second, the input's time budget (5 s) is spent, or the
//! next answer would take too long. A same-length input the pattern rejects
//! at its first character must stay fast.

use std::time::Duration;

use async_trait::async_trait;

use super::{shown, Halt, Input, InputCheck, Payload, Place, Point};
use crate::checks::{CheckMeta, Mode, RunsOn};
use crate::discover::Endpoint;
use crate::engine::{EngineError, Exchange};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};
use std::sync::Arc;

pub struct Redos;

pub static META: CheckMeta = CheckMeta {
    check: &Redos,
    id: "injection.redos",
    category: Category::InputValidation,
    severity: Severity::High,
    summary: "Regular-expression denial of service: pattern-checked input whose matching time grows super-linearly (--active)",
    mode: Mode::Disruptive,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::RESPONSE_VALUES,
};

/// The run lengths tried, in order (finer steps as they grow).
const LENGTHS: &[usize] = &[8, 12, 16, 18, 20, 22, 24, 26, 28, 30, 32];
/// Answer time spent on one input at most.
const TIME_BUDGET: Duration = Duration::from_secs(5);
/// An answer this slow ends the climb.
const SLOW_ENOUGH: Duration = Duration::from_secs(1);
/// The climb stops before an answer predicted to take longer than this.
const PREDICTED_LIMIT: Duration = Duration::from_millis(2500);
/// The excess time a proof needs at least.
const MIN_EXCESS: Duration = Duration::from_millis(120);

/// An input built to make a pattern backtrack: `prefix`, then `pump`
/// repeated, then `suffix`, which makes the match fail at the very end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attack {
    pub prefix: String,
    pub pump: String,
    pub suffix: String,
}

impl Attack {
    fn new(prefix: &str, pump: &str, suffix: &str) -> Attack {
        Attack {
            prefix: prefix.into(),
            pump: pump.into(),
            suffix: suffix.into(),
        }
    }

    pub fn input(&self, n: usize) -> String {
        format!("{}{}{}", self.prefix, self.pump.repeat(n), self.suffix)
    }

    /// As long as [`Attack::input`], but rejected at its first character.
    fn control(&self, n: usize) -> String {
        let len = self.input(n).chars().count();
        format!(
            "{}{}",
            self.suffix,
            "a".repeat(len.saturating_sub(self.suffix.chars().count()))
        )
    }
}

/// A character the pattern's atom matches, for atoms at the start of `rest`;
/// returns it with the atom's length.
fn representative(rest: &str) -> Option<(char, usize)> {
    let mut chars = rest.char_indices();
    let (_, first) = chars.next()?;
    match first {
        '\\' => {
            let (_, escaped) = chars.next()?;
            let c = match escaped {
                'w' | 'S' => 'a',
                'd' => '1',
                's' => ' ',
                other if other.is_ascii_alphanumeric() => return None,
                other => other,
            };
            Some((c, 1 + escaped.len_utf8()))
        }
        '[' => {
            let end = rest[1..].find(']')? + 2;
            let class = &rest[1..end - 1];
            if class.starts_with('^') {
                return None;
            }
            let c = if class.contains("a-z") || class.contains("\\w") {
                'a'
            } else if class.contains("A-Z") {
                'A'
            } else if class.contains("0-9") || class.contains("\\d") {
                '1'
            } else {
                class.chars().find(|c| *c != '\\')?
            };
            Some((c, end))
        }
        '.' => Some(('a', 1)),
        '(' | ')' | '|' | '*' | '+' | '?' | '{' | '}' | '^' | '$' => None,
        c => Some((c, c.len_utf8())),
    }
}

/// Attacks derived from a pattern: for each group with a quantifier inside
/// that is itself repeated, the characters its first atom matches, after a
/// prefix that satisfies the atoms before the group.
pub fn attacks_for_pattern(pattern: &str) -> Vec<Attack> {
    let suffix = ["!", "#", "%", "\u{1}"]
        .into_iter()
        .find(|s| !pattern.contains(s))
        .unwrap_or("\u{1}");
    let bytes = pattern.as_bytes();
    let mut out = Vec::new();
    let mut prefix = String::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => {
                let Some(close) = matching_paren(pattern, i) else {
                    break;
                };
                let inner = &pattern[i + 1..close];
                let repeated = matches!(bytes.get(close + 1), Some(b'*' | b'+' | b'{'));
                let nested = inner.contains('+') || inner.contains('*');
                let inner = inner.trim_start_matches("?:");
                if repeated && nested {
                    if let Some(pump) = pump(inner) {
                        out.push(Attack::new(&prefix, &pump.to_string(), suffix));
                    }
                }
                // The group's first atom stands for the group in what follows.
                if let Some((c, _)) = representative(inner) {
                    if !matches!(bytes.get(close + 1), Some(b'*' | b'?')) {
                        prefix.push(c);
                    }
                }
                i = close + 1;
            }
            b'^' | b'$' | b'*' | b'?' | b'+' => i += 1,
            b'{' => i += pattern[i..].find('}').map_or(1, |e| e + 1),
            _ => match representative(&pattern[i..]) {
                Some((c, len)) => {
                    if !matches!(bytes.get(i + len), Some(b'*' | b'?')) {
                        prefix.push(c);
                    }
                    i += len;
                }
                None => i += 1,
            },
        }
        if out.len() >= 3 {
            break;
        }
    }
    out
}

/// What a repeated group's body must match at least once: its first atom
/// that is not optional.
fn pump(inner: &str) -> Option<char> {
    let mut rest = inner;
    while !rest.is_empty() {
        let (c, len) = representative(rest)?;
        let mut after = &rest[len..];
        let optional = after.starts_with('?') || after.starts_with('*');
        after = after.trim_start_matches(['?', '*', '+']);
        if !optional {
            return Some(c);
        }
        rest = after;
    }
    None
}

fn matching_paren(pattern: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut escaped = false;
    let mut in_class = false;
    for (i, c) in pattern[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Attacks on the usual e-mail validators: the local part, the domain,
/// and the top-level domain repeated.
fn email_attacks() -> Vec<Attack> {
    vec![
        Attack::new("", "a", "!"),
        Attack::new("a@", "a", "!"),
        Attack::new("a@a.", "a", "!"),
    ]
}

fn email_like(input: &Input) -> bool {
    matches!(input.param.format.as_deref(), Some("email" | "idn-email"))
        || input.param.name.to_ascii_lowercase().contains("email")
        || input
            .param
            .sample
            .as_deref()
            .is_some_and(|v| v.contains('@') && v.contains('.') && !v.contains(' '))
}

/// The verdict on a climb: (run length, answer time) points, oldest first.
/// The usual answer time is the fastest of the climb and the ordinary
/// answers (a short run is cheap, and load only ever adds). Super-linear
/// when the last answer is well above it; the time beyond it grew sharply at
/// the top of the climb (three times in the last step, or twice and then
/// half again); and from the fastest earlier point to the last it grew at
/// least four times faster than the input. Exponential backtracking passes
/// easily (sixteen times per four characters); linear work and load on a
/// busy machine do not, and a one-off stall fails the replay that follows.
pub fn super_linear(usual: Duration, points: &[(usize, Duration)]) -> bool {
    let [.., (_, before), (_, previous), (n, last)] = points else {
        return false;
    };
    let usual = points
        .iter()
        .map(|(_, t)| *t)
        .chain([usual])
        .min()
        .unwrap_or(usual);
    let excess = |t: Duration| t.saturating_sub(usual).as_secs_f64().max(1e-3);
    if excess(*last) < MIN_EXCESS.max(usual * 5).as_secs_f64() {
        return false;
    }
    let sharp = excess(*last) >= 3.0 * excess(*previous)
        || (excess(*previous) >= 2.0 * excess(*before) && excess(*last) >= 1.5 * excess(*previous));
    let earlier = &points[..points.len() - 1];
    let steep = earlier
        .iter()
        .any(|(k, t)| excess(*last) / excess(*t) >= 4.0 * (*n as f64 / (*k).max(1) as f64));
    sharp && steep
}

/// What one attack's climb measured.
struct Climb {
    points: Vec<(usize, Arc<Exchange>)>,
}

async fn climb(
    point: &Point<'_, '_>,
    attack: &Attack,
    usual: Duration,
) -> Result<Option<Climb>, Halt> {
    let mut points: Vec<(usize, Arc<Exchange>)> = Vec::new();
    let mut spent = Duration::ZERO;
    for &n in LENGTHS {
        if let [.., (n0, a), (n1, b)] = points.as_slice() {
            let growth = b.elapsed.as_secs_f64() / a.elapsed.as_secs_f64().max(1e-4);
            let steps = (n - n1) as f64 / (n1 - n0).max(1) as f64;
            let predicted = b.elapsed.as_secs_f64() * growth.max(1.0).powf(steps);
            if predicted > PREDICTED_LIMIT.as_secs_f64()
                || spent.as_secs_f64() + predicted > TIME_BUDGET.as_secs_f64()
            {
                break;
            }
        }
        let answer = match point.send(&Payload::text(attack.input(n))).await {
            Ok(Some(answer)) => answer,
            Ok(None) => return Ok(None),
            Err(Halt::Engine(EngineError::Timeout(_))) => break,
            Err(halt) => return Err(halt),
        };
        spent += answer.elapsed;
        let slow = answer.elapsed >= SLOW_ENOUGH;
        points.push((n, answer));
        let timed: Vec<(usize, Duration)> = points.iter().map(|(n, e)| (*n, e.elapsed)).collect();
        if slow || super_linear(usual, &timed) || spent >= TIME_BUDGET {
            break;
        }
    }
    let timed: Vec<(usize, Duration)> = points.iter().map(|(n, e)| (*n, e.elapsed)).collect();
    Ok(super_linear(usual, &timed).then_some(Climb { points }))
}

#[async_trait]
impl InputCheck for Redos {
    const META: &'static CheckMeta = &META;
    const NOTHING_TO_PROBE: &'static str = "no pattern-checked or e-mail input";

    fn wants(&self, _endpoint: &Endpoint, input: &Input) -> bool {
        let string = !input.is_numeric() && !input.is_boolean();
        string
            && !matches!(input.place, Place::Cookie)
            && (input.param.pattern.is_some() || email_like(input))
    }

    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt> {
        let profile = point.profile().await?;
        let usual = profile.latencies().into_iter().min().unwrap_or_default();
        let mut attacks = point
            .input
            .param
            .pattern
            .as_deref()
            .map(attacks_for_pattern)
            .unwrap_or_default();
        if email_like(point.input) {
            attacks.extend(email_attacks());
        }
        attacks.dedup();
        for attack in attacks {
            let Some(climb) = climb(point, &attack, usual).await? else {
                continue;
            };
            let Some((n, slowest)) = climb.points.last().cloned() else {
                continue;
            };
            // The slowest input again: a stall of the server is not repeatable.
            let Some(replay) = point.send(&Payload::text(attack.input(n))).await? else {
                continue;
            };
            if replay.elapsed.saturating_sub(usual) * 2 < slowest.elapsed.saturating_sub(usual) {
                continue;
            }
            let control_input = attack.control(n);
            let Some(control) = point.send(&Payload::text(control_input.clone())).await? else {
                continue;
            };
            if control.elapsed.saturating_sub(usual) * 4 > slowest.elapsed.saturating_sub(usual) {
                continue;
            }
            let label = point.input.label();
            let times: Vec<String> = climb
                .points
                .iter()
                .map(|(n, e)| format!("{n}: {} ms", e.elapsed.as_millis()))
                .collect();
            let guard = match &point.input.param.pattern {
                Some(pattern) => format!("the pattern {}", shown(pattern)),
                None => "an e-mail validator".to_string(),
            };
            let mut draft = point
                .draft(&slowest, Severity::High, Confidence::Confirmed)
.repeated()
                .title(format!("Regular-expression denial of service in {label}"))
                .description(format!(
                    "The {label} is checked with a backtracking regular expression ({guard}) whose matching \
                     time grows super-linearly with the input: {} followed by {} (run length: answer time) \
                     — {}, and {} ms when the longest was sent again. A same-length input rejected at its \
                     first character, {}, answered in {} ms. A few such requests hold the service's workers \
                     busy. The climb stopped at the first clear growth.",
                    shown(&format!("{}{}", attack.prefix, attack.pump)),
                    shown(&attack.suffix),
                    times.join(", "),
                    replay.elapsed.as_millis(),
                    shown(&control_input),
                    control.elapsed.as_millis(),
                ))
                .evidence(format!("Ordinary value ({} ms)", profile.base.elapsed.as_millis()), &profile.base, None);
            for (n, exchange) in &climb.points {
                draft = draft.evidence(
                    format!("Run of {n}: {} ms", exchange.elapsed.as_millis()),
                    exchange,
                    None,
                );
            }
            draft = draft.evidence(
                format!("Run of {n} again: {} ms", replay.elapsed.as_millis()),
                &replay,
                None,
            );
            draft = draft.evidence(
                format!(
                    "Same length, rejected at once: {} ms",
                    control.elapsed.as_millis()
                ),
                &control,
                None,
            );
            return Ok(Some(draft));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn attacks_follow_the_nested_quantifier_of_the_pattern() {
        let email = attacks_for_pattern(r"^\w+([.-]?\w+)*@\w+([.-]?\w+)*(\.\w{2,3})+$");
        assert_eq!(email[0], Attack::new("a", "a", "!"), "{email:?}");
        assert_eq!(email[1].prefix, "a@a");
        let classic = attacks_for_pattern("^(a+)+$");
        assert_eq!(classic, [Attack::new("", "a", "!")]);
        let words = attacks_for_pattern(r"^([a-zA-Z0-9]+\s?)*$");
        assert_eq!(words[0].pump, "a");
        assert!(attacks_for_pattern(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$").is_empty());
        let attack = Attack::new("a@", "a", "!");
        assert_eq!(attack.input(3), "a@aaa!");
        assert_eq!(attack.control(3), "!aaaaa");
    }

    #[test]
    fn only_clear_super_linear_growth_counts() {
        let climb = |times: &[(usize, u64)]| -> Vec<(usize, Duration)> {
            times.iter().map(|(n, t)| (*n, ms(*t))).collect()
        };
        // Exponential: 4x per two characters, also through load.
        for times in [
            &[(16, 10), (18, 40), (20, 160)][..],
            &[(18, 150), (20, 200), (22, 1100)],
            &[(8, 25), (12, 27), (16, 36), (18, 108), (20, 118), (22, 713)],
            &[(8, 300), (12, 15), (16, 27), (18, 58), (20, 91), (22, 356)],
        ] {
            assert!(super_linear(ms(20), &climb(times)), "{times:?}");
        }
        // Quadratic work, linear work, load, one stall: not a clear ReDoS.
        for times in [
            &[(16, 100), (18, 127), (20, 156)][..],
            &[(16, 4), (18, 4), (20, 5)],
            &[(16, 4), (18, 9), (20, 30)],
            &[(16, 4), (18, 300), (20, 5)],
            &[(16, 200), (18, 260), (20, 330)],
            &[(18, 40), (20, 160)],
        ] {
            assert!(!super_linear(ms(3), &climb(times)), "{times:?}");
        }
    }
}
