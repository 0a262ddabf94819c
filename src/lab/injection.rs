//! Lab cases for the injection family, in the lab's Flask + DynamoDB
//! imitation: an order filter that pastes the caller's attribute name into
//! a `FilterExpression` (imitated here with DynamoDB's precedence and its
//! validation error), and a greeting rendered as a Jinja2 template built
//! from the input (only `{{ a*b }}` arithmetic is imitated).

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;

use super::{ALICE_KEY, BOB_KEY};

pub fn routes() -> Router {
    Router::new()
        .route("/api/purchases", get(order_search))
        .route("/api/greeting", get(greeting))
}

/// (order id, owner, category).
type Order = (&'static str, &'static str, &'static str);

const ORDERS: &[Order] = &[
    ("o-11", "alice", "books"),
    ("o-12", "alice", "games"),
    ("o-21", "bob", "books"),
    ("o-22", "bob", "tools"),
];

fn caller(headers: &HeaderMap) -> Option<&'static str> {
    match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some(ALICE_KEY) => Some("alice"),
        Some(BOB_KEY) => Some("bob"),
        _ => None,
    }
}

fn attribute(order: &Order, name: &str) -> Option<&'static str> {
    match name {
        "order_id" => Some(order.0),
        "owner" => Some(order.1),
        "category" => Some(order.2),
        _ => None,
    }
}

/// `owner = :me AND {field} = :v`, as DynamoDB would evaluate the two
/// shapes this lab understands; anything else with brackets is the
/// `ValidationException` boto3 raises.
async fn order_search(
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let Some(me) = caller(&headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "missing or invalid API key"})),
        );
    };
    let field = query.get("field").map(String::as_str).unwrap_or("category");
    let value = query.get("value").map(String::as_str).unwrap_or("");
    let widened = field
        .strip_prefix("attribute_exists(")
        .and_then(|rest| rest.split_once(") OR "));
    let keep: Box<dyn Fn(&Order) -> bool> = match widened {
        // AND binds tighter than OR: (owner = :me AND exists) OR name = :v.
        Some((exists, name)) => {
            let (exists, name) = (exists.to_string(), name.to_string());
            Box::new(move |o| {
                (o.1 == me && attribute(o, &exists).is_some()) || attribute(o, &name) == Some(value)
            })
        }
        None if field.contains(['(', ')']) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(
                    json!({"error": "An error occurred (ValidationException) when calling the Scan operation: Invalid FilterExpression: Syntax error; token: \"(\""}),
                ),
            );
        }
        None => {
            let field = field.to_string();
            Box::new(move |o| o.1 == me && attribute(o, &field) == Some(value))
        }
    };
    let items: Vec<Value> = ORDERS
        .iter()
        .filter(|o| keep(o))
        .map(|o| json!({"order_id": o.0, "owner": o.1, "category": o.2}))
        .collect();
    (
        StatusCode::OK,
        Json(json!({"items": items, "count": items.len()})),
    )
}

/// `render_template_string("Hello " + name + "!")`: `{{ a*b }}` is evaluated.
async fn greeting(Query(query): Query<HashMap<String, String>>) -> impl IntoResponse {
    let name = query.get("name").map(String::as_str).unwrap_or("stranger");
    match render_products(name) {
        Some(rendered) => (
            StatusCode::OK,
            Json(json!({"greeting": format!("Hello {rendered}!")})),
        ),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "jinja2.exceptions.TemplateSyntaxError"})),
        ),
    }
}

/// `text` through a template engine that knows one expression, `{{ a*b }}`
/// (the product of two whole numbers), the way an engine given user input
/// as its template evaluates it; `None` where the engine would raise a
/// syntax error. The injection checks' unit tests stand the same engine
/// behind their in-process targets.
pub(crate) fn render_products(text: &str) -> Option<String> {
    let mut rendered = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rendered.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let expression = &rest[start + 2..start + end];
        let (a, b) = expression.split_once('*')?;
        let product = a
            .trim()
            .parse::<u64>()
            .ok()?
            .checked_mul(b.trim().parse::<u64>().ok()?)?;
        rendered.push_str(&product.to_string());
        rest = &rest[start + end + 2..];
    }
    rendered.push_str(rest);
    Some(rendered)
}
