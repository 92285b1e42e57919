//! HTTP side of the hub: the WebSocket upgrade on `/`, Ably's REST API (ably-protocol.md
//! §7), the web app's endpoints (`webapp`) and, with `--faults`, the fault switches.
//! Errors follow Ably's shape: `{"error":{…}}` plus `X-Ably-ErrorCode`/`-ErrorMessage`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
use crate::protocol::{ErrorInfo, Message};

use super::clock::{now_ms, random_id};
use super::identity::Identity;
use super::session::{self, ConnectParams};
use super::state::{HubState, lock};
use super::webapp;

pub(crate) type Hub = State<Arc<HubState>>;
type QueryMap = Query<HashMap<String, String>>;

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
            .route("/_hub/faults/panic", post(fault_panic));
    }
    router
        .fallback(not_found)
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

fn err(code: u32, status: u16, message: impl Into<String>) -> ApiError {
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

fn require(identity: &Identity, channel: &str, operation: Operation) -> Result<(), ApiError> {
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
fn listing(query: &HashMap<String, String>, items: Vec<Value>, links: Vec<String>) -> Response {
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
fn link(segment: &str, params: &[(&str, String)], rel: &str) -> String {
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

fn parse_limit(query: &HashMap<String, String>, default: usize) -> Result<usize, ApiError> {
    match query.get("limit") {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=1000).contains(limit))
            .ok_or_else(|| err(40003, 400, format!("Invalid limit {text:?} (1 to 1000)"))),
    }
}

fn parse_time(query: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    query
        .get(name)
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| err(40003, 400, format!("Invalid {name} {text:?}")))
        })
        .transpose()
}

async fn history(
    State(hub): Hub,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> ApiResult {
    let identity = rest_identity(&hub, &headers, &query)?;
    require(&identity, &name, Operation::History)?;
    let limit = parse_limit(&query, 100)?;
    let forwards = match query.get("direction").map(String::as_str) {
        None | Some("backwards") => false,
        Some("forwards") => true,
        Some(other) => return Err(err(40003, 400, format!("Invalid direction {other:?}"))),
    };
    let start = parse_time(&query, "start")?;
    let end = parse_time(&query, "end")?;
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(err(40003, 400, "start must not be after end"));
    }
    // A position is (frame seq, index in frame); the cursor is the last one returned.
    let cursor = query.get("cursor").and_then(|text| {
        let (seq, index) = text.split_once('.')?;
        Some((seq.parse::<u64>().ok()?, index.parse::<usize>().ok()?))
    });
    let mut page = Vec::with_capacity(limit);
    let mut more = false;
    if let Some(channel) = hub.existing_channel(&name) {
        let channel = lock(&channel);
        let until_seq = match query.get("from_serial").or_else(|| query.get("fromSerial")) {
            Some(serial) => Some(
                channel
                    .parse_serial(serial)
                    .ok_or_else(|| err(40003, 400, "Unknown from_serial"))?,
            ),
            None => None,
        };
        let positions = channel.history().flat_map(|stored| {
            stored
                .messages
                .iter()
                .enumerate()
                .map(move |(index, message)| ((stored.seq, index), stored.timestamp, message))
        });
        let keep = |&(position, timestamp, _): &((u64, usize), i64, &Message)| {
            start.is_none_or(|start| timestamp >= start)
                && end.is_none_or(|end| timestamp <= end)
                && until_seq.is_none_or(|until| position.0 <= until)
                && cursor.is_none_or(|cursor| {
                    if forwards {
                        position > cursor
                    } else {
                        position < cursor
                    }
                })
        };
        let mut take = |iter: &mut dyn Iterator<Item = ((u64, usize), i64, &Message)>| {
            for item in iter.filter(keep) {
                if page.len() == limit {
                    more = true;
                    break;
                }
                page.push((item.0, item.2.clone()));
            }
        };
        if forwards {
            take(&mut positions.into_iter());
        } else {
            let all: Vec<_> = positions.collect();
            take(&mut all.into_iter().rev());
        }
    }
    let mut base: Vec<(&str, String)> = vec![
        ("limit", limit.to_string()),
        (
            "direction",
            if forwards { "forwards" } else { "backwards" }.to_owned(),
        ),
    ];
    for name in ["start", "end", "from_serial"] {
        if let Some(value) = query.get(name) {
            base.push((name, value.clone()));
        }
    }
    let mut links = vec![link("messages", &base, "first")];
    if more && let Some(((seq, index), _)) = page.last() {
        let mut next = base.clone();
        next.push(("cursor", format!("{seq}.{index}")));
        links.push(link("messages", &next, "next"));
    }
    let items = page
        .into_iter()
        .map(|(_, message)| serde_json::to_value(message).unwrap_or(Value::Null))
        .collect();
    Ok(listing(&query, items, links))
}

async fn publish(
    State(hub): Hub,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
    body: Bytes,
) -> ApiResult {
    let identity = rest_identity(&hub, &headers, &query)?;
    if name.is_empty() || name.starts_with('[') || name.starts_with(':') || name.contains('\n') {
        return Err(err(40010, 400, format!("Invalid channel name {name:?}")));
    }
    require(&identity, &name, Operation::Publish)?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|error| err(40000, 400, format!("Malformed body: {error}")))?;
    let list = match value {
        Value::Array(list) => list,
        single @ Value::Object(_) => vec![single],
        _ => {
            return Err(err(
                40000,
                400,
                "Body must be a message or a list of messages",
            ));
        }
    };
    let messages: Vec<Message> = list
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .map_err(|error| err(40013, 400, format!("Invalid message: {error}")))?;
    let messages = session::prepare_messages(messages, &identity, hub.config.max_message_bytes)?;
    let frame_id = format!("rest-{}", random_id(12));
    let published = hub.publish(&name, messages, None, &frame_id);
    let body = json!({"channel": name, "messageId": frame_id, "serials": published.serials});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn presence(
    State(hub): Hub,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> ApiResult {
    let identity = rest_identity(&hub, &headers, &query)?;
    require(&identity, &name, Operation::Subscribe)?;
    let limit = parse_limit(&query, 100)?;
    let offset = match query.get("offset") {
        None => 0,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| err(40003, 400, format!("Invalid offset {text:?}")))?,
    };
    let members: Vec<Value> = match hub.existing_channel(&name) {
        Some(channel) => lock(&channel)
            .presence
            .values()
            .filter(|member| {
                query
                    .get("clientId")
                    .is_none_or(|id| member.client_id.as_ref() == Some(id))
            })
            .filter(|member| {
                query
                    .get("connectionId")
                    .is_none_or(|id| member.connection_id.as_ref() == Some(id))
            })
            .map(|member| serde_json::to_value(member).unwrap_or(Value::Null))
            .collect(),
        None => Vec::new(),
    };
    let total = members.len();
    let page: Vec<Value> = members.into_iter().skip(offset).take(limit).collect();
    let mut links = vec![link("presence", &[("limit", limit.to_string())], "first")];
    // A huge offset is only past the end: saturating, it can never name a next page.
    let next_offset = offset.saturating_add(limit);
    if next_offset < total {
        links.push(link(
            "presence",
            &[
                ("limit", limit.to_string()),
                ("offset", next_offset.to_string()),
            ],
            "next",
        ));
    }
    Ok(listing(&query, page, links))
}

async fn enumerate(State(hub): Hub, headers: HeaderMap, Query(query): QueryMap) -> ApiResult {
    let identity = rest_identity(&hub, &headers, &query)?;
    let prefix = query.get("prefix").cloned().unwrap_or_default();
    // Ably wants channel-metadata on `*`; a grant covering the prefix's namespace will do.
    let scope = format!("{prefix}*");
    if !identity.allows("*", Operation::ChannelMetadata)
        && !identity.allows(&scope, Operation::ChannelMetadata)
    {
        return Err(err(
            40160,
            401,
            "Channel enumeration needs the channel-metadata capability",
        ));
    }
    let limit = parse_limit(&query, 100)?;
    let after = query.get("cursor").cloned();
    let names: Vec<String> = hub
        .active_channel_names(&prefix)
        .into_iter()
        .filter(|name| after.as_ref().is_none_or(|after| name > after))
        .collect();
    let more = names.len() > limit;
    let page: Vec<String> = names.into_iter().take(limit).collect();
    let by_value = query.get("by").map(String::as_str) == Some("value");
    let mut base = vec![("limit", limit.to_string())];
    if !prefix.is_empty() {
        base.push(("prefix", prefix.clone()));
    }
    if by_value {
        base.push(("by", "value".to_owned()));
    }
    let mut links = vec![link("channels", &base, "first")];
    if more && let Some(last) = page.last() {
        let mut next = base.clone();
        next.push(("cursor", last.clone()));
        links.push(link("channels", &next, "next"));
    }
    let items = page
        .into_iter()
        .map(|name| {
            if by_value {
                hub.existing_channel(&name)
                    .map_or(Value::Null, |channel| lock(&channel).details())
            } else {
                Value::String(name)
            }
        })
        .collect();
    Ok(listing(&query, items, links))
}

async fn channel_details(
    State(hub): Hub,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> ApiResult {
    let identity = rest_identity(&hub, &headers, &query)?;
    require(&identity, &name, Operation::ChannelMetadata)?;
    let details = match hub.existing_channel(&name) {
        Some(channel) => lock(&channel).details(),
        None => json!({"channelId": name, "name": name, "status": {"isActive": false}}),
    };
    Ok(axum::Json(details).into_response())
}

async fn fault_drop(State(hub): Hub) -> Response {
    let connections = hub.connection_count();
    hub.faults.drop_all.send_modify(|count| *count += 1);
    axum::Json(json!({"dropped": connections})).into_response()
}

async fn fault_panic(State(hub): Hub) -> Response {
    hub.faults
        .panic_armed
        .store(true, std::sync::atomic::Ordering::Release);
    axum::Json(json!({"armed": true})).into_response()
}

/// A stall longer than this is a typo, not a test.
const MAX_STALL_MS: u64 = 10 * 60 * 1000;

async fn fault_stall(State(hub): Hub, Query(query): QueryMap) -> ApiResult {
    let millis: u64 = query
        .get("ms")
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| err(40003, 400, "stall needs ?ms=N"))?;
    if millis > MAX_STALL_MS {
        return Err(err(
            40003,
            400,
            format!("Invalid ms {millis}: at most {MAX_STALL_MS} (10 minutes)"),
        ));
    }
    let until = Instant::now() + Duration::from_millis(millis);
    *lock(&hub.faults.stalled_until) = Some(until);
    Ok(axum::Json(json!({"stalledForMs": millis})).into_response())
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
