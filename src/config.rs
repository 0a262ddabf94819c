//! The project file, `rampart.toml`: what a team keeps between runs (the
//! target, the spec, the identities file, the paths and checks to scan, and
//! the suppressions it agreed on; and any other value a fleet target's
//! entry may set, see [`Overrides`]). It is read from the working directory,
//! or from `--config FILE`.
//!
//! The command line always wins, and can also take a value away: every
//! option the file can set has a command-line form, and an empty value on
//! the command line (`--spec ''`, `--checks ''`) resets the file's value
//! instead of adding to it; `--no-config` ignores the file altogether.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::files::{self, FileError};
use crate::report::triage::Suppression;
use crate::settings::Overrides;

/// The name looked for in the working directory.
pub const FILE_NAME: &str = "rampart.toml";

/// What a project file is called in messages.
const WHAT: &str = "project file";

/// A project file as written.
#[derive(Debug, Default, Deserialize)]
struct FileShape {
    target: Option<String>,
    #[serde(flatten)]
    chosen: Overrides,
    #[serde(default, rename = "suppress")]
    suppressions: Vec<SuppressionShape>,
    /// Whatever else the file says: a mistake, named in the error.
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuppressionShape {
    check: String,
    path: Option<String>,
    reason: String,
    until: Option<toml::Value>,
}

/// A project file, read and checked; relative file names in it are
/// relative to the file's own directory.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProjectFile {
    pub target: Option<String>,
    /// The scan's values it sets, under the command line's.
    pub chosen: Overrides,
    pub suppressions: Vec<Suppression>,
}

/// The project file to use: `--config FILE` (which must exist), else
/// `rampart.toml` in `dir` when there is one.
pub fn find(explicit: Option<&Path>, dir: &Path) -> Result<Option<ProjectFile>, FileError> {
    match explicit {
        Some(path) => load(path).map(Some),
        None => {
            let path = dir.join(FILE_NAME);
            if path.is_file() {
                load(&path).map(Some)
            } else {
                Ok(None)
            }
        }
    }
}

pub fn load(path: &Path) -> Result<ProjectFile, FileError> {
    checked(files::read_toml(WHAT, path)?, path)
}

pub fn parse(text: &str, path: &Path) -> Result<ProjectFile, FileError> {
    checked(files::parse_toml(WHAT, text, path)?, path)
}

fn checked(shape: FileShape, path: &Path) -> Result<ProjectFile, FileError> {
    let chosen = files::refuse_unknown(&shape.unknown)
        .and_then(|()| shape.chosen.read_beside(path))
        .map_err(|error| FileError::invalid(WHAT, path, error))?;
    let mut suppressions = Vec::new();
    for s in shape.suppressions {
        let error =
            |error: &str| FileError::entry(path, format!("suppression of '{}'", s.check), error);
        if s.reason.trim().is_empty() {
            return Err(error("a suppression needs a reason"));
        }
        let until = match &s.until {
            None => None,
            Some(value) => Some(
                date(value).ok_or_else(|| error("`until` must be a date such as 2027-01-31"))?,
            ),
        };
        suppressions.push(Suppression {
            check: s.check.clone(),
            path: s.path.clone(),
            reason: s.reason.clone(),
            until,
        });
    }
    Ok(ProjectFile {
        target: shape.target,
        chosen,
        suppressions,
    })
}

/// A TOML date (`until = 2027-01-31`) or a string holding one.
fn date(value: &toml::Value) -> Option<NaiveDate> {
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Datetime(datetime) => {
            let date = datetime.date?;
            if datetime.time.is_some() {
                return None;
            }
            format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
        }
        _ => return None,
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()
}

/// A single value from the command line over the file's: given and
/// non-empty wins, given and empty resets, absent keeps the file's.
pub fn choose(cli: Option<&str>, file: Option<&str>) -> Option<String> {
    match cli {
        Some("") => None,
        Some(value) => Some(value.to_string()),
        None => file.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
target = "http://127.0.0.1:8080"
spec = "api/openapi.yaml"
identity_file = "ids.toml"
include_paths = ["/api/*"]
exclude_paths = ["/api/admin/*"]
checks = ["cache.*", "authz.*"]
wordlist = "secrets.txt"
crack_digits = 6
rate = 20

[[suppress]]
check = "transport.plain-http"
reason = "TLS ends at the load balancer"

[[suppress]]
check = "exposure.pii"
path = "/api/test-users/*"
reason = "synthetic data"
until = 2027-01-31
"#;

    #[test]
    fn a_project_file_reads_with_paths_next_to_it() {
        let file = parse(FILE, Path::new("/work/project/rampart.toml")).expect("valid");
        assert_eq!(file.target.as_deref(), Some("http://127.0.0.1:8080"));
        let chosen = &file.chosen;
        assert_eq!(
            chosen.spec.as_deref(),
            Some("/work/project/api/openapi.yaml")
        );
        assert_eq!(
            chosen.identity_file.as_deref(),
            Some(Path::new("/work/project/ids.toml"))
        );
        assert_eq!(
            chosen.checks.as_deref(),
            Some(&["cache.*".to_string(), "authz.*".to_string()][..])
        );
        assert_eq!(
            chosen.wordlist.as_deref(),
            Some(Path::new("/work/project/secrets.txt"))
        );
        assert_eq!(chosen.crack_digits, Some(6));
        assert_eq!(chosen.rate, Some(20.0));
        assert_eq!(file.suppressions.len(), 2);
        assert_eq!(file.suppressions[0].until, None);
        assert_eq!(
            file.suppressions[1].until,
            NaiveDate::from_ymd_opt(2027, 1, 31)
        );
        assert_eq!(
            file.suppressions[1].path.as_deref(),
            Some("/api/test-users/*")
        );
    }

    #[test]
    fn mistakes_in_the_file_are_named() {
        let path = Path::new("rampart.toml");
        let typo = parse("tagret = \"http://x\"", path)
            .unwrap_err()
            .to_string();
        assert!(typo.contains("tagret"), "{typo}");
        let no_reason = parse("[[suppress]]\ncheck = \"a.b\"\nreason = \" \"", path)
            .unwrap_err()
            .to_string();
        assert!(no_reason.contains("needs a reason"), "{no_reason}");
        let bad_date = parse(
            "[[suppress]]\ncheck = \"a.b\"\nreason = \"r\"\nuntil = \"next week\"",
            path,
        )
        .unwrap_err()
        .to_string();
        assert!(bad_date.contains("must be a date"), "{bad_date}");
        let digits = parse("crack_digits = 9", path).unwrap_err().to_string();
        assert!(digits.contains("between 0 and 8"), "{digits}");
        let as_string = parse(
            "[[suppress]]\ncheck = \"a.b\"\nreason = \"r\"\nuntil = \"2027-02-03\"",
            path,
        )
        .expect("a date in a string");
        assert_eq!(
            as_string.suppressions[0].until,
            NaiveDate::from_ymd_opt(2027, 2, 3)
        );
    }

    #[test]
    fn the_command_line_overrides_and_can_reset_the_file() {
        assert_eq!(choose(None, Some("a")), Some("a".into()));
        assert_eq!(choose(Some("b"), Some("a")), Some("b".into()));
        assert_eq!(choose(Some(""), Some("a")), None);
    }

    #[test]
    fn the_working_directory_file_is_optional_and_an_explicit_one_is_not() {
        let dir = tempfile::tempdir().expect("a temp dir");
        assert_eq!(find(None, dir.path()).expect("no file is fine"), None);
        assert!(find(Some(&dir.path().join("missing.toml")), dir.path()).is_err());
        std::fs::write(dir.path().join(FILE_NAME), "checks = [\"exposure.*\"]").expect("written");
        let found = find(None, dir.path()).expect("read").expect("found");
        assert_eq!(found.chosen.checks, Some(vec!["exposure.*".to_string()]));
    }
}
