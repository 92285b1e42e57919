//! The REST client against the real hub: history paging, limits, time ranges and channel
//! names in the URL; and what the realtime client makes of an auth URL that fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use brokerdash::hub::{DEVELOPMENT_KEY, HubConfig};
use brokerdash::protocol::Message;
use brokerdash::realtime::{ClientOptions, ConnectionState, NetEvent, Realtime};
use brokerdash::rest::{AuthConfig, HistoryQuery, RestClient, RestError};
use common::PROMPT;
use common::events::Events;
use serde_json::json;
use url::Url;

fn rest(url: &str) -> RestClient {
    let auth = AuthConfig::Key {
        key: DEVELOPMENT_KEY.parse().unwrap(),
        use_tokens: false,
        token_ttl_ms: None,
    };
    ClientOptions::new(Url::parse(url).unwrap(), auth).rest_client()
}

fn numbered(from: usize, count: usize) -> Vec<Message> {
    (from..from + count)
        .map(|n| Message {
            id: Some(format!("m{n}")),
            name: Some(format!("n{n}")),
            data: Some(json!(n.to_string())),
            ..Message::default()
        })
        .collect()
}

fn names(messages: &[Message]) -> Vec<String> {
    messages.iter().filter_map(|m| m.name.clone()).collect()
}

/// UTS: RSL2a, RSL2b, RSL2b1, RSL2b2, RTL10a.
#[tokio::test]
async fn rsl2b3_history_pages_by_100_unless_told_and_follows_next_to_the_end() {
    let hub = common::start_hub(HubConfig::development()).await;
    let client = rest(&hub.url());
    client
        .publish("conversation:1", &numbered(0, 150))
        .await
        .unwrap();
    let newest_first = HistoryQuery::default();
    let page = client
        .history("conversation:1", &newest_first)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 100, "the default limit");
    assert_eq!(page.items[0].name.as_deref(), Some("n149"), "newest first");
    assert!(page.has_next());
    let rest_of_it = client.next(&page).await.unwrap().expect("a second page");
    assert_eq!(rest_of_it.items.len(), 50);
    assert!(!rest_of_it.has_next());
    assert!(
        client.next(&rest_of_it).await.unwrap().is_none(),
        "no page after the last"
    );

    let oldest_ten = HistoryQuery {
        limit: Some(10),
        forwards: true,
        ..HistoryQuery::default()
    };
    let page = client.history("conversation:1", &oldest_ten).await.unwrap();
    let expected: Vec<String> = (0..10).map(|n| format!("n{n}")).collect();
    assert_eq!(names(&page.items), expected);
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn rsl2_a_time_range_returns_exactly_the_messages_inside_it() {
    let hub = common::start_hub(HubConfig::development()).await;
    let client = rest(&hub.url());
    for batch in 0..5 {
        let published_at = brokerdash::clock::now_ms();
        client
            .publish("conversation:2", &numbered(batch * 3, 3))
            .await
            .unwrap();
        // Each batch in a millisecond of its own, so a range can fall between them.
        while brokerdash::clock::now_ms() <= published_at + 1 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
    let everything = HistoryQuery {
        limit: Some(100),
        forwards: true,
        ..HistoryQuery::default()
    };
    let all = client
        .history("conversation:2", &everything)
        .await
        .unwrap()
        .items;
    let times: Vec<i64> = all.iter().filter_map(|m| m.timestamp).collect();
    let (start, end) = (times[3], times[11]);
    let range = HistoryQuery {
        limit: Some(100),
        forwards: true,
        start_ms: Some(start),
        end_ms: Some(end),
        until_serial: None,
    };
    let inside = client
        .history("conversation:2", &range)
        .await
        .unwrap()
        .items;
    let expected: Vec<String> = all
        .iter()
        .filter(|m| m.timestamp.is_some_and(|at| (start..=end).contains(&at)))
        .filter_map(|m| m.name.clone())
        .collect();
    assert!(!expected.is_empty());
    assert!(expected.len() < all.len(), "the range leaves some out");
    assert_eq!(names(&inside), expected);
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn rsl2_channel_names_are_escaped_in_the_url() {
    let hub = common::start_hub(HubConfig::development()).await;
    let client = rest(&hub.url());
    let odd = "conversation:a b/c?d#e%f";
    client.publish(odd, &numbered(0, 1)).await.unwrap();
    let page = client.history(odd, &HistoryQuery::default()).await.unwrap();
    assert_eq!(names(&page.items), ["n0"]);
    let other = client
        .history("conversation:a b", &HistoryQuery::default())
        .await
        .unwrap();
    assert!(other.items.is_empty(), "a different channel");
    hub.stop().await.unwrap();
}

/// An auth URL served by a web server of this test that answers `status` with `body`.
async fn auth_url_answering(status: u16, content_type: &'static str, body: &'static str) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let route = axum::routing::post(move || async move {
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            [(axum::http::header::CONTENT_TYPE, content_type)],
            body,
        )
    });
    let app = axum::Router::new().route("/auth", route);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Url::parse(&format!("http://{addr}/auth")).unwrap()
}

async fn first_settled_state(auth_url: Url, hub_url: &str) -> (ConnectionState, String) {
    let auth = AuthConfig::AuthUrl {
        url: auth_url,
        broker_id: "7".into(),
    };
    let (client, receiver) =
        Realtime::connect(ClientOptions::new(Url::parse(hub_url).unwrap(), auth));
    let mut events = Events::new(receiver);
    let settled = events
        .wait_for("a failure", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Disconnected | ConnectionState::Failed,
                    ..
                }
            )
        })
        .await;
    client.close().await;
    match settled {
        NetEvent::Connection {
            state,
            reason: Some(reason),
            ..
        } => (state, reason.to_string()),
        other => panic!("a failure without a reason: {other:?}"),
    }
}

#[tokio::test]
async fn rsa8c_an_auth_url_error_is_propagated_a_500_retried_and_a_403_final() {
    let hub = common::start_hub(HubConfig::development()).await;
    let broken = auth_url_answering(500, "text/plain", "auth server down").await;
    let (state, reason) = first_settled_state(broken, &hub.url()).await;
    assert_eq!(state, ConnectionState::Disconnected, "{reason}");
    assert!(reason.contains("500"), "{reason}");
    let refusing = auth_url_answering(403, "text/plain", "no").await;
    let (state, reason) = first_settled_state(refusing, &hub.url()).await;
    assert_eq!(state, ConnectionState::Failed, "{reason}");
    assert!(reason.contains("403"), "{reason}");
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn rsa4f_an_auth_url_answer_that_is_no_token_disconnects_with_the_reason() {
    let hub = common::start_hub(HubConfig::development()).await;
    let garbage = auth_url_answering(200, "application/json", "{\"not\": \"a token\"}").await;
    let (state, reason) = first_settled_state(garbage, &hub.url()).await;
    assert_eq!(state, ConnectionState::Disconnected, "{reason}");
    assert!(!reason.is_empty());
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn tg_a_next_page_that_cannot_be_had_is_an_error() {
    let hub = common::start_hub(HubConfig::development()).await;
    let client = rest(&hub.url());
    client
        .publish("conversation:3", &numbered(0, 3))
        .await
        .unwrap();
    let query = HistoryQuery {
        limit: Some(1),
        ..HistoryQuery::default()
    };
    let page = client.history("conversation:3", &query).await.unwrap();
    assert!(page.has_next());
    hub.stop().await.unwrap();
    let next = client.next(&page).await;
    assert!(
        matches!(next, Err(RestError::Network(_))),
        "the server is gone: {next:?}"
    );
}

#[tokio::test]
async fn rsa15c_a_token_for_another_client_id_fails_the_connection() {
    let hub = common::start_hub(HubConfig::development()).await;
    let auth = AuthConfig::AuthUrl {
        url: Url::parse(&format!("{}/api/ably/auth", hub.url())).unwrap(),
        broker_id: "7".into(),
    };
    let mut options = ClientOptions::new(Url::parse(&hub.url()).unwrap(), auth);
    // The token says broker-7; this client claims to be someone else.
    options.client_id = Some("broker-8".into());
    let (client, receiver) = Realtime::connect(options);
    let mut events = Events::new(receiver);
    let failed = events
        .wait_for("failed", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Failed,
                    ..
                }
            )
        })
        .await;
    assert!(
        matches!(&failed, NetEvent::Connection { reason: Some(reason), .. } if reason.code == 40102 || reason.code == 40101),
        "{failed:?}"
    );
    client.close().await;
    hub.stop().await.unwrap();
}
