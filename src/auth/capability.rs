//! Ably capabilities: a JSON object from resource patterns to operations
//! (ably-protocol.md §6.5), parsed once and matched against channel names.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    Subscribe,
    Publish,
    Presence,
    History,
    ChannelMetadata,
    Stats,
    All,
    /// Operations this code has no use for (push-admin, object-publish, …), kept by name.
    Other(String),
}

impl Operation {
    pub fn parse(name: &str) -> Self {
        match name {
            "subscribe" => Self::Subscribe,
            "publish" => Self::Publish,
            "presence" => Self::Presence,
            "history" => Self::History,
            "channel-metadata" => Self::ChannelMetadata,
            "stats" => Self::Stats,
            "*" => Self::All,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Subscribe => "subscribe",
            Self::Publish => "publish",
            Self::Presence => "presence",
            Self::History => "history",
            Self::ChannelMetadata => "channel-metadata",
            Self::Stats => "stats",
            Self::All => "*",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CapabilityError {
    #[error("capability is not valid JSON: {0}")]
    NotJson(String),
    #[error("capability must be a JSON object of resource -> [operations]")]
    NotAnObject,
    #[error("capability for resource {0:?} must be a non-empty list of operation names")]
    BadOperations(String),
    #[error("requested capability is not allowed by the key")]
    NotPermitted,
}

/// Resource pattern → operations, kept sorted so the canonical text is stable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capability {
    grants: BTreeMap<String, Vec<Operation>>,
}

impl Capability {
    /// Everything on every ordinary channel and every metachannel.
    pub fn everything() -> Self {
        let mut grants = BTreeMap::new();
        grants.insert("*".to_owned(), vec![Operation::All]);
        grants.insert("[*]*".to_owned(), vec![Operation::All]);
        Self { grants }
    }

    pub fn from_grants<'a>(grants: impl IntoIterator<Item = (&'a str, &'a [Operation])>) -> Self {
        let mut capability = Self::default();
        for (resource, operations) in grants {
            capability.insert(resource.to_owned(), operations.to_vec());
        }
        capability
    }

    fn insert(&mut self, resource: String, mut operations: Vec<Operation>) {
        operations.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        operations.dedup();
        self.grants.insert(resource, operations);
    }

    pub fn parse(text: &str) -> Result<Self, CapabilityError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|error| CapabilityError::NotJson(error.to_string()))?;
        let object = value.as_object().ok_or(CapabilityError::NotAnObject)?;
        let mut capability = Self::default();
        for (resource, operations) in object {
            let list = operations
                .as_array()
                .filter(|list| !list.is_empty())
                .ok_or_else(|| CapabilityError::BadOperations(resource.clone()))?;
            let mut parsed = Vec::with_capacity(list.len());
            for operation in list {
                let name = operation
                    .as_str()
                    .ok_or_else(|| CapabilityError::BadOperations(resource.clone()))?;
                parsed.push(Operation::parse(name));
            }
            capability.insert(resource.clone(), parsed);
        }
        Ok(capability)
    }

    /// Ably's canonical form: compact JSON, resources sorted, each operation list sorted.
    pub fn canonical(&self) -> String {
        let object: serde_json::Map<String, Value> = self
            .grants
            .iter()
            .map(|(resource, operations)| {
                let names = operations
                    .iter()
                    .map(|op| Value::String(op.as_str().to_owned()));
                (resource.clone(), Value::Array(names.collect()))
            })
            .collect();
        Value::Object(object).to_string()
    }

    pub fn allows(&self, channel: &str, operation: &Operation) -> bool {
        self.grants.iter().any(|(resource, operations)| {
            resource_matches(resource, channel)
                && operations
                    .iter()
                    .any(|op| op == operation || *op == Operation::All)
        })
    }

    /// May this capability perform `operation` on some channel of this name pattern?
    /// Used to narrow a requested capability to what a key allows: the requested resource
    /// is itself matched as a name, so `*` covers `conversation:*`.
    fn covers(&self, resource: &str, operation: &Operation) -> bool {
        if *operation == Operation::All {
            return self.grants.iter().any(|(granted, operations)| {
                resource_matches(granted, resource) && operations.contains(&Operation::All)
            });
        }
        self.allows(resource, operation)
    }

    /// The part of `requested` this capability allows (Ably narrows token capabilities to
    /// the key's). Nothing in common is an error: Ably refuses such a token request.
    pub fn narrow(&self, requested: &Capability) -> Result<Capability, CapabilityError> {
        let mut narrowed = Capability::default();
        for (resource, operations) in &requested.grants {
            let mut kept: Vec<Operation> = operations
                .iter()
                .filter(|op| self.covers(resource, op))
                .cloned()
                .collect();
            if kept.is_empty() && operations.contains(&Operation::All) {
                // `*` asked where the key grants a list: the token gets that list.
                kept = self
                    .grants
                    .iter()
                    .filter(|(granted, _)| resource_matches(granted, resource))
                    .flat_map(|(_, ops)| ops.iter().cloned())
                    .collect();
            }
            if !kept.is_empty() {
                narrowed.insert(resource.clone(), kept);
            }
        }
        if narrowed.grants.is_empty() {
            return Err(CapabilityError::NotPermitted);
        }
        Ok(narrowed)
    }

    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }
}

/// Ably's resource matching: segments split on `:`; a `*` segment stands for exactly one
/// segment, or for any number when it is the last; `foo*` is a literal name; a qualifier
/// such as `[meta]` must match exactly, except that `[*]*` matches everything.
pub fn resource_matches(pattern: &str, name: &str) -> bool {
    if pattern == "[*]*" {
        return true;
    }
    let (pattern_qualifier, pattern_rest) = split_qualifier(pattern);
    let (name_qualifier, name_rest) = split_qualifier(name);
    if pattern_qualifier != name_qualifier {
        return false;
    }
    let pattern_segments: Vec<&str> = pattern_rest.split(':').collect();
    let name_segments: Vec<&str> = name_rest.split(':').collect();
    for (index, segment) in pattern_segments.iter().enumerate() {
        let Some(name_segment) = name_segments.get(index) else {
            return false;
        };
        if *segment == "*" {
            if index == pattern_segments.len() - 1 {
                return true;
            }
            continue;
        }
        if segment != name_segment {
            return false;
        }
    }
    name_segments.len() == pattern_segments.len()
}

fn split_qualifier(name: &str) -> (&str, &str) {
    if name.starts_with('[')
        && let Some(end) = name.find(']')
    {
        return name.split_at(end + 1);
    }
    ("", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(text: &str) -> Capability {
        Capability::parse(text).unwrap()
    }

    #[test]
    fn star_matches_every_ordinary_channel_but_no_metachannel() {
        assert!(resource_matches("*", "conversation:42"));
        assert!(resource_matches("*", "plain"));
        assert!(resource_matches("*", "a:b:c"));
        assert!(!resource_matches("*", "[meta]channel.lifecycle"));
    }

    #[test]
    fn namespace_star_matches_any_depth_inside_the_namespace() {
        assert!(resource_matches("conversation:*", "conversation:42"));
        assert!(resource_matches("conversation:*", "conversation:42:extra"));
        assert!(!resource_matches("conversation:*", "conversation"));
        assert!(!resource_matches("conversation:*", "conversations:42"));
        assert!(!resource_matches("conversation:*", "other:42"));
    }

    #[test]
    fn inner_star_replaces_exactly_one_segment() {
        assert!(resource_matches("foo:*:baz", "foo:bar:baz"));
        assert!(!resource_matches("foo:*:baz", "foo:bar:qux:baz"));
        assert!(!resource_matches("foo:*:baz", "foo:baz"));
    }

    #[test]
    fn star_without_colon_is_literal() {
        assert!(resource_matches("foo*", "foo*"));
        assert!(!resource_matches("foo*", "foobar"));
    }

    #[test]
    fn exact_names_match_only_themselves() {
        assert!(resource_matches("conversation:7", "conversation:7"));
        assert!(!resource_matches("conversation:7", "conversation:70"));
    }

    #[test]
    fn metachannel_patterns() {
        assert!(resource_matches("[meta]*", "[meta]channel.lifecycle"));
        assert!(resource_matches(
            "[meta]channel.lifecycle",
            "[meta]channel.lifecycle"
        ));
        assert!(!resource_matches("[meta]*", "conversation:1"));
        assert!(resource_matches("[*]*", "[meta]channel.lifecycle"));
        assert!(resource_matches("[*]*", "conversation:1"));
    }

    #[test]
    fn operations_are_matched_with_the_star_operation() {
        let capability = cap(
            r#"{"conversation:*":["subscribe","publish","presence"],"[meta]channel.lifecycle":["subscribe"]}"#,
        );
        assert!(capability.allows("conversation:1", &Operation::Publish));
        assert!(capability.allows("conversation:1", &Operation::Presence));
        assert!(!capability.allows("conversation:1", &Operation::History));
        assert!(capability.allows("[meta]channel.lifecycle", &Operation::Subscribe));
        assert!(!capability.allows("[meta]channel.lifecycle", &Operation::Publish));
        assert!(!capability.allows("other:1", &Operation::Subscribe));

        let all = cap(r#"{"*":["*"]}"#);
        for op in [
            "subscribe",
            "publish",
            "presence",
            "history",
            "channel-metadata",
        ] {
            assert!(all.allows("x", &Operation::parse(op)));
        }
        assert!(!all.allows("[meta]channel.lifecycle", &Operation::Subscribe));
    }

    #[test]
    fn canonical_text_sorts_resources_and_operations() {
        let capability = cap(r#"{ "z:*": ["subscribe", "publish"], "a": ["presence","history"] }"#);
        assert_eq!(
            capability.canonical(),
            r#"{"a":["history","presence"],"z:*":["publish","subscribe"]}"#
        );
    }

    #[test]
    fn narrowing_keeps_only_what_the_key_allows() {
        let key = cap(r#"{"conversation:*":["subscribe","publish"],"[meta]*":["subscribe"]}"#);
        let requested = cap(r#"{"conversation:*":["subscribe","presence"],"other":["publish"]}"#);
        assert_eq!(
            key.narrow(&requested).unwrap().canonical(),
            r#"{"conversation:*":["subscribe"]}"#
        );
        let star = cap(r#"{"conversation:1":["*"]}"#);
        assert_eq!(
            key.narrow(&star).unwrap().canonical(),
            r#"{"conversation:1":["publish","subscribe"]}"#
        );
        assert_eq!(
            key.narrow(&cap(r#"{"other":["publish"]}"#)),
            Err(CapabilityError::NotPermitted)
        );
        let everything = Capability::everything();
        assert_eq!(everything.narrow(&requested).unwrap(), requested);
    }

    #[test]
    fn malformed_capabilities_are_typed_errors() {
        assert!(matches!(
            Capability::parse("{"),
            Err(CapabilityError::NotJson(_))
        ));
        assert_eq!(Capability::parse("[]"), Err(CapabilityError::NotAnObject));
        assert_eq!(
            Capability::parse(r#"{"a":[]}"#),
            Err(CapabilityError::BadOperations("a".into()))
        );
        assert_eq!(
            Capability::parse(r#"{"a":[1]}"#),
            Err(CapabilityError::BadOperations("a".into()))
        );
    }
}
