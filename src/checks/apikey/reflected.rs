//! API keys reflected in responses.
//!
//! An API that echoes the caller's key — in a profile, a debug field, an
//! error message — puts it wherever responses go: logs, caches, browser
//! storage, screenshots. The key should be shown once, at creation, and
//! afterwards only as its last characters.

use std::sync::Arc;

use crate::checks::probe::focus_on;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::discover::is_credential_header;
use crate::engine::redact::INVENTED_CREDENTIAL_PREFIX;
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct KeyReflected;

pub static META: CheckMeta = CheckMeta {
    check: &KeyReflected,
    id: "apikey.reflected",
    category: Category::ApiKey,
    severity: Severity::Medium,
    summary: "The caller's API key or token is echoed back in the response",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

impl Check for KeyReflected {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{inspected, Answer, ALICE, KEY_HEADER};

    /// What `inspect` reports for an answer sent with `header` (as alice).
    fn judged(header: (&str, &str), answer: Answer) -> Vec<FindingDraft> {
        inspected(&KeyReflected, &answer.sent_as("alice", header).exchange())
    }

    #[test]
    fn a_key_or_token_echoed_in_a_successful_answer_is_reported_with_its_place() {
        let profile = format!(r#"{{"user": "alice", "api_key": "{}"}}"#, ALICE.key);
        let bearer = ("Authorization", "Bearer tok-8d1e44b0c9");
        for (header, body, echoed) in [
            ((KEY_HEADER, ALICE.key), profile.as_str(), ALICE.key),
            // The token of a bearer credential, not its scheme.
            (bearer, r#"{"t": "tok-8d1e44b0c9"}"#, "tok-8d1e44b0c9"),
        ] {
            let drafts = judged(header, Answer::new(200, body));
            assert_eq!(drafts.len(), 1, "{drafts:#?}");
            assert_eq!(
                (drafts[0].key.as_str(), drafts[0].parameter.as_deref()),
                ("echo", Some(header.0))
            );
            let focus = drafts[0].evidence[0].focus.clone().unwrap_or_default();
            assert_eq!(&body[focus], echoed, "the evidence points at the echo");
        }
    }

    #[test]
    fn no_echo_errors_short_values_and_made_up_keys_are_no_finding() {
        let invented = format!("{INVENTED_CREDENTIAL_PREFIX}0042");
        for (why, header, answer) in [
            (
                "not echoed",
                (KEY_HEADER, ALICE.key),
                Answer::new(200, r#"{"user": "alice"}"#),
            ),
            (
                "an error page quoting the request",
                (KEY_HEADER, ALICE.key),
                Answer::new(401, &format!("invalid key {}", ALICE.key)),
            ),
            (
                "too short to tell",
                (KEY_HEADER, "k1"),
                Answer::new(200, "k1"),
            ),
            (
                "a key Rampart made up",
                (KEY_HEADER, &invented),
                Answer::new(200, &invented),
            ),
            (
                "not a credential header",
                ("X-Request-Id", "req-12345678"),
                Answer::new(200, "req-12345678"),
            ),
            (
                "an empty body",
                (KEY_HEADER, ALICE.key),
                Answer::new(200, ""),
            ),
        ] {
            assert!(judged(header, answer).is_empty(), "{why}");
        }
    }
}
