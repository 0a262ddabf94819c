//! The project file, `rampart.toml`: what a team keeps between runs (the
//! target, the spec, the identities file, the paths and checks to scan, and
//! the suppressions it agreed on). It is read from the working directory,
//! or from `--config FILE`.
//!
//! The command line always wins, and can also take a value away: every
//! option the file can set has a command-line form, and an empty value on
//! the command line (`--spec ''`, `--checks ''`) resets the file's value
//! instead of adding to it; `--no-config` ignores the file altogether.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use thiserror::Error;

use crate::report::triage::Suppression;

/// The name looked for in the working directory.
pub const FILE_NAME: &str = "rampart.toml";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: String },
    #[error("{path}: {error}")]
    Parse { path: String, error: String },
    #[error("{path}: suppression of '{check}': {error}")]
    Suppression {
        path: String,
        check: String,
        error: String,
    },
}

/// A project file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    target: Option<String>,
    spec: Option<String>,
    identity_file: Option<String>,
    #[serde(default)]
    include_paths: Vec<String>,
    #[serde(default)]
    exclude_paths: Vec<String>,
    #[serde(default)]
    checks: Vec<String>,
    #[serde(default)]
    skip_checks: Vec<String>,
    wordlist: Option<String>,
    crack_digits: Option<u8>,
    #[serde(default, rename = "suppress")]
    suppressions: Vec<SuppressionShape>,
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
    /// Where it was read from.
    pub path: PathBuf,
    pub target: Option<String>,
    pub spec: Option<String>,
    pub identity_file: Option<PathBuf>,
    pub include_paths: Vec<String>,
    pub exclude_paths: Vec<String>,
    pub checks: Vec<String>,
    pub skip_checks: Vec<String>,
    /// More candidate token secrets (`--wordlist`).
    pub wordlist: Option<PathBuf>,
    /// Numbers of up to this many digits tried as token secrets
    /// (`--crack-digits`).
    pub crack_digits: Option<u8>,
    pub suppressions: Vec<Suppression>,
}

/// The project file to use: `--config FILE` (which must exist), else
/// `rampart.toml` in `dir` when there is one.
pub fn find(explicit: Option<&Path>, dir: &Path) -> Result<Option<ProjectFile>, ConfigError> {
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

pub fn load(path: &Path) -> Result<ProjectFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        error: e.to_string(),
    })?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<ProjectFile, ConfigError> {
    let shown = path.display().to_string();
    let shape: FileShape = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: shown.clone(),
        error: e.message().to_string(),
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let relative = |name: &str| -> PathBuf {
        let name = Path::new(name);
        if name.is_absolute() {
            name.to_path_buf()
        } else {
            base.join(name)
        }
    };
    if let Some(digits) = shape.crack_digits {
        if digits > crate::tokens::crack::MAX_DIGITS {
            return Err(ConfigError::Parse {
                path: shown,
                error: format!(
                    "crack_digits must be between 0 and {}",
                    crate::tokens::crack::MAX_DIGITS
                ),
            });
        }
    }
    let mut suppressions = Vec::new();
    for s in shape.suppressions {
        let error = |error: &str| ConfigError::Suppression {
            path: shown.clone(),
            check: s.check.clone(),
            error: error.to_string(),
        };
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
        path: path.to_path_buf(),
        target: shape.target,
        // A spec URL stays as it is; a file name is the file's neighbour.
        spec: shape.spec.map(|spec| {
            if spec.contains("://") {
                spec
            } else {
                relative(&spec).display().to_string()
            }
        }),
        identity_file: shape.identity_file.as_deref().map(relative),
        include_paths: shape.include_paths,
        exclude_paths: shape.exclude_paths,
        checks: shape.checks,
        skip_checks: shape.skip_checks,
        wordlist: shape.wordlist.as_deref().map(relative),
        crack_digits: shape.crack_digits,
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

/// A list from the command line over the file's, with the same rules:
/// `--checks ''` resets the file's list to nothing.
pub fn choose_list(cli: &[String], file: &[String]) -> Vec<String> {
    if cli.is_empty() {
        file.to_vec()
    } else {
        cli.iter().filter(|v| !v.is_empty()).cloned().collect()
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
        assert_eq!(file.spec.as_deref(), Some("/work/project/api/openapi.yaml"));
        assert_eq!(
            file.identity_file.as_deref(),
            Some(Path::new("/work/project/ids.toml"))
        );
        assert_eq!(file.checks, vec!["cache.*", "authz.*"]);
        assert_eq!(
            file.wordlist.as_deref(),
            Some(Path::new("/work/project/secrets.txt"))
        );
        assert_eq!(file.crack_digits, Some(6));
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
        let file = vec!["cache.*".to_string()];
        assert_eq!(choose_list(&[], &file), file);
        assert_eq!(choose_list(&["authz.*".into()], &file), vec!["authz.*"]);
        assert!(choose_list(&["".into()], &file).is_empty());
    }

    #[test]
    fn the_working_directory_file_is_optional_and_an_explicit_one_is_not() {
        let dir = tempfile::tempdir().expect("a temp dir");
        assert_eq!(find(None, dir.path()).expect("no file is fine"), None);
        assert!(find(Some(&dir.path().join("missing.toml")), dir.path()).is_err());
        std::fs::write(dir.path().join(FILE_NAME), "checks = [\"exposure.*\"]").expect("written");
        let found = find(None, dir.path()).expect("read").expect("found");
        assert_eq!(found.checks, vec!["exposure.*"]);
    }
}
