//! The fault switches (`--faults`): drop every connection, stall delivery, refuse WebSocket
//! upgrades, or make the next frame handler panic, for tests of recovery.

use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::super::state::lock;
use super::{ApiError, ApiResult, Hub, QueryMap, err};

pub(super) async fn fault_drop(State(hub): Hub) -> Response {
    let connections = hub.connection_count();
    hub.faults.drop_all.send_modify(|count| *count += 1);
    axum::Json(json!({"dropped": connections})).into_response()
}

pub(super) async fn fault_panic(State(hub): Hub) -> Response {
    hub.faults
        .panic_armed
        .store(true, std::sync::atomic::Ordering::Release);
    axum::Json(json!({"armed": true})).into_response()
}

/// A fault longer than this is a typo, not a test.
const MAX_FAULT_MS: u64 = 10 * 60 * 1000;

pub(super) async fn fault_stall(State(hub): Hub, Query(query): QueryMap) -> ApiResult {
    let millis = fault_millis(&query, "stall")?;
    let until = Instant::now() + Duration::from_millis(millis);
    *lock(&hub.faults.stalled_until) = Some(until);
    Ok(axum::Json(json!({"stalledForMs": millis})).into_response())
}

pub(super) async fn fault_refuse_websocket(State(hub): Hub, Query(query): QueryMap) -> ApiResult {
    let millis = fault_millis(&query, "refuse-websocket")?;
    let until = Instant::now() + Duration::from_millis(millis);
    *lock(&hub.faults.websocket_refused_until) = Some(until);
    Ok(axum::Json(json!({"refusedForMs": millis})).into_response())
}

fn fault_millis(
    query: &std::collections::HashMap<String, String>,
    fault: &str,
) -> Result<u64, ApiError> {
    let millis: u64 = query
        .get("ms")
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| err(40003, 400, format!("{fault} needs ?ms=N")))?;
    if millis > MAX_FAULT_MS {
        return Err(err(
            40003,
            400,
            format!("Invalid ms {millis}: at most {MAX_FAULT_MS} (10 minutes)"),
        ));
    }
    Ok(millis)
}
