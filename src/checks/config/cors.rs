//! Cross-origin resource sharing that trusts attackers' pages.
//!
//! A browser lets a web page read another origin's answer only when that
//! answer names the page's origin in `Access-Control-Allow-Origin`; with
//! `Access-Control-Allow-Credentials: true` the request also carries the
//! victim's cookies. An API that echoes any `Origin` back, trusts `null`
//! (what sandboxed iframes and `file:` pages send), or checks its
//! allow-list with a careless prefix, suffix or regular expression
//! (`https://trusted.example.attacker.net`) lets any page a victim visits
//! read the victim's data from it.
//!
//! A CORS policy is one setting of the deployment: each kind of weakness
//! is one finding, filed at the target's root, shown on the endpoint where
//! it matters most (the worst of its drafts wins).

use async_trait::async_trait;
use url::Url;

use crate::checks::probe::{is_success, private_view};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::Endpoint;
use crate::engine::{Caller, Exchange};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Cors;

pub static META: CheckMeta = CheckMeta {
    check: &Cors,
    id: "config.cors",
    category: Category::Configuration,
    severity: Severity::High,
    summary: "CORS that lets any web page read answers: arbitrary or null origins, allow-list bypasses, pre-flights that allow everything",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::NOTHING,
};

/// What the allow-origin answer to one `Origin` said.
struct Verdict {
    exchange: std::sync::Arc<Exchange>,
    /// The origin sent came back in `Access-Control-Allow-Origin`.
    reflected: bool,
    credentials: bool,
}

fn verdict(exchange: std::sync::Arc<Exchange>, origin: &str) -> Verdict {
    let allowed = exchange
        .response_header("access-control-allow-origin")
        .map(str::trim)
        .unwrap_or("");
    let reflected = allowed == origin;
    let credentials = exchange
        .response_header("access-control-allow-credentials")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    Verdict {
        exchange,
        reflected,
        credentials,
    }
}

/// How much a readable answer matters: credentials and the caller's own
/// data make it an account takeover's first step; public data read
/// cross-origin is what it is anyway.
fn grade(credentials: bool, private: Option<bool>) -> Severity {
    match (credentials, private) {
        (true, Some(true)) => Severity::High,
        (true, None) => Severity::Medium,
        (true, Some(false)) | (false, Some(true)) => Severity::Low,
        (false, _) => Severity::Info,
    }
}

/// Origins an allow-list checked carelessly lets through, built from one it
/// trusts: `(key, origin, how)`.
fn bypasses(trusted: &Url, token: &str) -> Vec<(&'static str, String, String)> {
    let scheme = trusted.scheme();
    let host = trusted.host_str().unwrap_or("localhost");
    let port = trusted.port().map(|p| format!(":{p}")).unwrap_or_default();
    let mut out = vec![
        (
            "suffix-bypass",
            format!("{scheme}://{host}.rampart{token}.example"),
            "a trusted name followed by the attacker's domain".to_string(),
        ),
        (
            "prefix-bypass",
            format!("{scheme}://rampart{token}{host}{port}"),
            "the attacker's name in front of a trusted one".to_string(),
        ),
    ];
    if let Some(dot) = host.find('.') {
        let mut undotted = host.to_string();
        undotted.replace_range(dot..=dot, "x");
        out.push((
            "regex-dot-bypass",
            format!("{scheme}://{undotted}{port}"),
            "an unescaped `.` in the allow-list's regular expression".to_string(),
        ));
    }
    out
}

#[async_trait]
impl Check for Cors {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let url = ctx.url(endpoint).ok_or(Skip::NoSampleValue)?;
        let caller = ctx
            .identities()
            .into_iter()
            .next()
            .unwrap_or(Caller::Anonymous);
        if !ctx.baseline(&caller).is_some_and(|e| is_success(e)) {
            return Err(Skip::NoSuccessfulAnswer);
        }
        let private = if ctx.identities().is_empty() {
            None
        } else {
            Some(private_view(ctx).is_some())
        };
        let token = ctx.engine.buster().next_token();
        let send = |origin: String| {
            let url = ctx.fresh(&url);
            let caller = caller.clone();
            async move {
                let headers = [("Origin".to_string(), origin.clone())];
                let exchange = ctx.get(endpoint, &url, &caller, &headers).await?;
                Ok::<_, Skip>(verdict(exchange, &origin))
            }
        };
        let finding = |v: &Verdict, key: &str, origin: &str, how: &str| {
            let severity = grade(v.credentials, private);
            deployment(FindingDraft::at_exchange(
                &v.exchange,
                severity,
                Confidence::Confirmed,
            ))
            .title(format!("CORS trusts {how}"))
            .description(format!(
                "Sent with `Origin: {origin}`, the answer allowed that origin{}: a web page \
                     there can read this endpoint's answers in a visitor's browser{}.",
                if v.credentials {
                    " with credentials (`Access-Control-Allow-Credentials: true`)"
                } else {
                    ""
                },
                if v.credentials {
                    ", sent with the visitor's cookies"
                } else {
                    ""
                }
            ))
            .key(key.to_string())
            .parameter("Origin")
            .evidence(format!("Origin: {origin} is allowed"), &v.exchange, None)
        };

        let mut drafts = Vec::new();
        let arbitrary = format!("https://rampart{token}.example");
        let first = send(arbitrary.clone()).await?;
        if first.reflected {
            drafts.push(finding(
                &first,
                "arbitrary-origin",
                &arbitrary,
                "any origin",
            ));
            drafts.extend(preflight(ctx, endpoint, &url, &caller, &arbitrary, private).await?);
            return Ok(drafts);
        }
        let null = send("null".into()).await?;
        if null.reflected {
            drafts.push(finding(&null, "null-origin", "null", "the `null` origin"));
        }
        // An allow-list shows itself by allowing the target's own origin;
        // its careless variants are tried only then.
        let own = ctx.engine.target().origin().ascii_serialization();
        let trusted = send(own.clone()).await?;
        if trusted.reflected {
            if let Ok(own_url) = Url::parse(&own) {
                for (key, origin, how) in bypasses(&own_url, &token) {
                    let answer = send(origin.clone()).await?;
                    if answer.reflected {
                        drafts.push(finding(&answer, key, &origin, &how));
                    }
                }
            }
        }
        Ok(drafts)
    }
}

/// A pre-flight for a `DELETE` with a made-up header from an arbitrary
/// origin: an answer that allows all of it allows every request any page
/// can make.
async fn preflight(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    url: &Url,
    caller: &Caller,
    origin: &str,
    private: Option<bool>,
) -> Result<Vec<FindingDraft>, Skip> {
    let mut probe = ctx.request(
        endpoint,
        &ctx.fresh(url),
        caller,
        &[
            ("Origin".into(), origin.into()),
            ("Access-Control-Request-Method".into(), "DELETE".into()),
            (
                "Access-Control-Request-Headers".into(),
                "x-rampart-probe".into(),
            ),
        ],
    );
    probe.method = "OPTIONS".into();
    let exchange = ctx.engine.send(probe).await?;
    let header = |name: &str| {
        exchange
            .response_header(name)
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let allows = |list: String, wanted: &str| {
        list.split(',')
            .any(|item| matches!(item.trim(), "*") || item.trim() == wanted)
    };
    let open = (200..300).contains(&exchange.response.status)
        && matches!(header("access-control-allow-origin").trim(), "*")
        || header("access-control-allow-origin").trim() == origin.to_ascii_lowercase();
    if !(open
        && allows(header("access-control-allow-methods"), "delete")
        && allows(header("access-control-allow-headers"), "x-rampart-probe"))
    {
        return Ok(Vec::new());
    }
    let v = verdict(exchange, origin);
    let severity = grade(v.credentials, private).min(Severity::Medium);
    Ok(vec![deployment(FindingDraft::at_exchange(
        &v.exchange,
        severity,
        Confidence::Confirmed,
    ))
    .title("CORS pre-flight allows any method and header from any origin")
    .description(format!(
        "A pre-flight from `{origin}` asking for `DELETE` with a made-up header was \
         allowed: any web page may send this API every request a browser can make."
    ))
    .key("preflight-allows-everything")
    .parameter("Origin")
    .evidence(
        format!("The pre-flight's answer on {}", endpoint.label()),
        &v.exchange,
        None,
    )])
}

/// Filed at the target's root: one finding per kind of weakness.
fn deployment(mut draft: FindingDraft) -> FindingDraft {
    draft.method = "GET".into();
    draft.path = "/".into();
    draft
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{caller, graded, reply, scan, serve, Setup, ALICE};
    use axum::http::{HeaderMap, HeaderValue, Method};
    use axum::response::Response;
    use axum::routing::get;

    /// Which origins an app's CORS layer allows.
    #[derive(Clone, Copy)]
    enum Policy {
        Reflect,
        Allowlist { sloppy: bool },
        Strict,
    }

    fn app(policy: Policy) -> axum::Router {
        let handler = move |method: Method, headers: HeaderMap| async move {
            let mut response: Response = if method == Method::OPTIONS {
                reply(204, serde_json::json!({}))
            } else {
                match caller(&headers) {
                    Some(persona) => reply(200, persona.profile()),
                    None => reply(401, serde_json::json!({"error": "unauthorised"})),
                }
            };
            let origin = headers
                .get("origin")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let allowed = match policy {
                Policy::Reflect => !origin.is_empty(),
                // The allow-list trusts the API's own host; the sloppy one
                // checks only how the origin starts.
                Policy::Allowlist { sloppy } => {
                    let host = headers
                        .get("host")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let own = format!("http://{host}");
                    let bare = format!("http://{}", host.split(':').next().unwrap_or(""));
                    origin == own || (sloppy && origin.starts_with(&bare))
                }
                Policy::Strict => false,
            };
            if allowed {
                let h = response.headers_mut();
                h.insert(
                    "access-control-allow-origin",
                    HeaderValue::from_str(origin).unwrap(),
                );
                h.insert(
                    "access-control-allow-credentials",
                    HeaderValue::from_static("true"),
                );
                h.insert(
                    "access-control-allow-methods",
                    HeaderValue::from_static("GET, POST, DELETE"),
                );
                h.insert(
                    "access-control-allow-headers",
                    HeaderValue::from_static("*"),
                );
            }
            response
        };
        axum::Router::new().route("/api/me", get(handler).options(handler))
    }

    async fn keys(policy: Policy) -> Vec<(String, Severity)> {
        let target = serve(app(policy)).await;
        let scanned = scan(&META, &target, Setup::new(&[&ALICE], &["GET /api/me"])).await;
        let mut keys = graded(&scanned.drafts);
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn a_reflected_origin_with_credentials_on_private_data_is_high() {
        assert_eq!(
            keys(Policy::Reflect).await,
            vec![
                ("arbitrary-origin".to_string(), Severity::High),
                ("preflight-allows-everything".to_string(), Severity::Medium),
            ]
        );
    }

    #[tokio::test]
    async fn a_prefix_checked_allow_list_is_bypassed_and_a_strict_one_is_silent() {
        assert_eq!(
            keys(Policy::Allowlist { sloppy: true }).await,
            vec![("suffix-bypass".to_string(), Severity::High)]
        );
        assert!(keys(Policy::Allowlist { sloppy: false }).await.is_empty());
        assert!(keys(Policy::Strict).await.is_empty());
    }

    #[test]
    fn severity_follows_credentials_and_whose_data_it_is() {
        assert_eq!(grade(true, Some(true)), Severity::High);
        assert_eq!(grade(true, None), Severity::Medium);
        assert_eq!(grade(false, Some(false)), Severity::Info);
        assert_eq!(grade(false, Some(true)), Severity::Low);
    }
}
