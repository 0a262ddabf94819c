//! US Social Security numbers, payment card numbers and email addresses.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::fields::Fields;
use super::keys::{is_card_key, is_idlike_key, is_not_ssn_key, is_ssn_key};
use super::text::{is_word, prev_byte};
use super::{re, Collector, Detection, PiiKind};

static SSN: LazyLock<Regex> = LazyLock::new(|| re(r"[0-9]{3}-[0-9]{2}-[0-9]{4}"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])?",
        r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?-u:\b)",
    ))
});

/// US SSNs, payment card numbers and email addresses.
///
/// * SSNs need the `AAA-GG-SSSS` form (or 9 plain digits / spaces in a JSON
///   field whose name says `ssn` / social security), a valid area (not 000,
///   666, 900–999), group (not 00) and serial (not 0000), must not be a
///   famous invalid number (078-05-1120, 219-09-9999, 123-45-6789) and must
///   stand alone (not inside a phone number, date, UUID or longer dashed id;
///   not in a JSON field named like phone, sku, order, version, …).
/// * Cards are 13–19 digits, contiguous or grouped (4-4-4-4…, Amex 4-6-5,
///   Diners 4-6-4) with one kind of single separator, standing alone, Luhn
///   valid, not one repeated digit, with a real issuer prefix and length.
///   With JSON, only string and number values are scanned, and values of
///   id/time/count keys are skipped unless the key names a card/pan/cc.
/// * Emails are returned individually (case-insensitively distinct); the
///   caller applies [`BULK_EMAIL_THRESHOLD`](super::BULK_EMAIL_THRESHOLD).
///   Image names like `logo@2x.png` are not addresses.
pub fn find_pii(body: &str, json: Option<&Value>) -> Vec<Detection<PiiKind>> {
    let fields = Fields::build(body, json);
    let mut out = Collector::new(body, fields.as_ref());
    let b = body.as_bytes();

    // SSNs.
    if body.contains('-') {
        for m in SSN.find_iter(body) {
            let (s, e) = (m.start(), m.end());
            if !ssn_standalone(b, s, e) || !ssn_valid(m.as_str()) {
                continue;
            }
            if let Some(key) = fields.as_ref().and_then(|f| f.key_at(s, e)) {
                if is_not_ssn_key(key) && !is_ssn_key(key) {
                    continue;
                }
            }
            out.push(PiiKind::UsSsn, s, e);
        }
    }
    if let Some(f) = &fields {
        for leaf in &f.leaves {
            if !f.key(leaf).is_some_and(is_ssn_key) {
                continue;
            }
            let text = f.text(leaf);
            let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).collect();
            let shape_ok = text.len() <= 11
                && text
                    .bytes()
                    .all(|c| c.is_ascii_digit() || c == b'-' || c == b' ')
                && digits.len() == 9;
            if shape_ok && ssn_valid_digits(&digits) {
                out.push(PiiKind::UsSsn, leaf.start, leaf.end);
            }
        }
    }

    // Payment cards.
    match &fields {
        Some(f) => {
            for leaf in &f.leaves {
                if let Some(key) = f.key(leaf) {
                    if is_idlike_key(key) && !is_card_key(key) {
                        continue;
                    }
                }
                scan_cards(b, leaf.start, leaf.end, |s, e| {
                    out.push(PiiKind::PaymentCard, s, e);
                });
            }
        }
        None => scan_cards(b, 0, b.len(), |s, e| {
            out.push(PiiKind::PaymentCard, s, e);
        }),
    }

    // Emails.
    if body.contains('@') {
        let mut seen_lower: HashSet<String> = HashSet::new();
        for m in EMAIL.find_iter(body) {
            if let Some((s, e)) = email_span(body, m.start(), m.end()) {
                if seen_lower.insert(body[s..e].to_ascii_lowercase()) {
                    out.push(PiiKind::Email, s, e);
                }
            }
        }
    }

    out.finish()
}

/// `AAA-GG-SSSS` not glued to other digits, letters or dash/dot runs.
fn ssn_standalone(b: &[u8], s: usize, e: usize) -> bool {
    if let Some(p) = prev_byte(b, s) {
        if is_word(p) || matches!(p, b'-' | b'.' | b'+' | b'/') {
            return false;
        }
    }
    match b.get(e) {
        Some(&c) if is_word(c) || c == b'/' => false,
        Some(&(b'-' | b'.' | b':')) => !b.get(e + 1).is_some_and(|&n| n.is_ascii_alphanumeric()),
        _ => true,
    }
}

fn ssn_valid(text: &str) -> bool {
    let mut digits = [0u8; 9];
    let mut n = 0;
    for c in text.bytes().filter(u8::is_ascii_digit) {
        if n == digits.len() {
            return false;
        }
        digits[n] = c;
        n += 1;
    }
    n == 9 && ssn_valid_digits(&digits)
}

fn ssn_valid_digits(d: &[u8]) -> bool {
    let num = |r: std::ops::Range<usize>| {
        d[r].iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    // Woolworth's wallet card, the LifeLock advert, and the textbook example.
    !matches!(
        (area, group, serial),
        (78, 5, 1120) | (219, 9, 9999) | (123, 45, 6789)
    )
}

/// Finds card numbers among the digit runs of `b[from..to]`.
fn scan_cards(b: &[u8], from: usize, to: usize, mut found: impl FnMut(usize, usize)) {
    let mut i = from;
    while i < to {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A run of digits joined by single spaces or dashes.
        let start = i;
        let mut j = i;
        loop {
            while j < to && b[j].is_ascii_digit() {
                j += 1;
            }
            if j + 1 < to && (b[j] == b' ' || b[j] == b'-') && b[j + 1].is_ascii_digit() {
                j += 1;
                continue;
            }
            break;
        }
        if card_standalone(b, start, j) && card_valid(&b[start..j]) {
            found(start, j);
        }
        i = j;
    }
}

fn card_standalone(b: &[u8], s: usize, e: usize) -> bool {
    if let Some(p) = prev_byte(b, s) {
        // Hex strings, decimals, negative numbers, phone numbers, dashed ids.
        if is_word(p) || matches!(p, b'.' | b'-' | b'+') {
            return false;
        }
    }
    match b.get(e) {
        Some(&c) if is_word(c) => false,
        Some(&(b'.' | b'-' | b':')) => !b.get(e + 1).is_some_and(|&n| n.is_ascii_alphanumeric()),
        _ => true,
    }
}

/// Grouping, length, repeated digits, Luhn and issuer prefix.
fn card_valid(run: &[u8]) -> bool {
    let mut digits = [0u8; 19];
    let mut n = 0;
    let mut groups = [0usize; 8];
    let mut ngroups = 0;
    let mut sep = None;
    let mut cur = 0;
    for &c in run {
        if c.is_ascii_digit() {
            if n == digits.len() {
                return false;
            }
            digits[n] = c - b'0';
            n += 1;
            cur += 1;
        } else {
            if sep.is_some_and(|s| s != c) || ngroups == groups.len() - 1 {
                return false;
            }
            sep = Some(c);
            groups[ngroups] = cur;
            ngroups += 1;
            cur = 0;
        }
    }
    groups[ngroups] = cur;
    ngroups += 1;
    if !(13..=19).contains(&n) {
        return false;
    }
    let groups = &groups[..ngroups];
    let grouping_ok = ngroups == 1
        || groups == [4, 6, 5]
        || groups == [4, 6, 4]
        || (groups[..ngroups - 1].iter().all(|&g| g == 4)
            && (1..=4).contains(&groups[ngroups - 1]));
    if !grouping_ok {
        return false;
    }
    let d = &digits[..n];
    d.iter().any(|&x| x != d[0]) && luhn(d) && issuer_ok(d)
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn issuer_ok(d: &[u8]) -> bool {
    let n = d.len();
    let prefix = |k: usize| d[..k].iter().fold(0u32, |acc, &x| acc * 10 + u32::from(x));
    match d[0] {
        4 => matches!(n, 13 | 16 | 19),
        5 => (51..=55).contains(&prefix(2)) && n == 16,
        2 => (2221..=2720).contains(&prefix(4)) && n == 16,
        3 => {
            let amex = matches!(prefix(2), 34 | 37) && n == 15;
            let jcb = (3528..=3589).contains(&prefix(4)) && (16..=19).contains(&n);
            let diners = ((300..=305).contains(&prefix(3))
                || matches!(prefix(2), 36 | 38 | 39)
                || prefix(3) == 309)
                && (14..=19).contains(&n);
            amex || jcb || diners
        }
        6 => {
            let discover = prefix(4) == 6011
                || prefix(2) == 65
                || (644..=649).contains(&prefix(3))
                || (622_126..=622_925).contains(&prefix(6));
            discover && (16..=19).contains(&n)
        }
        _ => false,
    }
}

const FILE_EXTENSIONS: [&str; 17] = [
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "avif", "css", "js", "mjs", "json",
    "map", "woff", "woff2", "ttf",
];

/// Trims JSON escape residue from the front of an email match and rejects
/// non-addresses. Returns the final span.
fn email_span(body: &str, mut s: usize, e: usize) -> Option<(usize, usize)> {
    let b = body.as_bytes();
    // `…\nalice@…` or `…\u003calice@…`: the escape is not part of the address.
    if s > 0 && b[s - 1] == b'\\' {
        if matches!(b[s], b'n' | b'r' | b't' | b'b' | b'f') {
            s += 1;
        } else if b[s] == b'u'
            && b.len() >= s + 5
            && b[s + 1..s + 5].iter().all(u8::is_ascii_hexdigit)
        {
            s += 5;
        }
    }
    let text = &body[s..e];
    let (local, domain) = text.split_once('@')?;
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || local.starts_with('.') {
        return None;
    }
    if prev_byte(b, s).is_some_and(|p| p == b'.' || p == b'@') {
        return None;
    }
    let tld = domain.rsplit('.').next()?;
    if FILE_EXTENSIONS.iter().any(|x| tld.eq_ignore_ascii_case(x)) {
        return None;
    }
    Some((s, e))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::super::BULK_EMAIL_THRESHOLD;
    use super::*;

    // -- PII: SSN -------------------------------------------------------------

    #[test]
    fn ssn_dashed() {
        let found = pii(r#"{"name": "Jo", "ssn": "536-22-1234"}"#);
        assert_eq!(kinds(&found), [PiiKind::UsSsn]);
        assert_eq!(found[0].matched, "536-22-1234");
        assert_eq!(found[0].field.as_deref(), Some("ssn"));
        assert_eq!(matched(&pii("SSN: 536-22-1234.")), ["536-22-1234"]);
        assert_eq!(matched(&pii("ssn=536-22-1234")), ["536-22-1234"]);
        assert_eq!(
            matched(&pii(r#"{"note": "line\n536-22-1234\n"}"#)),
            ["536-22-1234"]
        );
    }

    #[test]
    fn ssn_invalid_ranges_and_famous_numbers() {
        for ssn in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "987-65-4321",
            "999-12-3456",
            "536-00-1234",
            "536-22-0000",
            "078-05-1120",
            "219-09-9999",
            "123-45-6789",
        ] {
            assert!(pii(&format!("ssn {ssn}")).is_empty(), "{ssn}");
        }
    }

    #[test]
    fn ssn_lookalikes_are_rejected() {
        for body in [
            "call 555-123-4567",
            "+1-536-22-1234",
            "1-536-22-1234",
            "date 2024-01-01",
            "2024-01-01T10:20:30Z",
            "550e8400-e29b-41d4-a716-446655440000",
            "123e4567-e89b-12d3-a456-426614174000",
            "ABC-536-22-1234",
            "536-22-1234-99",
            "536-22-12345",
            "1536-22-1234",
            "v536-22-1234",
            "ip 10.0.0.1, version 1.2.3",
            "x.536-22-1234",
        ] {
            assert!(pii(body).iter().all(|d| d.kind != PiiKind::UsSsn), "{body}");
        }
        // Dashed 3-2-4 values in fields that name something else.
        let body = r#"{"phone": "536-22-1234", "sku": "536-22-1234", "part_no": "412-33-5678"}"#;
        assert!(pii(body).is_empty());
    }

    #[test]
    fn ssn_plain_digits_only_in_ssn_fields() {
        let body = r#"{"user": {"ssn": "536221234", "social_security_number": 412335678, "SSN_enc": "536 22 1234"}}"#;
        let found = pii(body);
        assert_eq!(matched(&found), ["536221234", "412335678", "536 22 1234"]);
        assert_eq!(found[1].field.as_deref(), Some("social_security_number"));
        // Same digits elsewhere are not SSNs.
        let body = r#"{"zip": "536221234", "lesson": "536221234", "classname": "536221234", "id": 536221234}"#;
        assert!(pii(body).is_empty());
        // Invalid plain numbers in SSN fields.
        assert!(pii(r#"{"ssn": "000221234"}"#).is_empty());
        assert!(pii(r#"{"ssn": "53622123"}"#).is_empty());
        assert!(pii(r#"{"ssn_last4": "1234"}"#).is_empty());
        // Without the parsed JSON, field rules do not apply.
        assert!(find_pii(r#"{"ssn": "536221234"}"#, None).is_empty());
    }

    // -- PII: cards -------------------------------------------------------------

    #[test]
    fn card_brands() {
        for card in [
            "4111111111111111",
            "4012888888881881",
            "4222222222222",
            "4539148803436467",
            "5555555555554444",
            "5105105105105100",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
            "6500000000000002",
            "3530111333300000",
            "3566002020360505",
            "30569309025904",
        ] {
            let found = pii(&format!(r#"{{"card_number": "{card}"}}"#));
            assert_eq!(matched(&found), [card], "{card}");
            assert_eq!(found[0].field.as_deref(), Some("card_number"));
            assert_eq!(matched(&find_pii(&format!("card {card}."), None)), [card]);
        }
    }

    #[test]
    fn card_groupings() {
        for card in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "3782 822463 10005",
            "3782-822463-10005",
            "3056 930902 5904",
            "4222 2222 2222 2",
        ] {
            assert_eq!(
                matched(&find_pii(&format!("Paid with {card} today"), None)),
                [card],
                "{card}"
            );
        }
        for body in [
            "4111 1111-1111 1111",
            "41111 11111 11111 1",
            "4111  1111  1111  1111",
            "411 1111 1111 11111",
        ] {
            assert!(find_pii(body, None).is_empty(), "{body}");
        }
    }

    #[test]
    fn card_rejections() {
        for body in [
            "4111111111111112",
            "1700000000000",
            "1700000000000000",
            "ts=1700000000123",
            "8888888888888888",
            "0000000000000000",
            "41111111111111111111",
            "9111111111111111",
            "4111111111111",
            "37828224631000",
            "a4111111111111111b",
            "deadbeef4111111111111111",
            "0.4111111111111111",
            "4111111111111111.25",
            "-4111111111111111",
            "+4111111111111111",
            "550e8400-e29b-41d4-a716-446655440000",
            "ord-4111111111111111",
            "4111111111111111-abc",
        ] {
            assert!(find_pii(body, None).is_empty(), "{body}");
        }
    }

    #[test]
    fn card_json_keys() {
        // Numbers under id/timestamp/count keys are not cards.
        let body = r#"{"id": 4111111111111111, "order_id": 4111111111111111, "ts": 4111111111111111,
            "timestamp": 4111111111111111, "created": 4111111111111111, "count": 4111111111111111,
            "createdAt": 4111111111111111, "userId": "4111111111111111"}"#;
        assert!(pii(body).is_empty());
        // ...unless the key says card/pan/cc.
        for key in [
            "card_id",
            "pan",
            "cc",
            "ccNumber",
            "creditCardNumber",
            "card",
        ] {
            let body = format!(r#"{{"{key}": 4111111111111111}}"#);
            let found = pii(&body);
            assert_eq!(matched(&found), ["4111111111111111"], "{key}");
            assert_eq!(found[0].field.as_deref(), Some(key));
        }
        // Arrays report their key; numbers in arrays without spaces work.
        let found = pii(r#"{"cards": [4111111111111111,5555555555554444]}"#);
        assert_eq!(matched(&found), ["4111111111111111", "5555555555554444"]);
        assert!(found.iter().all(|d| d.field.as_deref() == Some("cards")));
        // Free text in a string value.
        let found = pii(r#"{"note": "paid with 4111 1111 1111 1111\n thanks"}"#);
        assert_eq!(matched(&found), ["4111 1111 1111 1111"]);
        // Keys are not scanned.
        assert!(pii(r#"{"4111111111111111": true}"#).is_empty());
    }

    #[test]
    fn luhn_failing_ids_and_timestamps_in_json() {
        let body = json!({
            "order": "4000123412341235",
            "order_id": "4000123412341234",
            "reference": 4916123412341235u64,
            "expires": 1_700_000_000_000u64,
            "amount": 12.5,
            "uuid": "550e8400-e29b-41d4-a716-446655440000",
            "etag": SHA256_HEX,
        })
        .to_string();
        assert!(pii(&body).is_empty());
    }

    // -- PII: email ------------------------------------------------------------

    #[test]
    fn emails_all_returned() {
        let body = json!({"users": [
            {"email": "alice@corp.example"}, {"email": "bob.smith+tag@mail.corp.example"},
            {"email": "carol_99@example.org"}, {"email": "Dave@Example.COM"}, {"email": "dave@example.com"},
            {"email": "erin-o@sub.domain.co.uk"}
        ]})
        .to_string();
        let found = pii(&body);
        assert!(found
            .iter()
            .all(|d| d.kind == PiiKind::Email && d.field.as_deref() == Some("email")));
        assert_eq!(
            matched(&found),
            [
                "alice@corp.example",
                "bob.smith+tag@mail.corp.example",
                "carol_99@example.org",
                "Dave@Example.COM",
                "erin-o@sub.domain.co.uk"
            ]
        );
        assert!(found.len() >= BULK_EMAIL_THRESHOLD);
        assert_eq!(BULK_EMAIL_THRESHOLD, 5);
    }

    #[test]
    fn email_lookalikes() {
        for body in [
            "logo@2x.png",
            "icon@3x.webp",
            "user@localhost",
            "npm install pkg@1.2.3",
            "@scope/pkg",
            "a@b",
            "mention @alice",
            "styles@media.css",
        ] {
            assert!(pii(body).is_empty(), "{body}");
        }
        // JSON escapes before an address are not part of it.
        assert_eq!(
            matched(&pii(r#"{"a": "x\nalice@corp.example"}"#)),
            ["alice@corp.example"]
        );
        assert_eq!(
            matched(&pii(r#"{"a": "\u003calice@corp.example\u003e"}"#)),
            ["alice@corp.example"]
        );
    }
}
