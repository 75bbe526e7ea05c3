//! The proto3 JSON mapping of the public messages, driven by the compiled descriptors, for
//! the offline `screen` command.
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use crate::pb;

#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("descriptor: {0}")]
    Descriptor(String),
    #[error("not a valid {message} in proto3 JSON: {source}")]
    Parse {
        message: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot convert {0}: {1}")]
    Transcode(&'static str, String),
}

fn descriptor(name: &'static str) -> Result<MessageDescriptor, JsonError> {
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET)
        .map_err(|e| JsonError::Descriptor(e.to_string()))?;
    pool.get_message_by_name(name)
        .ok_or_else(|| JsonError::Descriptor(format!("{name} is not in the descriptor set")))
}

/// Parses an `Invoice` from its proto3 JSON form (lowerCamelCase or original field names).
pub fn invoice_from_json(text: &str) -> Result<pb::Invoice, JsonError> {
    const NAME: &str = "tradescreen.v1.Invoice";
    let desc = descriptor(NAME)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let dynamic = DynamicMessage::deserialize(desc, &mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|source| JsonError::Parse {
            message: NAME,
            source,
        })?;
    dynamic
        .transcode_to::<pb::Invoice>()
        .map_err(|e| JsonError::Transcode(NAME, e.to_string()))
}

/// Renders a `Verdict` in proto3 JSON, pretty-printed.
pub fn verdict_to_json(verdict: &pb::Verdict) -> Result<String, JsonError> {
    let dynamic = verdict_dynamic(verdict)?;
    serde_json::to_string_pretty(&dynamic).map_err(|e| JsonError::Transcode(VERDICT, e.to_string()))
}

/// Renders a `Verdict` in proto3 JSON on one line (for JSON Lines exports).
pub fn verdict_to_json_line(verdict: &pb::Verdict) -> Result<String, JsonError> {
    let dynamic = verdict_dynamic(verdict)?;
    serde_json::to_string(&dynamic).map_err(|e| JsonError::Transcode(VERDICT, e.to_string()))
}

const VERDICT: &str = "tradescreen.v1.Verdict";

fn verdict_dynamic(verdict: &pb::Verdict) -> Result<DynamicMessage, JsonError> {
    DynamicMessage::decode(descriptor(VERDICT)?, verdict.encode_to_vec().as_slice())
        .map_err(|e| JsonError::Transcode(VERDICT, e.to_string()))
}
