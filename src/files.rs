//! The files Rampart reads and writes for the user (the project file, the
//! identity file, the targets file, a fleet's output directory): one error
//! shape that names the file and what it is, and one reader of TOML.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use thiserror::Error;

/// A file that could not be read or written, or does not say what its
/// reader expects. `what` names the kind of file ("identity file").
#[derive(Debug, Error)]
pub enum FileError {
    #[error("cannot read the {what} {path}: {error}")]
    Read {
        what: &'static str,
        path: String,
        error: String,
    },
    #[error("cannot write the {what} {path}: {error}")]
    Write {
        what: &'static str,
        path: String,
        error: String,
    },
    #[error("invalid {what} {path}: {error}")]
    Invalid {
        what: &'static str,
        path: String,
        error: String,
    },
    /// One entry of the file (a target, a suppression) is wrong.
    #[error("{path}: {entry}: {error}")]
    Entry {
        path: String,
        entry: String,
        error: String,
    },
}

impl FileError {
    pub fn read(what: &'static str, path: &Path, error: impl ToString) -> FileError {
        FileError::Read {
            what,
            path: path.display().to_string(),
            error: error.to_string(),
        }
    }

    pub fn write(what: &'static str, path: &Path, error: impl ToString) -> FileError {
        FileError::Write {
            what,
            path: path.display().to_string(),
            error: error.to_string(),
        }
    }

    pub fn invalid(what: &'static str, path: &Path, error: impl ToString) -> FileError {
        FileError::Invalid {
            what,
            path: path.display().to_string(),
            error: error.to_string(),
        }
    }

    /// `entry` (e.g. "target 'orders'") of the file at `path` is wrong.
    pub fn entry(path: &Path, entry: String, error: impl ToString) -> FileError {
        FileError::Entry {
            path: path.display().to_string(),
            entry,
            error: error.to_string(),
        }
    }
}

/// Reads the TOML file at `path` as a `T`.
pub fn read_toml<T: DeserializeOwned>(what: &'static str, path: &Path) -> Result<T, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::read(what, path, e))?;
    parse_toml(what, &text, path)
}

/// Parses `text`, read from `path`, as a `T`. The error keeps only the
/// parser's message: toml also quotes the offending line, which may hold
/// a secret.
pub fn parse_toml<T: DeserializeOwned>(
    what: &'static str,
    text: &str,
    path: &Path,
) -> Result<T, FileError> {
    toml::from_str(text).map_err(|e: toml::de::Error| FileError::invalid(what, path, e.message()))
}

/// Refuses the keys a reader does not know (kept aside by a
/// `#[serde(flatten)]` map: serde's `deny_unknown_fields` does not work
/// beside a flattened struct), naming the first.
pub fn refuse_unknown(unknown: &BTreeMap<String, toml::Value>) -> Result<(), String> {
    match unknown.keys().next() {
        Some(key) => Err(format!("unknown field `{key}`")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Shape {
        #[allow(dead_code)]
        name: String,
    }

    #[test]
    fn errors_name_the_file_and_never_quote_it() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let missing = dir.path().join("missing.toml");
        let error = read_toml::<Shape>("identity file", &missing)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cannot read the identity file "),
            "{error}"
        );
        assert!(error.contains("missing.toml"), "{error}");

        let path = dir.path().join("ids.toml");
        std::fs::write(&path, "name = \"a\"\npassword = \"hunter2\"").expect("written");
        let error = read_toml::<Shape>("identity file", &path)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("invalid identity file "), "{error}");
        assert!(error.contains("password"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        std::fs::write(&path, "name = \"a\"").expect("written");
        assert!(read_toml::<Shape>("identity file", &path).is_ok());
    }
}
