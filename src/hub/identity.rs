//! Who a connection or request is: checks keys and tokens, issues tokens for signed
//! TokenRequests (nonce and timestamp checks included), and says what they may do.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::{ApiKey, Capability, Operation, TokenDetails, TokenRequest};
use crate::protocol::ErrorInfo;
use crate::secret::Secret;

use super::clock::{now_ms, random_id};
use super::config::HubConfig;

const DEFAULT_TOKEN_TTL_MS: u64 = 60 * 60 * 1000;
const MAX_TOKEN_TTL_MS: u64 = 24 * 60 * 60 * 1000;
const TIMESTAMP_WINDOW_MS: i64 = 2 * 60 * 1000;
const NONCE_MEMORY: Duration = Duration::from_secs(5 * 60);

/// The credentials behind a connection or a REST request.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// `None`: anonymous; `Some("*")`: may act as anyone.
    pub client_id: Option<String>,
    pub capability: Capability,
    /// When the token was issued and expires; `None` for basic auth.
    pub token_life: Option<TokenLife>,
    pub via_token: bool,
}

/// A token's issue and expiry times (ms since epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenLife {
    pub issued_ms: i64,
    pub expires_ms: i64,
}

impl TokenLife {
    /// When to ask the client for a new token: 30 s before expiry, or at half its life
    /// for a token shorter than a minute.
    pub fn renewal_due_ms(&self) -> i64 {
        let life = self.expires_ms.saturating_sub(self.issued_ms).max(0);
        let ahead = (life / 2).min(30_000);
        self.expires_ms.saturating_sub(ahead)
    }
}

impl Identity {
    pub fn allows(&self, channel: &str, operation: Operation) -> bool {
        self.capability.allows(channel, &operation)
    }

    pub fn is_wildcard(&self) -> bool {
        self.client_id.as_deref() == Some("*")
    }

    /// Basic auth and wildcard tokens may name any clientId; others only their own.
    pub fn may_act_as(&self, client_id: &str) -> bool {
        match self.client_id.as_deref() {
            Some("*") => true,
            Some(own) => own == client_id,
            None => !self.via_token,
        }
    }
}

struct IssuedToken {
    capability: Capability,
    client_id: Option<String>,
    life: TokenLife,
}

#[derive(Default)]
struct TokenBook {
    tokens: HashMap<String, IssuedToken>,
    nonces: HashMap<String, Instant>,
    nonce_order: VecDeque<(Instant, String)>,
}

pub(crate) struct Authority {
    keys: Vec<ApiKey>,
    book: Mutex<TokenBook>,
}

pub(crate) fn error(code: u32, status: u16, message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(code, status, message)
}

impl Authority {
    pub fn new(config: &HubConfig) -> Self {
        Self {
            keys: config.keys.clone(),
            book: Mutex::new(TokenBook::default()),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, TokenBook> {
        // A poisoned lock only means another task panicked mid-update; the book itself
        // stays consistent (each update is a single insert or remove).
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn key_named(&self, name: &str) -> Option<&ApiKey> {
        self.keys.iter().find(|key| key.name() == name)
    }

    pub fn first_key(&self) -> Option<&ApiKey> {
        self.keys.first()
    }

    /// Basic auth with a full `appId.keyId:secret`.
    pub fn check_key(
        &self,
        full_key: &str,
        client_id: Option<&str>,
    ) -> Result<Identity, ErrorInfo> {
        let known = full_key.parse::<ApiKey>().ok().and_then(|given| {
            self.key_named(given.name())
                .filter(|key| key.secret().expose() == given.secret().expose())
        });
        match known {
            Some(_) => Ok(Identity {
                client_id: client_id.map(str::to_owned),
                capability: Capability::everything(),
                token_life: None,
                via_token: false,
            }),
            None => Err(error(
                40101,
                401,
                "Invalid credentials: unknown API key or wrong secret",
            )),
        }
    }

    pub fn check_token(&self, token: &str) -> Result<Identity, ErrorInfo> {
        let book = self.book();
        let issued = book
            .tokens
            .get(token)
            .ok_or_else(|| error(40143, 401, "Token not recognised by this hub"))?;
        if issued.life.expires_ms <= now_ms() {
            return Err(error(40142, 401, "Token expired"));
        }
        Ok(Identity {
            client_id: issued.client_id.clone(),
            capability: issued.capability.clone(),
            token_life: Some(issued.life),
            via_token: true,
        })
    }

    /// `POST /keys/{keyName}/requestToken`: a signed request, or an unsigned one made
    /// with basic auth (`basic_key_ok`).
    pub fn issue_token(
        &self,
        key_name: &str,
        request: &TokenRequest,
        basic_key_ok: bool,
    ) -> Result<TokenDetails, ErrorInfo> {
        let key = self
            .key_named(key_name)
            .ok_or_else(|| error(40400, 404, format!("No such key: {key_name}")))?;
        if request.key_name != key_name {
            return Err(error(40101, 401, "TokenRequest is for another key"));
        }
        if request.mac.is_some() || !basic_key_ok {
            request
                .verify(key)
                .map_err(|reason| error(40101, 401, format!("Invalid TokenRequest: {reason}")))?;
        }
        let now = now_ms();
        let timestamp = i64::try_from(request.timestamp).unwrap_or(i64::MAX);
        if (timestamp - now).abs() > TIMESTAMP_WINDOW_MS {
            return Err(error(
                40104,
                401,
                "TokenRequest timestamp outside the allowed window",
            ));
        }
        self.remember_nonce(key_name, &request.nonce)?;
        let ttl = request.ttl_ms.unwrap_or(DEFAULT_TOKEN_TTL_MS);
        if ttl == 0 || ttl > MAX_TOKEN_TTL_MS {
            return Err(error(
                40003,
                400,
                format!("Invalid ttl {ttl} ms (1 ms to 24 h)"),
            ));
        }
        let key_capability = Capability::everything();
        let capability = match request.capability.as_deref() {
            None | Some("") => key_capability,
            Some(text) => {
                let requested = Capability::parse(text)
                    .map_err(|reason| error(40003, 400, format!("Invalid capability: {reason}")))?;
                key_capability
                    .narrow(&requested)
                    .map_err(|reason| error(40160, 401, reason.to_string()))?
            }
        };
        let token = format!("{}.{}", key.app_id(), random_id(32));
        let expires = now + i64::try_from(ttl).unwrap_or(i64::MAX / 2);
        let details = TokenDetails {
            token: Secret::new(token.clone()),
            key_name: Some(key_name.to_owned()),
            issued: u64::try_from(now).unwrap_or(0),
            expires: u64::try_from(expires).unwrap_or(0),
            capability: Some(capability.canonical()),
            client_id: request.client_id.clone().filter(|id| !id.is_empty()),
        };
        self.book().tokens.insert(
            token,
            IssuedToken {
                capability,
                client_id: details.client_id.clone(),
                life: TokenLife {
                    issued_ms: now,
                    expires_ms: expires,
                },
            },
        );
        Ok(details)
    }

    fn remember_nonce(&self, key_name: &str, nonce: &str) -> Result<(), ErrorInfo> {
        if nonce.len() < 16 {
            return Err(error(
                40003,
                400,
                "TokenRequest nonce must have at least 16 characters",
            ));
        }
        let mut book = self.book();
        let now = Instant::now();
        while let Some((seen, _)) = book.nonce_order.front() {
            if now.duration_since(*seen) < NONCE_MEMORY {
                break;
            }
            if let Some((_, old)) = book.nonce_order.pop_front() {
                book.nonces.remove(&old);
            }
        }
        let entry = format!("{key_name}/{nonce}");
        if book.nonces.contains_key(&entry) {
            return Err(error(40105, 401, "TokenRequest nonce already used"));
        }
        book.nonces.insert(entry.clone(), now);
        book.nonce_order.push_back((now, entry));
        // Expired tokens are forgotten here too, so the book stays bounded.
        let now_ms = now_ms();
        book.tokens
            .retain(|_, token| token.life.expires_ms > now_ms - 60_000);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::TokenLife;

    #[test]
    fn renewal_is_due_30_s_before_expiry_or_at_half_life_for_short_tokens() {
        let hour = TokenLife {
            issued_ms: 0,
            expires_ms: 3_600_000,
        };
        assert_eq!(hour.renewal_due_ms(), 3_570_000);
        let four_seconds = TokenLife {
            issued_ms: 1_000,
            expires_ms: 5_000,
        };
        assert_eq!(four_seconds.renewal_due_ms(), 3_000);
        let backwards = TokenLife {
            issued_ms: 5_000,
            expires_ms: 1_000,
        };
        assert_eq!(backwards.renewal_due_ms(), 1_000, "no life: due at expiry");
        let extreme = TokenLife {
            issued_ms: i64::MIN,
            expires_ms: i64::MAX,
        };
        assert_eq!(extreme.renewal_due_ms(), i64::MAX - 30_000);
    }
}
