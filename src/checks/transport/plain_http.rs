//! The API is served over plain HTTP.
//!
//! Without TLS, every API key, bearer token, cookie and response crosses
//! every network hop readable and changeable: a café Wi-Fi, a compromised
//! router or a cloud neighbour sees credentials and data as they pass.
//!
//! An https API is judged too: if its host also answers plain HTTP with
//! content instead of a redirect to HTTPS (or a refusal), any client that
//! follows an old `http://` link or a mistyped URL sends its credentials
//! in clear and gets the answer in clear. The probe of the plain-HTTP twin
//! carries no credentials.

use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use crate::checks::probe::target_draft;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, TargetContext};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct PlainHttp;

pub static META: CheckMeta = CheckMeta {
    check: &PlainHttp,
    id: "transport.plain-http",
    category: Category::Cryptography,
    severity: Severity::Medium,
    summary: "The API answers over plain HTTP",
    mode: Mode::Passive,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::NOTHING,
};

#[async_trait]
impl Check for PlainHttp {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        if ctx.engine.target().scheme() == "https" {
            return Ok(plain_twin_finding(ctx).await.into_iter().collect());
        }
        if ctx.engine.target().scheme() != "http"
            || judge_plain_answer(ctx.root) == PlainAnswer::Enforced
        {
            return Ok(Vec::new());
        }
        let credentials = !ctx.engine.identities().is_empty();
        // A development server on the scanning machine itself is normal;
        // say so once, quietly, rather than raise an alarm no one can act on.
        let loopback = crate::engine::scope::is_loopback(ctx.engine.target());
        let (severity, context) = if loopback {
            (
                Severity::Info,
                " This is a loopback address, so only this machine saw the traffic; make sure the deployed API terminates TLS.",
            )
        } else {
            (Severity::Medium, "")
        };
        Ok(vec![target_draft(
            ctx.root,
            severity,
            "API served over plain HTTP".into(),
            format!(
                "The API answered HTTP {} over an unencrypted connection{}.{context}",
                ctx.root.response.status,
                if credentials {
                    "; the scan's credentials crossed the network in clear"
                } else {
                    ""
                }
            ),
            "plain-http".into(),
        )])
    }
}

/// How the plain-HTTP twin of an https URL answered.
#[derive(Debug, PartialEq)]
enum PlainAnswer {
    /// A redirect to https, or a refusal (400/403/421/426): as it should be.
    Enforced,
    /// Content, or a redirect that stays on http.
    Serves,
}

fn judge_plain_answer(exchange: &Exchange) -> PlainAnswer {
    let status = exchange.response.status;
    if (300..400).contains(&status) {
        let to_https = exchange
            .response_header("location")
            .and_then(|l| Url::parse(&exchange.request.url).ok()?.join(l).ok())
            .is_some_and(|target| target.scheme() == "https");
        return if to_https {
            PlainAnswer::Enforced
        } else {
            PlainAnswer::Serves
        };
    }
    if matches!(status, 400 | 403 | 421 | 426) {
        PlainAnswer::Enforced
    } else {
        PlainAnswer::Serves
    }
}

async fn plain_twin_finding(ctx: &TargetContext<'_>) -> Option<FindingDraft> {
    let path = ctx.engine.target().path().to_string();
    // A closed port or a timeout is the right answer: nothing to report.
    let plain = ctx.engine.send_plain_counterpart(&path).await?.ok()?;
    if judge_plain_answer(&plain) == PlainAnswer::Enforced {
        return None;
    }
    let same_content = plain.response.status == ctx.root.response.status
        && plain.response.body == ctx.root.response.body;
    let severity = if crate::engine::scope::is_loopback(ctx.engine.target()) {
        Severity::Info
    } else {
        Severity::Medium
    };
    Some(
        FindingDraft::at_exchange(ctx.root, severity, Confidence::Confirmed)
            .title("HTTPS API also answers over plain HTTP".to_string())
            .description(format!(
                "{} answered HTTP {}{} instead of redirecting to HTTPS or refusing.",
                strip_buster(&plain.request.url),
                plain.response.status,
                if same_content {
                    " with the same content as over HTTPS"
                } else {
                    ""
                }
            ))
            .key("plain-twin")
            .evidence("The HTTPS base URL", ctx.root, None)
            .evidence("The same path over plain HTTP", &Arc::clone(&plain), None),
    )
}

fn strip_buster(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::exchange;

    fn answer(status: u16, location: Option<&str>) -> Arc<Exchange> {
        let headers: Vec<(&str, &str)> = location.map(|l| ("location", l)).into_iter().collect();
        exchange("http://api.example.com/v1", None, status, &headers, "")
    }

    #[test]
    fn redirects_to_https_and_refusals_enforce_tls() {
        assert_eq!(
            judge_plain_answer(&answer(301, Some("https://api.example.com/v1"))),
            PlainAnswer::Enforced
        );
        assert_eq!(
            judge_plain_answer(&answer(308, Some("https://api.example.com/"))),
            PlainAnswer::Enforced
        );
        assert_eq!(
            judge_plain_answer(&answer(403, None)),
            PlainAnswer::Enforced
        );
        assert_eq!(
            judge_plain_answer(&answer(426, None)),
            PlainAnswer::Enforced
        );
        assert_eq!(judge_plain_answer(&answer(200, None)), PlainAnswer::Serves);
        assert_eq!(judge_plain_answer(&answer(404, None)), PlainAnswer::Serves);
        assert_eq!(
            judge_plain_answer(&answer(302, Some("/login"))),
            PlainAnswer::Serves
        );
        assert_eq!(judge_plain_answer(&answer(301, None)), PlainAnswer::Serves);
    }
}
