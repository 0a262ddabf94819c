//! What a user chose for one scan, before anything is loaded: the target,
//! the spec, identities (given inline and in an identity file), headers,
//! bounds, the checks and paths to scan. The command line and the project
//! file fill it for a single scan; in a fleet (`--targets`) each target's
//! entry overrides it for that target. [`ScanSettings::options`] loads the
//! identity file, checks every value and builds the [`ScanOptions`], so a
//! single scan and every target of a fleet are prepared the same way.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;
use url::Url;

use crate::checks::injection;
use crate::discover::import::Import;
use crate::engine::PaceMode;
use crate::identity::file::IdentityFileError;
use crate::identity::{identities_from_pairs, parse_header, IdentityError};
use crate::scan::ScanOptions;

#[derive(Debug, Error)]
pub enum SettingsError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    IdentityFile(#[from] IdentityFileError),
    #[error("--header must look like 'Name: value'")]
    Header,
    #[error("{0}")]
    Bound(&'static str),
    #[error("invalid base URL '{raw}': {error}")]
    Url { raw: String, error: String },
    #[error("base URL must be an http:// or https:// URL with a host, got '{0}'")]
    NotHttp(String),
    #[error("--oob-url must be an http:// or https:// URL with a host, got '{0}'")]
    Collaborator(String),
    #[error("cannot read the wordlist {path}: {error}")]
    Wordlist { path: String, error: String },
}

/// The values of one scan that the project file, a fleet target's entry
/// and the command line may each set, in one shape: each layer is one of
/// these, put over the one below it with [`Overrides::over`] (the command
/// line over `rampart.toml`, a target's entry over both). Unset is `None`;
/// an empty text or list (`--spec ''`, `checks = []`) takes the value
/// below away.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Overrides {
    /// An OpenAPI/Swagger file or URL.
    pub spec: Option<String>,
    pub identity_file: Option<PathBuf>,
    /// Headers sent with every request; each layer adds its own.
    #[serde(default)]
    pub headers: Vec<String>,
    /// The ceiling of an adaptive pace in requests per second; 0 is no
    /// pace at all.
    pub rate: Option<f64>,
    pub concurrency: Option<u16>,
    /// Seconds per request.
    pub timeout: Option<f64>,
    pub max_requests: Option<u64>,
    pub checks: Option<Vec<String>>,
    pub skip_checks: Option<Vec<String>>,
    pub include_paths: Option<Vec<String>>,
    pub exclude_paths: Option<Vec<String>>,
    /// The remediation variant, instead of fingerprinting.
    pub stack: Option<String>,
    /// State-changing probes are allowed.
    pub active: Option<bool>,
    /// More candidate token secrets.
    pub wordlist: Option<PathBuf>,
    /// Numbers of up to this many digits tried as token secrets.
    pub crack_digits: Option<u8>,
}

impl Overrides {
    /// Puts `top` over these values: what it sets wins, its headers are
    /// added after these.
    pub fn over(&mut self, top: &Overrides) {
        // Every field but the headers, which add up: what `top` sets wins.
        macro_rules! keep {
            ($($field:ident),*) => {$(
                if top.$field.is_some() {
                    self.$field.clone_from(&top.$field);
                }
            )*};
        }
        keep!(
            spec,
            identity_file,
            rate,
            concurrency,
            timeout,
            max_requests,
            checks,
            skip_checks,
            include_paths,
            exclude_paths,
            stack,
            active,
            wordlist,
            crack_digits
        );
        self.headers.extend(top.headers.iter().cloned());
    }

    /// These values as read from the configuration file `file`: its file
    /// names are relative to the file's directory (a spec URL stays as it
    /// is), and a value only a file can get wrong is checked.
    pub fn read_beside(mut self, file: &Path) -> Result<Overrides, String> {
        if let Some(digits) = self.crack_digits {
            if digits > crate::tokens::crack::MAX_DIGITS {
                return Err(format!(
                    "crack_digits must be between 0 and {}",
                    crate::tokens::crack::MAX_DIGITS
                ));
            }
        }
        let relative = |name: &mut Option<PathBuf>| {
            if let Some(name) = name.as_mut().filter(|n| !n.as_os_str().is_empty()) {
                *name = beside(file, &name.to_string_lossy());
            }
        };
        relative(&mut self.identity_file);
        relative(&mut self.wordlist);
        if let Some(spec) = self.spec.as_mut() {
            if !spec.is_empty() && !spec.contains("://") {
                *spec = beside(file, spec).display().to_string();
            }
        }
        Ok(self)
    }
}

/// What was chosen, unless an empty value took it away.
fn given<T: AsRef<OsStr> + Clone>(value: &Option<T>) -> Option<T> {
    value.clone().filter(|v| !v.as_ref().is_empty())
}

fn chosen_list(value: &Option<Vec<String>>) -> Vec<String> {
    let list = value.as_deref().unwrap_or_default();
    list.iter().filter(|v| !v.is_empty()).cloned().collect()
}

/// The bounds of one scan (`--rate`, `--concurrency`, `--timeout`,
/// `--max-requests`, `--max-body-kib`), defaults filled in.
#[derive(Debug, Clone, PartialEq)]
struct Bounds {
    rate: Option<f64>,
    concurrency: u16,
    timeout: f64,
    max_requests: u64,
    max_body_kib: usize,
    max_duration: Option<f64>,
}

impl Bounds {
    fn check(&self) -> Result<(), SettingsError> {
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= 3600.0) {
            return Err(SettingsError::Bound(
                "--timeout must be a number of seconds between 0 and 3600",
            ));
        }
        if self
            .rate
            .is_some_and(|rate| !(rate.is_finite() && rate >= 0.0))
        {
            return Err(SettingsError::Bound(
                "--rate must be a non-negative number of requests per second",
            ));
        }
        if self
            .max_duration
            .is_some_and(|s| !(s.is_finite() && s > 0.0 && s <= 31_536_000.0))
        {
            return Err(SettingsError::Bound(
                "--max-duration must be a positive number of seconds",
            ));
        }
        if self.concurrency == 0 || self.concurrency > 256 {
            return Err(SettingsError::Bound(
                "--concurrency must be between 1 and 256",
            ));
        }
        if self.max_body_kib == 0 || self.max_body_kib > 1024 * 1024 {
            return Err(SettingsError::Bound(
                "--max-body-kib must be between 1 and 1048576",
            ));
        }
        Ok(())
    }
}

/// One scan's settings, as given.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    pub target: Url,
    /// What the layers chose (see [`Overrides`]).
    pub chosen: Overrides,
    /// `--identity NAME 'Header: value'` pairs.
    pub identities: Vec<(String, String)>,
    /// Largest response body read, in KiB.
    pub max_body_kib: usize,
    /// Seconds after which the scan stops and reports what it found.
    pub max_duration: Option<f64>,
    pub login_burst: bool,
    pub insecure: bool,
    pub http_port: u16,
    /// `--har`, `--postman`, `--endpoints`.
    pub imports: Vec<Import>,
    /// The injection family's budgets, collaborator and writes.
    pub injection: injection::Settings,
}

impl ScanSettings {
    /// Settings for `target` with every default of the command line.
    pub fn new(target: Url) -> Self {
        ScanSettings {
            target,
            chosen: Overrides::default(),
            identities: Vec::new(),
            max_body_kib: 1024,
            max_duration: None,
            login_burst: false,
            insecure: false,
            http_port: 80,
            imports: Vec::new(),
            injection: injection::Settings::default(),
        }
    }

    fn bounds(&self) -> Bounds {
        let chosen = &self.chosen;
        Bounds {
            rate: chosen.rate,
            concurrency: chosen.concurrency.unwrap_or(8),
            timeout: chosen.timeout.unwrap_or(10.0),
            max_requests: chosen.max_requests.unwrap_or(5000),
            max_body_kib: self.max_body_kib,
            max_duration: self.max_duration,
        }
    }

    /// Loads the identity file (its `env:VAR` values read with `env`),
    /// checks every value and builds the options of the scan.
    pub fn options(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ScanOptions, SettingsError> {
        let chosen = &self.chosen;
        let mut identities = identities_from_pairs(
            self.identities
                .iter()
                .map(|(name, header)| (name.as_str(), header.as_str())),
        )?;
        let mut logins = Vec::new();
        let mut signers = Vec::new();
        let mut roles = Vec::new();
        if let Some(path) = given(&chosen.identity_file) {
            for entry in crate::identity::file::load(&path, env)? {
                match identities
                    .iter_mut()
                    .find(|i| i.name == entry.identity.name)
                {
                    Some(existing) => existing.headers.extend(entry.identity.headers),
                    None => identities.push(entry.identity.clone()),
                }
                if let Some(role) = entry.role {
                    roles.push((entry.identity.name.clone(), role));
                }
                if let Some(recipe) = entry.signing {
                    signers.push((entry.identity.name.clone(), recipe));
                }
                if let Some(login) = entry.login {
                    logins.push((entry.identity.name, login));
                }
            }
        }
        let headers = chosen
            .headers
            .iter()
            .map(|raw| parse_header(raw).ok_or(SettingsError::Header))
            .collect::<Result<Vec<_>, _>>()?;
        let bounds = self.bounds();
        bounds.check()?;
        if let Some(url) = &self.injection.oob_url {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(SettingsError::Collaborator(url.to_string()));
            }
        }
        let mut options = ScanOptions::new(self.target.clone());
        let engine = &mut options.engine;
        engine.identities = identities;
        engine.logins = logins;
        engine.signers = signers;
        engine.roles = roles;
        engine.default_headers = headers;
        // `--rate N` is the ceiling of an adaptive pace; `--rate 0` is no
        // pace.
        match bounds.rate {
            Some(0.0) => {
                engine.pacing = PaceMode::Steady;
                engine.rate_per_second = None;
            }
            rate => {
                engine.pacing = PaceMode::Adaptive;
                engine.rate_per_second = rate;
            }
        }
        engine.concurrency = usize::from(bounds.concurrency);
        engine.timeout = Duration::from_secs_f64(bounds.timeout);
        engine.max_requests = Some(bounds.max_requests);
        engine.body_cap = bounds.max_body_kib * 1024;
        engine.accept_invalid_certs = self.insecure;
        engine.plain_http_port = self.http_port;
        options.spec = given(&chosen.spec);
        options.include_checks = chosen_list(&chosen.checks);
        options.skip_checks = chosen_list(&chosen.skip_checks);
        options.include_paths = chosen_list(&chosen.include_paths);
        options.exclude_paths = chosen_list(&chosen.exclude_paths);
        options.active = chosen.active.unwrap_or(false);
        options.login_burst = self.login_burst;
        options.stack = given(&chosen.stack);
        if let Some(path) = given(&chosen.wordlist) {
            let text = std::fs::read(&path).map_err(|e| SettingsError::Wordlist {
                path: path.display().to_string(),
                error: e.to_string(),
            })?;
            options.crack.words = crate::tokens::crack::read_wordlist(&text);
        }
        options.crack.digits = chosen.crack_digits;
        options.max_duration = bounds.max_duration.map(Duration::from_secs_f64);
        options.imports = self.imports.clone();
        options.injection = self.injection.clone();
        Ok(options)
    }
}

/// Parses a base URL: http or https, with a host.
pub fn parse_target(raw: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(raw).map_err(|e| SettingsError::Url {
        raw: raw.to_string(),
        error: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SettingsError::NotHttp(raw.to_string()));
    }
    Ok(url)
}

/// A file name from a configuration file: relative to that file's
/// directory, unless absolute.
pub fn beside(file: &Path, name: &str) -> PathBuf {
    let name = Path::new(name);
    if name.is_absolute() {
        name.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new("")).join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn settings_become_options_with_every_value_checked() {
        let mut settings = ScanSettings::new(parse_target("http://127.0.0.1:9/").unwrap());
        settings.identities = vec![("alice".into(), "X-API-Key: a".into())];
        settings.chosen.headers = vec!["X-Tenant: acme".into()];
        settings.chosen.rate = Some(0.0);
        settings.chosen.checks = Some(vec!["exposure.*".into()]);
        settings.imports = vec![Import {
            kind: crate::discover::import::ImportKind::Har,
            path: PathBuf::from("session.har"),
        }];
        settings.injection.writes = true;
        let options = settings.options(&no_env).expect("valid");
        assert_eq!(options.engine.identities[0].name, "alice");
        assert_eq!(options.engine.rate_per_second, None);
        assert_eq!(
            options.engine.default_headers,
            vec![("X-Tenant".to_string(), "acme".to_string())]
        );
        assert_eq!(options.include_checks, vec!["exposure.*"]);
        assert_eq!(options.engine.concurrency, 8);
        assert_eq!(options.imports, settings.imports);
        assert!(options.injection.writes);

        let mut bad = settings.clone();
        bad.chosen.timeout = Some(0.0);
        let error = bad.options(&no_env).err().expect("refused").to_string();
        assert!(error.contains("--timeout"), "{error}");
        let mut bad = settings.clone();
        bad.chosen.headers = vec!["no colon".into()];
        assert!(matches!(bad.options(&no_env), Err(SettingsError::Header)));
        let mut bad = settings.clone();
        bad.injection.oob_url = Some(Url::parse("ftp://collab.example/").unwrap());
        assert!(matches!(
            bad.options(&no_env),
            Err(SettingsError::Collaborator(_))
        ));
        let mut bad = settings;
        bad.chosen.identity_file = Some(PathBuf::from("/nonexistent/ids.toml"));
        assert!(matches!(
            bad.options(&no_env),
            Err(SettingsError::IdentityFile(_))
        ));
    }

    #[test]
    fn a_layer_sets_what_it_names_and_an_empty_value_takes_one_away() {
        let mut chosen = Overrides {
            spec: Some("openapi.yaml".into()),
            headers: vec!["X-Run: nightly".into()],
            checks: Some(vec!["cache.*".into()]),
            concurrency: Some(3),
            ..Overrides::default()
        };
        chosen.over(&Overrides {
            spec: Some(String::new()),
            headers: vec!["X-Tenant: acme".into()],
            skip_checks: Some(vec!["cache.client-class".into()]),
            rate: Some(20.0),
            ..Overrides::default()
        });
        assert_eq!(chosen.concurrency, Some(3));
        assert_eq!(chosen.rate, Some(20.0));
        assert_eq!(chosen.headers, vec!["X-Run: nightly", "X-Tenant: acme"]);
        let mut settings = ScanSettings::new(parse_target("http://127.0.0.1:9/").unwrap());
        settings.chosen = chosen;
        settings.chosen.over(&Overrides {
            checks: Some(vec![String::new()]),
            ..Overrides::default()
        });
        let options = settings.options(&no_env).expect("valid");
        assert_eq!(options.spec, None);
        assert!(options.include_checks.is_empty());
        assert_eq!(options.skip_checks, vec!["cache.client-class"]);

        let read = Overrides {
            spec: Some("api/openapi.yaml".into()),
            wordlist: Some(PathBuf::from("words.txt")),
            identity_file: Some(PathBuf::from("/abs/ids.toml")),
            ..Overrides::default()
        }
        .read_beside(Path::new("/etc/rampart/fleet.toml"))
        .expect("valid");
        assert_eq!(read.spec.as_deref(), Some("/etc/rampart/api/openapi.yaml"));
        assert_eq!(read.wordlist, Some(PathBuf::from("/etc/rampart/words.txt")));
        assert_eq!(read.identity_file, Some(PathBuf::from("/abs/ids.toml")));
        let url = Overrides {
            spec: Some("http://127.0.0.1:8080/openapi.json".into()),
            ..Overrides::default()
        };
        assert_eq!(url.clone().read_beside(Path::new("/x/f.toml")), Ok(url));
        let digits = Overrides {
            crack_digits: Some(9),
            ..Overrides::default()
        };
        assert!(digits.read_beside(Path::new("f.toml")).is_err());
    }

    #[test]
    fn only_http_urls_with_a_host_are_targets() {
        assert!(parse_target("https://api.example/v1").is_ok());
        assert!(matches!(
            parse_target("ftp://x"),
            Err(SettingsError::NotHttp(_))
        ));
        assert!(matches!(
            parse_target("not a url"),
            Err(SettingsError::Url { .. })
        ));
        assert_eq!(
            beside(Path::new("/etc/rampart/fleet.toml"), "ids/a.toml"),
            PathBuf::from("/etc/rampart/ids/a.toml")
        );
        assert_eq!(
            beside(Path::new("/etc/rampart/fleet.toml"), "/abs.toml"),
            PathBuf::from("/abs.toml")
        );
    }
}
