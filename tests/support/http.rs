//! A tiny loopback-only HTTP client for tests: plain HTTP/1.0 over a std
//! `TcpStream` (any method, extra headers), and HTTPS through reqwest on its
//! own thread and runtime (any certificate accepted), so both work from sync
//! and async tests alike.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use super::process::truncate;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed minimal HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Raw header block (without the status line), one `Name: value` a line.
    pub headers: String,
    pub body: String,
}

impl HttpResponse {
    /// Case-insensitive header lookup (first match).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), HTTP {}: {}",
                self.status,
                truncate(&self.body, 500)
            )
        })
    }
}

/// How a test talks to a server it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Http,
    /// HTTPS, any certificate accepted.
    Https,
}

impl Wire {
    pub fn scheme(self) -> &'static str {
        match self {
            Wire::Http => "http",
            Wire::Https => "https",
        }
    }

    pub fn get(
        self,
        host: &str,
        port: u16,
        path: &str,
        timeout: Duration,
    ) -> std::io::Result<HttpResponse> {
        match self {
            Wire::Http => http_request_raw(host, port, "GET", path, &[], timeout),
            Wire::Https => https_get_raw(host, port, path, timeout),
        }
    }
}

fn assert_loopback(host: &str) {
    let ok = host == "localhost" || host == "[::1]" || host == "::1" || host.starts_with("127.");
    assert!(ok, "test harness only talks to loopback, got host {host:?}");
}

/// Splits `http(s)://host:port[/...]` into (wire, host, port). Loopback only.
pub fn host_port(base_url: &str) -> (Wire, String, u16) {
    let (wire, rest) = if let Some(rest) = base_url.strip_prefix("http://") {
        (Wire::Http, rest)
    } else if let Some(rest) = base_url.strip_prefix("https://") {
        (Wire::Https, rest)
    } else {
        panic!("only http:// and https:// URLs are supported here: {base_url}")
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.contains(']') => (
            h.to_string(),
            p.parse::<u16>()
                .unwrap_or_else(|_| panic!("bad port in {base_url}")),
        ),
        _ => (
            authority.to_string(),
            if wire == Wire::Http { 80 } else { 443 },
        ),
    };
    assert_loopback(&host);
    (wire, host, port)
}

/// One HTTP/1.0 request with `headers` (`Name: value` each); `path` starts
/// with `/` and may carry a query string. Requests other than GET and HEAD
/// say `Content-Length: 0`.
pub fn http_request_raw(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    headers: &[&str],
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    assert_loopback(host);
    let ip = if host == "localhost" {
        "127.0.0.1"
    } else {
        host.trim_matches(|c| c == '[' || c == ']')
    };
    let addr: SocketAddr = if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
    .parse()
    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: rampart-test-harness\r\n\
         Accept: */*\r\nConnection: close\r\n"
    );
    if method != "GET" && method != "HEAD" {
        req.push_str("Content-Length: 0\r\n");
    }
    for header in headers {
        req.push_str(header);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = match text.split_once("\r\n\r\n") {
        Some((h, b)) => (h.to_string(), b.to_string()),
        None => (text.clone(), String::new()),
    };
    let mut lines = head.splitn(2, "\r\n");
    let status_line = lines.next().unwrap_or("");
    let headers = lines.next().unwrap_or("").to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "no HTTP status line in response: {:?}",
                    truncate(&text, 200)
                ),
            )
        })?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// `method` `base_url` + `path` with extra headers over plain HTTP; panics
/// on connection errors.
pub fn http_request(base_url: &str, method: &str, path: &str, headers: &[&str]) -> HttpResponse {
    let (wire, host, port) = host_port(base_url);
    assert_eq!(
        wire,
        Wire::Http,
        "http_request speaks plain HTTP: {base_url}"
    );
    http_request_raw(&host, port, method, path, headers, TIMEOUT)
        .unwrap_or_else(|e| panic!("{method} {base_url}{path} failed: {e}"))
}

/// GET `base_url` + `path` (e.g. `http_get("http://127.0.0.1:5000",
/// "/api/health")`), over HTTPS for an `https://` base (certificate not
/// verified, redirects not followed). Panics on connection errors.
pub fn http_get(base_url: &str, path: &str) -> HttpResponse {
    let (wire, host, port) = host_port(base_url);
    wire.get(&host, port, path, TIMEOUT)
        .unwrap_or_else(|e| panic!("GET {base_url}{path} failed: {e}"))
}

/// One HTTPS GET to `https://host:port/path` (loopback only) that accepts
/// any certificate and does not follow redirects. `headers` of the result
/// holds one `Name: value` line per header.
pub fn https_get_raw(
    host: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    assert_loopback(host);
    let url = format!("https://{host}:{port}{path}");
    let worker = thread::spawn(move || -> Result<HttpResponse, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        runtime.block_on(async move {
            let client = reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(timeout)
                .user_agent("rampart-test-harness")
                .build()
                .map_err(|e| format!("reqwest client: {e}"))?;
            let resp = client.get(&url).send().await.map_err(|e| {
                // The source chain says *why* (refused, handshake, ...).
                let mut msg = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    msg.push_str(&format!(": {s}"));
                    source = s.source();
                }
                msg
            })?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| format!("{}: {}", k.as_str(), String::from_utf8_lossy(v.as_bytes())))
                .collect::<Vec<_>>()
                .join("\r\n");
            let body = resp
                .text()
                .await
                .map_err(|e| format!("reading body: {e}"))?;
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    });
    match worker.join() {
        Ok(result) => result.map_err(std::io::Error::other),
        Err(_) => Err(std::io::Error::other(
            "https_get_raw worker thread panicked",
        )),
    }
}

/// One query parameter of a URL (raw, undecoded).
pub fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    url.split_once('?')?
        .1
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}
