//! How one input ordinarily behaves, learned once and shared by every
//! injection check: the answer to a value the API recognises (an id that
//! returned data is the best base for a differential proof) and the answer
//! to a value that matches nothing (what an impossible condition looks like).

use std::sync::Arc;
use std::time::Duration;

use super::compare::similar;
use super::inputs::Payload;
use super::{Halt, Point};
use crate::checks::probe::success_json;
use crate::engine::Exchange;

/// Values tried before settling for one that returns no data.
const MAX_BASE_TRIES: usize = 3;

#[derive(Debug)]
pub struct Profile {
    /// The value the other probes build on.
    pub base_value: String,
    /// The answer to it.
    pub base: Arc<Exchange>,
    /// A value of the same kind that matches nothing.
    pub impossible_value: String,
    pub impossible: Arc<Exchange>,
}

impl Profile {
    /// The value selects what comes back: the base and the impossible
    /// value get different answers, so a condition's truth can show.
    pub fn informative(&self) -> bool {
        !similar(
            &self.base,
            &self.impossible,
            &[&self.base_value, &self.impossible_value],
        )
    }

    /// Response times of the ordinary requests, for timing probes.
    pub fn latencies(&self) -> Vec<Duration> {
        vec![self.base.elapsed, self.impossible.elapsed]
    }
}

/// A value that cannot match anything, of the same kind as the base.
pub fn impossible_value(numeric: bool, token: &str) -> String {
    if numeric {
        // Nine digits from the token's hash: no sequence reaches it, and
        // it is a valid integer for typed routes.
        let digits: u64 = token
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        format!("9{:08}", digits % 100_000_000)
    } else {
        format!("zq{token}")
    }
}

/// An answer with data in it: a non-empty JSON document or a non-JSON body.
fn has_data(exchange: &Exchange) -> bool {
    success_json(exchange)
        || ((200..300).contains(&exchange.response.status)
            && exchange.body_json().is_none()
            && !exchange.response.body.is_empty())
}

/// Learns the profile of `point`'s input (the caller holds the slot, so
/// this runs once per input and scan).
pub(super) async fn learn(point: &Point<'_, '_>) -> Result<Profile, Halt> {
    let ordinary = point.shape.value_of(point.input);
    let mut candidates: Vec<String> = ordinary.iter().cloned().collect();
    let learned = point
        .ctx
        .facts
        .values
        .candidates(&point.endpoint.path, &point.input.param.name);
    for value in learned {
        if !candidates.contains(&value) {
            candidates.push(value);
        }
    }
    if candidates.is_empty() {
        candidates.push(
            if point.input.is_numeric() {
                "1"
            } else {
                "test"
            }
            .to_string(),
        );
    }
    let mut first: Option<(String, Arc<Exchange>)> = None;
    let mut chosen: Option<(String, Arc<Exchange>)> = None;
    for candidate in candidates.into_iter().take(MAX_BASE_TRIES) {
        let exchange = match point.reusable_baseline(ordinary.as_deref() == Some(&candidate)) {
            Some(exchange) => exchange,
            None => match point.send_shared(&Payload::text(candidate.clone())).await? {
                Some(exchange) => exchange,
                None => continue,
            },
        };
        if has_data(&exchange) {
            chosen = Some((candidate, exchange));
            break;
        }
        first.get_or_insert((candidate, exchange));
    }
    let (base_value, base) = chosen.or(first).ok_or(Halt::Unbuildable)?;
    let numeric = point.input.is_numeric() || base_value.parse::<i64>().is_ok();
    let impossible_value = impossible_value(numeric, &point.ctx.engine.buster().next_token());
    let impossible = point
        .send_shared(&Payload::text(impossible_value.clone()))
        .await?
        .ok_or(Halt::Unbuildable)?;
    Ok(Profile {
        base_value,
        base,
        impossible_value,
        impossible,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_values_keep_the_kind_of_the_base() {
        let numeric = impossible_value(true, "abc123");
        assert_eq!(numeric.len(), 9);
        assert!(numeric.starts_with('9') && numeric.parse::<u64>().is_ok());
        assert_eq!(numeric, impossible_value(true, "abc123"));
        assert_ne!(numeric, impossible_value(true, "abc124"));
        assert_eq!(impossible_value(false, "k1"), "zqk1");
    }
}
