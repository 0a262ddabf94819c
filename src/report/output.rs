//! Where the reports of one scan go, decided and checked before the scan
//! sends its first request: a typo in a format name or an output path that
//! cannot be written is a usage error at once, not after a long scan.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::Format;
use crate::engine::Redactor;

/// One report to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    /// `None` is standard output.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum OutputError {
    #[error("unknown report format '{name}' in --output {given} (formats: {known})")]
    UnknownFormat {
        name: String,
        given: String,
        known: String,
    },
    #[error("--output {0} names no file")]
    NoFile(String),
    #[error("two reports would be written to {0}")]
    SamePath(String),
    #[error("cannot write a report to {path}: {reason}")]
    NotWritable { path: String, reason: String },
}

/// The reports asked for: `--format` on standard output unless a plain
/// `-o FILE` takes it there, plus every `-o FORMAT=FILE`. A prefix that
/// looks like a format name (letters only) must be one; anything else
/// before an `=` is part of a file name.
pub fn plan(default: Format, outputs: &[String]) -> Result<Vec<Output>, OutputError> {
    let mut plan = Vec::new();
    let mut default_to_file = false;
    for given in outputs {
        let (format, path) = match given.split_once('=') {
            Some((name, path)) if is_format_word(name) => {
                let format = <Format as clap::ValueEnum>::from_str(name, true).map_err(|_| {
                    OutputError::UnknownFormat {
                        name: name.to_string(),
                        given: given.clone(),
                        known: known_formats(),
                    }
                })?;
                (format, path)
            }
            _ => {
                default_to_file = true;
                (default, given.as_str())
            }
        };
        if path.is_empty() {
            return Err(OutputError::NoFile(given.clone()));
        }
        let path = PathBuf::from(path);
        if plan.iter().any(|o: &Output| o.path.as_ref() == Some(&path)) {
            return Err(OutputError::SamePath(path.display().to_string()));
        }
        plan.push(Output {
            format,
            path: Some(path),
        });
    }
    if !default_to_file {
        plan.insert(
            0,
            Output {
                format: default,
                path: None,
            },
        );
    }
    Ok(plan)
}

/// Whether standard output gets a report.
pub fn writes_stdout(plan: &[Output]) -> bool {
    plan.iter().any(|o| o.path.is_none())
}

fn is_format_word(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic())
}

fn known_formats() -> String {
    <Format as clap::ValueEnum>::value_variants()
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Proves that every file of the plan can be written, without changing
/// what is there: an existing file is opened for writing (not truncated),
/// a new one is created and removed again.
pub fn check_writable(plan: &[Output]) -> Result<(), OutputError> {
    for path in plan.iter().filter_map(|o| o.path.as_deref()) {
        writable(path).map_err(|reason| OutputError::NotWritable {
            path: path.display().to_string(),
            reason,
        })?;
    }
    Ok(())
}

fn writable(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err("it is a directory".into());
    }
    if path.exists() {
        return OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|e| e.to_string());
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!("no directory {}", parent.display()));
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    std::fs::remove_file(path).map_err(|e| e.to_string())
}

/// Passes a report through [`Redactor::redact_supplied`] as it is written,
/// whole lines at a time, so that no report is held whole to be redacted.
/// The secrets it replaces are the user's header values, which hold no
/// line break: none spans two lines, and line by line redacts the same as
/// all at once.
pub struct RedactLines<'a, W: Write> {
    inner: W,
    redactor: &'a Redactor,
    pending: Vec<u8>,
}

/// Text gathered before its complete lines are redacted and passed on.
const REDACT_CHUNK: usize = 64 * 1024;

impl<'a, W: Write> RedactLines<'a, W> {
    pub fn new(inner: W, redactor: &'a Redactor) -> Self {
        RedactLines {
            inner,
            redactor,
            pending: Vec::new(),
        }
    }

    /// Redacts and passes on `pending[..end]`.
    fn pass(&mut self, end: usize) -> io::Result<()> {
        let rest = self.pending.split_off(end);
        let lines = std::mem::replace(&mut self.pending, rest);
        // Cut after a line break, which is never inside a UTF-8 sequence.
        let text = String::from_utf8_lossy(&lines);
        self.inner
            .write_all(self.redactor.redact_supplied(&text).as_bytes())
    }

    /// Writes what is left and flushes; the writer it wrote to.
    pub fn finish(mut self) -> io::Result<W> {
        self.pass(self.pending.len())?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for RedactLines<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= REDACT_CHUNK {
            if let Some(last) = self.pending.iter().rposition(|b| *b == b'\n') {
                self.pass(last + 1)?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(outputs: &[&str]) -> Result<Vec<Output>, OutputError> {
        plan(
            Format::Text,
            &outputs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn formats_and_files_are_read_from_the_output_options() {
        let plan = plan_of(&["sarif=r.sarif", "md=pr.md"]).expect("valid");
        assert_eq!(plan.len(), 3);
        assert_eq!(
            plan[0],
            Output {
                format: Format::Text,
                path: None
            }
        );
        assert_eq!(plan[1].format, Format::Sarif);
        assert_eq!(plan[2].format, Format::Markdown);
        // A plain file takes the default format off standard output.
        let plan = plan_of(&["report.txt", "json=r.json"]).expect("valid");
        assert!(!writes_stdout(&plan));
        // An `=` inside a path is part of the path.
        let plan = plan_of(&["./a=b.txt"]).expect("valid");
        assert_eq!(plan[0].path.as_deref(), Some(Path::new("./a=b.txt")));
    }

    #[test]
    fn a_typo_in_a_format_or_a_repeated_path_is_refused() {
        let error = plan_of(&["sarrif=x"]).unwrap_err();
        assert!(
            error.to_string().contains("unknown report format 'sarrif'"),
            "{error}"
        );
        assert!(error.to_string().contains("sarif, junit, html, markdown"));
        assert_eq!(
            plan_of(&["json=a", "sarif=a"]).unwrap_err(),
            OutputError::SamePath("a".into())
        );
        assert_eq!(
            plan_of(&["json="]).unwrap_err(),
            OutputError::NoFile("json=".into())
        );
    }

    #[test]
    fn unwritable_places_are_found_without_touching_anything() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let existing = dir.path().join("old.json");
        std::fs::write(&existing, "keep me").expect("written");
        let fresh = dir.path().join("new.sarif");
        let ok = vec![
            Output {
                format: Format::Json,
                path: Some(existing.clone()),
            },
            Output {
                format: Format::Sarif,
                path: Some(fresh.clone()),
            },
        ];
        check_writable(&ok).expect("writable");
        assert_eq!(std::fs::read_to_string(&existing).expect("kept"), "keep me");
        assert!(!fresh.exists(), "the probe file is removed");
        for bad in [
            dir.path().to_path_buf(),
            dir.path().join("missing/dir/r.json"),
        ] {
            let plan = vec![Output {
                format: Format::Json,
                path: Some(bad),
            }];
            assert!(matches!(
                check_writable(&plan),
                Err(OutputError::NotWritable { .. })
            ));
        }
    }

    #[test]
    fn a_report_written_as_it_is_serialised_reads_as_the_one_rendered_whole() {
        let mut report = crate::report::tests::sample_report();
        let secret = "tok-3f9c2a1e8b7d";
        report.findings[0].head.description =
            format!("echoed {secret} back; {}", "x".repeat(70_000));
        let mut redactor = Redactor::default();
        redactor.add_secret(&format!("Bearer {secret}"), "<alice Authorization>");
        let whole = redactor
            .redact_supplied(&crate::report::render(&report, Format::Json, false))
            .into_owned();
        let mut streamed = RedactLines::new(Vec::new(), &redactor);
        crate::report::write(&report, Format::Json, false, &mut streamed).expect("written");
        let streamed = String::from_utf8(streamed.finish().expect("flushed")).expect("UTF-8");
        assert!(!streamed.contains(secret) && streamed.contains("[redacted]"));
        assert_eq!(streamed, whole);
    }
}
