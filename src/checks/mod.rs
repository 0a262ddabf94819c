//! Checks: one file per check, each registered once in [`REGISTRY`].
//!
//! A check is either *passive* (it judges every exchange the scan captures,
//! whoever sent it) or *active* (it plans its own probes for an endpoint and
//! sends them through the engine). Checks never print and never redact: they
//! return [`FindingDraft`]s and the scan does the rest.

pub mod apikey;
pub mod authz;
pub mod cache;
pub mod exposure;
pub mod runner;
pub mod signing;
pub mod transport;

use std::sync::Arc;

use async_trait::async_trait;

use url::Url;

use crate::discover::Endpoint;
use crate::engine::redact::INVENTED_CREDENTIAL_PREFIX;
use crate::engine::{Caller, Engine, EngineError, Exchange, Probe};
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, FindingDraft, Severity};

/// How a check works, which decides when the scan runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Judges exchanges other parts of the scan made; sends nothing.
    Passive,
    /// Sends its own read-only probes.
    Active,
    /// Sends state-changing probes: runs only with `--active`.
    StateChanging,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Passive => "passive",
            Mode::Active => "active",
            Mode::StateChanging => "state-changing",
        }
    }
}

/// What `rampart checks` lists and what the report names.
#[derive(Debug)]
pub struct CheckMeta {
    /// Stable id, `family.name`; also the knowledge-base key.
    pub id: &'static str,
    pub family: &'static str,
    pub category: Category,
    /// The worst severity this check reports.
    pub severity: Severity,
    pub summary: &'static str,
    pub mode: Mode,
    /// Identities the check needs before it can run (two for cross-identity tests).
    pub min_identities: usize,
    /// What the scan must learn about the target before this check runs.
    pub needs: Needs,
}

/// What an active check may use while probing one endpoint.
pub struct ProbeContext<'a> {
    pub engine: &'a Engine,
    /// The API's base path from the spec ("" when none).
    pub base_path: &'a str,
    /// Exchanges the scan's baseline pass captured for this endpoint, one
    /// per caller (identities first, then anonymous).
    pub baselines: &'a [Arc<Exchange>],
    /// What the scan learned once about the target.
    pub facts: &'a TargetFacts,
    /// The user allowed bursts of failed logins (`--login-burst`).
    pub allow_burst: bool,
}

/// What a target-wide check may use.
pub struct TargetContext<'a> {
    pub engine: &'a Engine,
    /// The scan's first exchange: the target's base URL.
    pub root: &'a Arc<Exchange>,
    pub facts: &'a TargetFacts,
}

impl ProbeContext<'_> {
    /// The endpoint's concrete URL (samples filled in), if it can be built.
    pub fn url(&self, endpoint: &Endpoint) -> Option<Url> {
        let path = endpoint.concrete_path_and_query(self.base_path)?;
        self.engine.url_for(&path).ok()
    }

    /// The identities, in scan order, as callers.
    pub fn identities(&self) -> Vec<Caller> {
        self.engine
            .identities()
            .into_iter()
            .map(|i| Caller::Identity(i.name))
            .collect()
    }

    /// The identity's headers with every credential replaced by a value no
    /// server can accept (keeping a scheme such as `Bearer` so it parses).
    pub fn garbage_credentials(&self, caller: &Caller) -> Vec<(String, String)> {
        let Caller::Identity(name) = caller else {
            return Vec::new();
        };
        let token = self.engine.buster().next_token();
        self.engine
            .identities()
            .into_iter()
            .filter(|i| &i.name == name)
            .flat_map(|i| i.headers)
            .map(|(header, value)| {
                let garbage = match value.split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} {INVENTED_CREDENTIAL_PREFIX}{token}"),
                    None => format!("{INVENTED_CREDENTIAL_PREFIX}{token}"),
                };
                (header, garbage)
            })
            .collect()
    }

    /// The baseline exchange of one caller.
    pub fn baseline(&self, caller: &Caller) -> Option<&Arc<Exchange>> {
        self.baselines.iter().find(|e| match caller {
            Caller::Anonymous => e.request.identity.is_none(),
            Caller::Identity(name) => e.request.identity.as_deref() == Some(name),
        })
    }

    /// Sends a GET for `endpoint` to `url` as `caller`, with extra headers.
    pub async fn get(
        &self,
        endpoint: &Endpoint,
        url: &Url,
        caller: &Caller,
        headers: &[(String, String)],
    ) -> Result<Arc<Exchange>, EngineError> {
        let mut probe = Probe::get(url.clone())
            .as_caller(caller.clone())
            .template(Some(endpoint.path.clone()));
        probe.headers = endpoint.sample_headers();
        probe.headers.extend(headers.iter().cloned());
        self.engine.send(probe).await
    }
}

#[async_trait]
pub trait Check: Send + Sync {
    fn meta(&self) -> &'static CheckMeta;

    /// Passive checks: judge one captured exchange.
    fn inspect(&self, _exchange: &Arc<Exchange>) -> Vec<FindingDraft> {
        Vec::new()
    }

    /// Target-wide checks: run once per scan, after the endpoint checks.
    async fn probe_target(
        &self,
        _ctx: &TargetContext<'_>,
    ) -> Result<Vec<FindingDraft>, EngineError> {
        Ok(Vec::new())
    }

    /// Active checks: probe one endpoint.
    async fn probe(
        &self,
        _ctx: &ProbeContext<'_>,
        _endpoint: &Endpoint,
    ) -> Result<Vec<FindingDraft>, EngineError> {
        Ok(Vec::new())
    }
}

/// Every check Rampart has, in the order `rampart checks` lists them.
pub static REGISTRY: &[&dyn Check] = &[
    &cache::identity_unkeyed::IdentityUnkeyed,
    &cache::auth_after_lookup::AuthAfterLookup,
    &cache::unkeyed_header::UnkeyedHeader,
    &cache::unkeyed_param::UnkeyedParam,
    &cache::cached_error::CachedError,
    &cache::deception::Deception,
    &cache::risky_headers::RiskyHeaders,
    &authz::bola::Bola,
    &authz::subject_from_url::SubjectFromUrl,
    &authz::missing_auth::MissingAuth,
    &authz::guessable_ids::GuessableIds,
    &authz::excessive_exposure::ExcessiveExposure,
    &authz::mass_assignment::MassAssignment,
    &authz::user_enumeration::UserEnumeration,
    &authz::login_rate_limit::LoginRateLimit,
    &signing::signature_optional::SignatureOptional,
    &signing::unsigned_params::UnsignedParams,
    &signing::unbound_caller::UnboundCaller,
    &signing::replay::Replay,
    &signing::request_replay::RequestReplay,
    &signing::partial_coverage::PartialCoverage,
    &signing::timing_compare::TimingCompare,
    &apikey::in_query::KeyInQuery,
    &apikey::reflected::KeyReflected,
    &transport::plain_http::PlainHttp,
    &transport::tls_versions::TlsVersions,
    &transport::weak_ciphers::WeakCiphers,
    &transport::certificate::Certificate,
    &transport::hsts::Hsts,
    &transport::cookie_flags::CookieFlags,
    &transport::insecure_links::InsecureLinks,
    &transport::credentials_in_url::CredentialsInUrl,
    &exposure::secrets::Secrets,
    &exposure::pii::Pii,
    &exposure::password_hashes::PasswordHashes,
    &exposure::debug_pages::DebugPages,
    &exposure::plaintext_fields::PlaintextFields,
];

pub fn find(id: &str) -> Option<&'static dyn Check> {
    REGISTRY.iter().copied().find(|c| c.meta().id == id)
}

/// Selects checks by `--checks` / `--skip-checks` globs (`*` matches any run).
pub fn select(include: &[String], exclude: &[String]) -> Vec<&'static dyn Check> {
    REGISTRY
        .iter()
        .copied()
        .filter(|c| include.is_empty() || include.iter().any(|g| glob_match(g, c.meta().id)))
        .filter(|c| !exclude.iter().any(|g| glob_match(g, c.meta().id)))
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
    fn ids_are_unique_and_namespaced_by_family() {
        let mut ids: Vec<&str> = REGISTRY.iter().map(|c| c.meta().id).collect();
        for check in REGISTRY {
            let meta = check.meta();
            assert!(
                meta.id.starts_with(&format!("{}.", meta.family)),
                "{}",
                meta.id
            );
            assert!(!meta.summary.is_empty());
        }
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate check id");
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
        assert!(no_exposure
            .iter()
            .all(|c| !c.meta().id.starts_with("exposure.")));
    }
}
