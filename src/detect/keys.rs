//! What a JSON key's name says about its value: SSN, card, identifier or
//! time, password or password metadata.

use super::text::contains_ci;

/// Words of a key: split on non-alphanumerics, camelCase humps, acronym ends
/// and letter/digit changes. `userSSNLast4` gives `user`, `SSN`, `Last`, `4`.
struct KeyTokens<'a> {
    key: &'a str,
    pos: usize,
}

fn key_tokens(key: &str) -> KeyTokens<'_> {
    KeyTokens { key, pos: 0 }
}

impl<'a> Iterator for KeyTokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.key.as_bytes();
        while self.pos < b.len() && !b[self.pos].is_ascii_alphanumeric() {
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        let mut i = start + 1;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            let (p, c) = (b[i - 1], b[i]);
            let split = p.is_ascii_digit() != c.is_ascii_digit()
                || (p.is_ascii_lowercase() && c.is_ascii_uppercase())
                || (p.is_ascii_uppercase()
                    && c.is_ascii_uppercase()
                    && b.get(i + 1).is_some_and(u8::is_ascii_lowercase));
            if split {
                break;
            }
            i += 1;
        }
        self.pos = i;
        Some(&self.key[start..i])
    }
}

fn has_token(key: &str, words: &[&str]) -> bool {
    key_tokens(key).any(|t| words.iter().any(|w| t.eq_ignore_ascii_case(w)))
}

pub(super) fn is_ssn_key(key: &str) -> bool {
    has_token(key, &["ssn", "ssns"])
        || contains_ci(key, "socialsecurity")
        || (has_token(key, &["social"]) && has_token(key, &["security", "sec"]))
}

pub(super) fn is_card_key(key: &str) -> bool {
    has_token(
        key,
        &[
            "card",
            "cards",
            "cc",
            "ccn",
            "pan",
            "ccnum",
            "cardnumber",
            "creditcard",
        ],
    ) || contains_ci(key, "cardnumber")
        || contains_ci(key, "creditcard")
}

/// Keys whose numeric values are identifiers, times or counters.
pub(super) fn is_idlike_key(key: &str) -> bool {
    has_token(
        key,
        &[
            "id",
            "ids",
            "uuid",
            "guid",
            "ts",
            "timestamp",
            "time",
            "date",
            "created",
            "updated",
            "modified",
            "deleted",
            "at",
            "epoch",
            "count",
            "total",
            "seq",
            "sequence",
            "nonce",
            "version",
            "iat",
            "exp",
            "nbf",
            "ms",
            "millis",
            "phone",
            "tel",
            "msisdn",
            "isbn",
            "ean",
            "upc",
            "gtin",
            "sku",
        ],
    )
}

/// Keys whose dashed 3-2-4 values are something other than an SSN.
pub(super) fn is_not_ssn_key(key: &str) -> bool {
    has_token(
        key,
        &[
            "phone",
            "tel",
            "mobile",
            "fax",
            "isbn",
            "sku",
            "part",
            "model",
            "order",
            "invoice",
            "ref",
            "reference",
            "version",
            "date",
            "tracking",
            "serial",
        ],
    )
}

const CLEAR_PASSWORD_KEYS: [&str; 6] = [
    "password",
    "passwd",
    "pwd",
    "pass",
    "user_password",
    "password_plain",
];

pub(super) fn is_clear_password_key(key: &str) -> bool {
    CLEAR_PASSWORD_KEYS
        .iter()
        .any(|k| key.eq_ignore_ascii_case(k))
}

/// Keys that hold password material (a hash or the password itself), as
/// opposed to password metadata (`password_policy`, `reset_password_url`).
pub(super) fn is_password_hash_key(key: &str) -> bool {
    let passwordish = has_token(
        key,
        &[
            "password",
            "passwd",
            "pwd",
            "pass",
            "pw",
            "passphrase",
            "passcode",
            "pword",
        ],
    ) || contains_ci(key, "password")
        || contains_ci(key, "passwd");
    let metadata = has_token(
        key,
        &[
            "policy",
            "min",
            "max",
            "length",
            "len",
            "changed",
            "change",
            "expires",
            "expiry",
            "expired",
            "expiration",
            "reset",
            "url",
            "uri",
            "link",
            "token",
            "hint",
            "salt",
            "at",
            "date",
            "time",
            "required",
            "rules",
            "rule",
            "strength",
            "last",
            "updated",
            "created",
            "count",
            "attempts",
            "enabled",
            "set",
            "history",
            "age",
            "confirm",
            "confirmation",
            "label",
            "placeholder",
            "help",
            "forgot",
            "field",
            "type",
            "format",
            "regex",
        ],
    );
    passwordish && !metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tokenizer() {
        fn tokens(k: &str) -> Vec<&str> {
            key_tokens(k).collect()
        }
        assert_eq!(tokens("userSSNLast4"), ["user", "SSN", "Last", "4"]);
        assert_eq!(tokens("created_at"), ["created", "at"]);
        assert_eq!(tokens("cardNumber"), ["card", "Number"]);
        assert_eq!(tokens("X-Api-Key"), ["X", "Api", "Key"]);
        assert_eq!(tokens("__"), Vec::<&str>::new());
        assert!(is_idlike_key("orderId") && is_idlike_key("ts") && !is_idlike_key("width"));
        assert!(is_card_key("ccNumber") && !is_card_key("accent"));
        assert!(
            is_ssn_key("SSN") && is_ssn_key("socialSecurityNumber") && !is_ssn_key("classname")
        );
        assert!(is_password_hash_key("hashedPassword") && !is_password_hash_key("passwordPolicy"));
    }
}
