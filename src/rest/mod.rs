//! Ably's REST API as brokerdash uses it (ably-protocol.md §7): time, token requests,
//! publish, history with paging, presence, channel enumeration; and the web app's quick
//! suggestions endpoint. A token error (401, 40140–40149) renews the token and retries once.

mod credentials;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use thiserror::Error;
use url::Url;

pub use credentials::{AuthConfig, Credential, Credentials};

use crate::protocol::{ErrorInfo, Message, PROTOCOL_VERSION, PresenceMessage};

#[derive(Debug, Error)]
pub enum RestError {
    #[error("{0}")]
    Ably(ErrorInfo),
    #[error("network error: {0}")]
    Network(String),
    #[error("unexpected answer: {0}")]
    Decode(String),
    #[error("{0}")]
    AuthUrl(String),
    #[error("the auth URL refused the request (HTTP {status})")]
    AuthRefused { status: u16, fatal: bool },
    #[error("the endpoint URL cannot take a path")]
    BadEndpoint,
    #[error("the answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the answer's pages do not end: {0}")]
    Paging(String),
}

/// An answer body is read up to this size: a server cannot make the client buffer more.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Pages followed for one listing (history, presence, channels): at 1,000 items a page,
/// more than any conversation or desk holds.
pub const MAX_PAGES: usize = 1000;

/// Reads a body, refusing one larger than `limit` (counted as it arrives, so a huge or
/// endless body is never held whole).
pub(crate) async fn read_body(mut response: Response, limit: usize) -> Result<Vec<u8>, RestError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(RestError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(RestError::from_reqwest)? {
        if body.len() + chunk.len() > limit {
            return Err(RestError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl RestError {
    fn from_reqwest(error: reqwest::Error) -> Self {
        // Without the URL: it may carry a key in its query.
        Self::Network(error.without_url().to_string())
    }

    pub fn ably_code(&self) -> Option<u32> {
        match self {
            Self::Ably(error) => Some(error.code),
            _ => None,
        }
    }

    /// Credentials that can never work: retrying will not help.
    pub fn is_fatal_auth(&self) -> bool {
        matches!(self, Self::AuthRefused { fatal: true, .. })
            || matches!(self, Self::Ably(error) if error.code == 40101 || error.code == 40102)
    }
}

/// Reads a JSON body, or the Ably error the response carries.
pub(crate) async fn read_json<T: DeserializeOwned>(response: Response) -> Result<T, RestError> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body(response, MAX_BODY_BYTES).await?;
    if !status.is_success() {
        return Err(RestError::Ably(error_from(status, &headers, &body)));
    }
    serde_json::from_slice(&body).map_err(|error| RestError::Decode(error.to_string()))
}

fn error_from(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: ErrorInfo,
    }
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(body) {
        return envelope.error;
    }
    let code = headers
        .get("x-ably-errorcode")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(u32::from(status.as_u16()) * 100);
    let message = headers
        .get("x-ably-errormessage")
        .and_then(|value| value.to_str().ok())
        .map_or_else(|| format!("HTTP {status}"), str::to_owned);
    ErrorInfo::new(code, status.as_u16(), message)
}

/// One page of a paginated answer and the query of the next page, if any.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    next: Option<Url>,
}

impl<T> Page<T> {
    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }
}

#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub limit: Option<usize>,
    pub forwards: bool,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Only messages up to this attach serial (Ably's untilAttach).
    pub until_serial: Option<String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct PublishReceipt {
    #[serde(default, rename = "messageId")]
    pub message_id: Option<String>,
    #[serde(default)]
    pub serials: Vec<Option<String>>,
}

#[derive(Clone)]
pub struct RestClient {
    http: reqwest::Client,
    endpoint: Url,
    credentials: Arc<Credentials>,
    /// Requests sent by this client and its clones, for the polling transport's rate.
    requests: Arc<AtomicU64>,
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl RestClient {
    pub fn new(endpoint: Url, credentials: Arc<Credentials>, http: reqwest::Client) -> Self {
        Self {
            http,
            endpoint,
            credentials,
            requests: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many requests this client (and its clones) has sent.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn credentials(&self) -> &Arc<Credentials> {
        &self.credentials
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    fn url(&self, segments: &[&str]) -> Result<Url, RestError> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|()| RestError::BadEndpoint)?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn authorise(&self, builder: RequestBuilder, credential: &Credential) -> RequestBuilder {
        let builder = builder
            .timeout(REQUEST_TIMEOUT)
            .header("x-ably-version", PROTOCOL_VERSION)
            .header("accept", "application/json");
        let builder = match self.credentials.client_id() {
            Some(client_id) => builder.header("x-ably-clientid", STANDARD.encode(client_id)),
            None => builder,
        };
        match credential {
            Credential::Basic(key) => builder.header(
                AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(key.full().expose())),
            ),
            Credential::Token(token) => builder.header(
                AUTHORIZATION,
                format!("Bearer {}", STANDARD.encode(token.token.expose())),
            ),
        }
    }

    /// Sends an authorised request; a token error renews the token and retries once.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Response, RestError> {
        let mut credential = self.credentials.current().await?;
        for attempt in 0..2 {
            let mut builder =
                self.authorise(self.http.request(method.clone(), url.clone()), &credential);
            if let Some(body) = body {
                builder = builder.json(body);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let response = builder.send().await.map_err(RestError::from_reqwest)?;
            let token_error = response.status() == StatusCode::UNAUTHORIZED
                && response
                    .headers()
                    .get("x-ably-errorcode")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.parse::<u32>().ok())
                    .is_some_and(|code| (40140..40150).contains(&code));
            if token_error && attempt == 0 && self.credentials.uses_tokens() {
                credential = self.credentials.renew().await?;
                continue;
            }
            return Ok(response);
        }
        Err(RestError::Network("token renewal loop".into()))
    }

    pub async fn time(&self) -> Result<i64, RestError> {
        let response = self
            .http
            .get(self.url(&["time"])?)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(RestError::from_reqwest)?;
        let times: Vec<i64> = read_json(response).await?;
        times
            .first()
            .copied()
            .ok_or_else(|| RestError::Decode("empty time answer".into()))
    }

    pub async fn publish(
        &self,
        channel: &str,
        messages: &[Message],
    ) -> Result<PublishReceipt, RestError> {
        let body =
            serde_json::to_value(messages).map_err(|error| RestError::Decode(error.to_string()))?;
        let response = self
            .send(
                Method::POST,
                self.url(&["channels", channel, "messages"])?,
                Some(&body),
            )
            .await?;
        read_json(response).await
    }

    pub async fn history(
        &self,
        channel: &str,
        query: &HistoryQuery,
    ) -> Result<Page<Message>, RestError> {
        let mut url = self.url(&["channels", channel, "messages"])?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair(
                "direction",
                if query.forwards {
                    "forwards"
                } else {
                    "backwards"
                },
            );
            if let Some(limit) = query.limit {
                pairs.append_pair("limit", &limit.to_string());
            }
            if let Some(start) = query.start_ms {
                pairs.append_pair("start", &start.to_string());
            }
            if let Some(end) = query.end_ms {
                pairs.append_pair("end", &end.to_string());
            }
            if let Some(serial) = &query.until_serial {
                pairs.append_pair("from_serial", serial);
            }
        }
        self.page(url).await
    }

    /// The page after `page`, if there is one.
    pub async fn next<T: DeserializeOwned>(
        &self,
        page: &Page<T>,
    ) -> Result<Option<Page<T>>, RestError> {
        match &page.next {
            Some(url) => Ok(Some(self.page(url.clone()).await?)),
            None => Ok(None),
        }
    }

    /// Every item of a listing: this page's and those of the pages after it. A server
    /// whose next links loop, or never end, gets a typed error instead of a client that
    /// follows it for ever.
    pub async fn all_pages<T: DeserializeOwned>(
        &self,
        mut page: Page<T>,
    ) -> Result<Vec<T>, RestError> {
        let mut items = std::mem::take(&mut page.items);
        let mut visited = std::collections::HashSet::new();
        while let Some(url) = page.next.clone() {
            if visited.len() >= MAX_PAGES {
                return Err(RestError::Paging(format!("more than {MAX_PAGES} pages")));
            }
            if !visited.insert(url.clone()) {
                return Err(RestError::Paging(
                    "a next link points back to a page already read".into(),
                ));
            }
            page = self.page(url).await?;
            items.append(&mut page.items);
        }
        Ok(items)
    }

    async fn page<T: DeserializeOwned>(&self, url: Url) -> Result<Page<T>, RestError> {
        let response = self.send(Method::GET, url.clone(), None).await?;
        let next = next_link(&url, response.headers());
        let items = read_json(response).await?;
        Ok(Page { items, next })
    }

    pub async fn presence(&self, channel: &str) -> Result<Vec<PresenceMessage>, RestError> {
        let page: Page<PresenceMessage> = self
            .page(self.url(&["channels", channel, "presence"])?)
            .await?;
        self.all_pages(page).await
    }

    /// Every active channel whose name starts with `prefix` (all pages).
    pub async fn channels(&self, prefix: &str) -> Result<Vec<String>, RestError> {
        let mut url = self.url(&["channels"])?;
        url.query_pairs_mut()
            .append_pair("prefix", prefix)
            .append_pair("limit", "1000");
        let page: Page<Value> = self.page(url).await?;
        let items = self.all_pages(page).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                item.as_str()
                    .or_else(|| item.get("channelId").and_then(Value::as_str))
                    .or_else(|| item.get("name").and_then(Value::as_str))
            })
            .map(str::to_owned)
            .collect())
    }

    /// The web app's quick replies for a conversation (`GET /api/chat/suggestions`).
    pub async fn suggestions(
        &self,
        base: &Url,
        conversation_id: &str,
        persona: &str,
    ) -> Result<Vec<String>, RestError> {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| RestError::BadEndpoint)?
            .pop_if_empty()
            .extend(["api", "chat", "suggestions"]);
        url.query_pairs_mut()
            .append_pair("conversationId", conversation_id)
            .append_pair("persona", persona);
        let response = self
            .http
            .get(url)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(RestError::from_reqwest)?;
        #[derive(serde::Deserialize)]
        struct Suggestions {
            suggestions: Vec<String>,
        }
        let answer: Suggestions = read_json(response).await?;
        Ok(answer.suggestions)
    }
}

/// Ably's `Link: <./segment?query>; rel="next"` (the only form ably-js follows): the same
/// path with the new query.
fn next_link(current: &Url, headers: &HeaderMap) -> Option<Url> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            value.split(',').find_map(|part| {
                let (target, params) = part.split_once(';')?;
                if !params.contains("rel=\"next\"") {
                    return None;
                }
                let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
                let (_, query) = target.split_once('?')?;
                let mut next = current.clone();
                next.set_query(Some(query));
                Some(next)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// UTS: TG.
    #[test]
    fn follows_only_the_next_link() {
        let current = Url::parse("http://h/channels/c%3A1/messages?limit=2").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            HeaderValue::from_static("<./messages?limit=2&direction=backwards>; rel=\"first\", <./messages?limit=2&cursor=5.0>; rel=\"next\""),
        );
        let next = next_link(&current, &headers).unwrap();
        assert_eq!(
            next.as_str(),
            "http://h/channels/c%3A1/messages?limit=2&cursor=5.0"
        );
        headers.insert(
            "link",
            HeaderValue::from_static("<./messages?limit=2>; rel=\"first\""),
        );
        assert_eq!(next_link(&current, &headers), None);
    }

    /// UTS: TI.
    #[test]
    fn errors_come_from_the_body_or_the_headers() {
        let body = br#"{"error":{"code":40160,"statusCode":401,"message":"denied"}}"#;
        let error = error_from(StatusCode::UNAUTHORIZED, &HeaderMap::new(), body);
        assert_eq!(error.code, 40160);
        let mut headers = HeaderMap::new();
        headers.insert("x-ably-errorcode", HeaderValue::from_static("40142"));
        let error = error_from(StatusCode::UNAUTHORIZED, &headers, b"not json");
        assert_eq!(error.code, 40142);
    }
}
