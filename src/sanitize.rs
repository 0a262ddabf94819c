//! What a server sent, made safe to show a human.
//!
//! Response bodies, header values, paths and error messages come from a
//! server Rampart does not trust. Written raw to a terminal, an ANSI escape
//! in them can retitle the window, clear the screen, move the cursor over
//! earlier lines or hide text; a bidirectional override can make a line read
//! differently from what it holds. [`for_display`] is the one function every
//! human-facing writer (the text report, notes and errors on stderr) passes
//! such strings through. Machine formats keep the data as sent: JSON escapes
//! control characters itself.

use std::borrow::Cow;

/// `text` with every control character except newline and tab shown as a
/// visible escape (`\x1b`, `\u{9b}`, `\u{202e}`) instead of being sent to
/// the terminal: C0 controls (carriage return included, which would let a
/// line overwrite itself), DEL, C1 controls and the Unicode bidirectional
/// formatting characters. Text without any of them is returned as is.
pub fn for_display(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        // C0, DEL and C1.
        '\0'..='\x1f' | '\x7f'..='\u{9f}' => true,
        // Bidirectional marks, embeddings, overrides and isolates.
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible_and_layout_characters_stay() {
        assert!(matches!(for_display("plain ✓ text"), Cow::Borrowed(_)));
        assert_eq!(for_display("a\nb\tc"), "a\nb\tc");
        assert_eq!(
            for_display("\x1b]0;pwned\x07\x1b[2J"),
            "\\x1b]0;pwned\\x07\\x1b[2J"
        );
        assert_eq!(for_display("over\rwrite"), "over\\x0dwrite");
        assert_eq!(for_display("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(for_display("x\u{7f}"), "x\\x7f");
        assert_eq!(for_display("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(for_display("\0"), "\\x00");
    }
}
