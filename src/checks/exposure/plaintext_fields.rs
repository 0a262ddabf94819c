//! Sensitive fields with no sign of encryption at rest.
//!
//! From outside, nobody can see a database. But an API that returns a
//! field named `ssn`, `date_of_birth` or `iban` as readable text, rather
//! than masked (`***-**-1234`) or as ciphertext it cannot read itself
//! (a Fernet token, a KMS blob, a `vault:v1:` value), almost always keeps it
//! readable in its store too. A stolen backup, a broad IAM role or an
//! injectable query then yields the data in full. This is a signal, not a
//! proof, and is reported as such.

use std::sync::Arc;

use serde_json::Value;

use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct PlaintextFields;

pub static META: CheckMeta = CheckMeta {
    check: &PlaintextFields,
    id: "exposure.plaintext-fields",
    category: Category::DataExposure,
    severity: Severity::Low,
    summary: "Sensitive fields (SSN, date of birth, account numbers…) returned readable, with no sign of field-level encryption",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

/// Field names, lower-cased without `_`/`-`, whose values deserve
/// field-level encryption. Passwords have their own check.
const SENSITIVE_FIELDS: &[&str] = &[
    "ssn",
    "socialsecuritynumber",
    "taxid",
    "nationalid",
    "nationalidnumber",
    "passportnumber",
    "driverslicense",
    "driverlicensenumber",
    "dob",
    "dateofbirth",
    "birthdate",
    "cardnumber",
    "creditcardnumber",
    "cvv",
    "cvc",
    "iban",
    "accountnumber",
    "bankaccountnumber",
    "routingnumber",
    "diagnosis",
    "medicalrecordnumber",
];

/// Fields reported per response at most: the point is made by the first few.
const MAX_FIELDS: usize = 8;

/// How deep and wide the walk goes into a response.
const MAX_DEPTH: usize = 16;
const MAX_ITEMS: usize = 500;

fn is_sensitive_name(name: &str) -> bool {
    let normalized: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SENSITIVE_FIELDS.contains(&normalized.as_str())
}

/// True when a value is masked, tokenised or encrypted rather than readable.
pub fn looks_protected(value: &str) -> bool {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let masked =
        value.contains(['*', '•', '#']) || lower.contains("xxx") || lower.contains("redacted");
    let base64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'+' | b'/'))
    };
    // Fernet tokens are base64url of a 0x80 version byte: `gAAAAA…`.
    let fernet = value.starts_with("gAAAAA") && value.len() >= 60 && base64url(value);
    // AWS KMS / Encryption SDK ciphertext blobs.
    let kms = (value.starts_with("AQICAH") || value.starts_with("AQIBAH")) && base64url(value);
    let vault = lower.starts_with("vault:v")
        || lower.starts_with("enc:")
        || lower.starts_with("encrypted:");
    // JWE compact serialisation: five base64url segments.
    let jwe =
        value.split('.').count() == 5 && value.split('.').all(|p| p.is_empty() || base64url(p));
    // An opaque blob too long and too varied to be a human-readable datum.
    let distinct = value
        .bytes()
        .collect::<std::collections::BTreeSet<u8>>()
        .len();
    let opaque = value.len() >= 32 && base64url(value) && distinct >= 16;
    masked || fernet || kms || vault || jwe || opaque
}

/// `(field name, value)` pairs of sensitive fields holding readable values.
fn plaintext_fields(json: &Value) -> Vec<(String, String)> {
    fn walk(value: &Value, depth: usize, found: &mut Vec<(String, String)>) {
        if depth > MAX_DEPTH || found.len() >= MAX_FIELDS {
            return;
        }
        match value {
            Value::Object(map) => {
                for (name, field) in map {
                    let readable = match field {
                        Value::String(s)
                            if s.trim().chars().count() >= 4 && !looks_protected(s) =>
                        {
                            Some(s.clone())
                        }
                        Value::Number(n) if n.to_string().len() >= 6 => Some(n.to_string()),
                        _ => None,
                    };
                    if let Some(readable) = readable.filter(|_| is_sensitive_name(name)) {
                        if !found.iter().any(|(seen, _)| seen == name) && found.len() < MAX_FIELDS {
                            found.push((name.clone(), readable));
                        }
                    }
                    walk(field, depth + 1, found);
                }
            }
            Value::Array(items) => {
                for item in items.iter().take(MAX_ITEMS) {
                    walk(item, depth + 1, found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(json, 0, &mut found);
    found
}

impl Check for PlaintextFields {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        let Some(json) = exchange.body_json() else {
            return Err(Skip::NotJson);
        };
        let fields = plaintext_fields(json);
        let Some((first_name, first_value)) = fields.first() else {
            return Ok(Vec::new());
        };
        let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
        let body = exchange.body_text();
        let focus = body.find(&format!("\"{first_name}\"")).and_then(|at| {
            body[at..]
                .find(first_value.as_str())
                .map(|v| at + v..at + v + first_value.len())
        });
        Ok(vec![FindingDraft::at_exchange(
            exchange,
            Severity::Low,
            Confidence::Tentative,
        )
        .title(format!(
            "Sensitive fields returned readable: {}",
            names.join(", ")
        ))
        .description(format!(
            "The response carries {} as readable values, neither masked nor encrypted \
                 (no Fernet, KMS, Vault or JWE ciphertext). An API that can return them \
                 readable usually stores them readable: field-level encryption was not seen.",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .parameter(first_name.clone())
        .key("plaintext-fields")
        .evidence(
            "Response with readable sensitive fields",
            exchange,
            focus,
        )])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn readable_sensitive_fields_are_listed_once_each() {
        let body = json!({
            "users": [
                {"name": "Ada", "ssn": "412-73-0958", "date_of_birth": "1815-12-10", "card_last4": "9903"},
                {"name": "Alan", "ssn": "301-48-2265", "dateOfBirth": "1912-06-23"}
            ],
            "iban": "GB33BUKB20201555555555"
        });
        let names: Vec<String> = plaintext_fields(&body)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["ssn", "date_of_birth", "dateOfBirth", "iban"]);
    }

    #[test]
    fn masked_and_encrypted_values_are_not_plaintext() {
        for protected in [
            "***-**-0958",
            "XXXX-XXXX-XXXX-9903",
            "gAAAAABmX2v1c3Rvcm1fZXhhbXBsZV9mZXJuZXRfdG9rZW5fdmFsdWVfMTIzNDU2Nzg5MA==",
            "AQICAHhVxyz0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "vault:v1:8SDd3WHDOjf7mq69CyCqYjBXAiQQAVZRkFM13ok481zoCmHnSeDX9vyf7w==",
            "eyJhbGciOiJSU0EtT0FFUCJ9.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ",
            "[redacted]",
        ] {
            assert!(looks_protected(protected), "{protected}");
        }
        for readable in [
            "412-73-0958",
            "1815-12-10",
            "GB33BUKB20201555555555",
            "Type 2 diabetes",
        ] {
            assert!(!looks_protected(readable), "{readable}");
        }
        let encrypted = json!({"ssn": "gAAAAABmX2v1c3Rvcm1fZXhhbXBsZV9mZXJuZXRfdG9rZW5fdmFsdWVfMTIzNDU2Nzg5MA==", "dob": "****-**-10"});
        assert!(plaintext_fields(&encrypted).is_empty());
    }

    #[test]
    fn ordinary_fields_and_short_values_are_ignored() {
        let body = json!({"id": 1234567, "name": "Ada", "cvv": "", "dob": null, "account": "GB33BUKB20201555555555"});
        assert!(plaintext_fields(&body).is_empty());
    }
}
