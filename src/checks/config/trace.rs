//! HTTP `TRACE` enabled.
//!
//! `TRACE` asks the server to echo the request back. Combined with a
//! script that can send it, the echo shows headers the script could not
//! read otherwise (cookies marked `HttpOnly`, credentials a proxy added:
//! cross-site tracing). Browsers no longer let scripts send `TRACE`, so
//! this is a low finding; the method has no use on a production API.

use async_trait::async_trait;

use crate::checks::probe::TargetContext;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::engine::Probe;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Trace;

pub static META: CheckMeta = CheckMeta {
    check: &Trace,
    id: "config.trace",
    category: Category::Configuration,
    severity: Severity::Low,
    summary: "TRACE answered with the request echoed back",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::NOTHING,
};

#[async_trait]
impl Check for Trace {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let marker = format!("rampart{}", ctx.engine.buster().next_token());
        let mut probe = Probe::get(ctx.engine.buster().bust(ctx.engine.target()))
            .header("X-Rampart-Trace", marker.clone());
        probe.method = "TRACE".into();
        let exchange = ctx.engine.send(probe).await?;
        let echoed = (200..300).contains(&exchange.response.status)
            && exchange.body_text().contains(&marker);
        if !echoed {
            return Ok(Vec::new());
        }
        let focus = crate::checks::probe::focus_on(&exchange, &marker);
        let mut draft = FindingDraft::at_exchange(&exchange, Severity::Low, Confidence::Confirmed)
            .title("TRACE is enabled and echoes the request")
            .description(
                "A TRACE request came back with its own headers in the body. Disable TRACE \
                 on the server and every proxy in front of it.",
            )
            .key("trace")
            .evidence(
                "TRACE with a marker header; the marker comes back",
                &exchange,
                focus,
            );
        draft.head.path = "/".into();
        Ok(vec![draft])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{scan, serve, Setup};
    use axum::http::{HeaderMap, Method};
    use axum::routing::any;

    fn app(echo: bool) -> axum::Router {
        axum::Router::new().route(
            "/",
            any(move |method: Method, headers: HeaderMap| async move {
                if method == Method::TRACE && echo {
                    let lines: Vec<String> = headers
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("")))
                        .collect();
                    (
                        axum::http::StatusCode::OK,
                        format!("TRACE / HTTP/1.1\r\n{}", lines.join("\r\n")),
                    )
                } else if method == Method::TRACE {
                    (axum::http::StatusCode::METHOD_NOT_ALLOWED, String::new())
                } else {
                    (axum::http::StatusCode::OK, "{}".to_string())
                }
            }),
        )
    }

    #[tokio::test]
    async fn an_echoing_trace_is_found_and_a_refused_one_is_not() {
        let echoing = serve(app(true)).await;
        let scanned = scan(&META, &echoing, Setup::new(&[], &[])).await;
        assert_eq!(scanned.keys(), vec!["trace"]);
        let refusing = serve(app(false)).await;
        let scanned = scan(&META, &refusing, Setup::new(&[], &[])).await;
        assert!(scanned.drafts.is_empty());
    }
}
