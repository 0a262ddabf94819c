//! Checks: one file per check, one folder per family.
//!
//! A check is *passive* (it judges every exchange the scan captures,
//! whoever sent it), an *endpoint* check (it plans its own probes for one
//! endpoint and sends them through the engine) or *target-wide* (once per
//! scan). Checks never print and never redact: they return
//! [`FindingDraft`]s and `report::finalize` does the rest.
//!
//! A family is its folder: its `mod.rs` lists its checks in a [`Family`],
//! every id starts with the folder's name, and [`FAMILIES`] — the one
//! registry — lists the families. Adding a check touches its own file, its
//! family's list, its knowledge file and its tests.

pub mod apikey;
pub mod authz;
pub mod cache;
pub mod config;
pub mod coverage;
pub mod exposure;
pub mod injection;
pub mod probe;
pub mod runner;
pub mod signing;
pub mod token;
pub mod transport;

use std::sync::Arc;

use async_trait::async_trait;

use crate::discover::Endpoint;
use crate::engine::Exchange;
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, Severity};

pub use coverage::{Outcome, Skip};
pub use probe::{ProbeContext, TargetContext};

/// How a check works, which decides when the scan runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Judges exchanges other parts of the scan made; sends nothing.
    Passive,
    /// Sends its own read-only probes.
    Active,
    /// Sends state-changing probes: runs only with `--active`.
    StateChanging,
    /// Sends read-only probes that may slow the target down (timing
    /// attacks that make it work hard): runs only with `--active`.
    Disruptive,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Passive => "passive",
            Mode::Active => "active",
            Mode::StateChanging => "state-changing",
            Mode::Disruptive => "disruptive",
        }
    }

    /// Runs only when the user passed `--active`.
    pub fn needs_active(self) -> bool {
        matches!(self, Mode::StateChanging | Mode::Disruptive)
    }
}

/// Which hook of a check the runner calls, and so what the check's
/// coverage counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunsOn {
    /// [`Check::inspect`]: every exchange the scan captures.
    Exchanges,
    /// [`Check::probe`]: every endpoint it may probe.
    Endpoints,
    /// [`Check::probe_target`] then [`Check::judge_target`]: once per scan.
    Target,
}

/// A check as the rest of Rampart knows it: its code and what `rampart
/// checks` lists and the report names. The registry, the runner and the
/// report hold checks as `&'static CheckMeta`.
pub struct CheckMeta {
    /// The check's code: the hook its kind calls for.
    pub check: &'static dyn Check,
    /// Stable id, `family.name`: the family is the check's folder. Also
    /// the knowledge-base key (`knowledge/<id>.toml`).
    pub id: &'static str,
    pub category: Category,
    /// The worst severity this check reports.
    pub severity: Severity,
    pub summary: &'static str,
    pub mode: Mode,
    /// The hook the runner calls.
    pub runs_on: RunsOn,
    /// Identities the check needs before it can run (two for cross-identity tests).
    pub min_identities: usize,
    /// What the scan must learn about the target before this check runs.
    pub needs: Needs,
}

impl std::fmt::Debug for CheckMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckMeta")
            .field("id", &self.id)
            .field("mode", &self.mode)
            .field("runs_on", &self.runs_on)
            .finish_non_exhaustive()
    }
}

impl CheckMeta {
    /// The family: the id's prefix, which is also the check's folder.
    pub fn family(&self) -> &'static str {
        self.id
            .split_once('.')
            .map_or(self.id, |(family, _)| family)
    }
}

/// What a check does. A check implements the hook its [`CheckMeta::runs_on`]
/// names; the others keep their defaults.
#[async_trait]
pub trait Check: Send + Sync {
    /// Passive checks ([`RunsOn::Exchanges`]): judge one captured exchange.
    /// A [`Skip`] says the exchange could not be judged (e.g. not JSON); an
    /// endpoint counts as probed when one of its exchanges was judged.
    fn inspect(&self, _exchange: &Arc<Exchange>) -> Outcome {
        Ok(Vec::new())
    }

    /// Target-wide checks that send nothing ([`RunsOn::Target`]): judge
    /// what the scan learned about the whole target — its root exchange and
    /// the facts. Run once per scan, after the endpoint checks.
    fn judge_target(&self, _root: &Arc<Exchange>, _facts: &TargetFacts) -> Outcome {
        Ok(Vec::new())
    }

    /// Target-wide checks that send their own probes ([`RunsOn::Target`]):
    /// run once per scan, after the endpoint checks.
    async fn probe_target(&self, _ctx: &TargetContext<'_>) -> Outcome {
        Ok(Vec::new())
    }

    /// Endpoint checks ([`RunsOn::Endpoints`]): probe one endpoint
    /// (read-only ones; all of them under `--active`), or say with a
    /// [`Skip`] why it could not.
    async fn probe(&self, _ctx: &ProbeContext<'_>, _endpoint: &Endpoint) -> Outcome {
        Ok(Vec::new())
    }

    /// Endpoint checks whose probes send failed logins (a burst, timing
    /// rounds). A well-defended API throttles every login from this client
    /// after a few of them, so the runner runs these after every other
    /// probe of the scan, target-wide ones included.
    fn spends_login_budget(&self) -> bool {
        false
    }
}

/// A family of checks: one folder under `checks/`.
pub struct Family {
    /// The family's module path (`module_path!()` in its `mod.rs`), which
    /// names its folder.
    pub module: &'static str,
    /// Its checks, in the order `rampart checks` lists them.
    pub checks: &'static [&'static CheckMeta],
}

impl Family {
    /// The folder's name, which every id of the family starts with.
    pub fn name(&self) -> &'static str {
        self.module.rsplit("::").next().unwrap_or(self.module)
    }
}

/// The one registry: every family, in the order `rampart checks` lists them.
pub static FAMILIES: &[&Family] = &[
    &cache::FAMILY,
    &authz::FAMILY,
    &signing::FAMILY,
    &apikey::FAMILY,
    &token::FAMILY,
    &transport::FAMILY,
    &exposure::FAMILY,
    &config::FAMILY,
    &injection::FAMILY,
];

/// Every check Rampart has, family by family.
pub fn all() -> impl Iterator<Item = &'static CheckMeta> {
    FAMILIES.iter().flat_map(|f| f.checks.iter().copied())
}

pub fn find(id: &str) -> Option<&'static CheckMeta> {
    all().find(|c| c.id == id)
}

/// Selects checks by `--checks` / `--skip-checks` globs (`*` matches any run).
pub fn select(include: &[String], exclude: &[String]) -> Vec<&'static CheckMeta> {
    all()
        .filter(|c| include.is_empty() || include.iter().any(|g| glob_match(g, c.id)))
        .filter(|c| !exclude.iter().any(|g| glob_match(g, c.id)))
        .collect()
}

/// `*` matches any sequence; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_start_with_their_family_folder() {
        let mut ids: Vec<&str> = all().map(|c| c.id).collect();
        for family in FAMILIES {
            assert!(!family.checks.is_empty(), "{} has no check", family.name());
            for check in family.checks {
                let meta = check;
                assert_eq!(
                    meta.family(),
                    family.name(),
                    "{} is filed under {}",
                    meta.id,
                    family.module
                );
                assert!(meta.id.len() > meta.family().len() + 1, "{}", meta.id);
                assert!(!meta.summary.is_empty(), "{}", meta.id);
            }
        }
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate check id");
    }

    #[test]
    fn checks_that_judge_exchanges_send_nothing() {
        for check in all() {
            let meta = check;
            if meta.runs_on == RunsOn::Exchanges {
                assert_eq!(meta.mode, Mode::Passive, "{}", meta.id);
            }
        }
    }

    #[test]
    fn every_family_folder_is_registered() {
        let folders: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/checks"))
                .expect("src/checks")
                .filter_map(Result::ok)
                .filter(|e| e.path().join("mod.rs").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
        for folder in &folders {
            assert!(
                FAMILIES.iter().any(|f| f.name() == folder),
                "family folder {folder} is not in FAMILIES"
            );
        }
        assert_eq!(folders.len(), FAMILIES.len());
    }

    /// The check ids in the README's table of families: every backticked
    /// `family.name` in the table that follows "Families it covers today".
    fn readme_check_ids() -> Vec<String> {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let table = readme
            .split_once("Families it covers today")
            .map(|(_, rest)| rest)
            .expect("README.md introduces its table of families");
        let rows = table
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'));
        let mut ids = Vec::new();
        for row in rows {
            let Some(checks) = row.split('|').nth(2) else {
                continue;
            };
            for quoted in checks.split('`').skip(1).step_by(2) {
                let is_id = quoted.split_once('.').is_some_and(|(family, name)| {
                    !family.is_empty()
                        && !name.is_empty()
                        && quoted
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '.' || c == '-')
                });
                if is_id {
                    ids.push(quoted.to_string());
                }
            }
        }
        ids
    }

    #[test]
    fn the_readme_table_lists_exactly_the_registered_checks() {
        let listed = readme_check_ids();
        assert!(
            listed.len() > FAMILIES.len(),
            "no check ids found in README.md"
        );
        for check in all() {
            let id = check.id;
            assert!(
                listed.iter().any(|l| l == id),
                "README.md's table of families misses {id}"
            );
        }
        for id in &listed {
            assert!(
                find(id).is_some(),
                "README.md lists {id}, which is not a registered check"
            );
        }
        let mut unique = listed.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), listed.len(), "README.md lists a check twice");
    }

    #[test]
    fn globs_select_and_skip() {
        assert!(glob_match("exposure.*", "exposure.pii"));
        assert!(glob_match("*.pii", "exposure.pii"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("cache.*", "exposure.pii"));
        assert!(glob_match("exposure.pii", "exposure.pii"));
        let only_pii = select(&["exposure.pii".into()], &[]);
        assert_eq!(only_pii.len(), 1);
        let no_exposure = select(&[], &["exposure.*".into()]);
        assert!(no_exposure.iter().all(|c| !c.id.starts_with("exposure.")));
    }
}
