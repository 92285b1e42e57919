//! Opening the WebSocket: credentials, the URL with its query, and reading frames.

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocol::{DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION};
use crate::realtime::types::ClientOptions;
use crate::rest::{Credential, RestClient};

use super::OpenFailure;

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const READ_BUFFER_BYTES: usize = 8 * 1024;
/// The largest frame read from a server: Ably's default `maxFrameSize` with room to spare.
pub(super) const MAX_INBOUND_FRAME_BYTES: usize = DEFAULT_MAX_FRAME_BYTES * 4;

pub(super) async fn next_frame(socket: &mut Option<Socket>) -> Option<Result<WsMessage, WsError>> {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

/// An endpoint whose URL cannot take a `ws`/`wss` scheme.
#[derive(Debug, thiserror::Error)]
#[error("the endpoint cannot be turned into a WebSocket URL")]
struct NotWebSocketUrl;

pub(super) async fn open_socket(
    rest: &RestClient,
    options: &ClientOptions,
    resume_key: Option<String>,
    renew_token: bool,
) -> Result<Box<(Socket, Credential)>, OpenFailure> {
    let credentials = rest.credentials();
    let credential = if renew_token {
        credentials.renew().await
    } else {
        credentials.current().await
    }
    .map_err(OpenFailure::Auth)?;
    let url = websocket_url(options, &credential, resume_key.as_deref())
        .map_err(|error| OpenFailure::Transport(error.to_string()))?;
    // tungstenite zero-fills its whole read buffer before every read: the 128 KiB default
    // costs more than decoding a typical frame. Larger frames still arrive, in more reads.
    // A message larger than the decoder takes is refused while it arrives, not buffered
    // whole first (tungstenite's default would hold 64 MiB).
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(MAX_INBOUND_FRAME_BYTES))
        .max_frame_size(Some(MAX_INBOUND_FRAME_BYTES));
    let connect = tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true);
    match tokio::time::timeout(options.request_timeout, connect).await {
        Ok(Ok((socket, _))) => Ok(Box::new((socket, credential))),
        Ok(Err(error)) => Err(open_failure(&error)),
        Err(_) => Err(OpenFailure::Transport(
            "timed out opening the WebSocket".into(),
        )),
    }
}

/// An upgrade the far end answered and refused (an HTTP status, a reset or an end in the
/// handshake) is told apart from a server that cannot be reached at all: only the first
/// says WebSocket in particular is blocked. Without the URL: its query holds the
/// credential.
fn open_failure(error: &WsError) -> OpenFailure {
    use std::io::ErrorKind;
    match error {
        WsError::Http(response) => OpenFailure::Upgrade(format!("HTTP {}", response.status())),
        WsError::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe
            ) =>
        {
            OpenFailure::Upgrade(format!("handshake cut: {io}"))
        }
        WsError::Protocol(protocol) => {
            OpenFailure::Upgrade(format!("handshake failed: {protocol}"))
        }
        other => OpenFailure::Transport(other.to_string()),
    }
}

fn websocket_url(
    options: &ClientOptions,
    credential: &Credential,
    resume_key: Option<&str>,
) -> Result<url::Url, NotWebSocketUrl> {
    let mut url = options.endpoint.clone();
    let scheme = match url.scheme() {
        "https" | "wss" => "wss",
        _ => "ws",
    };
    url.set_scheme(scheme).map_err(|()| NotWebSocketUrl)?;
    url.set_path("/");
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        match credential {
            Credential::Basic(key) => query.append_pair("key", key.full().expose()),
            Credential::Token(details) => query.append_pair("access_token", details.token.expose()),
        };
        if let Some(key) = resume_key {
            query.append_pair("resume", key);
        }
        if let Some(client_id) = &options.client_id {
            query.append_pair("clientId", client_id);
        }
        if !options.echo {
            query.append_pair("echo", "false");
        }
        query
            .append_pair("format", options.wire_format.as_str())
            .append_pair("heartbeats", "true")
            .append_pair("v", PROTOCOL_VERSION)
            .append_pair("agent", concat!("brokerdash/", env!("CARGO_PKG_VERSION")));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::websocket_url;
    use crate::realtime::types::ClientOptions;
    use crate::rest::{AuthConfig, Credential};

    fn options(endpoint: &str) -> ClientOptions {
        let key = "app.key:secret".parse().unwrap();
        ClientOptions::new(
            Url::parse(endpoint).unwrap(),
            AuthConfig::Key {
                key,
                use_tokens: false,
                token_ttl_ms: None,
            },
        )
    }

    fn query(url: &Url) -> Vec<(String, String)> {
        url.query_pairs().into_owned().collect()
    }

    fn assert_query_has(url: &Url, expected: &[(&str, &str)]) {
        let query = query(url);
        for (name, value) in expected {
            assert!(
                query.contains(&((*name).to_owned(), (*value).to_owned())),
                "{name}={value} in {query:?}"
            );
        }
    }

    /// UTS: RTN23a.
    #[test]
    fn rtn2_the_url_carries_json_heartbeats_the_version_and_the_credential() {
        let basic = Credential::Basic("app.key:secret".parse().unwrap());
        let url =
            websocket_url(&options("https://realtime.example/path?x=1"), &basic, None).unwrap();
        assert_eq!(url.scheme(), "wss", "https becomes wss");
        assert_eq!(url.path(), "/");
        assert_query_has(
            &url,
            &[
                ("key", "app.key:secret"),
                ("format", "json"),
                ("heartbeats", "true"),
                ("v", crate::protocol::PROTOCOL_VERSION),
            ],
        );
        assert!(
            !query(&url).iter().any(|(name, _)| name == "x"),
            "the endpoint's own query goes"
        );
    }

    /// UTS: RSA7a.
    #[test]
    fn rtn15b_a_resume_names_the_connection_key_and_plain_http_becomes_ws() {
        let mut options = options("http://127.0.0.1:8080");
        options.client_id = Some("broker-7".into());
        options.echo = false;
        let basic = Credential::Basic("app.key:secret".parse().unwrap());
        let url = websocket_url(&options, &basic, Some("abc!def")).unwrap();
        assert_eq!(url.scheme(), "ws");
        assert_query_has(
            &url,
            &[
                ("resume", "abc!def"),
                ("clientId", "broker-7"),
                ("echo", "false"),
            ],
        );
    }

    #[test]
    fn an_upgrade_answered_with_an_http_error_or_cut_is_told_apart_from_no_server() {
        use std::io::{Error, ErrorKind};

        use tokio_tungstenite::tungstenite::Error as WsError;
        use tokio_tungstenite::tungstenite::http::Response;

        use super::super::OpenFailure;
        use super::open_failure;

        let forbidden = Response::builder().status(403).body(None).unwrap();
        match open_failure(&WsError::Http(Box::new(forbidden))) {
            OpenFailure::Upgrade(reason) => assert!(reason.contains("403"), "{reason}"),
            _ => panic!("an HTTP 403 is an upgrade refusal"),
        }
        let reset = WsError::Io(Error::from(ErrorKind::ConnectionReset));
        assert!(matches!(open_failure(&reset), OpenFailure::Upgrade(_)));
        let nobody = WsError::Io(Error::from(ErrorKind::ConnectionRefused));
        assert!(
            matches!(open_failure(&nobody), OpenFailure::Transport(_)),
            "nothing listening says nothing about WebSocket in particular"
        );
    }
}
