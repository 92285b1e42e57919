//! Ably API keys: `appId.keyId:secret`. The name part is public, the secret is not.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::secret::Secret;

#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    name: String,
    secret: Secret,
    full: Secret,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("an API key has the form appId.keyId:secret (got a value without ':')")]
    MissingColon,
    #[error("the key name {0:?} must have the form appId.keyId")]
    BadName(String),
    #[error("the key secret must be non-empty, without '.', ':' or spaces")]
    BadSecret,
}

impl ApiKey {
    /// `appId.keyId`, the public half.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The whole key, for basic auth.
    pub fn full(&self) -> &Secret {
        &self.full
    }

    pub fn app_id(&self) -> &str {
        self.name.split('.').next().unwrap_or_default()
    }
}

impl FromStr for ApiKey {
    type Err = KeyError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        // ably-js checks keys against ^([^:\s]+):([^:.\s]+)$; we do the same, in words.
        let (name, secret) = value.split_once(':').ok_or(KeyError::MissingColon)?;
        let name_ok = !name.is_empty()
            && !name.chars().any(char::is_whitespace)
            && name
                .split_once('.')
                .is_some_and(|(app, key)| !app.is_empty() && !key.is_empty());
        if !name_ok {
            return Err(KeyError::BadName(name.to_owned()));
        }
        if secret.is_empty()
            || secret
                .chars()
                .any(|c| c == '.' || c == ':' || c.is_whitespace())
        {
            return Err(KeyError::BadSecret);
        }
        Ok(Self {
            name: name.to_owned(),
            secret: Secret::new(secret),
            full: Secret::new(value),
        })
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}:<redacted>)", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_redacts() {
        let key: ApiKey = "appId.keyId:s3cret".parse().unwrap();
        assert_eq!(key.name(), "appId.keyId");
        assert_eq!(key.app_id(), "appId");
        assert_eq!(key.secret().expose(), "s3cret");
        assert!(!format!("{key:?}").contains("s3cret"));
    }

    #[test]
    fn rejects_malformed_keys_with_reasons() {
        assert_eq!("nocolon".parse::<ApiKey>(), Err(KeyError::MissingColon));
        assert_eq!(
            "nodot:secret".parse::<ApiKey>(),
            Err(KeyError::BadName("nodot".into()))
        );
        assert_eq!("a.b:sec.ret".parse::<ApiKey>(), Err(KeyError::BadSecret));
        assert_eq!("a.b:".parse::<ApiKey>(), Err(KeyError::BadSecret));
        assert_eq!("a.b:x:y".parse::<ApiKey>(), Err(KeyError::BadSecret));
    }
}
