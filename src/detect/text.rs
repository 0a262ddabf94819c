//! Byte-level helpers shared by the detectors.

use regex::Regex;

/// Spans of `header` in `body`, each with the start of the next one (or the
/// body's end). A header's evidence is looked for only before the next
/// header, which keeps the work linear however many headers a body repeats.
pub(super) fn headers_until_next(header: &Regex, body: &str) -> Vec<(usize, usize, usize)> {
    let spans: Vec<(usize, usize)> = header
        .find_iter(body)
        .map(|m| (m.start(), m.end()))
        .collect();
    spans
        .iter()
        .enumerate()
        .map(|(i, &(start, end))| {
            let next = spans.get(i + 1).map_or(body.len(), |h| h.0);
            (start, end, next)
        })
        .collect()
}

pub(super) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub(super) fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// The byte before `i`, reading a JSON escape such as `\n` or `\t` as a
/// plain separator (a space), so `"…\n4111…"` does not look glued to `n`.
pub(super) fn prev_byte(b: &[u8], i: usize) -> Option<u8> {
    if i == 0 {
        return None;
    }
    let c = b[i - 1];
    if i >= 2 && b[i - 2] == b'\\' && matches!(c, b'n' | b'r' | b't' | b'b' | b'f') {
        return Some(b' ');
    }
    Some(c)
}

pub(super) fn floor_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub(super) fn contains_ci(hay: &str, needle: &str) -> bool {
    let n = needle.len();
    hay.len() >= n
        && hay
            .as_bytes()
            .windows(n)
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// End of the base64 run starting at `i` and its length in characters (a
/// JSON-escaped `\/` counts as one), giving up once more than `cap` are seen.
pub(super) fn b64_run(b: &[u8], mut i: usize, cap: usize) -> (usize, usize) {
    let mut n = 0;
    while i < b.len() && n <= cap {
        if is_b64(b[i]) {
            i += 1;
            n += 1;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'/') {
            i += 2;
            n += 1;
        } else {
            break;
        }
    }
    (i, n)
}

/// Longest base64 run (characters) in `b[from..to]`.
pub(super) fn longest_b64_run(b: &[u8], from: usize, to: usize) -> usize {
    let mut best = 0;
    let mut i = from;
    while i < to {
        let (end, n) = b64_run(&b[..to], i, usize::MAX - 1);
        if n > 0 {
            best = best.max(n);
            i = end;
        } else {
            i += 1;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_read_as_separators() {
        let b = br#"x\n4111 y\\n"#;
        assert_eq!(prev_byte(b, 0), None);
        assert_eq!(prev_byte(b, 1), Some(b'x'));
        // `\n` before position 3 is a separator, not the letter `n`.
        assert_eq!(prev_byte(b, 3), Some(b' '));
        assert_eq!(prev_byte(b, 2), Some(b'\\'));
        assert_eq!(prev_byte(b"an", 2), Some(b'n'));
    }

    #[test]
    fn boundaries_and_case_insensitive_search() {
        let s = "aé€";
        assert_eq!(floor_boundary(s, 0), 0);
        assert_eq!(floor_boundary(s, 2), 1);
        assert_eq!(floor_boundary(s, 4), 3);
        assert_eq!(floor_boundary(s, 99), s.len());
        assert!(contains_ci("AwsSecretKey", "secret"));
        assert!(!contains_ci("sec", "secret"));
        assert!(!contains_ci("password", "passwd"));
    }

    #[test]
    fn base64_runs_count_escaped_slashes_once() {
        let b = br"ab\/cd+= tail";
        assert_eq!(b64_run(b, 0, 64), (7, 6));
        assert_eq!(b64_run(b, 7, 64), (7, 0));
        // The cap stops the scan one character past it.
        assert_eq!(b64_run(b"abcdefgh", 0, 3), (4, 4));
        assert_eq!(longest_b64_run(b"ab cdef\\/g h", 0, 12), 6);
        assert_eq!(longest_b64_run(b"ab cdef", 0, 4), 2);
    }

    #[test]
    fn each_header_is_bounded_by_the_next() {
        let header = Regex::new("H:").unwrap();
        assert_eq!(
            headers_until_next(&header, "xH:aaH:bb"),
            [(1, 3, 5), (5, 7, 9)]
        );
        assert!(headers_until_next(&header, "none").is_empty());
    }
}
