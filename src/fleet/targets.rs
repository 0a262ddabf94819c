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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::files::{self, FileError};
use crate::settings::{self, Overrides, ScanSettings};

/// What a targets file is called in messages.
const WHAT: &str = "targets file";

/// A target's entry as written.
#[derive(Debug, Deserialize)]
struct TargetShape {
    name: String,
    url: String,
    #[serde(flatten)]
    chosen: Overrides,
    /// Whatever else the entry says: a mistake, named in the error.
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
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
    /// What this target sets over the command line and `rampart.toml`.
    pub chosen: Overrides,
}

impl FleetTarget {
    /// The settings of this target's scan: its own values over `base`
    /// (the command line over `rampart.toml`).
    pub fn settings(&self, base: &ScanSettings) -> ScanSettings {
        let mut settings = base.clone();
        settings.target = self.url.clone();
        settings.chosen.over(&self.chosen);
        settings
    }
}

/// The fleet: every target of the file, in the file's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    pub path: PathBuf,
    pub targets: Vec<FleetTarget>,
}

impl Fleet {
    pub fn load(path: &Path) -> Result<Fleet, FileError> {
        Fleet::checked(files::read_toml(WHAT, path)?, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Fleet, FileError> {
        Fleet::checked(files::parse_toml(WHAT, text, path)?, path)
    }

    fn checked(shape: FileShape, path: &Path) -> Result<Fleet, FileError> {
        if shape.targets.is_empty() {
            return Err(FileError::invalid(WHAT, path, "no [[target]]"));
        }
        // Names are file names in the output directory, which may be on a
        // file system that ignores case.
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut targets = Vec::with_capacity(shape.targets.len());
        for entry in shape.targets {
            let fail =
                |error: String| FileError::entry(path, format!("target '{}'", entry.name), error);
            check_name(&entry.name).map_err(|e| fail(e.to_string()))?;
            if let Some(first) = seen.insert(entry.name.to_ascii_lowercase(), entry.name.clone()) {
                return Err(fail(format!("the name is already used by '{first}'")));
            }
            let url = settings::parse_target(&entry.url).map_err(|e| fail(e.to_string()))?;
            let chosen = files::refuse_unknown(&entry.unknown)
                .and_then(|()| entry.chosen.read_beside(path))
                .map_err(fail)?;
            targets.push(FleetTarget {
                name: entry.name.clone(),
                url,
                chosen,
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
    use crate::discover::import::{Import, ImportKind};

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
            orders.chosen.spec.as_deref(),
            Some("/etc/rampart/specs/orders.yaml")
        );
        assert_eq!(
            orders.chosen.identity_file.as_deref(),
            Some(Path::new("/etc/rampart/ids/orders.toml"))
        );
        let billing = fleet.get("billing-v2").expect("billing");
        assert_eq!(
            billing.chosen.spec.as_deref(),
            Some("http://127.0.0.1:8080/openapi.json")
        );
    }

    #[test]
    fn a_target_overrides_what_it_names_and_inherits_the_rest() {
        let fleet = Fleet::parse(FILE, Path::new("fleet.toml")).expect("valid");
        let mut base = ScanSettings::new(Url::parse("http://unused.example").unwrap());
        base.chosen = Overrides {
            checks: Some(vec!["exposure.*".into()]),
            skip_checks: Some(vec!["exposure.pii".into()]),
            headers: vec!["X-Run: nightly".into()],
            concurrency: Some(3),
            identity_file: Some(PathBuf::from("default-ids.toml")),
            ..Overrides::default()
        };
        base.injection.writes = true;
        base.imports = vec![Import {
            kind: ImportKind::List,
            path: PathBuf::from("endpoints.txt"),
        }];
        let mut orders = fleet.get("orders").unwrap().settings(&base);
        assert_eq!(orders.target.as_str(), "https://orders.internal.example/");
        assert_eq!(
            orders.chosen.identity_file.take().as_deref(),
            Some(Path::new("ids/orders.toml"))
        );
        let options = orders.options(&|_| None).expect("valid");
        assert_eq!(options.engine.rate_per_second, Some(20.0));
        assert_eq!(options.engine.concurrency, 3);
        assert_eq!(options.include_checks, vec!["cache.*"]);
        assert_eq!(options.skip_checks, vec!["exposure.pii"]);
        assert_eq!(options.exclude_paths, vec!["/admin/*"]);
        assert_eq!(
            options.engine.default_headers,
            vec![
                ("X-Run".to_string(), "nightly".to_string()),
                ("X-Tenant".to_string(), "acme".to_string())
            ]
        );
        // What only the command line gives reaches every target's scan.
        assert!(options.injection.writes);
        assert_eq!(options.imports, base.imports);
        let billing = fleet.get("billing-v2").unwrap().settings(&base);
        assert_eq!(billing.chosen.checks, Some(vec!["exposure.*".to_string()]));
        assert_eq!(billing.chosen.rate, None);
        assert_eq!(
            billing.chosen.identity_file.as_deref(),
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
