use super::outbox::send_one;
use super::*;
use crate::realtime::Transport;

fn transport(state: &mut AppState, transport: Transport) -> Vec<Effect> {
    update(
        state,
        Action::from_net(NetEvent::Transport {
            shard: 0,
            transport,
        }),
    )
}

fn polling(reason: &str) -> Transport {
    Transport::Polling {
        reason: reason.to_owned(),
    }
}

#[test]
fn polling_is_said_with_its_reason_until_websocket_is_back() {
    let mut state = state();
    update(
        &mut state,
        Action::from_net(NetEvent::Connection {
            shard: 0,
            state: ConnectionState::Connected,
            reason: None,
        }),
    );
    assert_eq!(state.polling_reason(), None);
    transport(
        &mut state,
        polling("WebSocket refused 3 times in a row\u{1b}[31m"),
    );
    assert_eq!(
        state.polling_reason(),
        Some("WebSocket refused 3 times in a row"),
        "remote words are cleaned of control characters"
    );
    assert_eq!(
        state.connection_summary(),
        (ConnectionStatus::Connected, 0),
        "the connection's own state is kept beside it"
    );
    transport(&mut state, Transport::WebSocket);
    assert_eq!(state.polling_reason(), None);
}

#[test]
fn a_reply_waiting_for_a_connection_goes_out_once_polling_begins() {
    let mut state = state();
    let entry = send_one(&mut state, "On it");
    update(
        &mut state,
        Action::ReplySettled {
            message_id: entry.message_id.clone(),
            result: Err(ClientError::Closed),
        },
    );
    assert_eq!(
        state.outbox.get(&entry.message_id).map(|r| r.stage),
        Some(ReplyStage::AwaitingConnection)
    );
    let effects = transport(&mut state, polling("chosen"));
    assert_eq!(
        effects,
        vec![Effect::PublishReply(entry.clone())],
        "publishing works while polling (over REST), with the same id"
    );
    assert!(
        transport(&mut state, Transport::WebSocket).is_empty(),
        "not again when WebSocket is back"
    );
}
