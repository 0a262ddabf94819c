//! Cache poisoning on caches Rampart did not build, found from the base URL
//! alone (no `--spec`): the sites of `tests/targets/cache/sites.py` behind
//! a Varnish keyed on the path only, one keyed on the Host only, a standard
//! Varnish in front of a root that only redirects and a page that varies by
//! browser class, nginx with a custom key, and a Flask-Caching app keyed on
//! `request.path` — each a vulnerable and a fixed twin.
//!
//! The vulnerable scan also proves the safety promise on the real caches:
//! the origin records every request it received with the key the cache
//! filed it under (and every Flask-Caching key it set), and no request that
//! carried attacker input created an entry under a key a visitor uses;
//! afterwards every plain URL a visitor uses is served clean content.
//!
//! Needs the Python venv, varnishd and nginx (`scripts/test` installs them).

mod support;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use rampart::finding::{Finding, Severity};
use regex::Regex;
use serde_json::Value;
use support::proxy::{self, Nginx, Proxy, Varnish};
use support::{http_get, http_request, Family, FlaskApp, ScanRun};

const SITES: Family = Family {
    app: "cache/sites.py",
    dynamo: false,
    spec: false,
    checks: Some("cache.*"),
    ..Family::DEFAULT
};

/// Every check, as a new user would scan the sites.
const EVERY_CHECK: Family = Family {
    checks: None,
    ..SITES
};

/// A twin's origin and the caches in front of it.
struct Stack {
    // Drop order: the caches first, then the origin.
    varnish: Proxy,
    nginx: Proxy,
    origin: FlaskApp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Site {
    PathOnly,
    HostOnly,
    Shop,
    News,
    AppCache,
}

const ALL: [Site; 5] = [
    Site::PathOnly,
    Site::HostOnly,
    Site::Shop,
    Site::News,
    Site::AppCache,
];

impl Site {
    /// The site's name in the origin's records.
    fn name(self) -> &'static str {
        match self {
            Site::PathOnly => "pathonly",
            Site::HostOnly => "hostonly",
            Site::Shop => "standard",
            Site::News => "news",
            Site::AppCache => "appcache",
        }
    }

    /// The URLs a visitor of the site uses (as its pages link them).
    fn visitor_urls(self) -> &'static [&'static str] {
        match self {
            Site::PathOnly => &[
                "/",
                "/articles/cache-basics",
                "/articles/edge-rules",
                "/search-results?q=varnish",
                "/contact-us",
            ],
            Site::HostOnly => &["/"],
            Site::Shop => &["/", "/en/", "/en/products/widget", "/en/products/gadget"],
            Site::News => &["/", "/news?page=1&ref=home"],
            Site::AppCache => &["/", "/hello/world", "/about-us"],
        }
    }
}

fn start(twin: &str) -> Stack {
    let origin = FlaskApp::start_plain(SITES.app, twin, &[]);
    let port = origin.port();
    let (varnish_vcl, nginx_conf) = if twin == "vulnerable" {
        (
            proxy::VARNISH_SITES_VULNERABLE,
            proxy::NGINX_SITES_VULNERABLE,
        )
    } else {
        (proxy::VARNISH_SITES_FIXED, proxy::NGINX_SITES_FIXED)
    };
    let (varnish, nginx) = std::thread::scope(|s| {
        let varnish = s.spawn(|| {
            Varnish::start_sockets(
                proxy::cache_target_path(varnish_vcl),
                port,
                proxy::SITE_SOCKETS,
            )
        });
        let nginx = Nginx::start(proxy::cache_target_path(nginx_conf), port);
        (varnish.join().expect("varnish starts"), nginx)
    });
    Stack {
        varnish,
        nginx,
        origin,
    }
}

impl Stack {
    fn base_url(&self, site: Site) -> String {
        let port = match site {
            Site::PathOnly => self.varnish.ports()[0],
            Site::HostOnly => self.varnish.ports()[1],
            Site::Shop => self.varnish.ports()[2],
            Site::News => self.nginx.port(),
            Site::AppCache => self.origin.port(),
        };
        format!("http://127.0.0.1:{port}")
    }

    /// Every site scanned from its base URL, all at once.
    fn scan_all(&self) -> Vec<(Site, ScanRun)> {
        self.scan_all_with(&SITES, &[])
    }

    /// [`Stack::scan_all`] by `family` with `extra` arguments.
    fn scan_all_with(&self, family: &Family, extra: &[&str]) -> Vec<(Site, ScanRun)> {
        std::thread::scope(|s| {
            let scans: Vec<_> = ALL
                .iter()
                .map(|site| {
                    let base = self.base_url(*site);
                    s.spawn(move || (*site, family.scan(&base, extra)))
                })
                .collect();
            scans
                .into_iter()
                .map(|scan| scan.join().expect("a scan"))
                .collect()
        })
    }

    /// What the origin received, as it recorded it.
    fn records(&self) -> Vec<Value> {
        let resp = self.origin.get("/__test__/requests");
        assert_eq!(resp.status, 200, "{}", resp.body);
        serde_json::from_str(&resp.body).expect("records as JSON")
    }
}

fn find<'a>(run: &'a ScanRun, check: &str, path: &str) -> Option<&'a Finding> {
    run.findings()
        .iter()
        .find(|f| f.check == check && f.head.path == path)
}

/// A confirmed finding of `check` on `path` whose title has `words`,
/// proven on keys no visitor uses and replayed.
fn assert_found(run: &ScanRun, site: Site, check: &str, path: &str, words: &str) -> Finding {
    let finding = run
        .findings()
        .iter()
        .find(|f| f.check == check && f.head.path == path && f.head.title.contains(words))
        .unwrap_or_else(|| {
            panic!(
                "{site:?}: no {check} on {path} with '{words}'; findings:\n{}\ncoverage: {}",
                run.summary(),
                coverage_of(run, check)
            )
        });
    assert_eq!(
        finding.head.confidence.as_str(),
        "confirmed",
        "{check} {path}"
    );
    assert!(
        finding.evidence.len() >= 4,
        "{check} {path}: attack, victim and their replay"
    );
    let visitor_paths: Vec<&str> = site
        .visitor_urls()
        .iter()
        .map(|u| u.split('?').next().unwrap_or(u))
        .collect();
    for step in &finding.evidence {
        let url = &step.request.url;
        assert!(url.contains("rampart"), "{check}: unbusted probe {url}");
    }
    assert!(
        finding.reproduce.len() >= 2 && finding.reproduce.iter().all(|l| l.starts_with("curl ")),
        "{check}: {:?}",
        finding.reproduce
    );
    // The key is Rampart's own: a buster in the URL or a fresh Host.
    let first = &finding.evidence[0].request;
    let own_host = first
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("host") && v.starts_with("rampart"));
    let own_path = !visitor_paths.contains(&rampart::engine::exchange::url_path(&first.url));
    assert!(
        first.url.contains("rampart_cb=") || own_host || own_path,
        "{check}: {}",
        first.url
    );
    finding.clone()
}

fn coverage_of(run: &ScanRun, check: &str) -> String {
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    report["coverage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["check"] == check)
        .map(Value::to_string)
        .collect()
}

/// The reason `check` gave for skipping `endpoint`, if it skipped it.
fn skip_reason(run: &ScanRun, check: &str, endpoint: &str) -> Option<String> {
    let report: Value = serde_json::from_str(&run.stdout).ok()?;
    report["coverage"]
        .as_array()?
        .iter()
        .find(|c| c["check"] == check)?["skipped"]
        .as_array()?
        .iter()
        .find(|s| s["endpoint"] == endpoint)
        .and_then(|s| s["reason"].as_str().map(String::from))
}

static CANARY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)rampart[0-9a-f]{6,}").expect("canary regex"));

/// A request carries attacker input: a header beyond those every client
/// sends and the caches add, a body, another method, or a query parameter
/// beyond the buster and the visitor's own (a fresh value of a parameter
/// the key keeps, a fresh Host or path, is the key itself).
fn attacker_input<'a>(
    method: &str,
    uri: &str,
    mut headers: impl Iterator<Item = (&'a str, &'a str)>,
    body: bool,
) -> bool {
    let query_clean = uri.split_once('?').is_none_or(|(_, q)| {
        q.split('&').all(|p| {
            p.starts_with("rampart_cb=")
                || p.starts_with("page=")
                || ["q=varnish", "ref=home"].contains(&p)
        })
    });
    let headers_clean = headers.all(|(name, value)| match name {
        "user-agent" => value.starts_with("rampart/"),
        "x-forwarded-for" => value == "127.0.0.1",
        "host" | "accept" | "accept-encoding" | "x-varnish" | "x-rampart-site" | "x-cache-key"
        | "x-rampart-cache" | "connection" | "via" => true,
        _ => false,
    });
    method != "GET" || body || !query_clean || !headers_clean
}

/// [`attacker_input`] of a request the origin recorded.
fn recorded_attacker_input(record: &Value) -> bool {
    let headers = record["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(n, v)| (n.as_str(), v.as_str().unwrap_or("")));
    attacker_input(
        record["method"].as_str().unwrap_or(""),
        record["uri"].as_str().unwrap_or(""),
        headers,
        record["body"] == true,
    )
}

/// The keys the site's cache files visitors' plain requests under.
fn visitor_keys(stack: &Stack, site: Site) -> BTreeSet<String> {
    let host = stack
        .base_url(site)
        .trim_start_matches("http://")
        .to_string();
    site.visitor_urls()
        .iter()
        .map(|url| {
            let path = url.split('?').next().unwrap_or(url);
            match site {
                Site::PathOnly => path.to_string(),
                Site::HostOnly => host.clone(),
                Site::Shop => format!("{host}{url}"),
                Site::News => {
                    let page = url
                        .split(['?', '&'])
                        .find_map(|p| p.strip_prefix("page="))
                        .unwrap_or("");
                    format!("127.0.0.1{path}|{page}")
                }
                Site::AppCache => format!("view/{path}"),
            }
        })
        .collect()
}

/// No request with attacker input was even looked up under a visitor's
/// key in Varnish (its log names the key of every lookup, hit or miss), nor
/// created an entry under one at nginx or in Flask-Caching (the origin
/// records the key of every request that reached it); and every plain URL a
/// visitor uses is served what the origin itself answers, without a canary.
fn assert_no_probe_reached_a_visitor_entry(stack: &Stack) {
    let varnish_sites = [Site::PathOnly, Site::HostOnly, Site::Shop];
    let mut probes = 0;
    for request in stack.varnish.varnish_requests() {
        let Some(key) = request.logged.iter().find_map(|l| l.strip_prefix("key=")) else {
            continue;
        };
        let site = request.header("x-rampart-site").unwrap_or("");
        let Some(site) = varnish_sites.into_iter().find(|s| s.name() == site) else {
            continue;
        };
        let headers = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()));
        let has_body = request.header("content-length").is_some_and(|l| l != "0");
        if !attacker_input(&request.method, &request.url, headers, has_body) {
            continue;
        }
        probes += 1;
        assert!(
            !visitor_keys(stack, site).contains(key),
            "{site:?}: a probe was looked up under the key visitors of {key} use: {request:?}"
        );
    }
    assert!(probes > 200, "only {probes} probes reached Varnish");
    let records = stack.records();
    for site in [Site::News, Site::AppCache] {
        let keys = visitor_keys(stack, site);
        for record in records.iter().filter(|r| r["site"] == site.name()) {
            if !recorded_attacker_input(record) {
                continue;
            }
            let mut filed_under: Vec<String> = record["app_cache_keys"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str().map(String::from))
                .collect();
            filed_under.extend(record["cache_key"].as_str().map(String::from));
            for key in filed_under {
                assert!(
                    !keys.contains(&key),
                    "{site:?}: a probe created the entry visitors of {key} get: {record}"
                );
            }
        }
    }
    // Visitors, after the scan, through the cache.
    for site in ALL {
        for url in site.visitor_urls() {
            let served = http_get(&stack.base_url(site), url);
            let site_header = format!("X-Rampart-Site: {}", site.name());
            let direct = http_request(&stack.origin.base_url(), "GET", url, &[&site_header]);
            assert_eq!(
                served.status, direct.status,
                "{site:?} {url}: visitors get HTTP {} where the origin answers {}",
                served.status, direct.status
            );
            assert!(
                !CANARY.is_match(&served.body),
                "{site:?} {url} serves a probe's content: {}",
                served.body
            );
        }
    }
}

#[test]
fn vulnerable_sites_every_vector_is_found_from_the_base_url_and_no_probe_reaches_a_visitor_entry() {
    let stack = start("vulnerable");
    let scans = stack.scan_all();
    let run = |site: Site| &scans.iter().find(|(s, _)| *s == site).expect("scanned").1;
    assert_no_probe_reached_a_visitor_entry(&stack);

    // Varnish keyed on the path only: the query buster is no buster there,
    // so every probe went to a fresh path instead; the root, with nothing
    // to make fresh, was left alone and says why.
    let path_only = run(Site::PathOnly);
    assert_found(
        path_only,
        Site::PathOnly,
        "cache.unkeyed-header",
        "/articles/cache-basics",
        "X-Forwarded-Host",
    );
    let query = assert_found(
        path_only,
        Site::PathOnly,
        "cache.unkeyed-param",
        "/search-results",
        "query string",
    );
    assert_eq!(query.head.parameter.as_deref(), Some("q"));
    assert_found(
        path_only,
        Site::PathOnly,
        "cache.cached-error",
        "/contact-us",
        "X-Rampart-Oversized",
    );
    let root = skip_reason(path_only, "cache.unkeyed-header", "GET /").unwrap_or_else(|| {
        panic!(
            "the root was probed: {}",
            coverage_of(path_only, "cache.unkeyed-header")
        )
    });
    assert!(root.contains("not cache-safe"), "{root}");
    assert!(find(path_only, "cache.unkeyed-header", "/").is_none());

    // Varnish keyed on the Host only: a fresh Host is the key.
    let host_only = run(Site::HostOnly);
    let landing = assert_found(
        host_only,
        Site::HostOnly,
        "cache.unkeyed-header",
        "/",
        "X-Forwarded-Host",
    );
    assert!(
        landing.evidence[0]
            .request
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("host") && v.starts_with("rampart")),
        "{:?}",
        landing.evidence[0].request
    );

    // A root that only redirects: discovery follows its Location to the
    // HTML pages, the redirect itself is poisoned, and the page that
    // varies by browser class is served across classes.
    let shop = run(Site::Shop);
    let redirect = assert_found(
        shop,
        Site::Shop,
        "cache.unkeyed-header",
        "/",
        "X-Forwarded-Host",
    );
    assert!(
        redirect.head.description.contains("Location"),
        "{}",
        redirect.head.description
    );
    assert_found(shop, Site::Shop, "cache.client-class", "/en/", "");
    let endpoints: Vec<&str> = shop
        .report
        .endpoints
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    for path in ["/", "/en/", "/en/products/widget"] {
        assert!(
            endpoints.contains(&path),
            "{path} not discovered: {endpoints:?}"
        );
    }

    // nginx keyed on host, path and `page`: the `page` parameter is the
    // buster, `ref` is unkeyed.
    let news = run(Site::News);
    let unkeyed = assert_found(news, Site::News, "cache.unkeyed-param", "/news", "ref");
    assert!(
        unkeyed.evidence[0].request.url.contains("page=rampart"),
        "{}",
        unkeyed.evidence[0].request.url
    );
    assert_found(
        news,
        Site::News,
        "cache.unkeyed-header",
        "/news",
        "X-Forwarded-Host",
    );

    // Flask-Caching keyed on request.path, seen by timing alone: a fresh
    // last segment is the key; /about-us has none and is left alone.
    let app = run(Site::AppCache);
    assert_found(
        app,
        Site::AppCache,
        "cache.unkeyed-header",
        "/hello/world",
        "X-Forwarded-Prefix",
    );
    assert!(
        find(app, "cache.unkeyed-header", "/about-us").is_none(),
        "{}",
        app.summary()
    );
    let about = skip_reason(app, "cache.unkeyed-header", "GET /about-us");
    assert!(
        about.is_some(),
        "{}",
        coverage_of(app, "cache.unkeyed-header")
    );
}

#[test]
fn fixed_sites_are_silent() {
    let stack = start("fixed");
    for (site, run) in stack.scan_all() {
        let unwanted = run.unwanted(|f| f.check.starts_with("cache."));
        assert!(
            unwanted.is_empty(),
            "{site:?} fixed twin reported:\n{}",
            unwanted.join("\n")
        );
    }
    // Every check, at the default settings and with no rate limit:
    // nothing of medium or above.
    for speed in [&[][..], &["--rate", "0"]] {
        for (site, run) in stack.scan_all_with(&EVERY_CHECK, speed) {
            let unwanted = run.unwanted(|f| f.head.severity >= Severity::Medium);
            assert!(
                unwanted.is_empty(),
                "{site:?} fixed twin, every check {speed:?}:\n{}",
                unwanted.join("\n")
            );
        }
    }
}
