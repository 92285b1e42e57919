//! `brokerdash publish CHANNEL EVENT JSON`: one event over REST. The message id is chosen
//! here (or given with `--id`) and printed: publishing again with the same id after a
//! timeout cannot deliver the event twice.

use serde_json::Value;

use crate::protocol::Message;
use crate::realtime::{ClientOptions, new_message_id_base};
use crate::rest::RestError;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("JSON argument is not valid JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("publish failed: {0}")]
    Refused(RestError),
}

pub async fn run(
    options: ClientOptions,
    channel: &str,
    event: &str,
    data: &str,
    id: Option<String>,
) -> Result<String, PublishError> {
    let mut data: Value = serde_json::from_str(data).map_err(PublishError::NotJson)?;
    // Every publisher adds `timestamp` (ms since epoch) to the event's data.
    if let Value::Object(fields) = &mut data
        && !fields.contains_key("timestamp")
    {
        fields.insert("timestamp".into(), Value::from(crate::clock::now_ms()));
    }
    let (wire, encoding) =
        crate::protocol::data::encode(&crate::protocol::data::Payload::Json(data), None);
    let id = id.unwrap_or_else(|| format!("{}:0", new_message_id_base()));
    let message = Message {
        id: Some(id.clone()),
        name: Some(event.to_owned()),
        data: wire,
        encoding,
        ..Message::default()
    };
    let rest = options.rest_client();
    rest.publish(channel, &[message])
        .await
        .map_err(PublishError::Refused)?;
    Ok(id)
}
