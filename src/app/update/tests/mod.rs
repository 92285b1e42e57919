//! Reducer tests: each behaviour of the dashboard, driven by actions, checked on state
//! and effects. No terminal, no network.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Value, json};

use super::update;
use crate::app::action::{Action, Command, Incoming};
use crate::app::conversation::{Delivery, Presence, Sender, SlaLevel};
use crate::app::effect::Effect;
use crate::app::outbox::ReplyStage;
use crate::app::state::{AppState, ConnectionStatus, Focus, Identity, Popup, SortMode};
use crate::protocol::data::Payload;
use crate::protocol::events::ConversationId;
use crate::protocol::names::ChannelName;
use crate::protocol::{PresenceAction, PresenceMessage};
use crate::realtime::{
    ClientError, ConnectionState, InboundMessage, NetEvent, PresenceChange, PublishAck,
};
use crate::store::OutboxEntry;

const T0: i64 = 1_800_000_000_000;

fn state() -> AppState {
    let me = Identity {
        broker_id: "7".into(),
        broker_name: "Sam".into(),
    };
    let canned = [("docs".to_owned(), "Please upload your payslips.".to_owned())]
        .into_iter()
        .collect();
    AppState::new(me, false, canned, T0)
}

fn id(n: &str) -> ConversationId {
    ConversationId::new(n)
}

fn event(channel: &str, name: &str, data: Value) -> Action {
    Action::from_net(NetEvent::Message {
        shard: 0,
        channel: channel.into(),
        message: InboundMessage {
            id: format!("wire-{name}-{}", data),
            name: Some(name.into()),
            payload: Payload::Json(data),
            encoding_error: None,
            client_id: None,
            connection_id: None,
            timestamp: None,
            from_history: false,
        },
    })
}

fn customer(n: &str, message_id: &str, content: &str, at: i64) -> Action {
    event(
        &format!("conversation:{n}"),
        "message:user",
        json!({"messageId": message_id, "content": content, "timestamp": at}),
    )
}

fn presence(n: &str, client_id: &str, action: PresenceAction, data: Value) -> Action {
    let mut member = PresenceMessage::new(action);
    member.client_id = Some(client_id.into());
    member.data = Some(Value::String(data.to_string()));
    member.encoding = Some("json".into());
    Action::from_net(NetEvent::Presence {
        channel: format!("conversation:{n}"),
        change: PresenceChange { action, member },
    })
}

fn acked() -> PublishAck {
    PublishAck {
        serials: vec![Some("serial-1".into())],
    }
}

fn key(code: KeyCode) -> Action {
    Action::ComposerKey(KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(state: &mut AppState, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| update(state, key(KeyCode::Char(c))))
        .collect()
}

fn command(state: &mut AppState, command: Command) -> Vec<Effect> {
    update(state, Action::Command(command))
}

fn open(state: &mut AppState, n: &str) -> Vec<Effect> {
    state.selected = Some(id(n));
    command(state, Command::Open)
}

fn published_names(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Publish { event, .. } => Some(event.to_wire().0),
            Effect::SendReply(entry) => Some(entry.name.clone()),
            _ => None,
        })
        .collect()
}

mod composer;
mod events;
mod inbox;
mod outbox;
mod shared_desk;
mod supervision;
mod transport;

fn channel_name(name: &str) -> ChannelName {
    ChannelName::parse(name).expect("a valid channel name")
}
