//! SQL injection.
//!
//! When an API builds SQL by pasting input into the query text, the input
//! can end the string or number it was meant to be and add SQL of its own:
//! read any table, bypass the `WHERE` that limits a caller to their own rows,
//! and on many databases go further. Rampart proves it three ways, cheapest
//! first, and only with read-only payloads: a database error that a stray
//! quote provokes and a doubled quote does not (error-based); a pair of
//! conditions, `AND 'a'='a'` and `AND 'a'='b'`, that answer like the ordinary
//! value and like a value that matches nothing (boolean, replayed); and a
//! database sleep whose length the answer's delay follows (time-based).

use std::sync::Arc;

use async_trait::async_trait;

use super::compare::similar;
use super::fingerprints::{new_errors, Store, StoreError};
use super::profile::Profile;
use super::timing::{self, Delayed};
use super::{shown, Halt, InputCheck, Payload, Point};
use crate::checks::{CheckMeta, Mode, RunsOn};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Sql;

pub static META: CheckMeta = CheckMeta {
    check: &Sql,
    id: "injection.sql",
    category: Category::InputValidation,
    severity: Severity::Critical,
    summary: "SQL injection: input that changes the query (error, boolean and time-based proofs)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::RESPONSE_VALUES,
};

/// How the input sits in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// A bare number: `id = 7`.
    Number,
    /// A single-quoted string: `title = 'x'`.
    Quoted,
    /// A single-quoted string with more query after it than a condition
    /// can follow (`LIKE '%x%'`, a trailing clause): the rest is commented out.
    QuotedCommented,
}

impl Context {
    /// The (true, false) pair of payloads built on `base`.
    fn pair(self, base: &str) -> (String, String) {
        match self {
            Context::Number => (format!("{base} AND 1=1"), format!("{base} AND 1=2")),
            Context::Quoted => (format!("{base}' AND 'a'='a"), format!("{base}' AND 'a'='b")),
            Context::QuotedCommented => {
                (format!("{base}' AND 1=1-- "), format!("{base}' AND 1=2-- "))
            }
        }
    }

    /// A payload that makes `store` sleep for `seconds` once per query
    /// (an uncorrelated subquery, so not once per row).
    fn sleep(self, store: Store, base: &str, seconds: &str) -> Option<String> {
        match (store, self) {
            (Store::Postgresql, Context::Number) => {
                Some(format!("{base}+(SELECT 0 FROM pg_sleep({seconds}))"))
            }
            (Store::Postgresql, Context::Quoted) => {
                Some(format!("{base}'||(SELECT '' FROM pg_sleep({seconds}))||'"))
            }
            (Store::Mysql, Context::Number) => Some(format!(
                "{base} AND (SELECT 1 FROM (SELECT SLEEP({seconds}))r)"
            )),
            (Store::Mysql, Context::Quoted) => Some(format!(
                "{base}' AND (SELECT 1 FROM (SELECT SLEEP({seconds}))r) AND 'a'='a"
            )),
            _ => None,
        }
    }
}

/// The contexts worth trying for an input, likeliest first.
fn contexts(numeric: bool) -> &'static [Context] {
    if numeric {
        &[Context::Number, Context::Quoted, Context::QuotedCommented]
    } else {
        &[Context::Quoted, Context::QuotedCommented]
    }
}

/// A database error the payload provoked.
struct ErrorProof {
    ordinary: Arc<Exchange>,
    payload: String,
    broken: Arc<Exchange>,
    error: StoreError,
    /// The doubled-quote payload and its clean answer, when it was clean.
    balanced: Option<(String, Arc<Exchange>)>,
    /// The stray quote sent again on a fresh cache buster, when its error
    /// came back (asked only once the doubled quote was clean).
    again: Option<Arc<Exchange>>,
}

impl ErrorProof {
    /// The quote breaks the query twice and the doubled quote mends it.
    fn proven(&self) -> bool {
        self.balanced.is_some() && self.again.is_some()
    }
}

/// A true/false pair that answered like the ordinary and the impossible value.
struct BooleanProof {
    context: Context,
    truthy: String,
    falsy: String,
    answers: [Arc<Exchange>; 4],
}

/// The judgment of a boolean pair: the true payload answers like the
/// ordinary value, the false one like the impossible value (and not like
/// the ordinary one).
fn pair_holds(profile: &Profile, truthy: &Exchange, falsy: &Exchange, sent: &[&str]) -> bool {
    let mut reflected: Vec<&str> = sent.to_vec();
    reflected.push(&profile.base_value);
    reflected.push(&profile.impossible_value);
    similar(truthy, &profile.base, &reflected)
        && similar(falsy, &profile.impossible, &reflected)
        && !similar(falsy, &profile.base, &reflected)
}

/// The SQL errors of `probe` that the ordinary answer does not show.
fn sql_errors(ordinary: &Exchange, probe: &Exchange) -> Vec<StoreError> {
    new_errors(ordinary.body_text(), probe.body_text())
        .into_iter()
        .filter(|e| e.store.is_sql())
        .collect()
}

/// Sends a stray quote; a proof when it provoked a database error the
/// ordinary value does not, confirmed when a doubled quote is accepted
/// again and the stray quote fails the same way once more. Returns the
/// stray quote's answer either way.
async fn error_based(
    point: &Point<'_, '_>,
    profile: &Profile,
) -> Result<(Option<ErrorProof>, Option<Arc<Exchange>>), Halt> {
    let payload = format!("{}'", profile.base_value);
    let Some(broken) = point.send(&Payload::text(payload.clone())).await? else {
        return Ok((None, None));
    };
    let Some(error) = sql_errors(&profile.base, &broken).into_iter().next() else {
        return Ok((None, Some(broken)));
    };
    let doubled = format!("{}''", profile.base_value);
    let balanced = match point.send(&Payload::text(doubled.clone())).await? {
        Some(answer) if sql_errors(&profile.base, &answer).is_empty() => Some((doubled, answer)),
        _ => None,
    };
    // A moment's failure is no proof: the error must come back.
    let again = match &balanced {
        Some(_) => match point.send(&Payload::text(payload.clone())).await? {
            Some(answer) if !sql_errors(&profile.base, &answer).is_empty() => Some(answer),
            _ => None,
        },
        None => None,
    };
    Ok((
        Some(ErrorProof {
            ordinary: Arc::clone(&profile.base),
            payload,
            broken: Arc::clone(&broken),
            error,
            balanced,
            again,
        }),
        Some(broken),
    ))
}

/// How the boolean stage ended.
enum Boolean {
    Proven(BooleanProof),
    /// Non-numeric text is refused before it reaches any query (a typed
    /// parameter): no SQL payload can get through.
    Typed,
    Nothing,
}

async fn boolean_based(
    point: &Point<'_, '_>,
    profile: &Profile,
    numeric: bool,
    quote: Option<&Exchange>,
) -> Result<Boolean, Halt> {
    if !profile.informative() {
        return Ok(Boolean::Nothing);
    }
    for &context in contexts(numeric) {
        let (truthy, falsy) = context.pair(&profile.base_value);
        let sent = [truthy.as_str(), falsy.as_str()];
        let Some(t1) = point.send(&Payload::text(truthy.clone())).await? else {
            continue;
        };
        if !similar(&t1, &profile.base, &[&truthy, &profile.base_value]) {
            // A number refused as text the same way as the stray quote was:
            // validation, not a database.
            let refused = (400..500).contains(&t1.response.status)
                && !similar(&t1, &profile.impossible, &sent)
                && quote.is_some_and(|q| similar(&t1, q, &[&truthy, &profile.base_value]));
            if context == Context::Number && refused {
                return Ok(Boolean::Typed);
            }
            continue;
        }
        let Some(f1) = point.send(&Payload::text(falsy.clone())).await? else {
            continue;
        };
        if !pair_holds(profile, &t1, &f1, &sent) {
            continue;
        }
        // Replayed on fresh busters: a flapping or cached answer fails here.
        let (Some(t2), Some(f2)) = (
            point.send(&Payload::text(truthy.clone())).await?,
            point.send(&Payload::text(falsy.clone())).await?,
        ) else {
            continue;
        };
        if pair_holds(profile, &t2, &f2, &sent) {
            return Ok(Boolean::Proven(BooleanProof {
                context,
                truthy,
                falsy,
                answers: [t1, f1, t2, f2],
            }));
        }
    }
    Ok(Boolean::Nothing)
}

async fn time_based(
    point: &Point<'_, '_>,
    profile: &Profile,
    numeric: bool,
    known: Option<Store>,
) -> Result<Option<(Store, String, Delayed)>, Halt> {
    let stores = match known {
        Some(store @ (Store::Postgresql | Store::Mysql)) => vec![store],
        Some(_) => return Ok(None),
        None => vec![Store::Postgresql, Store::Mysql],
    };
    let contexts: &[Context] = if numeric {
        &[Context::Number]
    } else {
        &[Context::Quoted]
    };
    let latencies = point.latencies(profile).await?;
    let timeout = point.ctx.engine.timeout();
    for store in stores {
        for &context in contexts {
            let build = |delay| context.sleep(store, &profile.base_value, &timing::seconds(delay));
            let Some(shape) = build(std::time::Duration::from_secs(1)) else {
                continue;
            };
            let proved = timing::prove(&latencies, timeout, |delay| async move {
                match build(delay) {
                    Some(payload) => point.send(&Payload::text(payload)).await,
                    None => Ok(None),
                }
            })
            .await?;
            if let Some(delayed) = proved {
                return Ok(Some((store, shape, delayed)));
            }
        }
    }
    Ok(None)
}

fn hinted(
    mut draft: FindingDraft,
    error: Option<&StoreError>,
    store: Option<Store>,
) -> FindingDraft {
    if let Some(technology) = store.and_then(Store::technology) {
        draft = draft.stack_hint(technology);
    }
    for also in error.map(|e| e.also.clone()).unwrap_or_default() {
        draft = draft.stack_hint(also);
    }
    draft
}

#[async_trait]
impl InputCheck for Sql {
    const META: &'static CheckMeta = &META;
    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt> {
        let profile = point.profile().await?;
        let numeric = point.input.is_numeric() || profile.base_value.parse::<f64>().is_ok();
        let label = point.input.label();

        let (error, quote) = error_based(point, &profile).await?;
        let confirmed_by_error = error.as_ref().is_some_and(ErrorProof::proven);
        let boolean = if confirmed_by_error {
            Boolean::Nothing
        } else {
            boolean_based(point, &profile, numeric, quote.as_deref()).await?
        };
        let typed = matches!(boolean, Boolean::Typed);
        if let Boolean::Proven(proof) = boolean {
            let store = error.as_ref().map(|e| e.error.store);
            let [t1, f1, t2, f2] = &proof.answers;
            let mut draft = point
                .draft(t1, Severity::Critical, Confidence::Confirmed)
.repeated()
                .title(format!("SQL injection in {label} (boolean-based)"))
                .description(format!(
                    "The {label} is pasted into a SQL query. The condition {} answers like the ordinary value {} \
                     and {} answers like a value that matches nothing ({}), twice each on fresh cache busters: \
                     the database evaluates SQL taken from the request ({:?} context). Only `AND` conditions \
                     were sent; nothing was written.",
                    shown(&proof.truthy),
                    shown(&profile.base_value),
                    shown(&proof.falsy),
                    shown(&profile.impossible_value),
                    proof.context,
                ))
                .evidence(format!("Ordinary value {}", shown(&profile.base_value)), &profile.base, None)
                .evidence(
                    format!("A value that matches nothing, {}", shown(&profile.impossible_value)),
                    &profile.impossible,
                    None,
                )
                .evidence(format!("True condition {}: same answer as the ordinary value", shown(&proof.truthy)), t1, None)
                .evidence(format!("False condition {}: same answer as no match", shown(&proof.falsy)), f1, None)
                .evidence("True condition again, fresh cache buster", t2, None)
                .evidence("False condition again, fresh cache buster", f2, None);
            if let Some(error) = &error {
                draft = draft.evidence(
                    format!(
                        "Stray quote {}: {} error",
                        shown(&error.payload),
                        error.error.store.name()
                    ),
                    &error.broken,
                    Some(error.error.span.clone()),
                );
            }
            return Ok(Some(hinted(draft, error.as_ref().map(|e| &e.error), store)));
        }
        if let Some(proof) = error {
            let store = proof.error.store;
            let confidence = match (&proof.balanced, &proof.again) {
                (Some(_), Some(_)) => Confidence::Confirmed,
                // Mended by the doubled quote, but the error did not come back.
                (Some(_), None) => Confidence::Tentative,
                (None, _) => Confidence::Firm,
            };
            let mut draft = point
                .draft(&proof.broken, Severity::Critical, confidence)
                .title(format!("SQL injection in {label} (error-based, {})", store.name()))
                .description(format!(
                    "A stray quote in the {label} ({}) makes the database fail with a {} syntax error that the \
                     ordinary request does not produce{}: the input is pasted into the query text.",
                    shown(&proof.payload),
                    store.name(),
                    match (&proof.balanced, &proof.again) {
                        (Some((doubled, _)), Some(_)) => format!(
                            ", the doubled quote {} is accepted again, and the stray quote fails the same way on a \
                             fresh cache buster",
                            shown(doubled)
                        ),
                        (Some((doubled, _)), None) => format!(
                            " (the doubled quote {} is accepted again, but the stray quote's error did not come \
                             back on a fresh cache buster, so this is tentative)",
                            shown(doubled)
                        ),
                        (None, _) => String::new(),
                    }
                ))
                .evidence(format!("Ordinary value {}: no database error", shown(&profile.base_value)), &proof.ordinary, None)
                .evidence(
                    format!("Stray quote {}: {} error", shown(&proof.payload), store.name()),
                    &proof.broken,
                    Some(proof.error.span.clone()),
                );
            if let Some((doubled, answer)) = &proof.balanced {
                draft = draft.evidence(
                    format!("Doubled quote {}: no error", shown(doubled)),
                    answer,
                    None,
                );
            }
            if let Some(again) = &proof.again {
                let span = sql_errors(&profile.base, again)
                    .into_iter()
                    .next()
                    .map(|e| e.span);
                draft = draft
                    .evidence(
                        "Stray quote again, fresh cache buster: the same error",
                        again,
                        span,
                    )
                    .repeated();
            }
            return Ok(Some(hinted(draft, Some(&proof.error), Some(store))));
        }
        // Timing is for answers that do not show the query's result (or
        // hide its failure behind a server error); elsewhere the pair above
        // has already had its say.
        let blind = !profile.informative() || quote.is_some_and(|q| q.response.status >= 500);
        if typed || !blind {
            return Ok(None);
        }
        let Some((store, shape, delayed)) = time_based(point, &profile, numeric, None).await?
        else {
            return Ok(None);
        };
        let millis = |d: std::time::Duration| d.as_millis();
        let draft = point
            .draft(&delayed.once, Severity::Critical, Confidence::Confirmed)
.repeated()
            .title(format!("SQL injection in {label} (time-based, {})", store.name()))
            .description(format!(
                "A {} sleep placed in the {label} delays the answer by the time asked for: {} ms asked, \
                 answered after {} ms; twice that asked, answered after {} ms; no sleep, answered after {} ms \
                 (ordinary answers take about {} ms). The database runs SQL taken from the request. Payload \
                 shape: {}.",
                store.name(),
                millis(delayed.delay),
                millis(delayed.once.elapsed),
                millis(delayed.twice.elapsed),
                millis(delayed.none.elapsed),
                millis(profile.base.elapsed),
                shown(&shape),
            ))
            .evidence(format!("Ordinary value ({} ms)", millis(profile.base.elapsed)), &profile.base, None)
            .evidence(
                format!("Sleep {} ms: answered after {} ms", millis(delayed.delay), millis(delayed.once.elapsed)),
                &delayed.once,
                None,
            )
            .evidence(
                format!("Sleep {} ms: answered after {} ms", millis(delayed.delay * 2), millis(delayed.twice.elapsed)),
                &delayed.twice,
                None,
            )
            .evidence(
                format!("Sleep 0 ms: answered after {} ms", millis(delayed.none.elapsed)),
                &delayed.none,
                None,
            );
        Ok(Some(hinted(draft, None, Some(store))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::injection::testing::{self, Seen, Twins};
    use crate::checks::injection::Settings;
    use crate::checks::probe::fixtures::{assert_contains, exchange};
    use crate::checks::Skip;

    const URL: &str = "http://h/api/posts?rampart_cb=1";

    fn profile(base: &str, impossible: &str) -> Profile {
        Profile {
            base_value: "Hello".into(),
            base: exchange(URL, None, 200, &[], base),
            impossible_value: "zqk1".into(),
            impossible: exchange(URL, None, 404, &[], impossible),
        }
    }

    #[test]
    fn a_pair_holds_only_when_true_is_ordinary_and_false_is_nothing() {
        let p = profile(
            r#"[{"id": 1, "title": "Hello"}]"#,
            r#"{"error": "not found"}"#,
        );
        let data = exchange(URL, None, 200, &[], r#"[{"id": 1, "title": "Hello"}]"#);
        let nothing = exchange(URL, None, 404, &[], r#"{"error": "not found"}"#);
        assert!(pair_holds(&p, &data, &nothing, &[]));
        // Parameterised: both conditions are just strings that match nothing.
        assert!(!pair_holds(&p, &nothing, &nothing, &[]));
        // Ignored input (a number parser stopping at the space): both are ordinary.
        assert!(!pair_holds(&p, &data, &data, &[]));
        // A reflected payload in the "nothing" answer does not hide the match.
        let reflected = exchange(
            URL,
            None,
            404,
            &[],
            r#"{"error": "not found", "q": "Hello' AND 'a'='b"}"#,
        );
        let plain = exchange(
            URL,
            None,
            404,
            &[],
            r#"{"error": "not found", "q": "zqk1"}"#,
        );
        let p2 = Profile {
            impossible: plain,
            ..profile(r#"[{"id": 1, "title": "Hello"}]"#, "")
        };
        assert!(pair_holds(
            &p2,
            &data,
            &reflected,
            &["Hello' AND 'a'='a", "Hello' AND 'a'='b"]
        ));
    }

    #[test]
    fn payloads_only_read() {
        for &context in contexts(true).iter().chain(contexts(false)) {
            let (t, f) = context.pair("7");
            for payload in [t, f] {
                let upper = payload.to_ascii_uppercase();
                for word in ["DROP", "DELETE", "UPDATE", "INSERT", " OR ", ";"] {
                    assert!(!upper.contains(word), "{payload}");
                }
            }
            for store in [Store::Postgresql, Store::Mysql] {
                if let Some(sleep) = context.sleep(store, "7", "0.4") {
                    assert!(
                        !sleep.contains(';') && !sleep.to_ascii_uppercase().contains(" OR "),
                        "{sleep}"
                    );
                }
            }
        }
    }

    /// A tiny SQL "engine" for the in-process API: `title = '<input>'`
    /// pasted (vulnerable) or bound (fixed), with the stray-quote error a
    /// real SQLite driver would raise.
    fn posts(vulnerable: bool) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let title = seen.arg("title").unwrap_or_default().to_string();
            let found = |matches: bool| {
                if matches {
                    (
                        200,
                        r#"[{"id": 1, "title": "Hello", "body": "first post"}]"#.to_string(),
                    )
                } else {
                    (200, "[]".to_string())
                }
            };
            if !vulnerable {
                return found(title == "Hello");
            }
            let quotes = title.matches('\'').count();
            if quotes % 2 == 1 {
                return (
                    500,
                    format!(
                        r#"{{"error": "(sqlite3.OperationalError) unrecognized token: \"'\" [SQL: SELECT * FROM posts WHERE title = '{title}']"}}"#
                    ),
                );
            }
            match title.split_once("' AND '") {
                Some((value, condition)) => {
                    let holds = condition == "a'='a";
                    found(value == "Hello" && holds)
                }
                None => found(title.replace("''", "'") == "Hello"),
            }
        }
    }

    #[tokio::test]
    async fn the_pasted_query_is_found_with_few_requests_and_the_bound_one_is_not() {
        let endpoint = "GET /api/posts?title=Hello";
        let (finding, sent) = testing::found_once(&META, posts(true), endpoint).await;
        assert_eq!(finding.confidence, Confidence::Confirmed);
        assert_contains(&finding.title, "error-based, SQLite");
        assert_eq!(finding.parameter.as_deref(), Some("title"));
        assert!(finding.stack_hints.contains(&"sqlite".to_string()));
        assert!(finding
            .evidence
            .iter()
            .any(|e| e.exchange.request.url.contains("Hello%27")));
        // The check saw the error twice itself: the runner need not repeat it.
        assert!(finding.repeated);
        assert!(finding
            .evidence
            .last()
            .is_some_and(|e| e.step.contains("again")));
        assert!(sent <= 5, "{sent} requests");

        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Seen>::new()));
        let log = std::sync::Arc::clone(&seen);
        let bound = posts(false);
        let api = testing::serve(move |s: &Seen| {
            log.lock().expect("the log").push(s.clone());
            bound(s)
        })
        .await;
        let (found, sent) = testing::run(&META, &api, endpoint, Settings::default()).await;
        assert!(found.expect("probed").is_empty());
        // The impossible value (the baseline is the ordinary one), the stray
        // quote, one true condition per context; the answers show the
        // query's result, so no timing probe.
        assert_eq!(sent, 4);
        // Nothing but reads, and every request but the scan's root carries the title.
        let seen = seen.lock().expect("the log");
        assert!(seen.iter().all(|s| s.method == "GET"));
        assert_eq!(seen.iter().filter(|s| s.arg("title").is_none()).count(), 1);
    }

    /// `--active` alone sends nothing to a write operation: its probes
    /// would leave records behind; `--injection-writes` lets them go.
    #[tokio::test]
    async fn write_operations_are_probed_only_when_the_user_allows_their_changes() {
        use crate::checks::probe::fixtures::{self, Setup};
        let api = testing::serve(posts(true)).await;
        for writes in [false, true] {
            let mut setup = Setup::new(&[], &["POST /api/posts?title=Hello"]).active(false);
            setup.injection = Settings {
                writes,
                ..Settings::default()
            };
            let scanned = fixtures::scan(&META, &api, setup).await;
            if writes {
                assert_eq!(scanned.drafts.len(), 1, "{:?}", scanned.skipped);
                assert!(scanned.sent > 0);
            } else {
                assert!(scanned.drafts.is_empty());
                assert_eq!(scanned.sent, 0);
                assert_eq!(
                    scanned.skipped,
                    vec![(
                        "POST /api/posts".to_string(),
                        Skip::NeedsOptIn("--injection-writes")
                    )]
                );
            }
        }
    }

    /// A database error seen once and not again is no proof on its own:
    /// the pair has to prove it instead.
    #[tokio::test]
    async fn an_error_that_does_not_come_back_does_not_confirm() {
        let errors = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let once = move |seen: &Seen| {
            let (status, body) = posts(true)(seen);
            if status == 500 && errors.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
                (200, "[]".to_string())
            } else {
                (status, body)
            }
        };
        let api = testing::serve(once).await;
        let (found, _) = testing::run(
            &META,
            &api,
            "GET /api/posts?title=Hello",
            Settings::default(),
        )
        .await;
        let found = found.expect("probed");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_contains(&found[0].title, "boolean-based");
        assert_eq!(found[0].confidence, Confidence::Confirmed);
    }

    /// Blind: errors are swallowed, only the rows tell.
    #[tokio::test]
    async fn a_blind_pasted_query_is_found_by_its_true_false_pair() {
        let blind = |seen: &Seen| {
            let (status, body) = posts(true)(seen);
            if status == 500 {
                (200, "[]".to_string())
            } else {
                (status, body)
            }
        };
        let endpoint = "GET /api/posts?title=Hello";
        let (finding, _) = testing::found_once(&META, blind, endpoint).await;
        assert!(finding.title.contains("boolean-based"));
        assert_eq!(finding.evidence.len(), 6);
    }

    /// An audit call whose answer never depends on the query: PostgreSQL's
    /// `pg_sleep` in the pasted value makes it wait (vulnerable), or the
    /// value is bound and nothing waits (fixed).
    fn audit(vulnerable: bool) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let user = seen.arg("user").unwrap_or_default();
            if vulnerable {
                let asked = user
                    .split_once("pg_sleep(")
                    .and_then(|(_, rest)| rest.split_once(')'))
                    .and_then(|(seconds, _)| seconds.parse::<f64>().ok());
                if let Some(seconds) = asked {
                    std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
                }
            }
            (200, r#"{"status": "recorded"}"#.to_string())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_blind_query_is_found_by_a_proportional_sleep_and_a_bound_one_is_not() {
        let Twins { finding, sent } =
            testing::twins(&META, audit, "GET /api/audit?user=alice").await;
        assert_contains(&finding.title, "time-based, PostgreSQL");
        assert!(finding.stack_hints.contains(&"postgresql".to_string()));
        let steps: Vec<&str> = finding.evidence.iter().map(|e| e.step.as_str()).collect();
        assert!(steps[1].starts_with("Sleep 400 ms"), "{steps:?}");
        assert!(steps[2].starts_with("Sleep 800 ms"), "{steps:?}");
        // On the fixed twin, the impossible value, the stray quote, one
        // sleep per database: nothing waited.
        assert_eq!(sent.1, 4);
    }

    #[tokio::test]
    async fn a_typed_number_costs_four_requests() {
        let typed = |seen: &Seen| match seen.arg("id").unwrap_or_default() {
            "7" => (200, r#"{"id": 7, "name": "kettle"}"#.to_string()),
            id if id.bytes().all(|b| b.is_ascii_digit()) => {
                (404, r#"{"detail": "not found"}"#.to_string())
            }
            _ => (
                422,
                r#"{"detail": "id: value is not a valid integer"}"#.to_string(),
            ),
        };
        let endpoint = "GET /api/items?id=7";
        let sent = testing::found_nothing(&META, typed, endpoint).await;
        assert_eq!(sent, 3, "impossible value, stray quote, one true condition");
    }

    #[tokio::test]
    async fn the_param_budget_bounds_the_requests_per_input() {
        let endpoint = "GET /api/posts?title=Hello";
        let api = testing::serve(posts(false)).await;
        let settings = Settings {
            param_budget: 2,
            ..Settings::default()
        };
        let (found, sent) = testing::run(&META, &api, endpoint, settings).await;
        assert!(found.expect("probed").is_empty());
        // One for the shared profile (the impossible value), two for the check.
        assert_eq!(sent, 3);
        let settings = Settings {
            scan_budget: 1,
            ..Settings::default()
        };
        let (found, sent) = testing::run(&META, &api, endpoint, settings).await;
        // The family's last request went to the profile: the endpoint says so.
        assert_eq!(
            found.expect_err("cut short"),
            Skip::BudgetSpent("--injection-budget")
        );
        assert_eq!(sent, 1);
    }
}
