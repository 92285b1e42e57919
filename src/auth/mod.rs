//! Ably authentication: API keys, signed TokenRequests, TokenDetails and capabilities
//! (ably-protocol.md §6). Shared by the client side (signing, renewal) and the hub
//! (verification, enforcement).

mod capability;
mod key;
mod token;

pub use capability::{Capability, CapabilityError, Operation, resource_matches};
pub use key::{ApiKey, KeyError};
pub use token::{TokenDetails, TokenParams, TokenRequest, TokenRequestError, new_nonce};
