//! The targets file (`rampart scan --targets fleet.toml`): one `[[target]]`
//! per API, each with a name, a base URL and, when it differs from what
//! the command line and `rampart.toml` say for every target, its own spec,
//! identity file, headers, bounds, checks and paths.
//!
//! ```toml
//! [[target]]
//! name = "orders"                         # stable: the shard key and the report's file name
//! url = "https://orders.internal.example"
//! spec = "specs/orders.yaml"              # relative to this file, or a URL
//! identity_file = "identities/orders.toml"
//! rate = 20                               # requests/s for this API alone
//! checks = ["cache.*", "authz.*"]
//! exclude_paths = ["/admin/*"]
//! ```
//!
//! Layering, per value: the target's own entry, else the command line,
//! else `rampart.toml`, else the built-in default. A list the target gives
//! replaces the inherited one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;
use url::Url;

use crate::settings::{self, ScanSettings};

#[derive(Debug, Error)]
pub enum TargetsError {
    #[error("cannot read the targets file {path}: {error}")]
    Read { path: String, error: String },
    #[error("{path}: {error}")]
    Parse { path: String, error: String },
    #[error("{path}: target '{name}': {error}")]
    Target {
        path: String,
        name: String,
        error: String,
    },
    #[error("{path}: no [[target]]")]
    Empty { path: String },
}

/// A target's entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetShape {
    name: String,
    url: String,
    spec: Option<String>,
    identity_file: Option<String>,
    #[serde(default)]
    headers: Vec<String>,
    rate: Option<f64>,
    concurrency: Option<u16>,
    timeout: Option<f64>,
    max_requests: Option<u64>,
    checks: Option<Vec<String>>,
    skip_checks: Option<Vec<String>>,
    include_paths: Option<Vec<String>>,
    exclude_paths: Option<Vec<String>>,
    stack: Option<String>,
    active: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default, rename = "target")]
    targets: Vec<TargetShape>,
}

/// One API of the fleet, read and checked (file names already relative to
/// the targets file's directory).
#[derive(Debug, Clone, PartialEq)]
pub struct FleetTarget {
    /// Unique in the fleet; letters, digits, `.`, `_` and `-`.
    pub name: String,
    pub url: Url,
    pub spec: Option<String>,
    pub identity_file: Option<PathBuf>,
    /// Sent with every request to this target, after the command line's.
    pub headers: Vec<String>,
    pub rate: Option<f64>,
    pub concurrency: Option<u16>,
    pub timeout: Option<f64>,
    pub max_requests: Option<u64>,
    pub checks: Option<Vec<String>>,
    pub skip_checks: Option<Vec<String>>,
    pub include_paths: Option<Vec<String>>,
    pub exclude_paths: Option<Vec<String>>,
    pub stack: Option<String>,
    pub active: Option<bool>,
}

impl FleetTarget {
    /// The settings of this target's scan: its own values over `base`
    /// (the command line over `rampart.toml`).
    pub fn settings(&self, base: &ScanSettings) -> ScanSettings {
        let mut s = base.clone();
        s.target = self.url.clone();
        if self.spec.is_some() {
            s.spec = self.spec.clone();
        }
        if self.identity_file.is_some() {
            s.identity_file = self.identity_file.clone();
        }
        s.headers.extend(self.headers.iter().cloned());
        let replace = |own: &Option<Vec<String>>, inherited: &mut Vec<String>| {
            if let Some(own) = own {
                *inherited = own.clone();
            }
        };
        replace(&self.checks, &mut s.include_checks);
        replace(&self.skip_checks, &mut s.skip_checks);
        replace(&self.include_paths, &mut s.include_paths);
        replace(&self.exclude_paths, &mut s.exclude_paths);
        if let Some(rate) = self.rate {
            s.bounds.rate = Some(rate);
        }
        if let Some(concurrency) = self.concurrency {
            s.bounds.concurrency = concurrency;
        }
        if let Some(timeout) = self.timeout {
            s.bounds.timeout = timeout;
        }
        if let Some(max_requests) = self.max_requests {
            s.bounds.max_requests = max_requests;
        }
        if self.stack.is_some() {
            s.stack = self.stack.clone();
        }
        if let Some(active) = self.active {
            s.active = active;
        }
        s
    }
}

/// The fleet: every target of the file, in the file's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    pub path: PathBuf,
    pub targets: Vec<FleetTarget>,
}

impl Fleet {
    pub fn load(path: &Path) -> Result<Fleet, TargetsError> {
        let text = std::fs::read_to_string(path).map_err(|e| TargetsError::Read {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        Fleet::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Fleet, TargetsError> {
        let shown = path.display().to_string();
        let shape: FileShape = toml::from_str(text).map_err(|e| TargetsError::Parse {
            path: shown.clone(),
            error: e.message().to_string(),
        })?;
        if shape.targets.is_empty() {
            return Err(TargetsError::Empty { path: shown });
        }
        // Names are file names in the output directory, which may be on a
        // file system that ignores case.
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut targets = Vec::with_capacity(shape.targets.len());
        for entry in shape.targets {
            let fail = |error: String| TargetsError::Target {
                path: shown.clone(),
                name: entry.name.clone(),
                error,
            };
            check_name(&entry.name).map_err(|e| fail(e.to_string()))?;
            if let Some(first) = seen.insert(entry.name.to_ascii_lowercase(), entry.name.clone()) {
                return Err(fail(format!("the name is already used by '{first}'")));
            }
            let url = settings::parse_target(&entry.url).map_err(|e| fail(e.to_string()))?;
            let spec = entry.spec.map(|spec| {
                if spec.contains("://") {
                    spec
                } else {
                    settings::beside(path, &spec).display().to_string()
                }
            });
            targets.push(FleetTarget {
                name: entry.name.clone(),
                url,
                spec,
                identity_file: entry
                    .identity_file
                    .as_deref()
                    .map(|f| settings::beside(path, f)),
                headers: entry.headers,
                rate: entry.rate,
                concurrency: entry.concurrency,
                timeout: entry.timeout,
                max_requests: entry.max_requests,
                checks: entry.checks,
                skip_checks: entry.skip_checks,
                include_paths: entry.include_paths,
                exclude_paths: entry.exclude_paths,
                stack: entry.stack,
                active: entry.active,
            });
        }
        Ok(Fleet {
            path: path.to_path_buf(),
            targets,
        })
    }

    pub fn get(&self, name: &str) -> Option<&FleetTarget> {
        self.targets.iter().find(|t| t.name == name)
    }
}

/// A name is a file name in every output directory: 1–128 ASCII letters,
/// digits, `.`, `_` or `-`, starting with a letter or digit.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(
            "a name must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
        );
    }
    // `<name>.failed.json` is the failure record of `<name>`.
    if name.ends_with(".failed") {
        return Err("a name must not end with '.failed'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[target]]
name = "orders"
url = "https://orders.internal.example"
spec = "specs/orders.yaml"
identity_file = "ids/orders.toml"
rate = 20
checks = ["cache.*"]
exclude_paths = ["/admin/*"]
headers = ["X-Tenant: acme"]

[[target]]
name = "billing-v2"
url = "http://127.0.0.1:8080"
spec = "http://127.0.0.1:8080/openapi.json"
"#;

    #[test]
    fn targets_read_with_files_beside_the_targets_file() {
        let fleet = Fleet::parse(FILE, Path::new("/etc/rampart/fleet.toml")).expect("valid");
        assert_eq!(fleet.targets.len(), 2);
        let orders = fleet.get("orders").expect("orders");
        assert_eq!(
            orders.spec.as_deref(),
            Some("/etc/rampart/specs/orders.yaml")
        );
        assert_eq!(
            orders.identity_file.as_deref(),
            Some(Path::new("/etc/rampart/ids/orders.toml"))
        );
        let billing = fleet.get("billing-v2").expect("billing");
        assert_eq!(
            billing.spec.as_deref(),
            Some("http://127.0.0.1:8080/openapi.json")
        );
    }

    #[test]
    fn a_target_overrides_what_it_names_and_inherits_the_rest() {
        let fleet = Fleet::parse(FILE, Path::new("fleet.toml")).expect("valid");
        let mut base = ScanSettings::new(Url::parse("http://unused.example").unwrap());
        base.include_checks = vec!["exposure.*".into()];
        base.skip_checks = vec!["exposure.pii".into()];
        base.headers = vec!["X-Run: nightly".into()];
        base.bounds.concurrency = 3;
        base.identity_file = Some(PathBuf::from("default-ids.toml"));
        let orders = fleet.get("orders").unwrap().settings(&base);
        assert_eq!(orders.target.as_str(), "https://orders.internal.example/");
        assert_eq!(orders.bounds.rate, Some(20.0));
        assert_eq!(orders.bounds.concurrency, 3);
        assert_eq!(orders.include_checks, vec!["cache.*"]);
        assert_eq!(orders.skip_checks, vec!["exposure.pii"]);
        assert_eq!(orders.exclude_paths, vec!["/admin/*"]);
        assert_eq!(orders.headers, vec!["X-Run: nightly", "X-Tenant: acme"]);
        let billing = fleet.get("billing-v2").unwrap().settings(&base);
        assert_eq!(billing.include_checks, vec!["exposure.*"]);
        assert_eq!(billing.bounds.rate, None);
        assert_eq!(
            billing.identity_file.as_deref(),
            Some(Path::new("default-ids.toml"))
        );
    }

    #[test]
    fn mistakes_in_the_targets_file_are_named() {
        let path = Path::new("fleet.toml");
        let error = |text: &str| Fleet::parse(text, path).unwrap_err().to_string();
        assert!(error("").contains("no [[target]]"));
        assert!(error("[[target]]\nname = \"a\"\nurl = \"http://x\"\nrat = 3").contains("rat"));
        let twice = "[[target]]\nname = \"Orders\"\nurl = \"http://a\"\n\
                     [[target]]\nname = \"orders\"\nurl = \"http://b\"";
        assert!(error(twice).contains("already used by 'Orders'"));
        let bad_url = "[[target]]\nname = \"a\"\nurl = \"ftp://x\"";
        assert!(error(bad_url).contains("target 'a'"));
        for name in ["", "../etc", ".hidden", "a/b", "x.failed", &"n".repeat(129)] {
            assert!(check_name(name).is_err(), "{name:?} accepted");
        }
        for name in ["orders", "billing-v2", "team_a.users", "0"] {
            assert!(check_name(name).is_ok(), "{name:?} refused");
        }
    }
}
