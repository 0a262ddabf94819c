//! Excessive data exposure.
//!
//! APIs often serialise whole database records and leave it to the client
//! to show the right fields. Everything else — password hashes, admin flags,
//! internal notes, secrets — is one proxy away from any caller. Rampart reads
//! the field names of every JSON response it sees.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use crate::checks::probe::focus_on;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::engine::Exchange;
use crate::facts::identities::is_self_endpoint;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct ExcessiveExposure;

pub static META: CheckMeta = CheckMeta {
    check: &ExcessiveExposure,
    id: "authz.excessive-exposure",
    category: Category::PropertyAuthorization,
    severity: Severity::Medium,
    summary: "Responses carry fields callers should not see (hashes, admin flags, internal notes, secrets)",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

/// Flags that say what a user may do: a client shows its own user's (an
/// admin menu), so only another user's are internal.
fn is_privilege_flag(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    matches!(
        n.as_str(),
        "is_admin" | "isadmin" | "is_superuser" | "is_staff" | "admin" | "superuser"
    )
}

/// Field names no API client needs to receive (privilege flags count
/// unless the answer is the caller's own profile).
fn is_internal_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    const EXACT: &[&str] = &[
        "password_hash",
        "passwordhash",
        "password_digest",
        "hashed_password",
        "pwd_hash",
        "passwd",
        "salt",
        "mfa_secret",
        "totp_secret",
        "otp_secret",
        "reset_token",
        "password_reset_token",
        "secret",
        "secret_key",
        "private_key",
        "api_secret",
        "client_secret",
        "internal_notes",
        "internal_id",
    ];
    EXACT.contains(&n.as_str())
        || is_privilege_flag(name)
        || n.starts_with("internal_")
        || n.ends_with("_internal")
}

/// The internal fields in `value`; privilege flags only when `own` is false.
fn internal_fields(value: &Value, own: bool, out: &mut BTreeSet<String>, depth: usize) {
    if depth > 12 || out.len() > 50 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let flag_of_own_profile = own && is_privilege_flag(key);
                if is_internal_field(key) && !item.is_null() && !flag_of_own_profile {
                    out.insert(key.clone());
                }
                internal_fields(item, own, out, depth + 1);
            }
        }
        Value::Array(items) => items
            .iter()
            .take(100)
            .for_each(|v| internal_fields(v, own, out, depth + 1)),
        _ => {}
    }
}

impl Check for ExcessiveExposure {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        if !(200..300).contains(&exchange.response.status) {
            return Err(Skip::NoSuccessfulAnswer);
        }
        let Some(json) = exchange.body_json() else {
            return Err(Skip::NotJson);
        };
        let mut fields = BTreeSet::new();
        let own_profile = is_self_endpoint(exchange.endpoint_path());
        internal_fields(json, own_profile, &mut fields, 0);
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = fields.into_iter().collect();
        let focus = list
            .first()
            .and_then(|f| focus_on(exchange, &format!("\"{f}\"")));
        Ok(vec![FindingDraft::at_exchange(exchange, Severity::Medium, Confidence::Firm)
            .title("Response exposes internal fields")
            .description(format!(
                "The response carries {} — fields a client should never receive; the API returns whole records \
                 instead of an explicit view.",
                list.join(", ")
            ))
            .parameter(list.join(","))
            .key("fields")
            .evidence("Response with internal fields", exchange, focus)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_fields_are_found_public_ones_are_not() {
        let json = serde_json::json!({
            "user": {"username": "ana", "role": "user", "password_hash": "$2b$…", "is_admin": false,
                     "internal_notes": "vip", "password_policy": "12 chars", "deleted": null}
        });
        let mut out = BTreeSet::new();
        internal_fields(&json, false, &mut out, 0);
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            vec!["internal_notes", "is_admin", "password_hash"]
        );
        // The caller's own profile may say whether the caller is an admin.
        let mut own = BTreeSet::new();
        internal_fields(&json, true, &mut own, 0);
        assert_eq!(
            own.into_iter().collect::<Vec<_>>(),
            vec!["internal_notes", "password_hash"]
        );
    }
}
