//! The control endpoints: each switches one fault on, and says what it did in JSON.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::rules::{FrameRule, MAX_RULES};
use super::{ProxyState, lock};

type Proxy = State<Arc<ProxyState>>;

/// A fault longer than this is a typo, not a test.
const MAX_FAULT_MS: u64 = 10 * 60 * 1000;

/// A control request that cannot be honoured, and why.
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, Json(json!({"error": self.0}))).into_response()
    }
}

fn refused(message: String) -> Response {
    BadRequest(message).into_response()
}

fn millis(query: &HashMap<String, String>, fault: &str) -> Result<u64, BadRequest> {
    let millis: u64 = query
        .get("ms")
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| BadRequest(format!("{fault} needs ?ms=N")))?;
    if millis > MAX_FAULT_MS {
        return Err(BadRequest(format!(
            "ms {millis} is more than {MAX_FAULT_MS} (10 minutes)"
        )));
    }
    Ok(millis)
}

pub(super) async fn drop_all(State(proxy): Proxy) -> Response {
    // Every relay watches this: the count is the connections being cut.
    let dropped = proxy.drops.receiver_count();
    proxy.drops.send_modify(|count| *count += 1);
    Json(json!({"dropped": dropped})).into_response()
}

pub(super) async fn stall(
    State(proxy): Proxy,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match millis(&query, "stall") {
        Ok(ms) => {
            *lock(&proxy.stalled_until) = Some(Instant::now() + Duration::from_millis(ms));
            Json(json!({"stalledForMs": ms})).into_response()
        }
        Err(refusal) => refusal.into_response(),
    }
}

pub(super) async fn refuse(
    State(proxy): Proxy,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match millis(&query, "refuse") {
        Ok(ms) => {
            *lock(&proxy.refused_until) = Some(Instant::now() + Duration::from_millis(ms));
            Json(json!({"refusedForMs": ms})).into_response()
        }
        Err(refusal) => refusal.into_response(),
    }
}

pub(super) async fn set_rules(State(proxy): Proxy, body: axum::body::Bytes) -> Response {
    let rules: Vec<FrameRule> = match serde_json::from_slice(&body) {
        Ok(rules) => rules,
        Err(error) => return refused(format!("rules: {error}")),
    };
    let mut held = lock(&proxy.rules);
    if held.len() + rules.len() > MAX_RULES {
        return refused(format!("at most {MAX_RULES} rules"));
    }
    held.extend(rules);
    Json(json!({"rules": held.len()})).into_response()
}

/// The rules still waiting for frames: a test sees a frame went by when its rule is used up.
pub(super) async fn list_rules(State(proxy): Proxy) -> Response {
    Json(json!({"rules": lock(&proxy.rules).len()})).into_response()
}

pub(super) async fn clear_rules(State(proxy): Proxy) -> Response {
    lock(&proxy.rules).clear();
    Json(json!({"rules": 0})).into_response()
}
