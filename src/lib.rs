//! brokerdash: a terminal dashboard for brokers and supervisors who watch many live customer
//! conversations carried over Ably.
//!
//! Module map (imports flow downwards only):
//! - `secret`: the redacting wrapper every API key and token travels in.
//! - `protocol`: Ably's realtime wire types and codecs (no I/O).
//! - `auth`: keys, TokenRequests, tokens, capabilities (no I/O).

pub mod app;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod hub;
pub mod input;
pub mod logging;
pub mod protocol;
pub mod publish;
pub mod realtime;
pub mod rest;
pub mod sanitize;
pub mod secret;
pub mod sim;
pub mod store;
pub mod tail;
pub mod terminal;
pub mod ui;
