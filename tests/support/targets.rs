//! The Python test targets: `moto_server` (DynamoDB) and the Flask apps in
//! `tests/targets/<family>/app.py`, run from the test venv.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use super::http::{http_get, HttpResponse, Wire};
use super::process::{ChildProcess, Launch, Ready, Slot};
use super::tls::TestPki;
use super::{repo_root, targets_dir};

/// The Python test venv: `$RAMPART_TEST_VENV`, else `<repo>/.venv`.
/// Panics (never skips) when it is missing.
pub fn venv_dir() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = match std::env::var_os("RAMPART_TEST_VENV") {
            Some(v) if !v.is_empty() => {
                let p = PathBuf::from(v);
                if p.is_relative() {
                    repo_root().join(p)
                } else {
                    p
                }
            }
            _ => repo_root().join(".venv"),
        };
        if !dir.join("bin").join("python").exists() {
            panic!(
                "Python test venv missing: run scripts/test (it creates .venv) \
                 [looked for {}/bin/python; set RAMPART_TEST_VENV to use another venv]",
                dir.display()
            );
        }
        dir
    })
    .clone()
}

/// `<venv>/bin/<name>`; panics with the venv hint when it is missing.
pub fn venv_bin(name: &str) -> PathBuf {
    let p = venv_dir().join("bin").join(name);
    if !p.exists() {
        panic!(
            "Python test venv missing: run scripts/test (it creates .venv) \
             [{} not found; is tests/targets/requirements.txt installed?]",
            p.display()
        );
    }
    p
}

// ---------------------------------------------------------------------------
// moto_server (DynamoDB)
// ---------------------------------------------------------------------------

/// A `moto_server` on 127.0.0.1:<free port>.
pub struct MotoServer {
    proc: ChildProcess,
}

impl MotoServer {
    /// Starts `<venv>/bin/moto_server -H 127.0.0.1 -p PORT` and waits until
    /// it answers HTTP (typically 1-2 s).
    pub fn start() -> MotoServer {
        let bin = venv_bin("moto_server");
        let proc = Launch::new("moto_server", |slot: &Slot<'_>| {
            let mut cmd = Command::new(&bin);
            cmd.args(["-H", "127.0.0.1", "-p", &slot.port().to_string()]);
            cmd
        })
        .ready(Ready::Http {
            wire: Wire::Http,
            path: "/".into(),
            ok: |status| status < 500,
            fresh_query: false,
        })
        .start();
        MotoServer { proc }
    }

    /// `http://127.0.0.1:<port>` (what the apps get as `DYNAMODB_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    pub fn port(&self) -> u16 {
        self.proc.port()
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.proc
    }

    pub fn log_tail(&self, n: usize) -> String {
        self.proc.log_tail(n)
    }
}

// ---------------------------------------------------------------------------
// Flask target apps
// ---------------------------------------------------------------------------

/// One twin of a Python target app (`tests/targets/<app>`).
///
/// Environment passed to the app: `TWIN`, `PORT`, `DYNAMODB_ENDPOINT` (or
/// `TLS_CERT`/`TLS_KEY`), the harness's own (see [`super::process`]), then
/// `extra_env` (which may override any of them, e.g. `TABLE_PREFIX`).
pub struct FlaskApp {
    proc: ChildProcess,
    twin: String,
    app: String,
    /// HTTP, or HTTPS served by the app itself ([`FlaskApp::start_tls`]).
    wire: Wire,
}

/// The command that runs target `app` as `twin` on a given port: the venv's
/// python, Flask's reloader and debugger kept off, the caller's
/// `extra_env`, and `configure` for what differs (moto endpoint, TLS files).
pub fn target_command<'a>(
    app: &str,
    twin: &'a str,
    extra_env: &'a [(&'a str, &'a str)],
    configure: impl Fn(&mut Command) + 'a,
) -> impl Fn(u16) -> Command + 'a {
    let script = targets_dir().join(app);
    assert!(
        script.is_file(),
        "target app {} does not exist",
        script.display()
    );
    let python = venv_bin("python");
    move |port| {
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .env("TWIN", twin)
            .env("PORT", port.to_string())
            .env_remove("FLASK_DEBUG")
            .env_remove("FLASK_APP")
            .env_remove("WERKZEUG_RUN_MAIN")
            .env_remove("WERKZEUG_SERVER_FD");
        configure(&mut cmd);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd
    }
}

impl FlaskApp {
    /// Starts `app` (path relative to `tests/targets`, e.g.
    /// "exposure/app.py") as `twin` against `moto` and waits until
    /// `GET /api/health` returns 200.
    pub fn start(app: &str, twin: &str, moto: &MotoServer, extra_env: &[(&str, &str)]) -> FlaskApp {
        let endpoint = moto.endpoint();
        let make = target_command(app, twin, extra_env, |cmd| {
            cmd.env("DYNAMODB_ENDPOINT", &endpoint);
        });
        Self::launch(app, twin, Wire::Http, make)
    }

    /// Starts `app` as `twin` without DynamoDB (the app brings its own store,
    /// e.g. a database server given in `extra_env`) and waits until `GET
    /// /api/health` returns 200.
    pub fn start_plain(app: &str, twin: &str, extra_env: &[(&str, &str)]) -> FlaskApp {
        let make = target_command(app, twin, extra_env, |cmd| {
            cmd.env_remove("DYNAMODB_ENDPOINT");
        });
        Self::launch(app, twin, Wire::Http, make)
    }

    /// Starts `app` as `twin` serving HTTPS itself with `pki`'s default leaf
    /// and chain; waits until `GET /api/health` over HTTPS returns 200.
    /// `moto` is optional: apps without DynamoDB pass `None`.
    pub fn start_tls(
        app: &str,
        twin: &str,
        pki: &TestPki,
        moto: Option<&MotoServer>,
        extra_env: &[(&str, &str)],
    ) -> FlaskApp {
        let endpoint = moto.map(MotoServer::endpoint);
        let (cert, key) = (pki.cert_chain(), pki.key());
        let make = target_command(app, twin, extra_env, |cmd| {
            cmd.env("TLS_CERT", &cert).env("TLS_KEY", &key);
            match &endpoint {
                Some(endpoint) => cmd.env("DYNAMODB_ENDPOINT", endpoint),
                None => cmd.env_remove("DYNAMODB_ENDPOINT"),
            };
        });
        Self::launch(app, twin, Wire::Https, make)
    }

    fn launch(app: &str, twin: &str, wire: Wire, make: impl Fn(u16) -> Command) -> FlaskApp {
        let suffix = if wire == Wire::Https { ", tls" } else { "" };
        let name = format!("{}[{twin}{suffix}]", app.trim_end_matches(".py"));
        let proc = Launch::new(&name, |slot: &Slot<'_>| make(slot.port()))
            .ready(Ready::Http {
                wire,
                path: "/api/health".into(),
                ok: |status| status == 200,
                fresh_query: false,
            })
            .start();
        FlaskApp {
            proc,
            twin: twin.to_string(),
            app: app.to_string(),
            wire,
        }
    }

    /// `http://127.0.0.1:<port>` or `https://…` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.wire.scheme(), self.port())
    }

    /// `base_url()` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path)
    }

    pub fn port(&self) -> u16 {
        self.proc.port()
    }

    pub fn twin(&self) -> &str {
        &self.twin
    }

    pub fn app(&self) -> &str {
        &self.app
    }

    /// GET a path on this app (over HTTPS: certificate not verified,
    /// redirects not followed).
    pub fn get(&self, path: &str) -> HttpResponse {
        http_get(&self.base_url(), path)
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.proc
    }

    pub fn log_tail(&self, n: usize) -> String {
        self.proc.log_tail(n)
    }
}
