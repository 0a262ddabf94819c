//! The machine-readable report (`--format json`), schema `rampart.report/1`.

use super::Report;

pub fn render(report: &Report) -> String {
    // Serialising plain data cannot fail; fall back to an empty object to keep
    // the promise of never panicking anyway.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}
