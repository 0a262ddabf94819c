//! Cookie flags.
//!
//! A session cookie without `Secure` is sent over plain HTTP when anything
//! lures the browser there; without `HttpOnly` any injected script reads
//! it; without `SameSite` other sites ride it in cross-site requests.

use std::sync::Arc;

use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct CookieFlags;

pub static META: CheckMeta = CheckMeta {
    check: &CookieFlags,
    id: "transport.cookie-flags",
    category: Category::Cryptography,
    severity: Severity::Medium,
    summary: "Cookies set without Secure, HttpOnly or SameSite",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

/// The flags a Set-Cookie value lacks.
pub fn missing_flags(set_cookie: &str) -> Vec<&'static str> {
    let attributes: Vec<String> = set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    let has = |name: &str| {
        attributes
            .iter()
            .any(|a| a == name || a.starts_with(&format!("{name}=")))
    };
    let mut missing = Vec::new();
    if !has("secure") {
        missing.push("Secure");
    }
    if !has("httponly") {
        missing.push("HttpOnly");
    }
    if !has("samesite") {
        missing.push("SameSite");
    }
    missing
}

impl Check for CookieFlags {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        Ok(exchange
            .response
            .headers
            .all("set-cookie")
            .filter_map(|value| {
                let name = value.split('=').next().unwrap_or("").trim().to_string();
                let mut missing = missing_flags(value);
                // Over plain HTTP, `Secure` would only stop the cookie from
                // working; transport.plain-http is the finding there.
                if !exchange.request.url.starts_with("https://") {
                    missing.retain(|flag| *flag != "Secure");
                }
                if missing.is_empty() || name.is_empty() {
                    return None;
                }
                let severity = if missing.contains(&"Secure") {
                    Severity::Medium
                } else {
                    Severity::Low
                };
                Some(
                    FindingDraft::at_exchange(exchange, severity, Confidence::Confirmed)
                        .title(format!(
                            "Cookie `{name}` set without {}",
                            missing.join(", ")
                        ))
                        .description(format!(
                            "The Set-Cookie for `{name}` lacks {}.",
                            missing.join(", ")
                        ))
                        .parameter(name.clone())
                        .key(format!("cookie-{name}"))
                        // One cookie configuration, wherever it is set.
                        .site_wide()
                        .evidence("Response setting the cookie", exchange, None),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_cookie_flags_are_listed() {
        assert_eq!(
            missing_flags("session=abc; Path=/"),
            vec!["Secure", "HttpOnly", "SameSite"]
        );
        assert!(missing_flags("s=1; Secure; HttpOnly; SameSite=Lax").is_empty());
    }
}
