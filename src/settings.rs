//! What a user chose for one scan, before anything is loaded: the target,
//! the spec, identities (given inline and in an identity file), headers,
//! bounds, the checks and paths to scan. The command line and the project
//! file fill it for a single scan; in a fleet (`--targets`) each target's
//! entry overrides it for that target. [`ScanSettings::options`] loads the
//! identity file, checks every value and builds the [`ScanOptions`], so a
//! single scan and every target of a fleet are prepared the same way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use url::Url;

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
    #[error("cannot read the wordlist {path}: {error}")]
    Wordlist { path: String, error: String },
}

/// The bounds of one scan (`--rate`, `--concurrency`, `--timeout`,
/// `--max-requests`, `--max-body-kib`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// The ceiling of an adaptive pace in requests per second (`None`: no
    /// ceiling); 0 is no pace at all.
    pub rate: Option<f64>,
    pub concurrency: u16,
    /// Seconds per request.
    pub timeout: f64,
    pub max_requests: u64,
    pub max_body_kib: usize,
    /// Seconds after which the scan stops and reports what it found.
    pub max_duration: Option<f64>,
}

impl Default for Bounds {
    /// The command line's defaults.
    fn default() -> Self {
        Bounds {
            rate: None,
            concurrency: 8,
            timeout: 10.0,
            max_requests: 5000,
            max_body_kib: 1024,
            max_duration: None,
        }
    }
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
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSettings {
    pub target: Url,
    pub spec: Option<String>,
    /// `--identity NAME 'Header: value'` pairs.
    pub identities: Vec<(String, String)>,
    pub identity_file: Option<PathBuf>,
    /// `--header 'Name: value'`, sent with every request.
    pub headers: Vec<String>,
    pub bounds: Bounds,
    pub include_checks: Vec<String>,
    pub skip_checks: Vec<String>,
    pub include_paths: Vec<String>,
    pub exclude_paths: Vec<String>,
    pub active: bool,
    pub login_burst: bool,
    pub stack: Option<String>,
    pub insecure: bool,
    pub http_port: u16,
    /// More candidate token secrets (`--wordlist`).
    pub wordlist: Option<PathBuf>,
    /// Numbers of up to this many digits tried as token secrets.
    pub crack_digits: Option<u8>,
}

impl ScanSettings {
    /// Settings for `target` with every default of the command line.
    pub fn new(target: Url) -> Self {
        ScanSettings {
            target,
            spec: None,
            identities: Vec::new(),
            identity_file: None,
            headers: Vec::new(),
            bounds: Bounds::default(),
            include_checks: Vec::new(),
            skip_checks: Vec::new(),
            include_paths: Vec::new(),
            exclude_paths: Vec::new(),
            active: false,
            login_burst: false,
            stack: None,
            insecure: false,
            http_port: 80,
            wordlist: None,
            crack_digits: None,
        }
    }

    /// Loads the identity file (its `env:VAR` values read with `env`),
    /// checks every value and builds the options of the scan.
    pub fn options(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ScanOptions, SettingsError> {
        let mut identities = identities_from_pairs(
            self.identities
                .iter()
                .map(|(name, header)| (name.as_str(), header.as_str())),
        )?;
        let mut logins = Vec::new();
        let mut signers = Vec::new();
        let mut roles = Vec::new();
        if let Some(path) = &self.identity_file {
            for entry in crate::identity::file::load(path, env)? {
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
        let headers = self
            .headers
            .iter()
            .map(|raw| parse_header(raw).ok_or(SettingsError::Header))
            .collect::<Result<Vec<_>, _>>()?;
        let bounds = &self.bounds;
        bounds.check()?;
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
        options.spec = self.spec.clone();
        options.include_checks = self.include_checks.clone();
        options.skip_checks = self.skip_checks.clone();
        options.include_paths = self.include_paths.clone();
        options.exclude_paths = self.exclude_paths.clone();
        options.active = self.active;
        options.login_burst = self.login_burst;
        options.stack = self.stack.clone();
        if let Some(path) = &self.wordlist {
            let text = std::fs::read(path).map_err(|e| SettingsError::Wordlist {
                path: path.display().to_string(),
                error: e.to_string(),
            })?;
            options.crack.words = crate::tokens::crack::read_wordlist(&text);
        }
        options.crack.digits = self.crack_digits;
        options.max_duration = bounds.max_duration.map(Duration::from_secs_f64);
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
        settings.headers = vec!["X-Tenant: acme".into()];
        settings.bounds.rate = Some(0.0);
        settings.include_checks = vec!["exposure.*".into()];
        let options = settings.options(&no_env).expect("valid");
        assert_eq!(options.engine.identities[0].name, "alice");
        assert_eq!(options.engine.rate_per_second, None);
        assert_eq!(
            options.engine.default_headers,
            vec![("X-Tenant".to_string(), "acme".to_string())]
        );
        assert_eq!(options.include_checks, vec!["exposure.*"]);

        let mut bad = settings.clone();
        bad.bounds.timeout = 0.0;
        let error = bad.options(&no_env).err().expect("refused").to_string();
        assert!(error.contains("--timeout"), "{error}");
        let mut bad = settings.clone();
        bad.headers = vec!["no colon".into()];
        assert!(matches!(bad.options(&no_env), Err(SettingsError::Header)));
        let mut bad = settings;
        bad.identity_file = Some(PathBuf::from("/nonexistent/ids.toml"));
        assert!(matches!(
            bad.options(&no_env),
            Err(SettingsError::IdentityFile(_))
        ));
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
