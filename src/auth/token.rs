//! TokenRequests (signed by the key's holder, exchanged for a token) and TokenDetails
//! (ably-protocol.md §6.2–6.3).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::Sha256;
use thiserror::Error;

use super::key::ApiKey;
use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// What a caller asks of a token; each field falls back to Ably's default when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenParams {
    pub ttl_ms: Option<u64>,
    /// Canonical capability text (see `Capability::canonical`).
    pub capability: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    pub key_name: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "ttl",
        deserialize_with = "number_or_text"
    )]
    pub ttl_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(deserialize_with = "required_number_or_text")]
    pub timestamp: u64,
    pub nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenRequestError {
    #[error("the TokenRequest carries no mac")]
    MissingMac,
    #[error("the TokenRequest's mac does not match (wrong key or altered fields)")]
    BadMac,
    #[error("the TokenRequest is for key {got:?}, not {expected:?}")]
    WrongKey { expected: String, got: String },
}

impl TokenRequest {
    /// A signed request made the way ably-js `createTokenRequest` makes it.
    pub fn sign(key: &ApiKey, params: &TokenParams, timestamp_ms: u64, nonce: String) -> Self {
        let mut request = Self {
            key_name: key.name().to_owned(),
            ttl_ms: params.ttl_ms,
            capability: params.capability.clone(),
            client_id: params.client_id.clone(),
            timestamp: timestamp_ms,
            nonce,
            mac: None,
        };
        request.mac = Some(request.compute_mac(key.secret()));
        request
    }

    /// The six signed values, each followed by a line feed, absent ones empty.
    pub fn signing_text(&self) -> String {
        let ttl = self.ttl_ms.map(|ttl| ttl.to_string()).unwrap_or_default();
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n",
            self.key_name,
            ttl,
            self.capability.as_deref().unwrap_or(""),
            self.client_id.as_deref().unwrap_or(""),
            self.timestamp,
            self.nonce
        )
    }

    fn mac_for(&self, secret: &Secret) -> HmacSha256 {
        let mut mac = match HmacSha256::new_from_slice(secret.expose().as_bytes()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        mac.update(self.signing_text().as_bytes());
        mac
    }

    pub fn compute_mac(&self, secret: &Secret) -> String {
        STANDARD.encode(self.mac_for(secret).finalize().into_bytes())
    }

    /// Checks the request was signed by `key`, comparing in constant time.
    pub fn verify(&self, key: &ApiKey) -> Result<(), TokenRequestError> {
        if self.key_name != key.name() {
            return Err(TokenRequestError::WrongKey {
                expected: key.name().to_owned(),
                got: self.key_name.clone(),
            });
        }
        let mac = self.mac.as_deref().ok_or(TokenRequestError::MissingMac)?;
        let given = STANDARD
            .decode(mac)
            .map_err(|_| TokenRequestError::BadMac)?;
        self.mac_for(key.secret())
            .verify_slice(&given)
            .map_err(|_| TokenRequestError::BadMac)
    }
}

/// A token as Ably issues it. `capability` is the canonical capability text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenDetails {
    pub token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(default)]
    pub issued: u64,
    #[serde(default)]
    pub expires: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Random nonce as ably-js makes them: 16 decimal digits.
pub fn new_nonce() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// Form bodies and some clients send numbers as text; both are accepted.
fn number_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText {
        Number(u64),
        Text(String),
    }
    match Option::<NumberOrText>::deserialize(deserializer)? {
        None => Ok(None),
        Some(NumberOrText::Number(number)) => Ok(Some(number)),
        Some(NumberOrText::Text(text)) if text.is_empty() => Ok(None),
        Some(NumberOrText::Text(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected a number, got {text:?}"))),
    }
}

fn required_number_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    number_or_text(deserializer)?.ok_or_else(|| serde::de::Error::custom("missing number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        "appId.keyId:secret".parse().unwrap()
    }

    #[test]
    fn matches_the_mac_in_the_protocol_notes() {
        // Worked example of ably-protocol.md §6.2 (signing text and mac from ably-js 2.28).
        let params = TokenParams {
            client_id: Some("bob".into()),
            ..TokenParams::default()
        };
        let request = TokenRequest::sign(
            &key(),
            &params,
            1_795_697_252_417,
            "4638784034281336".into(),
        );
        assert_eq!(
            request.signing_text(),
            "appId.keyId\n\n\nbob\n1795697252417\n4638784034281336\n"
        );
        assert_eq!(
            request.mac.as_deref(),
            Some("BcE1yeLtEUQmGcna04V4YBvhOK3PFsb5WL1XswX/JcY=")
        );
        assert_eq!(request.verify(&key()), Ok(()));
    }

    #[test]
    fn altered_or_foreign_requests_fail_verification() {
        let mut request = TokenRequest::sign(
            &key(),
            &TokenParams::default(),
            1_000,
            "1234567890123456".into(),
        );
        request.client_id = Some("mallory".into());
        assert_eq!(request.verify(&key()), Err(TokenRequestError::BadMac));
        request.mac = None;
        assert_eq!(request.verify(&key()), Err(TokenRequestError::MissingMac));
        let other: ApiKey = "appId.other:secret".parse().unwrap();
        assert!(matches!(
            request.verify(&other),
            Err(TokenRequestError::WrongKey { .. })
        ));
        let wrong_secret: ApiKey = "appId.keyId:guess".parse().unwrap();
        let signed = TokenRequest::sign(&key(), &TokenParams::default(), 1, "n".into());
        assert_eq!(signed.verify(&wrong_secret), Err(TokenRequestError::BadMac));
    }

    /// UTS: RSA5, RSA6.
    #[test]
    fn json_shape_matches_ably_js() {
        let request: TokenRequest = serde_json::from_str(
            r#"{"keyName":"a.b","ttl":"600000","capability":"{\"*\":[\"*\"]}","timestamp":5,"nonce":"n","mac":"m"}"#,
        )
        .unwrap();
        assert_eq!(request.ttl_ms, Some(600_000));
        let back = serde_json::to_string(&request).unwrap();
        assert!(
            back.starts_with(r#"{"keyName":"a.b","ttl":600000,"capability":"#),
            "{back}"
        );
    }

    #[test]
    fn nonces_are_sixteen_digits() {
        let nonce = new_nonce();
        assert_eq!(nonce.len(), 16);
        assert!(nonce.chars().all(|c| c.is_ascii_digit()));
    }
}
