//! Everything that is not a control endpoint: a WebSocket upgrade is relayed once the
//! upstream has accepted it (an upstream refusal reaches the client as it was given), and
//! any other request is forwarded as it came.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio_tungstenite::tungstenite::Error as WsError;
use url::Url;

use super::{ProxyState, relay};

/// Bodies forwarded either way, at most.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Hop-by-hop headers, which belong to one connection and are not forwarded.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::HOST,
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ]
    .contains(name)
}

pub(super) async fn any(State(proxy): State<Arc<ProxyState>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    if let Ok(upgrade) = WebSocketUpgrade::from_request_parts(&mut parts, &proxy).await {
        return websocket(proxy, upgrade, &path).await;
    }
    let Ok(url) = proxy.upstream.join(&path) else {
        return (StatusCode::BAD_REQUEST, "a path the upstream cannot take").into_response();
    };
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    let mut outgoing = proxy.http.request(parts.method, url).body(bytes);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(error) => {
            let reason = error.without_url().to_string();
            return (StatusCode::BAD_GATEWAY, format!("upstream: {reason}")).into_response();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let Ok(body) = answer.bytes().await else {
        return (StatusCode::BAD_GATEWAY, "upstream body cut short").into_response();
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

async fn websocket(proxy: Arc<ProxyState>, upgrade: WebSocketUpgrade, path: &str) -> Response {
    if proxy.refusing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "WebSocket upgrades are refused by the proxy (fault)",
        )
            .into_response();
    }
    let Some(target) = websocket_url(&proxy.upstream, path) else {
        return (StatusCode::BAD_REQUEST, "a path the upstream cannot take").into_response();
    };
    match tokio_tungstenite::connect_async(target.as_str()).await {
        Ok((upstream, _)) => upgrade
            .max_message_size(64 << 20)
            .on_upgrade(move |client| relay::run(proxy, client, upstream)),
        Err(WsError::Http(refusal)) => {
            let status = refusal.status();
            let body = refusal.into_body().unwrap_or_default();
            (status, body).into_response()
        }
        Err(error) => (StatusCode::BAD_GATEWAY, format!("upstream: {error}")).into_response(),
    }
}

fn websocket_url(upstream: &Url, path: &str) -> Option<Url> {
    let mut url = upstream.join(path).ok()?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme).ok()?;
    Some(url)
}
