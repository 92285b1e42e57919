//! The REST client's tokens against the real hub: a request refused because its token
//! expired renews the token through the auth URL and is sent again, once; a refusal that is
//! not about the token is not. The auth URL is a web server of this test handing out real
//! tokens of the hub as plain text, as the web app may, so the client cannot know when they
//! expire and must learn it from the refusal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use brokerdash::auth::{ApiKey, TokenParams, TokenRequest, new_nonce};
use brokerdash::hub::{DEVELOPMENT_KEY, HubConfig};
use brokerdash::realtime::ClientOptions;
use brokerdash::rest::{AuthConfig, HistoryQuery, RestClient, RestError};
use url::Url;

/// How the stand-in web app issues tokens.
#[derive(Clone, Copy)]
struct Issuing {
    ttl_ms: u64,
    /// Hand the token over only once it has expired.
    stale: bool,
}

/// Serves tokens of `hub_url` as text/plain; returns the auth URL and a count of tokens
/// handed out.
async fn auth_server(hub_url: String, issuing: Issuing) -> (Url, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let count = issued.clone();
    let issue = axum::routing::post(move || {
        let (count, hub_url) = (count.clone(), hub_url.clone());
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            let key: ApiKey = DEVELOPMENT_KEY.parse().unwrap();
            let params = TokenParams {
                ttl_ms: Some(issuing.ttl_ms),
                capability: Some(r#"{"conversation:1":["*"]}"#.to_owned()),
                client_id: Some("broker-7".to_owned()),
            };
            let request =
                TokenRequest::sign(&key, &params, brokerdash::clock::now_ms_u64(), new_nonce());
            let details: serde_json::Value = reqwest::Client::new()
                .post(format!("{hub_url}/keys/{}/requestToken", key.name()))
                .json(&request)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if issuing.stale {
                let expires = details["expires"].as_u64().unwrap();
                while brokerdash::clock::now_ms_u64() <= expires {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            let token = details["token"].as_str().unwrap().to_owned();
            ([(axum::http::header::CONTENT_TYPE, "text/plain")], token)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/auth", listener.local_addr().unwrap())).unwrap();
    let app = axum::Router::new().route("/auth", issue);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, issued)
}

fn client(hub_url: &str, auth_url: Url) -> RestClient {
    let auth = AuthConfig::AuthUrl {
        url: auth_url,
        broker_id: "7".into(),
    };
    let mut options = ClientOptions::new(Url::parse(hub_url).unwrap(), auth);
    options.client_id = Some("broker-7".into());
    options.rest_client()
}

/// UTS: RSA4b, RSC10.
#[tokio::test]
async fn rsc10_a_request_refused_for_an_expired_token_renews_it_through_the_auth_url_and_goes_again()
 {
    let hub = common::start_hub(HubConfig::development()).await;
    let issuing = Issuing {
        ttl_ms: 1_500,
        stale: false,
    };
    let (auth_url, issued) = auth_server(hub.url(), issuing).await;
    let rest = client(&hub.url(), auth_url);
    let query = HistoryQuery::default();
    rest.history("conversation:1", &query).await.unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    // The token's life runs out; the client cannot know (a plain-text token has no expiry).
    let expired_after = brokerdash::clock::now_ms_u64() + 1_600;
    while brokerdash::clock::now_ms_u64() <= expired_after {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rest.history("conversation:1", &query)
        .await
        .expect("renewed and sent again");
    assert_eq!(issued.load(Ordering::SeqCst), 2, "one renewal");
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn rsa4b_a_renewed_token_refused_again_is_an_error_not_a_loop() {
    let hub = common::start_hub(HubConfig::development()).await;
    let issuing = Issuing {
        ttl_ms: 1_000,
        stale: true,
    };
    let (auth_url, issued) = auth_server(hub.url(), issuing).await;
    let rest = client(&hub.url(), auth_url);
    let refused = rest
        .history("conversation:1", &HistoryQuery::default())
        .await
        .expect_err("every token it can get has expired");
    assert!(
        matches!(&refused, RestError::Ably(info) if (40140..40150).contains(&info.code)),
        "{refused}"
    );
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "the first token and one renewal"
    );
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn rsc10b_a_refusal_that_is_not_about_the_token_is_not_renewed() {
    let hub = common::start_hub(HubConfig::development()).await;
    let issuing = Issuing {
        ttl_ms: 60_000,
        stale: false,
    };
    let (auth_url, issued) = auth_server(hub.url(), issuing).await;
    let rest = client(&hub.url(), auth_url);
    // The token allows conversation:1 only.
    let refused = rest
        .history("conversation:2", &HistoryQuery::default())
        .await
        .expect_err("not allowed");
    assert!(
        matches!(&refused, RestError::Ably(info) if info.code == 40160),
        "{refused}"
    );
    assert_eq!(issued.load(Ordering::SeqCst), 1, "no renewal");
    hub.stop().await.unwrap();
}

/// An auth URL answering signed TokenRequests (as the web app's endpoint does), for tokens
/// of `ttl_ms`; the client exchanges them and so knows when each expires.
async fn token_request_server(ttl_ms: u64) -> (Url, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let count = issued.clone();
    let issue = axum::routing::post(move || {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            let key: ApiKey = DEVELOPMENT_KEY.parse().unwrap();
            let params = TokenParams {
                ttl_ms: Some(ttl_ms),
                capability: None,
                client_id: Some("broker-7".to_owned()),
            };
            let request =
                TokenRequest::sign(&key, &params, brokerdash::clock::now_ms_u64(), new_nonce());
            axum::Json(request)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/auth", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(
        async move { axum::serve(listener, axum::Router::new().route("/auth", issue)).await },
    );
    (url, issued)
}

#[tokio::test]
async fn rsa4b1_a_token_about_to_expire_is_renewed_before_the_request_not_after_a_refusal() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (auth_url, issued) = token_request_server(1_500).await;
    let rest = client(&hub.url(), auth_url);
    let query = HistoryQuery::default();
    let first_at = brokerdash::clock::now_ms_u64();
    rest.history("conversation:1", &query).await.unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    // Inside the last second of the token's life, but before its end: the service would
    // still take it, so a renewal now can only be the client's own.
    while brokerdash::clock::now_ms_u64() < first_at + 700 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rest.history("conversation:1", &query).await.unwrap();
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "renewed ahead of expiry (without it the old token would simply have been used)"
    );
    hub.stop().await.unwrap();
}
