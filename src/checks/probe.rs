//! What a check may use while it works, and the helpers every family
//! shares: the contexts a check receives, how to read an answer
//! ([`success_json`], [`same_response`], [`reflects`], …), how to build and
//! send probes (fresh busted URLs, canaries, JSON bodies), and the finding
//! every target-wide check shows against the root.

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::discover::Endpoint;
use crate::engine::redact::INVENTED_CREDENTIAL_PREFIX;
use crate::engine::{Caller, Engine, EngineError, Exchange, Probe};
use crate::facts::cache_profile::verdict;
use crate::facts::TargetFacts;
use crate::finding::{Confidence, FindingDraft, Severity};

/// What an endpoint check may use while probing one endpoint.
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
    /// The injection family's settings and per-scan state.
    pub injection: &'a crate::checks::injection::Session,
}

/// What a target-wide check may use.
pub struct TargetContext<'a> {
    pub engine: &'a Engine,
    /// The scan's first exchange: the target's base URL.
    pub root: &'a Arc<Exchange>,
    pub facts: &'a TargetFacts,
    /// The injection family's settings and per-scan state.
    pub injection: &'a crate::checks::injection::Session,
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

    /// A GET for `endpoint` to `url` as `caller`, with the endpoint's sample
    /// headers and then `headers`; not sent yet.
    pub fn request(
        &self,
        endpoint: &Endpoint,
        url: &Url,
        caller: &Caller,
        headers: &[(String, String)],
    ) -> Probe {
        let mut probe = Probe::get(url.clone())
            .as_caller(caller.clone())
            .template(Some(endpoint.path.clone()));
        probe.headers = endpoint.sample_headers();
        probe.headers.extend(headers.iter().cloned());
        probe
    }

    /// Sends a GET for `endpoint` to `url` as `caller`, with extra headers.
    pub async fn get(
        &self,
        endpoint: &Endpoint,
        url: &Url,
        caller: &Caller,
        headers: &[(String, String)],
    ) -> Result<Arc<Exchange>, EngineError> {
        self.engine
            .send(self.request(endpoint, url, caller, headers))
            .await
    }

    /// A fresh cache-busted copy of `url`: a cache key no one else reads or
    /// has written.
    pub fn fresh(&self, url: &Url) -> Url {
        self.engine.buster().bust(url)
    }

    /// Two answers of `endpoint` carry the same data: same status, and the
    /// same body once what varies between identical requests (request ids,
    /// times, counters) is set aside.
    pub fn same_data(&self, endpoint: &Endpoint, a: &Exchange, b: &Exchange) -> bool {
        self.facts.volatility.same_data(&endpoint.label(), a, b)
    }

    /// `step`, with what comparisons on `endpoint` set aside when its
    /// answers vary between identical requests: evidence says how it
    /// compared.
    pub fn compared(&self, endpoint: &Endpoint, step: impl Into<String>) -> String {
        let step = step.into();
        match self.facts.volatility.note(&endpoint.label()) {
            Some(note) => format!("{step} ({note})"),
            None => step,
        }
    }

    /// A unique marker that cannot occur in a real response.
    pub fn canary(&self) -> String {
        format!("rampart{}", self.engine.buster().next_token())
    }
}

/// A 2xx answer with a non-empty JSON object or array: data, not an error
/// page, an empty shell or an error dressed as a success
/// ([`is_error_body`]).
pub(crate) fn success_json(exchange: &Exchange) -> bool {
    (200..300).contains(&exchange.response.status)
        && exchange.body_json().is_some_and(|v| {
            !is_error_body(v)
                && (matches!(v, Value::Object(m) if !m.is_empty())
                    || matches!(v, Value::Array(a) if !a.is_empty()))
        })
}

/// A JSON body that reports a failure, whatever the status it came with:
/// `{"success": false}`, `{"ok": false}`, `{"status": "fail", "message":
/// …}` (JSend), or an `error`/`errors` member with something in it and no
/// data beside it. Many APIs answer every request with 200 and say in the
/// body whether it worked.
pub(crate) fn is_error_body(json: &Value) -> bool {
    let Value::Object(map) = json else {
        return false;
    };
    let flag_false = |key: &str| map.get(key) == Some(&Value::Bool(false));
    if flag_false("success") || flag_false("ok") || flag_false("succeeded") {
        return true;
    }
    let status_word = map
        .get("status")
        .or_else(|| map.get("result"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    if matches!(
        status_word.as_deref(),
        Some("fail" | "failed" | "failure" | "error" | "denied" | "forbidden" | "unauthorized")
    ) {
        return true;
    }
    let filled = |value: &Value| match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Number(_) | Value::Bool(true) => true,
    };
    let error = ["error", "errors", "error_message", "errorMessage", "err"]
        .iter()
        .any(|key| map.get(*key).is_some_and(filled));
    let data = [
        "data",
        "result",
        "results",
        "items",
        "user",
        "token",
        "access_token",
    ]
    .iter()
    .any(|key| map.get(*key).is_some_and(filled));
    error && !data
}

/// A 2xx answer with a body.
pub(crate) fn is_success(exchange: &Exchange) -> bool {
    (200..300).contains(&exchange.response.status) && !exchange.response.body.is_empty()
}

/// Same status and byte-identical body: what a cache hands back.
pub(crate) fn same_response(a: &Exchange, b: &Exchange) -> bool {
    a.response.status == b.response.status
        && a.response.body == b.response.body
        && !a.response.truncated
}

/// The marker appears in the answer's body or one of its headers.
pub(crate) fn reflects(exchange: &Exchange, marker: &str) -> bool {
    exchange.body_text().contains(marker)
        || exchange
            .response
            .headers
            .iter()
            .any(|(_, v)| v.contains(marker))
}

/// Where `needle` first appears in the response body: the part of the body
/// a finding's evidence shows.
pub(crate) fn focus_on(exchange: &Exchange, needle: &str) -> Option<std::ops::Range<usize>> {
    let at = exchange.body_text().find(needle)?;
    Some(at..at + needle.len())
}

/// How a cache header described an exchange, for evidence step names.
pub(crate) fn cache_note(exchange: &Exchange) -> String {
    match verdict(exchange).1 {
        Some(signal) => format!(" ({signal})"),
        None => String::new(),
    }
}

/// The endpoint's sample JSON body with `fields` set: what a probe sends
/// to change those fields and nothing else (an object with only them when
/// the sample is not an object).
pub(crate) fn sample_body_with(
    endpoint: &Endpoint,
    fields: impl IntoIterator<Item = (String, Value)>,
) -> Value {
    let mut body = match &endpoint.body_sample {
        Some(Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    };
    body.extend(fields);
    Value::Object(body)
}

/// How a request body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Json,
    Form,
    Multipart,
}

impl Encoding {
    /// The encoding a content type names (JSON when it names none Rampart
    /// writes).
    pub(crate) fn of(content_type: Option<&str>) -> Encoding {
        let essence = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|ct| ct.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match essence.as_str() {
            "application/x-www-form-urlencoded" => Encoding::Form,
            "multipart/form-data" => Encoding::Multipart,
            _ => Encoding::Json,
        }
    }

    /// The endpoint's own encoding first, then the others.
    fn in_order(first: Encoding) -> [Encoding; 3] {
        match first {
            Encoding::Json => [Encoding::Json, Encoding::Form, Encoding::Multipart],
            Encoding::Form => [Encoding::Form, Encoding::Multipart, Encoding::Json],
            Encoding::Multipart => [Encoding::Multipart, Encoding::Form, Encoding::Json],
        }
    }

    /// The body's bytes and content type. Forms carry an object's members
    /// as fields: scalars as text, lists as repeated fields, nested objects
    /// as JSON text.
    pub(crate) fn encode(self, body: &Value, boundary: &str) -> (String, Vec<u8>) {
        let fields = || -> Vec<(String, String)> {
            let Value::Object(map) = body else {
                return Vec::new();
            };
            let text = |value: &Value| match value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            map.iter()
                .flat_map(|(name, value)| match value {
                    Value::Array(items) => items
                        .iter()
                        .map(|item| (name.clone(), text(item)))
                        .collect::<Vec<_>>(),
                    other => vec![(name.clone(), text(other))],
                })
                .collect()
        };
        match self {
            Encoding::Json => ("application/json".into(), body.to_string().into_bytes()),
            Encoding::Form => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in fields() {
                    form.append_pair(&name, &value);
                }
                (
                    "application/x-www-form-urlencoded".into(),
                    form.finish().into_bytes(),
                )
            }
            Encoding::Multipart => {
                let mut out = String::new();
                for (name, value) in fields() {
                    let name = name.replace(['"', '\r', '\n'], "_");
                    out.push_str(&format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                    ));
                }
                out.push_str(&format!("--{boundary}--\r\n"));
                (
                    format!("multipart/form-data; boundary={boundary}"),
                    out.into_bytes(),
                )
            }
        }
    }
}

/// Whether an answer refuses the request's encoding rather than its
/// content: 415, or a 422/400 whose message is about the body's format
/// (FastAPI's "Field required" for a form read as JSON, "Unsupported Media
/// Type", "Expecting value"). Such an answer is never evidence.
pub(crate) fn refuses_encoding(exchange: &Exchange) -> bool {
    let status = exchange.response.status;
    if status == 415 {
        return true;
    }
    if status != 422 && status != 400 {
        return false;
    }
    let text = exchange.body_text().to_ascii_lowercase();
    status == 422 && (text.contains("field required") || text.contains("missing"))
        || [
            "content-type",
            "content type",
            "media type",
            "expecting value",
            "json decode",
            "not valid json",
            "failed to decode",
            "form data",
            "multipart",
        ]
        .iter()
        .any(|w| text.contains(w))
}

/// Sends `method` with `body` (an object of fields) for `endpoint` to
/// `url` as `who`, in the encoding the endpoint's content type names. An
/// answer that refuses the encoding ([`refuses_encoding`]) is asked again
/// in the other encodings Rampart writes; the first answer that does not
/// refuse it is returned (the first refusal when every one does).
pub(crate) async fn send_body(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    method: &str,
    url: &Url,
    who: Caller,
    body: &Value,
) -> Result<Arc<Exchange>, EngineError> {
    send_trying(ctx, endpoint, base(endpoint, method, url, who), &[], body).await
}

/// A failed login, sent anonymously like [`send_body`], whose throttling
/// (429, `Retry-After`) is the answer to look at, not a reason for the
/// engine to pause the scan and send it again.
pub(crate) async fn send_failed_login(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    url: &Url,
    body: &Value,
) -> Result<Arc<Exchange>, EngineError> {
    let probe = base(endpoint, "POST", url, Caller::Anonymous).expecting_throttling();
    send_trying(ctx, endpoint, probe, &[], body).await
}

/// Whether a login answer says the client is being throttled.
pub(crate) fn throttled(answer: &Exchange) -> bool {
    matches!(answer.response.status, 429 | 423 | 503)
        || answer.response_header("retry-after").is_some()
}

/// [`send_body`] without any identity's credentials, with `headers`
/// instead (an account Rampart registered itself).
pub(crate) async fn send_body_with(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: &Value,
) -> Result<Arc<Exchange>, EngineError> {
    let probe = base(endpoint, method, url, Caller::Anonymous);
    send_trying(ctx, endpoint, probe, headers, body).await
}

/// `method url` of `endpoint` as `who`, before its body.
fn base(endpoint: &Endpoint, method: &str, url: &Url, who: Caller) -> Probe {
    let mut probe = Probe::get(url.clone())
        .as_caller(who)
        .template(Some(endpoint.path.clone()));
    probe.method = method.to_owned().into();
    probe
}

/// Each encoding in turn until one is not refused (see [`send_body`]).
async fn send_trying(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    base: Probe,
    headers: &[(String, String)],
    body: &Value,
) -> Result<Arc<Exchange>, EngineError> {
    let first = Encoding::of(endpoint.body_content_type.as_deref());
    let mut refused = None;
    for encoding in Encoding::in_order(first) {
        if encoding != Encoding::Json && !body.is_object() {
            continue;
        }
        let answer = send_encoded(ctx, &base, headers, body, encoding).await?;
        if !refuses_encoding(&answer) {
            return Ok(answer);
        }
        refused.get_or_insert(answer);
    }
    match refused {
        Some(answer) => Ok(answer),
        None => send_encoded(ctx, &base, headers, body, first).await,
    }
}

/// `base` with `body` in `encoding`, then `headers`.
async fn send_encoded(
    ctx: &ProbeContext<'_>,
    base: &Probe,
    headers: &[(String, String)],
    body: &Value,
    encoding: Encoding,
) -> Result<Arc<Exchange>, EngineError> {
    let boundary = format!("rampart{}", ctx.engine.buster().next_token());
    let (content_type, bytes) = encoding.encode(body, &boundary);
    let mut probe = base.clone().header("Content-Type", &content_type);
    probe.headers.extend(headers.iter().cloned());
    probe.body = Some(bytes.into());
    ctx.engine.send(probe).await
}

/// An endpoint whose answer depends on the caller: the first identity's
/// baseline and the anonymous one carry different data (what varies
/// between identical requests set aside).
pub(crate) struct PrivateView {
    pub owner: Caller,
    /// The first identity's baseline.
    pub mine: Arc<Exchange>,
    pub anonymous: Arc<Exchange>,
}

/// The endpoint's [`PrivateView`], when it has one.
pub(crate) fn private_view(ctx: &ProbeContext<'_>) -> Option<PrivateView> {
    let owner = ctx.identities().into_iter().next()?;
    let mine = Arc::clone(ctx.baseline(&owner)?);
    let anonymous = Arc::clone(ctx.baseline(&Caller::Anonymous)?);
    let label = format!("{} {}", mine.request.method, mine.endpoint_path());
    let same = ctx.facts.volatility.same_data(&label, &mine, &anonymous);
    (!same).then_some(PrivateView {
        owner,
        mine,
        anonymous,
    })
}

/// A target-wide finding, shown against the target's root exchange.
pub(crate) fn target_draft(
    root: &Arc<Exchange>,
    severity: Severity,
    title: String,
    description: String,
    key: String,
) -> FindingDraft {
    FindingDraft::at_exchange(root, severity, Confidence::Confirmed)
        .title(title)
        .description(description)
        .key(key)
        .evidence("The target's base URL", root, None)
}

/// In-process fixtures for the checks' unit tests (answers without a
/// server, in-process targets, one check scanned against them).
#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::fixtures::exchange;
    use super::*;

    const URL: &str = "http://h/api/items?rampart_cb=1";

    #[test]
    fn answers_are_read_as_data_caches_and_reflections() {
        assert!(success_json(&exchange(URL, None, 200, &[], r#"{"a":1}"#)));
        assert!(!success_json(&exchange(URL, None, 200, &[], "{}")));
        assert!(!success_json(&exchange(URL, None, 404, &[], r#"{"a":1}"#)));
        assert!(is_success(&exchange(URL, None, 204, &[], "x")));
        assert!(!is_success(&exchange(URL, None, 200, &[], "")));
        let a = exchange(URL, Some("alice"), 200, &[], "same");
        assert!(same_response(&a, &exchange(URL, None, 200, &[], "same")));
        assert!(!same_response(&a, &exchange(URL, None, 201, &[], "same")));
        let marked = exchange(URL, None, 200, &[("Location", "/mk1")], "plain");
        assert!(reflects(&marked, "mk1") && !reflects(&marked, "mk2"));
        let body = exchange(URL, None, 200, &[], r#"{"link":"http://x"}"#);
        assert_eq!(focus_on(&body, "http://x"), Some(9..17));
        assert_eq!(focus_on(&body, "https://x"), None);
        let hit = exchange(URL, None, 200, &[("X-Cache", "HIT")], "");
        assert_eq!(cache_note(&hit), " (x-cache: HIT)");
        assert_eq!(cache_note(&marked), "");
    }

    #[test]
    fn errors_are_read_from_the_body_whatever_the_status() {
        for failure in [
            json!({"status": "fail", "message": "no such user"}),
            json!({"success": false, "data": null}),
            json!({"ok": false}),
            json!({"error": "not found"}),
            json!({"errors": [{"field": "title"}]}),
            json!({"result": "error", "reason": "denied"}),
        ] {
            assert!(is_error_body(&failure), "{failure}");
            let answer = exchange(URL, None, 200, &[], &failure.to_string());
            assert!(!success_json(&answer), "{failure}");
        }
        for data in [
            json!({"status": "active", "title": "Dune"}),
            json!({"error": null, "data": {"id": 1}}),
            json!({"errors": [], "items": [1]}),
            json!({"success": true, "user": {"id": 1}}),
            json!([{"error": "an item's own field"}]),
        ] {
            assert!(!is_error_body(&data), "{data}");
        }
    }

    #[test]
    fn bodies_are_written_in_the_encoding_the_endpoint_reads() {
        let body = json!({"username": "a b", "tags": ["x", "y"], "n": 2, "nested": {"k": 1}});
        let (ct, bytes) = Encoding::Form.encode(&body, "B");
        assert_eq!(ct, "application/x-www-form-urlencoded");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "username=a+b&tags=x&tags=y&n=2&nested=%7B%22k%22%3A1%7D"
        );
        let (ct, bytes) = Encoding::Multipart.encode(&json!({"u": "v"}), "B");
        assert_eq!(ct, "multipart/form-data; boundary=B");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "--B\r\nContent-Disposition: form-data; name=\"u\"\r\n\r\nv\r\n--B--\r\n"
        );
        assert_eq!(Encoding::Json.encode(&body, "B").0, "application/json");
        assert_eq!(
            Encoding::of(Some("application/x-www-form-urlencoded; charset=utf-8")),
            Encoding::Form
        );
        assert_eq!(Encoding::of(None), Encoding::Json);
        let fastapi =
            r#"{"detail":[{"type":"missing","loc":["body","username"],"msg":"Field required"}]}"#;
        assert!(refuses_encoding(&exchange(URL, None, 422, &[], fastapi)));
        assert!(refuses_encoding(&exchange(URL, None, 415, &[], "")));
        assert!(!refuses_encoding(&exchange(URL, None, 401, &[], fastapi)));
        assert!(!refuses_encoding(&exchange(
            URL,
            None,
            400,
            &[],
            r#"{"error":"title too long"}"#
        )));
    }

    #[test]
    fn target_findings_show_the_root() {
        let root = exchange("https://h/?rampart_cb=1", None, 200, &[], "{}");
        let draft = target_draft(&root, Severity::Low, "t".into(), "d".into(), "k".into());
        assert_eq!(draft.evidence.len(), 1);
        assert_eq!(draft.key, "k");
        assert_eq!(draft.head.confidence, Confidence::Confirmed);
    }
}
