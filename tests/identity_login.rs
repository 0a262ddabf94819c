//! Identities that log in: the token is taken from the login response, sent
//! as configured, renewed when the API answers 401, and never printed.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use rampart::engine::{Caller, Engine, EngineConfig, Probe};
use rampart::identity::file::parse;
use serde_json::json;

#[derive(Clone, Default)]
struct Tokens {
    issued: Arc<AtomicU32>,
}

impl Tokens {
    fn current(&self) -> String {
        format!("tok-{}", self.issued.load(Ordering::SeqCst))
    }
}

async fn start() -> (String, Tokens) {
    let tokens = Tokens::default();
    let app = Router::new()
        .route(
            "/login",
            post(
                |State(t): State<Tokens>, Json(body): Json<serde_json::Value>| async move {
                    if body["password"] != "carol-pw-123" {
                        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "bad"})));
                    }
                    t.issued.fetch_add(1, Ordering::SeqCst);
                    (
                        StatusCode::OK,
                        Json(json!({"data": {"token": t.current()}})),
                    )
                },
            ),
        )
        .route(
            "/secret",
            get(|State(t): State<Tokens>, headers: HeaderMap| async move {
                let sent = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if sent == format!("Bearer {}", t.current()) {
                    (StatusCode::OK, "carol's secret")
                } else {
                    (StatusCode::UNAUTHORIZED, "expired")
                }
            }),
        )
        .with_state(tokens.clone());
    (serve(app).await, tokens)
}

/// `app` on a loopback port: its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{addr}")
}

/// An unthrottled engine for `base` whose one identity, carol, logs in as
/// the identity file `file` says (her password from `CAROL_PW`).
fn engine_with_login(base: &str, file: &str) -> Engine {
    let env = |var: &str| (var == "CAROL_PW").then(|| "carol-pw-123".to_string());
    let entry = parse(file, "ids.toml", &env).unwrap().remove(0);
    let mut config = EngineConfig::new(url::Url::parse(base).unwrap());
    config.rate_per_second = None;
    config.identities = vec![entry.identity];
    config.logins = vec![("carol".into(), entry.login.unwrap())];
    Engine::new(config).unwrap()
}

fn carol_engine(base: &str) -> Engine {
    engine_with_login(
        base,
        r#"
        [[identity]]
        name = "carol"
        [identity.login]
        path = "/login"
        json = { username = "carol", password = "env:CAROL_PW" }
        token_pointer = "/data/token"
    "#,
    )
}

#[tokio::test]
async fn the_token_is_used_and_renewed_after_a_401() {
    let (base, tokens) = start().await;
    let engine = carol_engine(&base);
    engine.login_all().await.unwrap();
    let secret = url::Url::parse(&format!("{base}/secret")).unwrap();
    let carol = || Probe::get(secret.clone()).as_caller(Caller::Identity("carol".into()));
    assert_eq!(engine.send(carol()).await.unwrap().response.status, 200);

    // Someone else logs in as carol: her token is now stale.
    tokens.issued.fetch_add(1, Ordering::SeqCst);
    let renewed = engine.send(carol()).await.unwrap();
    assert_eq!(renewed.response.status, 200, "re-login after 401 and retry");
    assert_eq!(tokens.issued.load(Ordering::SeqCst), 3);

    // Neither the password nor any token survives redaction.
    let redactor = engine.redactor();
    let text = format!("carol-pw-123 Bearer {} tok-1", tokens.current());
    let shown = redactor.redact_supplied(&text);
    assert!(
        !shown.contains("carol-pw-123") && !shown.contains("tok-"),
        "{shown}"
    );
}

/// On an API that keeps one session per user, a login per 401 would revoke
/// the token the previous login just obtained: a burst of requests that
/// all find the token stale must log in once, and all get through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_401s_logs_in_once_and_every_request_gets_through() {
    let (base, tokens) = start().await;
    let engine = carol_engine(&base);
    engine.login_all().await.unwrap();
    tokens.issued.fetch_add(1, Ordering::SeqCst);
    let secret = url::Url::parse(&format!("{base}/secret")).unwrap();
    let burst = (0..16).map(|_| {
        engine.send(Probe::get(secret.clone()).as_caller(Caller::Identity("carol".into())))
    });
    let answers = futures::future::join_all(burst).await;
    let statuses: Vec<u16> = answers
        .into_iter()
        .map(|a| a.unwrap().response.status)
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(tokens.issued.load(Ordering::SeqCst), 3, "one re-login");
}

#[tokio::test]
async fn a_login_without_a_token_is_a_clear_error() {
    let (base, _) = start().await;
    let file = r#"
        [[identity]]
        name = "carol"
        [identity.login]
        path = "/login"
        json = { username = "carol", password = "wrong" }
        token_pointer = "/data/token"
    "#;
    let entry = parse(file, "ids.toml", &|_| None).unwrap().remove(0);
    let mut config = EngineConfig::new(url::Url::parse(&base).unwrap());
    config.identities = vec![entry.identity];
    config.logins = vec![("carol".into(), entry.login.unwrap())];
    let engine = Engine::new(config).unwrap();
    let error = engine.login_all().await.unwrap_err().to_string();
    assert!(error.contains("carol") && error.contains("401"), "{error}");
    assert!(!error.contains("wrong"), "{error}");
}

/// A session-cookie login (Flask-Login, Django, Express sessions): the
/// form login sets `sid` among other cookies, and the API reads it back
/// from the `Cookie` header.
async fn start_cookie_sessions() -> (String, Tokens) {
    let tokens = Tokens::default();
    let app = Router::new()
        .route(
            "/session",
            post(|State(t): State<Tokens>, body: String| async move {
                if !body.contains("password=carol-pw-123") {
                    return (StatusCode::UNAUTHORIZED, HeaderMap::new(), "bad");
                }
                t.issued.fetch_add(1, Ordering::SeqCst);
                let mut headers = HeaderMap::new();
                for cookie in [
                    "csrftoken=c5f2; Path=/".to_string(),
                    format!("sid={}; HttpOnly; Path=/; SameSite=Lax", t.current()),
                ] {
                    headers.append("set-cookie", cookie.parse().expect("a header value"));
                }
                (StatusCode::OK, headers, "welcome")
            }),
        )
        .route(
            "/secret",
            get(|State(t): State<Tokens>, headers: HeaderMap| async move {
                let sent = headers
                    .get("cookie")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if sent == format!("sid={}", t.current()) {
                    (StatusCode::OK, "carol's secret")
                } else {
                    (StatusCode::UNAUTHORIZED, "log in")
                }
            }),
        )
        .with_state(tokens.clone());
    (serve(app).await, tokens)
}

#[tokio::test]
async fn a_session_cookie_login_is_sent_back_as_a_cookie_and_renewed() {
    let (base, tokens) = start_cookie_sessions().await;
    let engine = engine_with_login(
        &base,
        r#"
        [[identity]]
        name = "carol"
        [identity.login]
        path = "/session"
        form = { username = "carol", password = "env:CAROL_PW" }
        token_cookie = "sid"
    "#,
    );
    engine.login_all().await.unwrap();
    let secret = url::Url::parse(&format!("{base}/secret")).unwrap();
    let carol = || Probe::get(secret.clone()).as_caller(Caller::Identity("carol".into()));
    assert_eq!(engine.send(carol()).await.unwrap().response.status, 200);
    // The session ends elsewhere: the next 401 logs in again.
    tokens.issued.fetch_add(1, Ordering::SeqCst);
    assert_eq!(engine.send(carol()).await.unwrap().response.status, 200);
    assert_eq!(tokens.issued.load(Ordering::SeqCst), 3);
    let sent = format!("sid={}", tokens.current());
    let shown = engine.redactor().redact_supplied(&sent);
    assert!(!shown.contains("tok-"), "{shown}");
}
