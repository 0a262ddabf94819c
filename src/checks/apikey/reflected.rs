//! API keys reflected in responses.
//!
//! An API that echoes the caller's key — in a profile, a debug field, an
//! error message — puts it wherever responses go: logs, caches, browser
//! storage, screenshots. The key should be shown once, at creation, and
//! afterwards only as its last characters.

use std::sync::Arc;

use crate::checks::probe::focus_on;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::engine::redact::INVENTED_CREDENTIAL_PREFIX;
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct KeyReflected;

static META: CheckMeta = CheckMeta {
    id: "apikey.reflected",
    category: Category::ApiKey,
    severity: Severity::Medium,
    summary: "The caller's API key or token is echoed back in the response",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization" || name.contains("key") || name.contains("token")
}

impl Check for KeyReflected {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        if !(200..300).contains(&exchange.response.status) {
            return Err(Skip::NoSuccessfulAnswer);
        }
        let reflected = exchange
            .request
            .headers
            .iter()
            .filter(|(name, _)| is_credential_header(name))
            .filter_map(|(name, value)| {
                let secret = value.rsplit(' ').next().unwrap_or(value);
                let invented = secret.starts_with(INVENTED_CREDENTIAL_PREFIX);
                (secret.len() >= 8 && !invented)
                    .then(|| Some((name.clone(), focus_on(exchange, secret)?)))
                    .flatten()
            })
            .next();
        let Some((header, focus)) = reflected else {
            return Ok(Vec::new());
        };
        Ok(vec![FindingDraft::at_exchange(
            exchange,
            Severity::Medium,
            Confidence::Confirmed,
        )
        .title(format!("The {header} credential is echoed in the response"))
        .description(format!(
            "The value sent in {header} appears verbatim in the response body (shown redacted)."
        ))
        .parameter(header)
        .key("echo")
        .evidence(
            "Response containing the caller's own credential",
            exchange,
            Some(focus),
        )])
    }
}
