//! Real servers in front of (or instead of) a test target: Varnish and nginx
//! `proxy_cache` for the web-cache checks, and nginx with any config (the
//! transport tests' modern TLS server).
//!
//! Each renders its config into the child's scratch directory, listens on
//! free `127.0.0.1` ports and is managed like every other child
//! ([`super::process`]): nginx is stopped with SIGQUIT (its graceful
//! shutdown) to the whole group, so no worker outlives its master.
//!
//! ```ignore
//! let varnish = proxy::Varnish::start(proxy::cache_target_path(proxy::VARNISH_VULNERABLE), origin_port);
//! let nginx = proxy::Nginx::start(proxy::cache_target_path(proxy::NGINX_FIXED), origin_port);
//! let url = format!("{}/api/account?cb={}", varnish.base_url(), nonce);
//! ```
//!
//! Binaries: `varnishd` / `nginx` from `PATH`, else `/usr/sbin`,
//! `/usr/local/sbin`, `/sbin`; override with `RAMPART_VARNISHD` /
//! `RAMPART_NGINX`.
//!
//! Templates use `@PLACEHOLDER@` markers:
//! * Varnish: `@BACKEND_HOST@`, `@BACKEND_PORT@`.
//! * nginx: `@PREFIX@`, `@LISTEN_PORT@`, `@BACKEND_HOST@`, `@BACKEND_PORT@`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::http::Wire;
use super::process::{ChildProcess, Launch, Ready, Slot, SIGQUIT};

/// File names inside `tests/targets/cache/`.
pub const VARNISH_VULNERABLE: &str = "varnish-vulnerable.vcl";
pub const VARNISH_FIXED: &str = "varnish-fixed.vcl";
pub const NGINX_VULNERABLE: &str = "nginx-vulnerable.conf.template";
pub const NGINX_FIXED: &str = "nginx-fixed.conf.template";
/// The sites (`sites.py`): Varnish with the sockets [`SITE_SOCKETS`], and
/// nginx in front of the news site.
pub const VARNISH_SITES_VULNERABLE: &str = "sites-vulnerable.vcl";
pub const VARNISH_SITES_FIXED: &str = "sites-fixed.vcl";
pub const NGINX_SITES_VULNERABLE: &str = "nginx-sites-vulnerable.conf.template";
pub const NGINX_SITES_FIXED: &str = "nginx-sites-fixed.conf.template";
/// The Varnish sockets of the sites' VCL, one site each.
pub const SITE_SOCKETS: &[&str] = &["pathonly", "hostonly", "standard"];

/// The readiness path, requested through the proxy.
pub const HEALTH_PATH: &str = "/api/health";

const BACKEND_HOST: &str = "127.0.0.1";

/// `<crate>/tests/targets/cache/<file>`.
pub fn cache_target_path(file: &str) -> PathBuf {
    super::targets_dir().join("cache").join(file)
}

/// Ready once `GET health_path` answers 200 *through* the proxy (so start
/// the origin first), each poll on a fresh URL so a cache cannot answer
/// from a stored error.
fn through_proxy(health_path: &str) -> Ready {
    Ready::Http {
        wire: Wire::Http,
        path: health_path.to_string(),
        ok: |status| status == 200,
        fresh_query: true,
    }
}

/// A running Varnish or nginx.
pub struct Proxy {
    proc: ChildProcess,
}

impl Proxy {
    /// `http://127.0.0.1:<first port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// The first port.
    pub fn port(&self) -> u16 {
        self.proc.port()
    }

    pub fn ports(&self) -> &[u16] {
        self.proc.ports()
    }

    /// Scratch directory (rendered config, logs, cache).
    pub fn dir(&self) -> &Path {
        self.proc.dir()
    }

    /// Last `lines` lines of each log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.proc.log_tail(lines)
    }

    /// Varnish only: every request it has handled so far, from its
    /// shared-memory log (`varnishlog -d -g request`), each as the method,
    /// URL, request headers (their last values, after VCL) and the lines
    /// VCL logged with `std.log`.
    pub fn varnish_requests(&self) -> Vec<VarnishRequest> {
        let bin = find_binary("varnishlog", "RAMPART_VARNISHLOG")
            .unwrap_or_else(|| panic!("varnishlog not found (it comes with varnish)"));
        let out = Command::new(bin)
            .args(["-d", "-g", "request", "-n"])
            .arg(self.dir().join("work"))
            .args(["-i", "ReqMethod,ReqURL,ReqHeader,VCL_Log"])
            .output()
            .expect("varnishlog runs");
        assert!(
            out.status.success(),
            "varnishlog: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        parse_varnishlog(&String::from_utf8_lossy(&out.stdout))
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.proc
    }
}

// ---------------------------------------------------------------------------
// Varnish
// ---------------------------------------------------------------------------

/// `varnishd -F` running a rendered VCL template.
pub struct Varnish;

impl Varnish {
    /// Renders `vcl_template` for `127.0.0.1:<backend_port>`, starts varnishd
    /// on a free port and waits until `GET /api/health` answers 200 through
    /// it. Panics (with the log tail) on failure.
    pub fn start(vcl_template: impl AsRef<Path>, backend_port: u16) -> Proxy {
        Self::start_sockets(vcl_template, backend_port, &[])
    }

    /// [`Varnish::start`] with one named listen socket per name (`-a
    /// NAME=127.0.0.1:PORT`, which VCL reads as `local.socket`), their ports
    /// in the order of `names` ([`Proxy::ports`]); one unnamed socket when
    /// `names` is empty.
    pub fn start_sockets(
        vcl_template: impl AsRef<Path>,
        backend_port: u16,
        names: &[&str],
    ) -> Proxy {
        let template = read_template(vcl_template.as_ref());
        let bin = find_binary("varnishd", "RAMPART_VARNISHD").unwrap_or_else(|| {
            panic!("varnishd not found (apt-get install varnish, or set RAMPART_VARNISHD)")
        });
        let proc = Launch::new("varnishd", |slot: &Slot<'_>| {
            let vcl = render(
                &template,
                &[
                    ("BACKEND_HOST", BACKEND_HOST.to_string()),
                    ("BACKEND_PORT", backend_port.to_string()),
                ],
            );
            let vcl_path = slot.dir.join("rampart.vcl");
            fs::write(&vcl_path, vcl).expect("write rendered VCL");
            let mut cmd = Command::new(&bin);
            cmd.arg("-F")
                // No privilege separation: works as root (the default unix
                // jail would drop to the `varnish` user, which can't read a
                // 0700 scratch dir) and as an ordinary user alike.
                .args(["-j", "none"])
                .arg("-n")
                .arg(slot.dir.join("work"));
            if names.is_empty() {
                cmd.arg("-a").arg(format!("127.0.0.1:{}", slot.port()));
            }
            for (name, port) in names.iter().zip(slot.ports) {
                cmd.arg("-a").arg(format!("{name}=127.0.0.1:{port}"));
            }
            cmd.arg("-f")
                .arg(&vcl_path)
                .args(["-s", "malloc,32m"])
                .args(["-T", "none"])
                // Enough shared-memory log for a whole scan to be read back.
                .args([
                    "-p",
                    if names.is_empty() {
                        "vsl_space=4M"
                    } else {
                        "vsl_space=64M"
                    },
                ])
                .args(["-p", "thread_pools=1"])
                .args(["-p", "thread_pool_min=10"]);
            cmd
        })
        .ports(names.len().max(1))
        .ready(through_proxy(HEALTH_PATH))
        .start();
        Proxy { proc }
    }
}

// ---------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------

/// `nginx -g 'daemon off;'` running a rendered config.
pub struct Nginx;

impl Nginx {
    /// Renders `conf_template` (prefix, listen port, backend), starts nginx
    /// and waits until `GET /api/health` answers 200 through it. Panics
    /// (with the log tail) on failure.
    pub fn start(conf_template: impl AsRef<Path>, backend_port: u16) -> Proxy {
        let template = read_template(conf_template.as_ref());
        Self::start_config(
            1,
            |prefix, ports| {
                render(
                    &template,
                    &[
                        ("PREFIX", prefix.display().to_string()),
                        ("LISTEN_PORT", ports[0].to_string()),
                        ("BACKEND_HOST", BACKEND_HOST.to_string()),
                        ("BACKEND_PORT", backend_port.to_string()),
                    ],
                )
            },
            through_proxy(HEALTH_PATH),
        )
    }

    /// nginx with the config `config(prefix, ports)` returns for `ports` free
    /// ports (the prefix is its scratch directory, for pid, logs and temp
    /// paths), ready when `ready` holds.
    pub fn start_config(
        ports: usize,
        config: impl Fn(&Path, &[u16]) -> String,
        ready: Ready,
    ) -> Proxy {
        let bin = find_binary("nginx", "RAMPART_NGINX").unwrap_or_else(|| {
            panic!("nginx not found (apt-get install nginx, or set RAMPART_NGINX)")
        });
        let proc = Launch::new("nginx", |slot: &Slot<'_>| {
            let conf_path = slot.dir.join("nginx.conf");
            fs::write(&conf_path, config(slot.dir, slot.ports)).expect("write nginx.conf");
            let mut cmd = Command::new(&bin);
            cmd.arg("-p")
                .arg(format!("{}/", slot.dir.display()))
                // -e: the startup error log, before the config's error_log
                // applies (default /var/log/nginx/error.log).
                .arg("-e")
                .arg(slot.dir.join("error.log"))
                .arg("-c")
                .arg(&conf_path)
                .args(["-g", "daemon off;"]);
            cmd
        })
        .ports(ports)
        .ready(ready)
        .stop_signal(SIGQUIT)
        .log_file("error.log")
        .start();
        Proxy { proc }
    }
}

/// One request in Varnish's log.
#[derive(Debug, Clone, Default)]
pub struct VarnishRequest {
    pub method: String,
    pub url: String,
    /// Lower-case names; the last value each had.
    pub headers: Vec<(String, String)>,
    /// What VCL logged with `std.log`.
    pub logged: Vec<String>,
}

impl VarnishRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `varnishlog -g request` output: one `*   << Request  >> id` block per
/// request, `-   Tag  value` lines inside.
fn parse_varnishlog(text: &str) -> Vec<VarnishRequest> {
    let mut out: Vec<VarnishRequest> = Vec::new();
    for line in text.lines() {
        if line.starts_with('*') && line.contains("<< Request") {
            out.push(VarnishRequest::default());
            continue;
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        let Some(rest) = line.strip_prefix('-') else {
            continue;
        };
        let rest = rest.trim_start();
        let (tag, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let value = value.trim_start();
        match tag {
            "ReqMethod" if current.method.is_empty() => current.method = value.to_string(),
            "ReqURL" if current.url.is_empty() => current.url = value.to_string(),
            "ReqHeader" => {
                if let Some((name, v)) = value.split_once(':') {
                    current
                        .headers
                        .push((name.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            "VCL_Log" => current.logged.push(value.to_string()),
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Small private helpers
// ---------------------------------------------------------------------------

fn read_template(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read template {}: {e}", path.display()))
}

/// Replace `@KEY@` markers; panics if any `@UPPER_CASE@` marker is left.
fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (key, value) in vars {
        out = out.replace(&format!("@{key}@"), value);
    }
    let bytes = out.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'@' {
            let rest = &out[i + 1..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                .unwrap_or(rest.len());
            if end > 0 && rest[end..].starts_with('@') {
                panic!("unreplaced template placeholder @{}@", &rest[..end]);
            }
        }
    }
    out
}

fn find_binary(name: &str, env_override: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_override) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/sbin", "/usr/local/sbin", "/sbin"] {
        dirs.push(PathBuf::from(extra));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}
