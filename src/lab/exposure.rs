//! Lab cases for the data-exposure family: every route leaks one kind of
//! data, and every route also carries decoys a careless detector would flag.

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{ALICE_KEY, BOB_KEY};

pub fn routes() -> Router {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route(
            "/api/health",
            get(|| async { Json(json!({"status": "ok"})) }),
        )
        .route("/api/users", get(users))
        .route("/api/users/{user_id}", get(user))
        .route("/api/payments/{payment_id}", get(payment))
        .route("/api/config", get(config))
        .route("/api/orders/{order_id}", get(order))
        .route("/api/search", get(search))
}

/// Fields that look alarming to a naive scanner but are harmless.
fn decoys() -> Value {
    json!({
        "request_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "order_number": "4000123412341235",
        "etag": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "updated_at": "2024-05-01T12:30:00Z",
        "support": "support@lab.example",
        "phone": "555-123-4567",
        "version": "1.2.3",
        "password_policy": "at least 12 characters"
    })
}

fn caller(headers: &HeaderMap) -> Option<&'static str> {
    match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some(ALICE_KEY) => Some("alice"),
        Some(BOB_KEY) => Some("bob"),
        _ => None,
    }
}

async fn users() -> Json<Value> {
    let people: Vec<Value> = ["ana", "ben", "chloe", "dev", "eli", "fay"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({
                "id": i + 1,
                "email": format!("{name}@customers.lab.example"),
                "password_hash": format!("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMU{i}"),
            })
        })
        .collect();
    Json(json!({"users": people, "meta": decoys()}))
}

async fn user(Path(user_id): Path<String>, headers: HeaderMap) -> Response {
    if caller(&headers).is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "missing API key"})),
        )
            .into_response();
    }
    Json(json!({
        "id": user_id,
        "name": "Ana Lopez",
        "ssn": "536-90-4021",
        "password": "hunter2-summer",
        "meta": decoys()
    }))
    .into_response()
}

async fn payment(Path(payment_id): Path<String>) -> Json<Value> {
    Json(json!({
        "id": payment_id,
        "amount": 1999,
        "card_number": "4539 1488 0343 6467",
        "meta": decoys()
    }))
}

async fn config() -> Json<Value> {
    Json(json!({
        "region": "us-east-1",
        "table": "lab-users",
        "aws_access_key_id": "AKIAQ3EGRLABDEMO7XYZ",
        "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYLABDEMOKEY",
        "meta": decoys()
    }))
}

/// Imitates the Werkzeug debugger page Flask shows with `debug=True`.
async fn order(Path(order_id): Path<String>) -> Response {
    let page = format!(
        "<!doctype html>\n<html><head><title>KeyError: 'total' // Werkzeug Debugger</title>\n\
         <script src=\"?__debugger__=yes&amp;cmd=resource&amp;f=debugger.js\"></script></head>\n\
         <body><h1>KeyError</h1><div class=\"traceback\"><h3>Traceback <em>(most recent call last)</em>:</h3>\n\
         <pre>Traceback (most recent call last):\n  File \"/srv/app/orders.py\", line 42, in get_order\n    \
         return jsonify(total=order[\"total\"])\nKeyError: 'total'</pre></div>\n\
         <p>The debugger caught an exception in your WSGI application. Order {order_id}.</p></body></html>"
    );
    (StatusCode::INTERNAL_SERVER_ERROR, Html(page)).into_response()
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// Returns a botocore error and traceback, as `str(e)` in an error handler would.
async fn search(Query(query): Query<SearchQuery>) -> Response {
    let q = query.q.unwrap_or_default();
    let message = "An error occurred (ValidationException) when calling the Query operation: \
                   Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: name";
    let trace = "Traceback (most recent call last):\n  File \"/srv/app/search.py\", line 18, in search\n    \
                 resp = table.query(KeyConditionExpression=expr)\n  File \"/venv/lib/python3.11/site-packages/botocore/client.py\", \
                 line 1023, in _make_api_call\n    raise error_class(parsed_response, operation_name)\n\
                 botocore.exceptions.ClientError: An error occurred (ValidationException) when calling the Query operation";
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": message, "query": q, "trace": trace})),
    )
        .into_response()
}

async fn openapi() -> Json<Value> {
    let get_op = |summary: &str, params: Value| json!({"get": {"summary": summary, "parameters": params, "responses": {"200": {"description": "OK"}}}});
    let path_param = |name: &str, example: &str| json!([{"name": name, "in": "path", "required": true, "schema": {"type": "string"}, "example": example}]);
    Json(json!({
        "openapi": "3.0.3",
        "info": {"title": "Rampart lab", "version": "1.0.0"},
        "components": {"securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
        "security": [{"apiKey": []}],
        "paths": {
            "/api/health": get_op("Health", json!([])),
            "/api/users": get_op("List users", json!([])),
            "/api/users/{user_id}": get_op("One user", path_param("user_id", "1")),
            "/api/payments/{payment_id}": get_op("One payment", path_param("payment_id", "p-100")),
            "/api/config": get_op("Client configuration", json!([])),
            "/api/orders/{order_id}": get_op("One order", path_param("order_id", "o-1")),
            "/api/search": get_op("Search", json!([{"name": "q", "in": "query", "required": true, "schema": {"type": "string"}, "example": "ana"}])),
            "/api/account": get_op("The caller's account (behind the shared cache)", json!([])),
            "/api/links": get_op("Links (behind the shared cache)", json!([])),
            "/api/promo": get_op("Promotion banner (behind the shared cache)", json!([])),
            "/api/me": get_op("The caller", json!([])),
            "/api/invoices/{invoice_id}": get_op("One invoice", path_param("invoice_id", "1001")),
            "/api/customers/{user_id}/orders": get_op("A customer's orders", path_param("user_id", "1")),
            "/api/reports/summary": get_op("Orders per user", json!([])),
            "/api/downloads": get_op("The caller's signed report links", json!([])),
            "/api/sso/callback": get_op("Single sign-on callback", json!([])),
            "/api/status": get_op("Service status", json!([])),
            "/api/session": get_op("Start a session", json!([])),
            "/api/purchases": get_op("The caller's orders, filtered by one field", json!([
                {"name": "field", "in": "query", "required": true, "schema": {"type": "string"}, "example": "category"},
                {"name": "value", "in": "query", "required": true, "schema": {"type": "string"}, "example": "books"}
            ])),
            "/api/greeting": get_op("A greeting", json!([{"name": "name", "in": "query", "required": true, "schema": {"type": "string"}, "example": "Ada"}])),
            "/api/reports/download": get_op("Download a report through a signed link", json!([
                {"name": "user_id", "in": "query", "required": true, "schema": {"type": "integer"}, "example": 1},
                {"name": "token", "in": "query", "required": true, "schema": {"type": "string"}}
            ]))
        }
    }))
}
