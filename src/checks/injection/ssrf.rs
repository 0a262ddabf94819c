//! Server-side request forgery.
//!
//! An API that fetches a URL the caller supplies (an avatar or image URL,
//! a webhook, a feed, a "preview this link") makes requests from inside the
//! network with the service's own identity: to cloud metadata endpoints
//! that hand out credentials, to internal services no one outside can
//! reach, to localhost admin ports. Rampart points each URL-valued input at
//! a listener it runs itself on 127.0.0.1 (a fresh port, a unique token per
//! probe); the target calling back with that token is the proof, and an
//! answer that contains what the listener served shows the fetched body is
//! returned too. With `--oob-url` the same is tried against a collaborator
//! the user controls, which only they can watch: reported as tentative.
//! Rampart itself never sends a request anywhere but the target.

use std::time::Duration;

use async_trait::async_trait;

use super::listener::{Callback, Listener};
use super::{focus, shown, Halt, Input, InputCheck, Payload, Point};
use crate::checks::{CheckMeta, Mode, RunsOn};
use crate::discover::Endpoint;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Ssrf;

pub static META: CheckMeta = CheckMeta {
    check: &Ssrf,
    id: "injection.ssrf",
    category: Category::Ssrf,
    severity: Severity::Critical,
    summary: "Server-side request forgery: URL inputs the server fetches (proven by a callback to Rampart's own listener)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::RESPONSE_VALUES,
};

/// How long a callback may take after the answer (fetches made in the
/// background come a little later).
const CALLBACK_WAIT: Duration = Duration::from_millis(1500);

/// Words in a parameter's name that say it holds a URL.
const URL_WORDS: &[&str] = &[
    "url", "uri", "link", "href", "callback", "webhook", "feed", "src", "endpoint", "proxy",
    "fetch", "remote", "redirect",
];

/// An input that carries a URL: by its format, its ordinary value or its name.
pub fn url_like(input: &Input) -> bool {
    let name = input.param.name.to_ascii_lowercase();
    let by_format = matches!(
        input.param.format.as_deref(),
        Some("uri" | "url" | "iri" | "uri-reference" | "iri-reference")
    );
    let by_value = input.param.sample.as_deref().is_some_and(|v| {
        let v = v.to_ascii_lowercase();
        v.starts_with("http://") || v.starts_with("https://")
    });
    let by_name = URL_WORDS.iter().any(|w| name.contains(w));
    (by_format || by_value || by_name) && !input.is_numeric() && !input.is_boolean()
}

fn describe(callback: &Callback) -> String {
    format!(
        "{} {} from {}{}",
        callback.method,
        callback.path,
        callback.peer,
        callback
            .user_agent
            .as_ref()
            .map(|ua| format!(", User-Agent {ua}"))
            .unwrap_or_default()
    )
}

#[async_trait]
impl InputCheck for Ssrf {
    const META: &'static CheckMeta = &META;
    const NOTHING_TO_PROBE: &'static str = "no URL-valued input";

    fn wants(&self, _endpoint: &Endpoint, input: &Input) -> bool {
        url_like(input)
    }

    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt> {
        let label = point.input.label();
        let token = format!("rmp{}", point.ctx.engine.buster().next_token());
        if let Some(listener) = point.session().listener().await {
            let url = listener.url_for(&token);
            let Some(answer) = point.send(&Payload::text(url.clone())).await? else {
                return Ok(None);
            };
            if let Some(callback) = listener.wait_for(&token, CALLBACK_WAIT).await {
                let marker = Listener::body_marker(&token);
                let returned = answer.body_text().contains(&marker);
                let (severity, what) = if returned {
                    (
                        Severity::Critical,
                        "and returned what it fetched in its answer",
                    )
                } else {
                    (
                        Severity::High,
                        "(its answer does not show what it fetched: blind SSRF)",
                    )
                };
                return Ok(Some(
                    point
                        .draft(&answer, severity, Confidence::Confirmed)
                        .title(format!("Server-side request forgery through {label}"))
                        .description(format!(
                            "The server fetches the URL given in the {label}: pointed at Rampart's own listener \
                             ({}), it called back with the probe's unique token — {} — {what}. The same request \
                             reaches internal services and cloud metadata endpoints.",
                            shown(&url),
                            describe(&callback),
                        ))
                        .evidence(
                            format!(
                                "URL of Rampart's listener {}: the target called back ({})",
                                shown(&url),
                                describe(&callback)
                            ),
                            &answer,
                            if returned { focus(&answer, &marker) } else { None },
                        ),
                ));
            }
        }
        let Some(collaborator) = point.session().settings().oob_url.clone() else {
            return Ok(None);
        };
        let url = format!("{}/{token}", collaborator.as_str().trim_end_matches('/'));
        let Some(answer) = point.send(&Payload::text(url.clone())).await? else {
            return Ok(None);
        };
        if answer.response.status >= 400 {
            return Ok(None);
        }
        Ok(Some(
            point
                .draft(&answer, Severity::High, Confidence::Tentative)
                .title(format!("Possible server-side request forgery through {label}"))
                .description(format!(
                    "The {label} accepted the collaborator URL {} (HTTP {}). Rampart cannot see your \
                     collaborator: look there for a request whose path holds `{token}`. If it arrived, the \
                     server fetches URLs given by callers.",
                    shown(&url),
                    answer.response.status,
                ))
                .evidence(format!("Collaborator URL {}", shown(&url)), &answer, None),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::injection::testing::{self, Seen, Twins};
    use crate::checks::injection::Settings;
    use crate::checks::probe::fixtures::assert_contains;

    #[test]
    fn url_inputs_are_chosen_by_format_value_or_name() {
        let input = |name: &str, format: Option<&str>, sample: Option<&str>| {
            let mut input = Input::text_query(name, sample);
            input.param.format = format.map(String::from);
            input
        };
        assert!(url_like(&input("image_url", None, None)));
        assert!(url_like(&input("avatar", Some("uri"), None)));
        assert!(url_like(&input(
            "source",
            None,
            Some("https://example.com/a.png")
        )));
        assert!(!url_like(&input("title", None, Some("Hello"))));
    }

    /// Fetches the `url` argument with a blocking client on its own thread,
    /// like a server-side image fetcher (vulnerable), or refuses anything
    /// but an allow-listed host (fixed).
    fn fetcher(
        vulnerable: bool,
    ) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let url = seen.arg("url").unwrap_or_default().to_string();
            if !vulnerable || !url.starts_with("http://127.0.0.1:") {
                return (400, r#"{"error": "host not allowed"}"#.into());
            }
            // The fetch blocks this worker until the listener answers: hand
            // the worker's queued tasks (the listener's among them) to
            // another thread first, or the two can wait on each other.
            let fetched = tokio::task::block_in_place(|| {
                std::thread::spawn(move || {
                    let rest = url.trim_start_matches("http://");
                    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
                    let mut stream = std::net::TcpStream::connect(host).ok()?;
                    use std::io::{Read, Write};
                    write!(
                        stream,
                        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: fetcher/1\r\n\r\n"
                    )
                    .ok()?;
                    let mut answer = String::new();
                    stream.read_to_string(&mut answer).ok()?;
                    Some(answer)
                })
                .join()
            })
            .ok()
            .flatten()
            .unwrap_or_default();
            let body = fetched
                .split("\r\n\r\n")
                .nth(1)
                .unwrap_or_default()
                .to_string();
            (
                200,
                serde_json::json!({"size": body.len(), "preview": body}).to_string(),
            )
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fetch_of_rampart_s_listener_is_proven_by_its_callback() {
        let endpoint = "GET /api/preview?url=https://example.com/a.png";
        let Twins { finding, sent } = testing::twins(&META, fetcher, endpoint).await;
        assert_eq!(finding.severity, Severity::Critical, "the body came back");
        assert_contains(&finding.evidence[0].step, "User-Agent fetcher/1");
        // No profile: one request carries the listener's URL.
        assert_eq!(sent.0, 1);
        // With a collaborator the user controls, an accepted URL is tentative.
        let settings = Settings {
            oob_url: Some(url::Url::parse("http://127.0.0.1:9/collab").unwrap()),
            ..Settings::default()
        };
        let api = testing::serve(|_: &Seen| (202, "{}".to_string())).await;
        let (found, _) = testing::run(&META, &api, endpoint, settings).await;
        let found = found.expect("probed");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].confidence, Confidence::Tentative);
        assert!(found[0].evidence[0]
            .exchange
            .request
            .url
            .contains("collab%2Frmp"));
    }
}
