//! The output directory of a fleet scan (`--out-dir`), shared by every
//! shard: `<api>.json` is the API's complete report, `<api>.failed.json`
//! the record of why it could not be scanned.
//!
//! Every file is written to a hidden temporary file in the same directory,
//! flushed to disk, then renamed over its final name: a rename within a
//! directory is atomic, so a shard killed at any moment (SIGKILL, an
//! evicted pod, a full disk) leaves either the whole report or none under
//! the report's name — never a half report that would look complete to
//! `--resume` or to the merge. Temporary files start with `.` and end in
//! `.tmp`; nothing reads them, and the next run of the same target
//! removes its leftovers.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files::FileError;
use crate::report::{self, Report};

pub const FAILURE_SCHEMA: &str = "rampart.fleet-failure/1";
const REPORT_SUFFIX: &str = ".json";
const FAILURE_SUFFIX: &str = ".failed.json";

/// Why a target could not be scanned (`<api>.failed.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub schema: String,
    pub api: String,
    pub target: String,
    pub error: String,
    pub failed_at: String,
    pub duration_ms: u64,
    pub requests_sent: u64,
}

/// What a directory holds for one API.
#[derive(Debug)]
pub enum Found {
    Report { path: PathBuf },
    Failure { path: PathBuf },
}

/// The output directory.
#[derive(Debug, Clone)]
pub struct OutDir {
    dir: PathBuf,
}

impl OutDir {
    /// Opens (creating it when needed) the directory and proves it can be
    /// written, before any target is scanned.
    pub fn open(dir: &Path) -> Result<OutDir, FileError> {
        let fail = |error: String| FileError::write("output directory", dir, error);
        fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        let probe = dir.join(format!(".rampart-write-test-{}.tmp", std::process::id()));
        File::create(&probe).map_err(|e| fail(e.to_string()))?;
        let _ = fs::remove_file(&probe);
        Ok(OutDir {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn report_path(&self, api: &str) -> PathBuf {
        self.dir.join(format!("{api}{REPORT_SUFFIX}"))
    }

    pub fn failure_path(&self, api: &str) -> PathBuf {
        self.dir.join(format!("{api}{FAILURE_SUFFIX}"))
    }

    /// The complete report of `api` for `target`, when there is one: it
    /// parses as a report and is of that very target (a report left by
    /// another fleet file under the same name is not this target's).
    pub fn complete_report(&self, api: &str, target: &str) -> Option<Report> {
        let text = fs::read_to_string(self.report_path(api)).ok()?;
        let report = report::json::parse(&text).ok()?;
        (report.target == target).then_some(report)
    }

    /// Writes the report of `api` (already rendered and redacted) and
    /// removes an earlier failure record of it.
    pub fn write_report(&self, api: &str, json: &str) -> Result<PathBuf, FileError> {
        let path = self.report_path(api);
        write_atomically(&path, json.as_bytes())?;
        let _ = fs::remove_file(self.failure_path(api));
        Ok(path)
    }

    /// Records why `api` could not be scanned, and removes an earlier
    /// report of it: the merge must not show last week's report as
    /// tonight's.
    pub fn write_failure(&self, record: &FailureRecord) -> Result<PathBuf, FileError> {
        let path = self.failure_path(&record.api);
        let mut text = serde_json::to_string_pretty(record).unwrap_or_default();
        text.push('\n');
        write_atomically(&path, text.as_bytes())?;
        let _ = fs::remove_file(self.report_path(&record.api));
        Ok(path)
    }

    /// Removes the temporary files an interrupted run left for `api`
    /// (only that API's: other shards may be writing theirs right now).
    pub fn remove_leftovers(&self, api: &str) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefixes = [
            format!(".{api}{REPORT_SUFFIX}."),
            format!(".{api}{FAILURE_SUFFIX}."),
        ];
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".tmp") && prefixes.iter().any(|p| name.starts_with(p)) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Every API a directory holds a report or a failure record of, by name
/// (temporary and unrelated files left out), sorted by name.
pub fn list(dir: &Path) -> Result<Vec<(String, Found)>, FileError> {
    let entries = fs::read_dir(dir).map_err(|e| FileError::read("output directory", dir, e))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_file() {
            continue;
        }
        if let Some(api) = name.strip_suffix(FAILURE_SUFFIX) {
            found.push((api.to_string(), Found::Failure { path: entry.path() }));
        } else if let Some(api) = name.strip_suffix(REPORT_SUFFIX) {
            found.push((api.to_string(), Found::Report { path: entry.path() }));
        }
    }
    found.retain(|(api, _)| super::targets::check_name(api).is_ok());
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and
/// renames it to `path`; the directory entry is flushed too where the
/// system allows, so the rename survives a crash of the machine.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{file_name}.{}.{:016x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(FileError::write("file", path, error));
    }
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn reports_and_failures_replace_each_other_whole() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let out = OutDir::open(&dir.path().join("night")).expect("created");
        let report = sample_report();
        let json = report::json::render(&report);
        assert!(out.complete_report("orders", &report.target).is_none());
        let path = out.write_report("orders", &json).expect("written");
        assert_eq!(fs::read_to_string(&path).expect("read"), json);
        assert!(out.complete_report("orders", &report.target).is_some());
        // Another target under the same name is not complete.
        assert!(out.complete_report("orders", "http://elsewhere/").is_none());

        let record = FailureRecord {
            schema: FAILURE_SCHEMA.into(),
            api: "orders".into(),
            target: report.target.clone(),
            error: "cannot reach".into(),
            failed_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: 3,
            requests_sent: 1,
        };
        out.write_failure(&record).expect("written");
        assert!(!out.report_path("orders").exists());
        let listed = list(out.path()).expect("listed");
        assert_eq!(listed.len(), 1);
        assert!(matches!(listed[0].1, Found::Failure { .. }));
        out.write_report("orders", &json).expect("written");
        assert!(!out.failure_path("orders").exists());
        // Nothing temporary is left behind.
        let names: Vec<String> = fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["orders.json".to_string()]);
    }

    #[test]
    fn a_half_written_file_is_never_a_report() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let out = OutDir::open(dir.path()).expect("opened");
        let report = sample_report();
        let json = report::json::render(&report);
        // What a kill during the write leaves: a temporary file.
        let temp = dir.path().join(format!(".orders.json.{}.00ff.tmp", 4242));
        fs::write(&temp, &json[..json.len() / 2]).expect("written");
        // And a truncated file under the final name (written by something
        // else than Rampart) is not complete either.
        fs::write(out.report_path("users"), &json[..json.len() / 2]).expect("written");
        assert!(out.complete_report("users", &report.target).is_none());
        let listed = list(dir.path()).expect("listed");
        assert_eq!(
            listed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            vec!["users"]
        );
        out.remove_leftovers("users");
        assert!(temp.exists(), "another API's leftovers stay");
        out.remove_leftovers("orders");
        assert!(!temp.exists());
    }

    #[test]
    fn an_unwritable_directory_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("a-file");
        fs::write(&file, "x").expect("written");
        assert!(OutDir::open(&file.join("sub")).is_err());
    }
}
