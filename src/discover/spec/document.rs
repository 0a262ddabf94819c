//! The description's text as a JSON value: JSON, or YAML read straight into
//! JSON.
//!
//! The text is untrusted, so YAML is read with explicit bounds: nesting depth,
//! alias replay (a few lines of anchors and aliases can otherwise expand into
//! billions of nodes) and an event budget proportional to the input, each
//! breach a clean error. Scalars are typed as serde_yaml (YAML 1.2 core
//! schema) typed them, so specs read the same as they always did.

use serde_json::Value;
use serde_saphyr::options::NonFiniteFloatPolicy;
use serde_saphyr::Options;

use super::{truncate_chars, SpecError};

/// Keeps error messages one short line even when a parser quotes input back.
const MAX_MESSAGE_CHARS: usize = 200;
/// Deeper nesting than any real description needs; beyond it parsing (and the
/// recursive walks after it) would only spend stack.
const MAX_YAML_NESTING: usize = 128;
/// Stack of the thread that reads YAML. Reading recurses once per nesting
/// level, and a debug build spends over 16 KiB a level: more than the 2 MiB of
/// a tokio worker or test thread holds before [`MAX_YAML_NESTING`] is reached.
/// A thread of its own lets the nesting limit, not the caller's stack, stop a
/// deep document. Only the pages a parse touches are ever committed.
const YAML_READER_STACK_BYTES: usize = 32 * 1024 * 1024;
/// Events that aliases may replay in one document. Each replayed event becomes
/// (part of) a JSON node, so this bounds what aliases can add to the output.
const MAX_ALIAS_REPLAYED_EVENTS: usize = 1_000_000;

pub(super) fn parse_document(text: &str) -> Result<Value, SpecError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return serde_json::from_str::<Value>(text).or_else(|json_err| {
            // YAML flow mappings (`{openapi: 3.0.0, …}`) start with `{` too; if
            // that also fails, the JSON error is the one that explains the input.
            parse_yaml(text).map_err(|_| SpecError::NotJsonOrYaml(one_line(&json_err)))
        });
    }
    parse_yaml(text).map_err(SpecError::NotJsonOrYaml)
}

fn parse_yaml(text: &str) -> Result<Value, String> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("yaml-reader".to_owned())
            .stack_size(YAML_READER_STACK_BYTES)
            .spawn_scoped(scope, || {
                serde_saphyr::from_str_with_options::<Value>(text, yaml_options(text.len()))
                    .map_err(|e| one_line(&e))
            })
            .map_err(|e| format!("cannot start the YAML reader: {e}"))?
            .join()
            .map_err(|_| "the YAML reader stopped on this input".to_owned())?
    })
}

fn yaml_options(input_len: usize) -> Options {
    // Without aliases every node and event needs input bytes of its own, so
    // budgets proportional to the input never refuse a real document however
    // large; the fixed defaults would refuse big public API descriptions.
    let events = input_len.saturating_mul(4).max(1024);
    let budget = serde_saphyr::budget! {
        max_events: events,
        max_nodes: events,
        max_depth: MAX_YAML_NESTING,
        flow_nesting_limit: MAX_YAML_NESTING,
        // Hand-written specs reuse one anchor for many operations; the alias
        // limits below bound the cost, this ratio would only refuse them.
        enforce_alias_anchor_ratio: false,
    };
    serde_saphyr::options! {
        budget: budget,
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_REPLAYED_EVENTS,
        },
        // serde_yaml's reading of plain scalars: YAML 1.2 booleans only
        // (`yes`/`no`/`on` stay strings), `0755` and `1_000` stay strings.
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        // `null:` and `~:` are keys too; JSON keys must be strings.
        null_as_string: true,
        // JSON has no NaN or infinity: `.nan`/`.inf` become null.
        non_finite_float_policy: NonFiniteFloatPolicy::PassThrough,
        // The message must stay one line; a source excerpt would not.
        with_snippet: false,
    }
}

fn one_line(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_chars(&collapsed, MAX_MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;

    fn yaml(text: &str) -> Result<Value, String> {
        parse_yaml(text)
    }

    /// Hostile input must fail fast: these finish in milliseconds, the bound
    /// only catches a parser that expands or recurses without limit.
    fn fails_quickly(text: &str) -> String {
        let start = Instant::now();
        let err = yaml(text).expect_err("hostile YAML must be refused");
        assert!(start.elapsed() < Duration::from_secs(10), "{err}");
        assert!(!err.contains('\n'), "{err}");
        err
    }

    #[test]
    fn alias_bombs_are_refused() {
        // Nine levels of nine aliases: 9^9 (387 million) strings if expanded.
        let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..=9 {
            let prev = format!("*a{}", level - 1);
            let items = [prev.as_str(); 9].join(", ");
            bomb.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        fails_quickly(&bomb);
        fails_quickly(&format!("openapi: 3.0.0\n{bomb}paths: {{}}\n"));
        // The same shape, small enough to be a real document, is read.
        let small = "a: &a [x, y]\nb: &b [*a, *a]\nc: [*b, *b]\n";
        assert_eq!(
            yaml(small).unwrap()["c"],
            json!([[["x", "y"], ["x", "y"]], [["x", "y"], ["x", "y"]]])
        );
    }

    #[test]
    fn one_anchor_reused_by_many_operations_is_fine() {
        let mut text = String::from("x-common: &common {in: query, name: page}\npaths:\n");
        for i in 0..500 {
            text.push_str(&format!("  /p{i}: {{get: {{parameters: [*common]}}}}\n"));
        }
        let value = yaml(&text).unwrap();
        assert_eq!(
            value["paths"]["/p499"]["get"]["parameters"][0]["name"],
            "page"
        );
    }

    #[test]
    fn deep_nesting_is_refused_in_every_style() {
        let n = 100_000;
        // Block sequences (`- - - x`) and block mappings, which no bracket
        // count would see, and flow collections.
        fails_quickly(&format!("{}x\n", "- ".repeat(n)));
        let mut mappings = String::new();
        for depth in 0..1_000 {
            mappings.push_str(&" ".repeat(depth));
            mappings.push_str("k:\n");
        }
        fails_quickly(&mappings);
        fails_quickly(&format!("x: {}{}", "[".repeat(n), "]".repeat(n)));
        fails_quickly(&format!("x: {}", "{a: ".repeat(n)));
        // Aliases nested inside their own depth: each anchor holds the
        // previous one 100 levels down, so replaying them stacks the depths.
        let mut chain = format!("a0: &a0 {}x{}\n", "[".repeat(100), "]".repeat(100));
        for i in 1..60 {
            let (open, close) = ("[".repeat(100), "]".repeat(100));
            chain.push_str(&format!("a{i}: &a{i} {open}*a{}{close}\n", i - 1));
        }
        fails_quickly(&chain);
        // Nesting a real description uses is read.
        let nested = format!("{}x{}", "[".repeat(100), "]".repeat(100));
        assert!(yaml(&nested).is_ok());
    }

    #[test]
    fn scalars_are_typed_as_yaml_1_2() {
        let value = yaml(
            "a: yes\nb: no\nc: on\nd: true\ne: 0755\nf: 1_000\ng: 12\nh: 1.5\n\
             i: .nan\nj: -.inf\nk: ~\nl: '12'\nm: 0x1F\n",
        )
        .unwrap();
        assert_eq!(
            value,
            json!({
                "a": "yes", "b": "no", "c": "on", "d": true, "e": "0755", "f": "1_000",
                "g": 12, "h": 1.5, "i": null, "j": null, "k": null, "l": "12", "m": 31
            })
        );
    }

    #[test]
    fn keys_of_any_scalar_type_become_strings_and_merges_apply() {
        let value = yaml(
            "responses:\n  200: ok\n  true: yes\n  null: nothing\n\
             base: &base {a: 1, b: 2}\nmerged:\n  <<: *base\n  b: 3\n",
        )
        .unwrap();
        assert_eq!(
            value["responses"],
            json!({"200": "ok", "true": "yes", "null": "nothing"})
        );
        // Explicit keys override merged ones; document order is kept.
        assert_eq!(value["merged"], json!({"a": 1, "b": 3}));
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["responses", "base", "merged"]);
    }

    #[test]
    fn invalid_documents_are_one_line_errors() {
        for text in [
            "a: 1\na: 2\n",
            "a: b\n  c: d\n: :",
            "key: [unclosed",
            "--- 1\n--- 2\n",
            "\"unterminated",
        ] {
            let err = yaml(text).expect_err(text);
            assert!(!err.is_empty() && !err.contains('\n'), "{text:?}: {err}");
            assert!(err.chars().count() <= MAX_MESSAGE_CHARS + 1, "{err}");
        }
        assert_eq!(yaml("").unwrap(), Value::Null);
        assert_eq!(yaml("# only a comment\n").unwrap(), Value::Null);
    }
}
