//! Lab cases for the transport family that show on a plain-HTTP lab: a
//! login callback that puts the access token in the redirect URL, a status
//! page naming its DynamoDB endpoint over `http://`, and a session cookie
//! readable by scripts and sent cross-site.

use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub fn routes() -> Router {
    Router::new()
        .route("/api/sso/callback", get(sso_callback))
        .route("/api/status", get(status))
        .route("/api/session", get(session))
}

async fn sso_callback() -> impl IntoResponse {
    (
        StatusCode::FOUND,
        [(
            LOCATION,
            "/app?access_token=lab-access-7f3c9a1e5b&token_type=bearer",
        )],
    )
}

async fn status() -> impl IntoResponse {
    Json(json!({
        "status": "ok",
        "storage": {"engine": "dynamodb", "table_endpoint": "http://dynamodb.us-east-1.amazonaws.com"}
    }))
}

async fn session() -> impl IntoResponse {
    (
        [(SET_COOKIE, "lab_session=3b1f0c9e2d7a4c58; Path=/")],
        Json(json!({"session": "started"})),
    )
}
