//! `brokerdash publish CHANNEL EVENT JSON`: one event over REST. The message id is chosen
//! here (or given with `--id`) and printed: publishing again with the same id after a
//! timeout cannot deliver the event twice.

use serde_json::Value;

use crate::protocol::Message;
use crate::realtime::{ClientOptions, new_message_id_base};

pub async fn run(
    options: ClientOptions,
    channel: &str,
    event: &str,
    data: &str,
    id: Option<String>,
) -> Result<String, String> {
    let mut data: Value = serde_json::from_str(data)
        .map_err(|error| format!("JSON argument is not valid JSON: {error}"))?;
    // Every publisher adds `timestamp` (ms since epoch) to the event's data.
    if let Value::Object(fields) = &mut data
        && !fields.contains_key("timestamp")
    {
        fields.insert("timestamp".into(), Value::from(crate::rest::now_ms()));
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
        .map_err(|error| format!("publish failed: {error}"))?;
    Ok(id)
}
