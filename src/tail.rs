//! `brokerdash tail`: one line per event on the watched channels, for scripts, grep and
//! screen readers. Plain lines are cleaned of hostile text; `--jsonl` prints one JSON
//! object per line with the data decoded (JSON escaping keeps it inert). Connection and
//! channel states go to stderr, events to stdout.
//!
//! Longer than 80 lines, kept whole: `describe`, a dispatch `match` over the event kinds.

use std::io::Write;

use serde_json::{Value, json};

use crate::protocol::events::{Actor, ConversationEvent};
use crate::realtime::{
    AttachOptions, InboundMessage, LIFECYCLE_CHANNEL, NetEvent, PresenceChange, Realtime, discover,
    opened_channel,
};
use crate::sanitize::clean_line;

#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error("channel discovery failed: {0}")]
    Discovery(crate::rest::RestError),
    /// The connection failed for good; the reason is as printed (cleaned of controls).
    #[error("connection failed{0}")]
    ConnectionFailed(String),
}

pub struct TailOptions {
    pub jsonl: bool,
    /// Watch these; empty means discover every conversation channel.
    pub channels: Vec<String>,
}

/// Runs until `stop` completes or the connection fails for good.
pub async fn run(
    options: crate::realtime::ClientOptions,
    tail: TailOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), TailError> {
    let (client, mut events) = Realtime::connect(options);
    let discovering = tail.channels.is_empty();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    if discovering {
        let found = discover(&client).await.map_err(TailError::Discovery)?;
        for channel in found {
            client.attach(&channel, AttachOptions::default());
        }
    } else {
        for channel in &tail.channels {
            client.attach(channel, AttachOptions::default());
        }
    }
    tokio::pin!(stop);
    loop {
        let event = tokio::select! {
            () = &mut stop => break,
            event = events.recv() => match event {
                Some(event) => event,
                None => break,
            },
        };
        if let NetEvent::Message {
            channel, message, ..
        } = &event
            && channel == LIFECYCLE_CHANNEL
        {
            if let Some(opened) = opened_channel(channel, message).filter(|_| discovering) {
                client.attach(&opened, AttachOptions::default());
            }
            continue;
        }
        if let Some(line) = state_line(&event) {
            let _ = writeln!(stderr, "{line}");
            if let NetEvent::Connection {
                state: crate::realtime::ConnectionState::Failed,
                reason,
                ..
            } = &event
            {
                client.close().await;
                return Err(TailError::ConnectionFailed(reason_words(reason.as_ref())));
            }
            continue;
        }
        let line = if tail.jsonl {
            json_line(&event)
        } else {
            plain_line(&event)
        };
        let written = line.map(|line| writeln!(stdout, "{line}").and_then(|()| stdout.flush()));
        if matches!(written, Some(Err(_))) {
            break; // stdout closed (e.g. piped into head): stop quietly
        }
    }
    client.close().await;
    Ok(())
}

/// ": the reason", cleaned, or nothing.
fn reason_words(reason: Option<&crate::protocol::ErrorInfo>) -> String {
    reason
        .map(|r| format!(": {}", clean_line(&r.to_string())))
        .unwrap_or_default()
}

/// Connection and channel changes, in words for stderr.
fn state_line(event: &NetEvent) -> Option<String> {
    match event {
        NetEvent::Connection { state, reason, .. } => Some(format!(
            "connection {}{}",
            state.as_str(),
            reason_words(reason.as_ref())
        )),
        NetEvent::ConnectionUpdated { reason, .. } => Some(format!(
            "connection update{}",
            reason_words(reason.as_ref())
        )),
        NetEvent::Transport { transport, .. } => Some(match transport {
            crate::realtime::Transport::WebSocket => "transport websocket".to_owned(),
            crate::realtime::Transport::Polling { reason } => {
                format!("transport polling: {}", clean_line(reason))
            }
        }),
        NetEvent::Channel {
            channel,
            state,
            reason,
            ..
        } => Some(format!(
            "channel {} {}{}",
            clean_line(channel),
            state.as_str(),
            reason_words(reason.as_ref())
        )),
        _ => None,
    }
}

pub fn json_line(event: &NetEvent) -> Option<String> {
    let value = match event {
        NetEvent::Message {
            channel, message, ..
        } => json!({
            "channel": channel,
            "name": message.name,
            "id": message.id,
            "clientId": message.client_id,
            "connectionId": message.connection_id,
            "timestamp": message.timestamp,
            "data": message.payload.to_json(),
        }),
        NetEvent::Presence { channel, change } => presence_json(channel, change),
        NetEvent::GapFilled { channel, recovered } => {
            json!({"channel": channel, "name": "brokerdash:gapFilled", "data": {"recovered": recovered}})
        }
        NetEvent::ContinuityLost { channel, reason } => {
            json!({"channel": channel, "name": "brokerdash:continuityLost", "data": {"reason": reason}})
        }
        _ => return None,
    };
    Some(value.to_string())
}

fn presence_json(channel: &str, change: &PresenceChange) -> Value {
    let data = crate::protocol::data::decode(
        change.member.data.as_ref(),
        change.member.encoding.as_deref(),
    )
    .payload;
    json!({
        "channel": channel,
        "name": "presence",
        "action": change.action.name(),
        "id": change.member.id,
        "clientId": change.member.client_id,
        "connectionId": change.member.connection_id,
        "timestamp": change.member.timestamp,
        "data": data.to_json(),
    })
}

fn clock(timestamp: Option<i64>) -> String {
    let when = timestamp
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|utc| utc.with_timezone(&chrono::Local))
        .unwrap_or_else(chrono::Local::now);
    when.format("%H:%M:%S").to_string()
}

pub fn plain_line(event: &NetEvent) -> Option<String> {
    match event {
        NetEvent::Message {
            channel, message, ..
        } => {
            let name = clean_line(message.name.as_deref().unwrap_or("(no name)"));
            Some(format!(
                "{} {} {name}: {}",
                clock(message.timestamp),
                clean_line(channel),
                describe(message)
            ))
        }
        NetEvent::Presence { channel, change } => {
            let who = clean_line(change.member.client_id.as_deref().unwrap_or("someone"));
            let data = crate::protocol::data::decode(
                change.member.data.as_ref(),
                change.member.encoding.as_deref(),
            )
            .payload;
            let data = match data.to_json() {
                Value::Null => String::new(),
                other => format!(" {}", clean_line(&other.to_string())),
            };
            Some(format!(
                "{} {} presence: {who} {}{data}",
                clock(change.member.timestamp),
                clean_line(channel),
                change.action.name()
            ))
        }
        NetEvent::GapFilled { channel, recovered } => Some(format!(
            "{} {} connection gap: {recovered} missed message(s) recovered from history",
            clock(None),
            clean_line(channel)
        )),
        NetEvent::ContinuityLost { channel, reason } => Some(format!(
            "{} {} connection gap: messages may be missing ({})",
            clock(None),
            clean_line(channel),
            clean_line(reason)
        )),
        _ => None,
    }
}

fn actor(actor: Actor) -> &'static str {
    match actor {
        Actor::Customer => "customer",
        Actor::Broker => "broker",
        Actor::Ai => "AI",
    }
}

/// The event in words, most important first.
pub fn describe(message: &InboundMessage) -> String {
    let parsed = ConversationEvent::parse(message.name.as_deref(), message.payload.clone());
    let text = match parsed.event {
        ConversationEvent::UserMessage { content, .. } => format!("customer says {content}"),
        ConversationEvent::AiMessage {
            content, persona, ..
        } => match persona {
            Some(persona) => format!("AI ({persona}) says {content}"),
            None => format!("AI says {content}"),
        },
        ConversationEvent::BrokerMessage {
            content,
            broker_id,
            broker_name,
            ..
        } => {
            format!(
                "{} says {content}",
                broker_name.unwrap_or(format!("broker {broker_id}"))
            )
        }
        ConversationEvent::Typing {
            started,
            actor: who,
            ..
        } => {
            format!(
                "{} {} typing",
                actor(who),
                if started { "started" } else { "stopped" }
            )
        }
        ConversationEvent::Read {
            message_id,
            actor: who,
            ..
        } => format!("{} read {message_id}", actor(who)),
        ConversationEvent::Sla {
            violation,
            threshold_ms,
            actual_ms,
            ..
        } => format!(
            "SLA {}: no reply for {} s (threshold {} s)",
            if violation { "breach" } else { "warning" },
            actual_ms / 1000,
            threshold_ms / 1000
        ),
        ConversationEvent::SuggestionSelected { suggestion, .. } => {
            format!("suggestion picked: {suggestion}")
        }
        ConversationEvent::Claim {
            released,
            broker_id,
            name,
        } => format!(
            "{} {}",
            name.unwrap_or(format!("broker {broker_id}")),
            if released {
                "released it"
            } else {
                "claimed it"
            }
        ),
        ConversationEvent::AiPause {
            paused,
            broker_id,
            reason,
        } => match (paused, reason) {
            (true, Some(reason)) => format!("AI paused by broker {broker_id}: {reason}"),
            (true, None) => format!("AI paused by broker {broker_id}"),
            (false, _) => format!("AI resumed by broker {broker_id}"),
        },
        ConversationEvent::Status {
            status, until_ms, ..
        } => match until_ms {
            Some(until) => format!("status {} until {until}", status.word()),
            None => format!("status {}", status.word()),
        },
        ConversationEvent::Note {
            content,
            broker_id,
            broker_name,
            ..
        } => format!(
            "note from {}: {content}",
            broker_name.unwrap_or(format!("broker {broker_id}"))
        ),
        ConversationEvent::Unknown { name, data } => format!("unknown event {name}: {data}"),
        ConversationEvent::Malformed { problem, .. } => format!("malformed event: {problem}"),
    };
    clean_line(&text)
}
