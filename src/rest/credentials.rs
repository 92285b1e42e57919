//! Where credentials come from: an API key (basic auth, or tokens signed locally) or the
//! web app's auth URL (POST `{"brokerId": …}`, answered with a TokenRequest, TokenDetails
//! or a token string, as Ably's authUrl is). Tokens are cached and renewed on demand.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use crate::auth::{ApiKey, TokenDetails, TokenParams, TokenRequest, new_nonce};
use crate::clock::now_ms_u64;
use crate::protocol::ErrorInfo;
use crate::secret::Secret;

use super::RestError;

#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// Basic auth with the key, or (`use_tokens`) tokens the client signs with it.
    Key {
        key: ApiKey,
        use_tokens: bool,
        token_ttl_ms: Option<u64>,
    },
    /// Tokens from the web app's auth endpoint.
    AuthUrl { url: Url, broker_id: String },
}

/// What goes on a request or a connection.
#[derive(Debug, Clone)]
pub enum Credential {
    Basic(ApiKey),
    Token(TokenDetails),
}

impl Credential {
    pub fn expires_ms(&self) -> Option<u64> {
        match self {
            Self::Basic(_) => None,
            Self::Token(details) => Some(details.expires).filter(|expires| *expires > 0),
        }
    }
}

pub struct Credentials {
    config: AuthConfig,
    client_id: Option<String>,
    http: reqwest::Client,
    endpoint: Url,
    cached: Mutex<Option<TokenDetails>>,
}

const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

impl Credentials {
    pub fn new(
        config: AuthConfig,
        client_id: Option<String>,
        http: reqwest::Client,
        endpoint: Url,
    ) -> Self {
        Self {
            config,
            client_id,
            http,
            endpoint,
            cached: Mutex::new(None),
        }
    }

    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    pub fn uses_tokens(&self) -> bool {
        !matches!(
            self.config,
            AuthConfig::Key {
                use_tokens: false,
                ..
            }
        )
    }

    /// The credential to use now: the key, or a cached token that is not about to expire.
    pub async fn current(&self) -> Result<Credential, RestError> {
        if let AuthConfig::Key {
            key,
            use_tokens: false,
            ..
        } = &self.config
        {
            return Ok(Credential::Basic(key.clone()));
        }
        let mut cached = self.cached.lock().await;
        let now = now_ms_u64();
        // A token given as a plain string says nothing of its expiry: it is used until
        // the service says it has expired (RTN2e), not fetched again for every request.
        if let Some(token) = cached
            .as_ref()
            .filter(|token| token.expires == 0 || token.expires > now + 1_000)
        {
            return Ok(Credential::Token(token.clone()));
        }
        let fresh = self.fetch_token().await?;
        *cached = Some(fresh.clone());
        Ok(Credential::Token(fresh))
    }

    /// Forgets the cached token and fetches a new one (after a token error or ahead of
    /// expiry).
    pub async fn renew(&self) -> Result<Credential, RestError> {
        if let AuthConfig::Key {
            key,
            use_tokens: false,
            ..
        } = &self.config
        {
            return Ok(Credential::Basic(key.clone()));
        }
        let mut cached = self.cached.lock().await;
        let fresh = self.fetch_token().await?;
        *cached = Some(fresh.clone());
        Ok(Credential::Token(fresh))
    }

    async fn fetch_token(&self) -> Result<TokenDetails, RestError> {
        match &self.config {
            AuthConfig::Key {
                key, token_ttl_ms, ..
            } => {
                let params = TokenParams {
                    ttl_ms: *token_ttl_ms,
                    capability: None,
                    client_id: self.client_id.clone(),
                };
                let request = TokenRequest::sign(key, &params, now_ms_u64(), new_nonce());
                self.exchange(&request).await
            }
            AuthConfig::AuthUrl { url, broker_id } => self.ask_auth_url(url, broker_id).await,
        }
    }

    async fn ask_auth_url(&self, url: &Url, broker_id: &str) -> Result<TokenDetails, RestError> {
        let response = self
            .http
            .post(url.clone())
            .timeout(AUTH_TIMEOUT)
            .header("accept", "application/json, text/plain")
            .json(&json!({ "brokerId": broker_id }))
            .send()
            .await
            .map_err(|error| {
                RestError::AuthUrl(format!(
                    "cannot reach the auth URL: {}",
                    error.without_url()
                ))
            })?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = super::read_body(response, super::MAX_BODY_BYTES)
            .await
            .map_err(|error| RestError::AuthUrl(format!("auth URL answer unreadable: {error}")))?;
        if !status.is_success() {
            // 401/403 from the auth server means these credentials will never work (RSA4d).
            let refused = status.as_u16() == 401 || status.as_u16() == 403;
            return Err(RestError::AuthRefused {
                status: status.as_u16(),
                fatal: refused,
            });
        }
        if content_type.starts_with("text/plain") || content_type.starts_with("application/jwt") {
            let token = String::from_utf8_lossy(&body).trim().to_owned();
            return Ok(TokenDetails {
                token: Secret::new(token),
                key_name: None,
                issued: 0,
                expires: 0,
                capability: None,
                client_id: None,
            });
        }
        let value: Value = serde_json::from_slice(&body).map_err(|_| {
            RestError::AuthUrl("auth URL answered something that is not JSON".into())
        })?;
        if value.get("keyName").is_some() && value.get("issued").is_none() {
            let request: TokenRequest = serde_json::from_value(value).map_err(|error| {
                RestError::AuthUrl(format!("auth URL sent a bad TokenRequest: {error}"))
            })?;
            return self.exchange(&request).await;
        }
        serde_json::from_value(value)
            .map_err(|error| RestError::AuthUrl(format!("auth URL sent bad TokenDetails: {error}")))
    }

    /// `POST /keys/{keyName}/requestToken`.
    pub async fn exchange(&self, request: &TokenRequest) -> Result<TokenDetails, RestError> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|()| RestError::BadEndpoint)?
            .pop_if_empty()
            .extend(["keys", &request.key_name, "requestToken"]);
        let response = self
            .http
            .post(url)
            .timeout(AUTH_TIMEOUT)
            .header("x-ably-version", crate::protocol::PROTOCOL_VERSION)
            .json(request)
            .send()
            .await
            .map_err(RestError::from_reqwest)?;
        super::read_json(response).await
    }
}

impl RestError {
    /// The Ably-style error for the connection's state when credentials failed.
    pub fn to_error_info(&self) -> ErrorInfo {
        match self {
            Self::Ably(error) => error.clone(),
            Self::AuthRefused { status, .. } => ErrorInfo::new(
                80019,
                *status,
                format!("The auth URL refused the request (HTTP {status})"),
            ),
            other => ErrorInfo::new(80019, 500, other.to_string()),
        }
    }
}
