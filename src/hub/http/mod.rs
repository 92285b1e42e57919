//! HTTP side of the hub: the WebSocket upgrade on `/`, Ably's REST API (ably-protocol.md
//! §7), the web app's endpoints (`webapp`) and, with `--faults`, the fault switches.
//! Errors follow Ably's shape: `{"error":{…}}` plus `X-Ably-ErrorCode`/`-ErrorMessage`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::auth::{Operation, TokenRequest};
use crate::protocol::ErrorInfo;

mod channels;
mod faults;
mod msgpack;

use super::clock::now_ms;
use super::identity::Identity;
use super::session::{self, ConnectParams};
use super::state::HubState;
use super::webapp;

use channels::{channel_details, enumerate, history, presence, publish};
use faults::{fault_drop, fault_panic, fault_refuse_websocket, fault_stall};

pub(crate) type Hub = State<Arc<HubState>>;
pub(super) type QueryMap = Query<HashMap<String, String>>;

pub(crate) fn router(hub: Arc<HubState>) -> Router {
    let mut router = Router::new()
        .route("/", get(root))
        .route("/time", get(time))
        .route("/keys/{key_name}/requestToken", post(request_token))
        .route("/channels", get(enumerate))
        .route("/channels/{name}", get(channel_details))
        .route("/channels/{name}/messages", get(history).post(publish))
        .route("/channels/{name}/presence", get(presence))
        .route("/api/chat/suggestions", get(webapp::suggestions));
    if hub.config.webapp_auth {
        router = router.route("/api/ably/auth", post(webapp::auth));
    }
    if hub.config.faults {
        router = router
            .route("/_hub/faults/drop", post(fault_drop))
            .route("/_hub/faults/stall", post(fault_stall))
            .route(
                "/_hub/faults/refuse-websocket",
                post(fault_refuse_websocket),
            )
            .route("/_hub/faults/panic", post(fault_panic));
    }
    router
        .fallback(not_found)
        .layer(middleware::from_fn(msgpack::msgpack_bodies))
        .layer(middleware::from_fn(cors))
        .with_state(hub)
}

/// An Ably error as an HTTP response.
pub(crate) struct ApiError(pub ErrorInfo);

impl From<ErrorInfo> for ApiError {
    fn from(error: ErrorInfo) -> Self {
        Self(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status_code).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({ "error": self.0 });
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert("x-ably-errorcode", HeaderValue::from(self.0.code));
        let printable: String = self
            .0
            .message
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect();
        if let Ok(message) = HeaderValue::from_str(&printable) {
            headers.insert("x-ably-errormessage", message);
        }
        response
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(super) fn err(code: u32, status: u16, message: impl Into<String>) -> ApiError {
    ApiError(ErrorInfo::new(code, status, message))
}

/// Browsers' ably-js needs CORS to read bodies and the Link and error headers.
async fn cors(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS;
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static(
            "authorization, content-type, x-ably-version, ably-agent, x-ably-clientid, accept",
        ),
    );
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("link, x-ably-errorcode, x-ably-errormessage"),
    );
    response
}

async fn not_found() -> ApiError {
    err(40400, 404, "Not found")
}

async fn root(State(hub): Hub, Query(query): QueryMap, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    match WebSocketUpgrade::from_request_parts(&mut parts, &hub).await {
        Ok(_) if hub.faults.websocket_refused() => {
            err(40300, 403, "WebSocket upgrades are refused (fault)").into_response()
        }
        Ok(upgrade) => {
            let params = ConnectParams::from_query(&query);
            let tracked_hub = hub.clone();
            upgrade
                .max_message_size(16 << 20)
                // Zero-filled before every read (tungstenite): keep it near a frame's size.
                .read_buffer_size(8 * 1024)
                .on_upgrade(move |socket| {
                    tracked_hub
                        .tasks
                        .track_future(session::run(hub, socket, params))
                })
        }
        Err(_) => axum::Json(json!({
            "service": "brokerdash hub",
            "note": "for development, demos and tests; production uses Ably",
        }))
        .into_response(),
    }
}

async fn time() -> Response {
    axum::Json(json!([now_ms()])).into_response()
}

/// The caller's identity from `Authorization` (Basic key or Bearer token) or `?key=`.
pub(crate) fn rest_identity(
    hub: &HubState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Identity, ApiError> {
    let client_id = headers
        .get("x-ably-clientid")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| STANDARD.decode(value).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    if let Some(key) = query.get("key") {
        return Ok(hub.authority.check_key(key, client_id.as_deref())?);
    }
    let Some(header) = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return Err(err(
            40101,
            401,
            "Authentication required: Basic key or Bearer token",
        ));
    };
    if let Some(encoded) = header.strip_prefix("Basic ") {
        let key = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| err(40101, 401, "Malformed Basic credentials"))?;
        return Ok(hub.authority.check_key(&key, client_id.as_deref())?);
    }
    if let Some(token) = header.strip_prefix("Bearer ") {
        let token = token.trim();
        // ably-js sends the token base64-encoded; other clients may send it raw.
        let decoded = STANDARD
            .decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some(decoded) = decoded
            && let Ok(identity) = hub.authority.check_token(&decoded)
        {
            return Ok(identity);
        }
        return Ok(hub.authority.check_token(token)?);
    }
    Err(err(40101, 401, "Unsupported Authorization scheme"))
}

pub(super) fn require(
    identity: &Identity,
    channel: &str,
    operation: Operation,
) -> Result<(), ApiError> {
    if identity.allows(channel, operation.clone()) {
        Ok(())
    } else {
        Err(err(
            40160,
            401,
            format!("Action not permitted: {operation} on {channel}"),
        ))
    }
}

async fn request_token(
    State(hub): Hub,
    Path(key_name): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
    body: Bytes,
) -> ApiResult {
    let request: TokenRequest = serde_json::from_slice(&body)
        .map_err(|error| err(40000, 400, format!("Malformed TokenRequest: {error}")))?;
    let basic_ok = request.mac.is_none()
        && rest_identity(&hub, &headers, &query).is_ok_and(|identity| !identity.via_token);
    let details = hub.authority.issue_token(&key_name, &request, basic_ok)?;
    Ok(axum::Json(details).into_response())
}

/// Answers a (possibly paginated) list, as a plain body with `Link` headers, or inside
/// the JSON envelope browsers' ably-js asks for with `envelope=json`.
pub(super) fn listing(
    query: &HashMap<String, String>,
    items: Vec<Value>,
    links: Vec<String>,
) -> Response {
    let link = links.join(", ");
    if query.get("envelope").map(String::as_str) == Some("json") {
        let mut headers = serde_json::Map::new();
        if !link.is_empty() {
            headers.insert("link".into(), Value::String(link));
        }
        return axum::Json(json!({"statusCode": 200, "response": items, "headers": headers}))
            .into_response();
    }
    let mut response = axum::Json(Value::Array(items)).into_response();
    if let Ok(value) = HeaderValue::from_str(&link)
        && !link.is_empty()
    {
        response.headers_mut().insert("link", value);
    }
    response
}

/// `<./{segment}?{query}>; rel="{rel}"`: the only link form ably-js follows.
pub(super) fn link(segment: &str, params: &[(&str, String)], rel: &str) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(name, value)| {
            format!(
                "{name}={}",
                url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
            )
        })
        .collect();
    format!("<./{segment}?{}>; rel=\"{rel}\"", query.join("&"))
}

pub(super) fn parse_limit(
    query: &HashMap<String, String>,
    default: usize,
) -> Result<usize, ApiError> {
    match query.get("limit") {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=1000).contains(limit))
            .ok_or_else(|| err(40003, 400, format!("Invalid limit {text:?} (1 to 1000)"))),
    }
}

pub(super) fn parse_time(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<i64>, ApiError> {
    query
        .get(name)
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| err(40003, 400, format!("Invalid {name} {text:?}")))
        })
        .transpose()
}

/// Reads a JSON or form body into string fields (the web app's auth endpoint gets both).
pub(crate) fn body_fields(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        return url::form_urlencoded::parse(body).into_owned().collect();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => fields
            .into_iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                (name, text)
            })
            .collect(),
        _ => HashMap::new(),
    }
}
