//! REST in msgpack, as ably-js in Node speaks it by default: a request body sent as
//! `application/x-msgpack` is read as the JSON it stands for, and a successful answer goes
//! back as msgpack when the client accepts it (`Accept: application/x-msgpack` or
//! `?format=msgpack`). Errors stay JSON: clients read them by their content type.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::protocol::msgpack;

use super::err;

const MSGPACK: &str = "application/x-msgpack";
/// The largest body transcoded either way, as axum's default request limit.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

fn is_msgpack(headers: &HeaderMap, name: axum::http::HeaderName) -> bool {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains(MSGPACK))
}

pub(super) async fn msgpack_bodies(request: Request, next: Next) -> Response {
    let answer_in_msgpack = is_msgpack(request.headers(), ACCEPT)
        || request
            .uri()
            .query()
            .is_some_and(|query| query.split('&').any(|pair| pair == "format=msgpack"));
    let request = if is_msgpack(request.headers(), CONTENT_TYPE) {
        match as_json_request(request).await {
            Ok(request) => request,
            Err(refusal) => return refusal,
        }
    } else {
        request
    };
    let response = next.run(request).await;
    let json_success = response.status().is_success()
        && response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
    if answer_in_msgpack && json_success {
        as_msgpack_response(response).await
    } else {
        response
    }
}

async fn as_json_request(request: Request) -> Result<Request, Response> {
    let (mut parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| err(40009, 413, "Request body too large").into_response())?;
    let value = msgpack::to_json(&bytes).map_err(|error| {
        err(40000, 400, format!("Malformed msgpack body: {error}")).into_response()
    })?;
    let json = value.to_string();
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(json.len()));
    Ok(Request::from_parts(parts, Body::from(json)))
}

async fn as_msgpack_response(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES * 8).await else {
        return err(50000, 500, "Answer too large to transcode").into_response();
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        // Not JSON after all: sent as it is.
        return Response::from_parts(parts, Body::from(bytes));
    };
    let packed = msgpack::from_json(&value);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static(MSGPACK));
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(packed.len()));
    Response::from_parts(parts, Body::from(packed))
}
