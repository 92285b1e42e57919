//! Ably's channel REST endpoints: history, publish, presence, enumeration, details.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::auth::Operation;
use crate::protocol::Message;
use crate::protocol::names::ChannelName;

use super::super::channel::Channel;
use super::super::clock::random_id;
use super::super::session;
use super::super::state::lock;
use super::{
    ApiError, ApiResult, Hub, QueryMap, err, link, listing, parse_limit, parse_time, require,
    rest_identity,
};

/// A history query, read and checked.
struct HistoryRequest {
    limit: usize,
    forwards: bool,
    start: Option<i64>,
    end: Option<i64>,
    /// The last position returned: (frame seq, index in frame).
    cursor: Option<(u64, usize)>,
}

impl HistoryRequest {
    fn parse(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let limit = parse_limit(query, 100)?;
        let forwards = match query.get("direction").map(String::as_str) {
            None | Some("backwards") => false,
            Some("forwards") => true,
            Some(other) => return Err(err(40003, 400, format!("Invalid direction {other:?}"))),
        };
        let start = parse_time(query, "start")?;
        let end = parse_time(query, "end")?;
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            return Err(err(40003, 400, "start must not be after end"));
        }
        let cursor = query.get("cursor").and_then(|text| {
            let (seq, index) = text.split_once('.')?;
            Some((seq.parse::<u64>().ok()?, index.parse::<usize>().ok()?))
        });
        Ok(Self {
            limit,
            forwards,
            start,
            end,
            cursor,
        })
    }

    fn keeps(&self, position: (u64, usize), timestamp: i64, until_seq: Option<u64>) -> bool {
        self.start.is_none_or(|start| timestamp >= start)
            && self.end.is_none_or(|end| timestamp <= end)
            && until_seq.is_none_or(|until| position.0 <= until)
            && self.cursor.is_none_or(|cursor| {
                if self.forwards {
                    position > cursor
                } else {
                    position < cursor
                }
            })
    }
}

type Positioned = ((u64, usize), Message);

/// One page of a channel's history, and whether more follows.
fn history_page(
    channel: &Channel,
    request: &HistoryRequest,
    until_seq: Option<u64>,
) -> (Vec<Positioned>, bool) {
    let positions = channel.history().flat_map(|stored| {
        stored
            .messages
            .iter()
            .enumerate()
            .map(move |(index, message)| ((stored.seq, index), stored.timestamp, message))
    });
    let mut page = Vec::with_capacity(request.limit);
    let mut take = |iter: &mut dyn Iterator<Item = ((u64, usize), i64, &Message)>| {
        for (position, _, message) in
            iter.filter(|(position, timestamp, _)| request.keeps(*position, *timestamp, until_seq))
        {
            if page.len() == request.limit {
                return true;
            }
            page.push((position, message.clone()));
        }
        false
    };
    let more = if request.forwards {
        take(&mut positions.into_iter())
    } else {
        let all: Vec<_> = positions.collect();
        take(&mut all.into_iter().rev())
    };
    (page, more)
}

pub(super) async fn history(
    State(hub): Hub,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> ApiResult {
    let identity = rest_identity(&hub, &headers, &query)?;
    require(&identity, &name, Operation::History)?;
    let request = HistoryRequest::parse(&query)?;
    let (page, more) = match hub.existing_channel(&name) {
        Some(channel) => {
            let channel = lock(&channel);
            let until_seq = match query.get("from_serial").or_else(|| query.get("fromSerial")) {
                Some(serial) => Some(
                    channel
                        .parse_serial(serial)
                        .ok_or_else(|| err(40003, 400, "Unknown from_serial"))?,
                ),
                None => None,
            };
            history_page(&channel, &request, until_seq)
        }
        None => (Vec::new(), false),
    };
    let direction = if request.forwards {
        "forwards"
    } else {
        "backwards"
    };
    let mut base: Vec<(&str, String)> = vec![
        ("limit", request.limit.to_string()),
        ("direction", direction.to_owned()),
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

pub(super) async fn publish(
    State(hub): Hub,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
    body: Bytes,
) -> ApiResult {
    let identity = rest_identity(&hub, &headers, &query)?;
    // Metachannels are the hub's to publish on.
    match ChannelName::parse(&name) {
        Ok(channel) if !channel.is_meta() => {}
        _ => return Err(err(40010, 400, format!("Invalid channel name {name:?}"))),
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

pub(super) async fn presence(
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

pub(super) async fn enumerate(
    State(hub): Hub,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> ApiResult {
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

pub(super) async fn channel_details(
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
