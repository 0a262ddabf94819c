//! Path traversal.
//!
//! An API that opens a file named by the caller (`open(os.path.join(DOCS,
//! name))`, `res.sendFile(req.query.file)`) and does not confine the result
//! to its own directory hands out every file the service can read: its
//! configuration, keys and credentials, other users' uploads. Rampart asks
//! only for files whose contents it can recognise and that every system
//! has — `/etc/passwd` (its `root:…:0:0:` line) and Windows' `win.ini` —
//! through `../` sequences, absolute paths and the usual filter bypasses,
//! and confirms with a file that does not exist, whose answer must not
//! show those contents.

use std::sync::LazyLock;

use async_trait::async_trait;
use regex::Regex;

use super::{shown, Halt, Input, InputCheck, Payload, Place, Point};
use crate::checks::{CheckMeta, Mode, RunsOn};
use crate::discover::Endpoint;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct PathTraversal;

pub static META: CheckMeta = CheckMeta {
    check: &PathTraversal,
    id: "injection.path-traversal",
    category: Category::InputValidation,
    severity: Severity::High,
    summary: "Path traversal: file-like input that reads files outside the intended directory",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::RESPONSE_VALUES,
};

static PASSWD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"root:[^:\r\n]{0,40}:0:0:").expect("valid regex"));
static WIN_INI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(?:fonts|extensions|mci extensions)\][\s\S]{0,400}\[(?:fonts|extensions|mci extensions|files)\]|; for 16-bit app support")
        .expect("valid regex")
});

/// The recognisable contents of a system file in `body`: where they sit.
pub fn system_file(body: &str) -> Option<std::ops::Range<usize>> {
    PASSWD
        .find(body)
        .or_else(|| WIN_INI.find(body))
        .map(|m| m.start()..m.end())
}

/// Words in a parameter's name that say it names a file.
const FILE_WORDS: &[&str] = &[
    "file",
    "path",
    "doc",
    "template",
    "page",
    "include",
    "folder",
    "dir",
    "attachment",
    "download",
    "image",
    "img",
    "resource",
    "report",
    "log",
    "filename",
    "asset",
    "upload",
];

fn file_like(input: &Input) -> bool {
    let name = input.param.name.to_ascii_lowercase();
    let by_name = FILE_WORDS.iter().any(|w| name.contains(w));
    let by_value = input.param.sample.as_deref().is_some_and(|v| {
        v.contains('/')
            || v.contains('\\')
            || v.rsplit_once('.').is_some_and(|(stem, ext)| {
                !stem.is_empty()
                    && (1..=5).contains(&ext.len())
                    && ext.chars().all(|c| c.is_ascii_alphanumeric())
                    && !ext.chars().all(|c| c.is_ascii_digit())
            })
    });
    let by_format = matches!(
        input.param.format.as_deref(),
        Some("binary" | "path" | "file")
    );
    (by_name || by_value || by_format) && !input.is_numeric() && !input.is_boolean()
}

/// Traversal payloads for an input whose ordinary value is `base`, each
/// with what it tries.
fn payloads(base: &str) -> Vec<(String, &'static str)> {
    let up = "../".repeat(8);
    let mut out = vec![
        (format!("{up}etc/passwd"), "relative ../ sequence"),
        ("/etc/passwd".to_string(), "absolute path"),
        (
            format!("{}etc/passwd", "....//".repeat(8)),
            "../ removed once by a filter",
        ),
        (
            format!("{}etc%2fpasswd", "..%2f".repeat(8)),
            "URL-encoded ../ decoded twice",
        ),
    ];
    if let Some((dir, _)) = base.rsplit_once('/') {
        out.insert(
            1,
            (
                format!("{dir}/{up}etc/passwd"),
                "../ after the expected directory",
            ),
        );
    }
    out.push((
        format!("{}windows\\win.ini", "..\\".repeat(8)),
        "Windows ..\\ sequence",
    ));
    out
}

#[async_trait]
impl InputCheck for PathTraversal {
    const META: &'static CheckMeta = &META;
    const NOTHING_TO_PROBE: &'static str = "no file-like input";

    fn wants(&self, _endpoint: &Endpoint, input: &Input) -> bool {
        file_like(input) && !matches!(input.place, Place::Header | Place::Cookie)
    }

    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt> {
        let profile = point.profile().await?;
        if system_file(profile.base.body_text()).is_some() {
            return Ok(None);
        }
        for (payload, how) in payloads(&profile.base_value) {
            let Some(answer) = point.send(&Payload::text(payload.clone())).await? else {
                continue;
            };
            let Some(span) = system_file(answer.body_text()) else {
                continue;
            };
            let missing = payload
                .replace(
                    "etc/passwd",
                    &format!("etc/rampart-{}", point.ctx.engine.buster().next_token()),
                )
                .replace("etc%2fpasswd", "etc%2frampart-missing")
                .replace("win.ini", "rampart-missing.ini");
            let Some(control) = point.send(&Payload::text(missing.clone())).await? else {
                continue;
            };
            if system_file(control.body_text()).is_some() {
                continue;
            }
            let label = point.input.label();
            return Ok(Some(
                point
                    .draft(&answer, Severity::High, Confidence::Confirmed)
                    .title(format!("Path traversal in {label}"))
                    .description(format!(
                        "The {label} names a file that is opened without confining it to its directory \
                         ({how}): {} returned the system's password file, and a file that does not exist \
                         ({}) did not. Any file the service can read can be fetched the same way.",
                        shown(&payload),
                        shown(&missing),
                    ))
                    .evidence(format!("Ordinary value {}", shown(&profile.base_value)), &profile.base, None)
                    .evidence(format!("Traversal {}: system file contents", shown(&payload)), &answer, Some(span))
                    .evidence(format!("A file that does not exist {}: no such contents", shown(&missing)), &control, None),
            ));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::injection::testing::{self, Seen};

    #[test]
    fn system_files_are_recognised_and_lookalikes_are_not() {
        assert!(system_file("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1").is_some());
        assert!(system_file(r#"{"content": "root:x:0:0:root:/root:/bin/bash\ndaemon"}"#).is_some());
        assert!(system_file("; for 16-bit app support\n[fonts]\n[extensions]").is_some());
        assert!(system_file("[fonts]\r\n[extensions]\r\n").is_some());
        for body in [
            "the root user has uid 0",
            r#"{"file": "/etc/passwd"}"#,
            "[fonts] only",
        ] {
            assert!(system_file(body).is_none(), "{body}");
        }
    }

    #[test]
    fn file_like_inputs_are_chosen_by_name_value_or_format() {
        let input = Input::text_query;
        assert!(file_like(&input("filename", None)));
        assert!(file_like(&input("doc", Some("x"))));
        assert!(file_like(&input("q", Some("reports/q1.pdf"))));
        assert!(!file_like(&input("q", Some("tea"))));
        assert!(!file_like(&input("version", Some("1.2"))));
        let base = payloads("reports/q1.pdf");
        assert!(base[1].0.starts_with("reports/../"));
    }

    fn files(vulnerable: bool) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let name = seen.arg("name").unwrap_or_default();
            let escapes = name.contains("..") || name.starts_with('/');
            if name == "readme.txt" {
                (200, r#"{"content": "hello"}"#.into())
            } else if vulnerable && escapes && name.ends_with("etc/passwd") {
                (
                    200,
                    serde_json::json!({"content": "root:x:0:0:root:/root:/bin/bash\n"}).to_string(),
                )
            } else {
                (404, format!(r#"{{"error": "no such file: {name}"}}"#))
            }
        }
    }

    #[tokio::test]
    async fn an_unconfined_file_read_is_found_and_a_confined_one_is_not() {
        let twins = testing::twins(&META, files, "GET /api/files?name=readme.txt").await;
        assert_eq!(twins.finding.evidence.len(), 3);
        assert_eq!(twins.sent.1, 1 + 5, "the fixed twin");
    }
}
