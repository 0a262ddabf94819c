//! Lab cases for the authorization family: a `me` endpoint, invoices fetched
//! by sequential id without an ownership check (BOLA), a per-user order list
//! that trusts the user id in the path, and a report open to anyone.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{ALICE_KEY, BOB_KEY};

struct User {
    id: u32,
    username: &'static str,
    key: &'static str,
}

static USERS: &[User] = &[
    User {
        id: 1,
        username: "alice",
        key: ALICE_KEY,
    },
    User {
        id: 2,
        username: "bob",
        key: BOB_KEY,
    },
];

/// (invoice id, owner id, item)
static ORDERS: &[(u32, u32, &str)] = &[(1001, 1, "laptop"), (1002, 1, "dock"), (2001, 2, "phone")];

fn caller(headers: &HeaderMap) -> Option<&'static User> {
    let key = headers.get("x-api-key")?.to_str().ok()?;
    USERS.iter().find(|u| u.key == key)
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "invalid API key"})),
    )
        .into_response()
}

fn order_json(order: &(u32, u32, &str)) -> Value {
    json!({"invoice_id": order.0, "owner_id": order.1, "item": order.2})
}

pub fn routes() -> Router {
    Router::new()
        .route("/api/me", get(me))
        .route("/api/invoices/{invoice_id}", get(order))
        .route("/api/customers/{user_id}/orders", get(customer_orders))
        .route("/api/reports/summary", get(summary))
}

async fn me(headers: HeaderMap) -> Response {
    match caller(&headers) {
        Some(user) => Json(json!({"user_id": user.id, "username": user.username})).into_response(),
        None => unauthorized(),
    }
}

/// The flaw: authenticated, but the order's owner is never compared.
async fn order(Path(invoice_id): Path<u32>, headers: HeaderMap) -> Response {
    if caller(&headers).is_none() {
        return unauthorized();
    }
    match ORDERS.iter().find(|o| o.0 == invoice_id) {
        Some(order) => Json(order_json(order)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such invoice"})),
        )
            .into_response(),
    }
}

/// The flaw: the user comes from the path, not from the API key.
async fn customer_orders(Path(user_id): Path<u32>, headers: HeaderMap) -> Response {
    if caller(&headers).is_none() {
        return unauthorized();
    }
    let orders: Vec<Value> = ORDERS
        .iter()
        .filter(|o| o.1 == user_id)
        .map(order_json)
        .collect();
    Json(json!({"user_id": user_id, "orders": orders})).into_response()
}

/// The flaw: no authentication at all.
async fn summary() -> Json<Value> {
    let users: Vec<Value> = USERS
        .iter()
        .map(|u| json!({"username": u.username, "orders": ORDERS.iter().filter(|o| o.1 == u.id).count()}))
        .collect();
    Json(json!({"users": users}))
}
