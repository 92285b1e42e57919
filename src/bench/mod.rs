//! `brokerdash bench`: measure the realtime client on any load source that speaks Ably's
//! protocol on loopback (`subscribe`), and a load source of our own (`load`).
//!
//! The load's messages are `message:user` events on `conversation:0` … `conversation:{N-1}`
//! whose data carries `messageId` = `msg-<global sequence>` and `sentNs` (CLOCK_MONOTONIC
//! at publish, in nanoseconds, as a decimal string; a JSON number is read too); after the last one every channel gets `bench:end` with
//! `{"total": K, "connections": C}`.

pub mod load;
pub mod measure;
pub mod report;
pub mod rig;
pub mod subscribe;

pub const END_EVENT: &str = "bench:end";

pub fn channel_name(index: usize) -> String {
    format!("conversation:{index}")
}
