//! The API is served over plain HTTP.
//!
//! Without TLS, every API key, bearer token, cookie and response crosses
//! every network hop readable and changeable: a café Wi-Fi, a compromised
//! router or a cloud neighbour sees credentials and data as they pass.

use async_trait::async_trait;

use super::target_draft;
use crate::checks::{Check, CheckMeta, Mode, TargetContext};
use crate::engine::EngineError;
use crate::finding::{Category, FindingDraft, Severity};

pub struct PlainHttp;

static META: CheckMeta = CheckMeta {
    id: "transport.plain-http",
    family: "transport",
    category: Category::Cryptography,
    severity: Severity::Medium,
    summary: "The API answers over plain HTTP",
    mode: Mode::Passive,
    min_identities: 0,
};

#[async_trait]
impl Check for PlainHttp {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    async fn probe_target(
        &self,
        ctx: &TargetContext<'_>,
    ) -> Result<Vec<FindingDraft>, EngineError> {
        if ctx.engine.target().scheme() != "http" {
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
