//! The built-in vulnerable lab behind `rampart demo`: a small in-process API
//! on 127.0.0.1 that imitates a Flask + DynamoDB service with planted flaws,
//! so a newcomer sees real findings without owning an API. Each check family
//! adds its cases here.

mod authz;
mod cache;
mod exposure;
pub(crate) mod injection;
mod signing;
mod transport;

use std::net::SocketAddr;

use axum::http::header::{HeaderName, HeaderValue};
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::identity::Identity;
use crate::report::ShellVariable;

/// API keys of the lab's two users (lab-only values, not secrets).
pub const ALICE_KEY: &str = "lab-key-alice-7f3a9c";
pub const BOB_KEY: &str = "lab-key-bob-41d2e8";

/// The identities `rampart demo` scans with.
pub fn demo_identities() -> Vec<Identity> {
    vec![
        Identity {
            name: "alice".into(),
            headers: vec![("X-API-Key".into(), ALICE_KEY.into())],
        },
        Identity {
            name: "bob".into(),
            headers: vec![("X-API-Key".into(), BOB_KEY.into())],
        },
    ]
}

/// The shell variables `demo --serve` exports the lab's keys in, which the
/// demo's reproduce lines read.
pub fn shell_variables() -> Vec<ShellVariable> {
    demo_identities()
        .iter()
        .flat_map(|identity| {
            identity
                .headers
                .iter()
                .map(move |(header, _)| ShellVariable {
                    header: header.clone(),
                    placeholder: format!("<{} {header}>", identity.name),
                    name: format!("{}_KEY", identity.name.to_ascii_uppercase()),
                })
        })
        .collect()
}

/// `export` lines that set the lab's keys (and its address) in a shell,
/// each saying which placeholder of the report it stands for.
pub fn export_lines(base: &Url) -> Vec<String> {
    let mut lines = vec![format!(
        "export RAMPART_LAB='{}'",
        base.as_str().trim_end_matches('/')
    )];
    for identity in demo_identities() {
        for (header, value) in &identity.headers {
            lines.push(format!(
                "export {}_KEY='{value}'   # <{} {header}> in the report",
                identity.name.to_ascii_uppercase(),
                identity.name
            ));
        }
    }
    lines
}

pub struct LabServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl LabServer {
    pub fn base_url(&self) -> Url {
        // A socket address always forms a valid URL.
        Url::parse(&format!("http://{}", self.addr)).unwrap_or_else(|_| unreachable!())
    }

    pub fn spec_url(&self) -> Url {
        self.base_url()
            .join("/openapi.json")
            .unwrap_or_else(|_| unreachable!())
    }

    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// The whole lab application.
pub fn router() -> Router {
    exposure::routes()
        .merge(cache::routes())
        .merge(authz::routes())
        .merge(signing::routes())
        .merge(transport::routes())
        .merge(injection::routes())
        .layer(axum::middleware::map_response(imitate_werkzeug))
}

/// The lab imitates a Flask app, so its fixes come out in Flask terms.
async fn imitate_werkzeug(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        HeaderName::from_static("server"),
        HeaderValue::from_static("Werkzeug/3.1.3 Python/3.11.7"),
    );
    response
}

/// Starts the lab on an ephemeral 127.0.0.1 port.
pub async fn start() -> std::io::Result<LabServer> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    let app = router();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = on_shutdown.await;
            })
            .await;
    });
    Ok(LabServer {
        addr,
        shutdown: Some(shutdown),
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_lines_set_the_variables_the_reproduce_lines_read() {
        let base = Url::parse("http://127.0.0.1:5000/").expect("a URL");
        let lines = export_lines(&base);
        assert_eq!(lines[0], "export RAMPART_LAB='http://127.0.0.1:5000'");
        for variable in shell_variables() {
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("export {}='", variable.name))
                        && l.contains(&variable.placeholder)),
                "{variable:?} not exported: {lines:?}"
            );
        }
        assert!(lines.iter().any(|l| l.contains(ALICE_KEY)));
    }
}
