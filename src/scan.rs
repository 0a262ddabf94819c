//! One scan, start to finish: reach the target, discover endpoints, take a
//! baseline of every read-only endpoint as every caller, let the checks judge
//! and probe, then turn drafts into redacted, de-duplicated findings.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::stream::{self, StreamExt};
use thiserror::Error;
use url::Url;

use crate::checks::{self, Check, Mode, ProbeContext, TargetContext};
use crate::discover::{self, crawl, DiscoverError, Discovered, Endpoint};
use crate::engine::{Caller, Engine, EngineConfig, EngineError, Exchange, Probe, Redactor};
use crate::facts::{self, Needs};
use crate::finding::{
    stable_id, Evidence, EvidenceRequest, EvidenceResponse, Finding, FindingDraft, Remediation,
};
use crate::knowledge;
use crate::report::{score, Report, ReportEndpoint, ReportError, Tool, SCHEMA};
use crate::stack::Stack;

/// Where progress notes go.
pub type NoteSink = Box<dyn Fn(&str) + Send + Sync>;

/// Everything one scan needs to know, already validated.
pub struct ScanOptions {
    /// How the engine reaches the target: the target itself, identities,
    /// default headers, bounds and TLS settings.
    pub engine: EngineConfig,
    /// `--spec`: an OpenAPI/Swagger file or URL.
    pub spec: Option<String>,
    pub include_checks: Vec<String>,
    pub skip_checks: Vec<String>,
    /// `--active`: state-changing probes are allowed.
    pub active: bool,
    /// Allow a bounded burst of failed logins (rate-limit check).
    pub login_burst: bool,
    /// `--stack`: the remediation variant, instead of fingerprinting.
    pub stack: Option<String>,
    /// Receives progress notes (the binary prints them with `-v`).
    pub notes: Option<NoteSink>,
}

impl ScanOptions {
    pub fn new(target: Url) -> Self {
        ScanOptions {
            engine: EngineConfig::new(target),
            spec: None,
            include_checks: Vec::new(),
            skip_checks: Vec::new(),
            active: false,
            login_burst: false,
            stack: None,
            notes: None,
        }
    }

    fn note(&self, text: &str) {
        if let Some(notes) = &self.notes {
            notes(text);
        }
    }
}

/// Failures that stop a scan before it could judge anything (exit status 2).
#[derive(Debug, Error)]
pub enum ScanError {
    #[error("cannot reach {target}: {error}")]
    Unreachable { target: String, error: EngineError },
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error("{0}")]
    Engine(EngineError),
    #[error("no check selected (see `rampart checks`)")]
    NoChecks,
}

type Drafts = Arc<Mutex<Vec<(&'static str, FindingDraft)>>>;

pub async fn run(options: ScanOptions) -> Result<Report, ScanError> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let clock = Instant::now();
    let selected = checks::select(&options.include_checks, &options.skip_checks);
    if selected.is_empty() {
        return Err(ScanError::NoChecks);
    }
    let passive: Vec<&'static dyn Check> = selected
        .iter()
        .copied()
        .filter(|c| c.meta().mode == Mode::Passive)
        .collect();
    let drafts: Drafts = Arc::default();

    let mut engine = Engine::new(options.engine.clone()).map_err(ScanError::Engine)?;
    {
        // Passive checks see every exchange the scan makes, whoever made it.
        let drafts = Arc::clone(&drafts);
        engine.observe(move |exchange| {
            let mut found = Vec::new();
            for check in &passive {
                for draft in check.inspect(exchange) {
                    found.push((check.meta().id, draft));
                }
            }
            if !found.is_empty() {
                if let Ok(mut all) = drafts.lock() {
                    all.extend(found);
                }
            }
        });
    }
    let engine = engine;
    engine.login_all().await.map_err(|error| match error {
        EngineError::Login(_) => ScanError::Engine(error),
        error => ScanError::Unreachable {
            target: options.engine.target.to_string(),
            error,
        },
    })?;
    let callers = engine.callers();
    let first_caller = callers.first().cloned().unwrap_or(Caller::Anonymous);

    let root = engine
        .send(
            Probe::get(engine.buster().bust(&options.engine.target))
                .as_caller(first_caller.clone()),
        )
        .await
        .map_err(|error| ScanError::Unreachable {
            target: options.engine.target.to_string(),
            error,
        })?;
    options.note(&format!(
        "target answered HTTP {} in {} ms",
        root.response.status,
        root.elapsed.as_millis()
    ));

    let discovered = discover(&engine, &options, &first_caller, &root).await?;
    options.note(&format!(
        "{} endpoints ({})",
        discovered.endpoints.len(),
        discovered
            .spec_source
            .as_deref()
            .map(|s| format!("spec {s}"))
            .unwrap_or_else(|| "crawled".to_string())
    ));

    let mut errors: Vec<ReportError> = Vec::new();
    let baselines = baseline(
        &engine,
        &discovered,
        &callers,
        options.engine.concurrency,
        &mut errors,
    )
    .await;
    let mut seen: Vec<Arc<Exchange>> = vec![Arc::clone(&root)];
    seen.extend(baselines.values().flatten().cloned());

    // One harmless request for a path that cannot exist: default error
    // pages name frameworks.
    if options.stack.is_none() {
        let missing = format!("/rampart-{}-not-found", engine.buster().next_token());
        if let Ok(url) = engine.url_for(&missing) {
            if let Ok(exchange) = engine
                .send(Probe::get(url).as_caller(first_caller.clone()))
                .await
            {
                seen.push(exchange);
            }
        }
    }
    let stack = match &options.stack {
        Some(forced) => Stack::forced(forced),
        None => Stack::fingerprint(&seen),
    };
    options.note(&format!("stack: {}", stack.label()));

    let needs = selected
        .iter()
        .fold(Needs::NOTHING, |needs, c| needs.union(c.meta().needs));
    let facts = facts::learn(&engine, needs, &discovered.endpoints, &baselines).await;
    if facts.cache.cache_seen {
        options.note(&format!(
            "cache: {} (stores responses: {}, buster keyed: {})",
            facts.cache.signal.as_deref().unwrap_or("seen"),
            facts.cache.stores_responses,
            facts.cache.buster_keyed
        ));
    }

    let active_checks: Vec<&'static dyn Check> = selected
        .iter()
        .copied()
        .filter(|c| match c.meta().mode {
            Mode::Passive => false,
            Mode::Active => true,
            Mode::StateChanging => options.active,
        })
        .filter(|c| engine.identities().len() >= c.meta().min_identities)
        .collect();
    let jobs: Vec<(&'static dyn Check, &Endpoint)> = active_checks
        .iter()
        .flat_map(|check| {
            discovered
                .endpoints
                .iter()
                .filter(|e| e.is_read_only() || options.active)
                .map(move |e| (*check, e))
        })
        .collect();
    let empty: Vec<Arc<Exchange>> = Vec::new();
    let outcomes = stream::iter(jobs)
        .map(|(check, endpoint)| {
            let ctx = ProbeContext {
                engine: &engine,
                base_path: &discovered.base_path,
                baselines: baselines.get(&endpoint.label()).unwrap_or(&empty),
                facts: &facts,
                allow_burst: options.login_burst,
            };
            async move {
                let result = check.probe(&ctx, endpoint).await;
                (check.meta().id, endpoint.label(), result)
            }
        })
        .buffer_unordered(options.engine.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut active_drafts = Vec::new();
    for (check_id, endpoint, result) in outcomes {
        match result {
            Ok(found) => active_drafts.extend(found.into_iter().map(|d| (check_id, d))),
            Err(error) => errors.push(ReportError {
                endpoint,
                message: format!("{check_id}: {error}"),
            }),
        }
    }

    let target_ctx = TargetContext {
        engine: &engine,
        root: &root,
        facts: &facts,
    };
    for check in selected
        .iter()
        .filter(|c| c.meta().mode != Mode::StateChanging || options.active)
    {
        match check.probe_target(&target_ctx).await {
            Ok(found) => active_drafts.extend(found.into_iter().map(|d| (check.meta().id, d))),
            Err(error) => errors.push(ReportError {
                endpoint: "target".into(),
                message: format!("{}: {error}", check.meta().id),
            }),
        }
    }
    if let Some(message) = facts.tls_failure() {
        errors.push(ReportError {
            endpoint: "TLS".into(),
            message: message.to_string(),
        });
    }

    let mut all_drafts = std::mem::take(&mut *drafts.lock().unwrap_or_else(|p| p.into_inner()));
    all_drafts.extend(active_drafts);
    let redactor = engine.redactor();
    let findings = finalize_all(all_drafts, &redactor, &stack);
    dedupe_errors(&mut errors);
    for error in &mut errors {
        error.message = redactor.redact_text(&error.message);
    }

    let score = score::score(&findings);
    Ok(Report {
        schema: SCHEMA,
        tool: Tool::default(),
        target: options.engine.target.to_string(),
        started_at,
        duration_ms: clock.elapsed().as_millis() as u64,
        requests_sent: engine.requests_sent(),
        stack,
        score,
        grade: score::grade(score),
        endpoints: discovered
            .endpoints
            .iter()
            .map(|e| ReportEndpoint {
                method: e.method.clone(),
                path: e.path.clone(),
                source: e.source,
            })
            .collect(),
        findings,
        errors,
    })
}

async fn discover(
    engine: &Engine,
    options: &ScanOptions,
    caller: &Caller,
    root: &Arc<Exchange>,
) -> Result<Discovered, ScanError> {
    if let Some(source) = &options.spec {
        let spec = discover::load_spec(engine, source).await?;
        return Ok(Discovered::from_spec(spec, source));
    }
    if let Some(found) = crawl::find_published_spec(engine, caller).await {
        return Ok(found);
    }
    let mut endpoints = crawl::crawl_links(engine, caller, root).await;
    let known = endpoints.iter().map(|e| e.path.clone()).collect();
    endpoints.extend(crawl::probe_common_paths(engine, caller, &known).await);
    Ok(Discovered {
        endpoints,
        base_path: String::new(),
        spec: None,
        spec_source: None,
    })
}

/// One request per read-only endpoint per caller; checks compare these.
async fn baseline(
    engine: &Engine,
    discovered: &Discovered,
    callers: &[Caller],
    concurrency: usize,
    errors: &mut Vec<ReportError>,
) -> BTreeMap<String, Vec<Arc<Exchange>>> {
    let mut jobs = Vec::new();
    for endpoint in discovered.endpoints.iter().filter(|e| e.is_read_only()) {
        let Some(path) = endpoint.concrete_path_and_query(&discovered.base_path) else {
            errors.push(ReportError {
                endpoint: endpoint.label(),
                message: "skipped: no example value for a path parameter".into(),
            });
            continue;
        };
        let url = match engine.url_for(&path) {
            Ok(url) => url,
            Err(error) => {
                errors.push(ReportError {
                    endpoint: endpoint.label(),
                    message: error.to_string(),
                });
                continue;
            }
        };
        for caller in callers {
            // Busted, so a baseline never creates or reads a cache entry that
            // real users (or the other callers' baselines) share.
            let mut probe = Probe::get(engine.buster().bust(&url))
                .as_caller(caller.clone())
                .template(Some(endpoint.path.clone()));
            probe.method = endpoint.method.clone();
            probe.headers = endpoint.sample_headers();
            jobs.push((endpoint.label(), probe));
        }
    }
    let results = stream::iter(jobs)
        .map(|(label, probe)| async move { (label, engine.send(probe).await) })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut baselines: BTreeMap<String, Vec<Arc<Exchange>>> = BTreeMap::new();
    for (label, result) in results {
        match result {
            Ok(exchange) => baselines.entry(label).or_default().push(exchange),
            Err(error) => errors.push(ReportError {
                endpoint: label,
                message: error.to_string(),
            }),
        }
    }
    baselines
}

fn dedupe_errors(errors: &mut Vec<ReportError>) {
    let mut seen = HashSet::new();
    errors.retain(|e| seen.insert((e.endpoint.clone(), e.message.clone())));
}

/// Drafts become findings: stable ids, de-duplication (the first draft of an
/// id wins), redacted evidence, reproduction lines and remediation.
pub fn finalize_all(
    drafts: Vec<(&'static str, FindingDraft)>,
    redactor: &Redactor,
    stack: &Stack,
) -> Vec<Finding> {
    let mut seen = HashSet::new();
    let mut findings: Vec<Finding> = drafts
        .into_iter()
        .filter_map(|(check_id, draft)| {
            let id = stable_id(check_id, &draft.method, &draft.path, &draft.key);
            seen.insert(id.clone())
                .then(|| finalize(id, check_id, draft, redactor, stack))
        })
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| b.confidence.cmp(&a.confidence))
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.id.cmp(&b.id))
    });
    findings
}

/// Exposed data that also crossed a network unencrypted was exposed twice:
/// to the caller and to everyone on the path. Loopback traffic never leaves
/// the machine, so a local development target keeps its severity.
fn in_transit_severity(
    category: crate::finding::Category,
    url: &str,
    severity: crate::finding::Severity,
) -> (crate::finding::Severity, Option<&'static str>) {
    let over_network_in_clear = Url::parse(url)
        .is_ok_and(|u| u.scheme() == "http" && !crate::engine::scope::is_loopback(&u));
    if category == crate::finding::Category::DataExposure
        && over_network_in_clear
        && severity.raised() != severity
    {
        (
            severity.raised(),
            Some("Severity raised one step: the response travelled over plain HTTP."),
        )
    } else {
        (severity, None)
    }
}

fn finalize(
    id: String,
    check_id: &'static str,
    draft: FindingDraft,
    redactor: &Redactor,
    stack: &Stack,
) -> Finding {
    let meta = checks::find(check_id).map(|c| c.meta());
    let entry = knowledge::entry(check_id);
    let remediation = entry.map(|entry| {
        let variant = entry.best_variant(stack);
        Remediation {
            stack: variant.stack.clone(),
            summary: variant.summary.clone(),
            details_markdown: variant.remediation.clone(),
        }
    });
    let category = meta
        .map(|m| m.category)
        .unwrap_or(crate::finding::Category::Configuration);
    let (severity, transit_note) = in_transit_severity(category, &draft.url, draft.severity);
    let description = match transit_note {
        Some(note) => format!("{} {note}", draft.description),
        None => draft.description.clone(),
    };
    Finding {
        id,
        check: check_id.to_string(),
        category,
        severity,
        confidence: draft.confidence,
        title: redactor.redact_text(&draft.title),
        description: redactor.redact_text(&description),
        method: draft.method,
        path: redactor.redact_text(&draft.path),
        url: redactor.redact_text(&draft.url),
        parameter: draft.parameter.map(|p| redactor.redact_text(&p)),
        reproduce: draft
            .evidence
            .iter()
            .map(|step| curl_line(&step.exchange, redactor))
            .collect(),
        evidence: draft
            .evidence
            .iter()
            .map(|step| evidence(&step.step, &step.exchange, step.focus.clone(), redactor))
            .collect(),
        remediation,
        references: entry.map(|e| e.references.clone()).unwrap_or_default(),
    }
}

const EXCERPT_CONTEXT: usize = 240;

fn evidence(
    step: &str,
    exchange: &Exchange,
    focus: Option<std::ops::Range<usize>>,
    redactor: &Redactor,
) -> Evidence {
    let body = exchange.body_text();
    let (start, end) = match focus {
        Some(range) => (
            range.start.saturating_sub(EXCERPT_CONTEXT),
            range.end.saturating_add(EXCERPT_CONTEXT).min(body.len()),
        ),
        None => (0, body.len().min(2 * EXCERPT_CONTEXT)),
    };
    let start = floor_char_boundary(body, start.min(body.len()));
    let end = floor_char_boundary(body, end.max(start));
    let mut excerpt = String::new();
    if start > 0 {
        excerpt.push('…');
    }
    excerpt.push_str(&redactor.redact_excerpt(body, exchange.body_json(), start..end));
    if end < body.len() {
        excerpt.push('…');
    }
    Evidence {
        step: step.to_string(),
        request: EvidenceRequest {
            method: exchange.request.method.clone(),
            url: redactor.redact_text(&exchange.request.url),
            headers: exchange
                .request
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), redactor.redact_header(n, v)))
                .collect(),
            identity: exchange.request.identity.clone(),
        },
        response: EvidenceResponse {
            status: exchange.response.status,
            headers: exchange
                .response
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), redactor.redact_header(n, v)))
                .collect(),
            body_excerpt: excerpt,
        },
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// A `curl` line that repeats the request, credentials as placeholders.
pub fn curl_line(exchange: &Exchange, redactor: &Redactor) -> String {
    let mut parts = vec!["curl -s".to_string()];
    if exchange.request.method != "GET" {
        parts.push(format!("-X {}", exchange.request.method));
    }
    parts.push(shell_quote(&redactor.placeholders(&exchange.request.url)));
    for (name, value) in &exchange.request.headers {
        parts.push(format!(
            "-H {}",
            shell_quote(&format!(
                "{name}: {}",
                redactor.placeholder_header(name, value)
            ))
        ));
    }
    if let Some(body) = &exchange.request.body {
        let text = String::from_utf8_lossy(body);
        parts.push(format!(
            "--data-binary {}",
            shell_quote(&redactor.placeholders(&text))
        ));
    }
    parts.join(" ")
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Category, Severity};

    #[test]
    fn data_exposed_over_plain_http_off_the_machine_is_one_step_worse() {
        let raised = in_transit_severity(
            Category::DataExposure,
            "http://api.example.com/u/1",
            Severity::High,
        );
        assert_eq!(raised.0, Severity::Critical);
        assert!(raised.1.is_some());
        for (category, url) in [
            (Category::DataExposure, "https://api.example.com/u/1"),
            (Category::DataExposure, "http://127.0.0.1:5000/u/1"),
            (Category::DataExposure, "http://localhost/u/1"),
            (Category::Bola, "http://api.example.com/u/1"),
        ] {
            assert_eq!(
                in_transit_severity(category, url, Severity::High),
                (Severity::High, None),
                "{url}"
            );
        }
        assert_eq!(
            in_transit_severity(
                Category::DataExposure,
                "http://api.example.com/",
                Severity::Critical
            ),
            (Severity::Critical, None)
        );
    }
}
