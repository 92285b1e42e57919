//! The connection's health figures: counted where things happen (an increment each), and
//! reported as `NetEvent::Stats` at most once a second, and only when something changed,
//! so a flood of messages costs no more reports than a trickle. While connected over
//! WebSocket the connection pings (RTN13) to measure the round trip.

use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::{ErrorInfo, ProtocolAction, ProtocolMessage};
use crate::realtime::connection::ConnectionState;
use crate::realtime::types::{ConnectionStats, NetEvent};

use super::timers::Timer;
use super::{Pending, PendingReply, Shard};

/// How often a connected connection pings.
pub(super) const PING_INTERVAL: Duration = Duration::from_secs(15);
/// How long a ping waits for its echo before it is forgotten: the idle timer, not the
/// ping, decides that a connection is dead.
pub(super) const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// The least time between two reports.
pub(super) const REPORT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(super) struct Health {
    pub stats: ConnectionStats,
    /// Something changed since the last report.
    pub changed: bool,
    /// `Timer::Stats` is set: no other is planned until it fires.
    pub report_planned: bool,
    pub reported_at: Option<Instant>,
    /// A transport attempt is under way and has not reached CONNECTED.
    pub attempting: bool,
    /// The id of the last CONNECTED, to tell a resumed connection from a new one.
    pub connection_id: Option<String>,
    /// The ping awaiting its echo: its id, and when it went.
    pub ping: Option<(String, Instant)>,
}

impl Health {
    /// What the application is told: messages and filled gaps. Per message, only this.
    pub fn delivered(&mut self, event: &NetEvent) {
        match event {
            NetEvent::Message { .. } => self.stats.received += 1,
            NetEvent::GapFilled { .. } => self.stats.gap_fills += 1,
            _ => return,
        }
        self.changed = true;
    }

    pub fn published(&mut self, messages: usize) {
        self.stats.published += as_count(messages);
        self.changed = true;
    }

    /// A publish answered: its messages acknowledged, or refused for good.
    pub fn settled(&mut self, messages: usize, acknowledged: bool) {
        if messages == 0 {
            return;
        }
        let counter = if acknowledged {
            &mut self.stats.acknowledged
        } else {
            &mut self.stats.refused
        };
        *counter += as_count(messages);
        self.changed = true;
    }
}

impl Pending {
    /// The messages a publish carries; presence changes are not publishes.
    pub(super) fn published_messages(&self) -> usize {
        match self.reply {
            PendingReply::Publish(_) => self.frame.messages.as_ref().map_or(0, Vec::len),
            PendingReply::Presence(_) => 0,
        }
    }
}

impl Shard {
    /// A transport attempt starts (each one: retried upgrades count too).
    pub(super) fn attempt_started(&mut self) {
        self.health.stats.connect_attempts += 1;
        self.health.attempting = true;
        self.health.changed = true;
    }

    /// The attempt under way ended without CONNECTED: a failure, unless the application
    /// closed the connection meanwhile.
    pub(super) fn attempt_ended(&mut self) {
        let closed = self.machine.state() == ConnectionState::Closed;
        if std::mem::take(&mut self.health.attempting) && !closed {
            self.health.stats.connect_failures += 1;
            self.health.changed = true;
        }
    }

    /// CONNECTED, or leaving it: the figures that follow the connection's state, and the
    /// pings, which run only while connected.
    pub(super) fn health_state_changed(
        &mut self,
        state: ConnectionState,
        reason: Option<&ErrorInfo>,
    ) {
        let health = &mut self.health;
        if state == ConnectionState::Connected {
            health.attempting = false;
            let id = self.machine.connection_id().unwrap_or_default();
            if let Some(previous) = &health.connection_id {
                // RTN15c6 when the same connection came back cleanly, RTN15c7 otherwise.
                health.stats.reconnects += 1;
                if previous == id && reason.is_none() {
                    health.stats.resumes_ok += 1;
                } else {
                    health.stats.resumes_failed += 1;
                }
            }
            health.connection_id = Some(id.to_owned());
            health.stats.connected_since_ms = Some(crate::clock::now_ms());
            health.changed = true;
            self.set_timer(Timer::Ping, Instant::now());
        } else if health.stats.connected_since_ms.take().is_some() {
            health.changed = true;
            health.ping = None;
            self.cancel_timer(&Timer::Ping);
            self.cancel_timer(&Timer::PingExpired);
        }
    }

    /// RTN13: a HEARTBEAT with a fresh id; the server echoes it, which gives the round
    /// trip. The next ping is planned here, so one timer serves them all.
    pub(super) async fn ping(&mut self) {
        if self.machine.state() != ConnectionState::Connected || self.is_polling() {
            return;
        }
        let id = format!("{:016x}", rand::random::<u64>());
        let mut frame = ProtocolMessage::new(ProtocolAction::Heartbeat);
        frame.id = Some(id.clone());
        self.send(&frame).await;
        let now = Instant::now();
        self.health.ping = Some((id, now));
        self.set_timer(Timer::PingExpired, now + PING_TIMEOUT);
        self.set_timer(Timer::Ping, now + PING_INTERVAL);
    }

    /// A HEARTBEAT from the server answers the ping only with the ping's id: the server's
    /// own heartbeats, and echoes of forgotten pings, are not answers.
    pub(super) fn heartbeat(&mut self, id: Option<&str>) {
        let answered = matches!((&self.health.ping, id), (Some((ping, _)), Some(id)) if ping == id);
        if let Some((_, sent)) = self.health.ping.take_if(|_| answered) {
            self.health.stats.rtt_ms = Some(sent.elapsed().as_secs_f64() * 1000.0);
            self.health.changed = true;
            self.cancel_timer(&Timer::PingExpired);
        }
    }

    /// No echo in time: the ping is forgotten, and nothing else changes.
    pub(super) fn ping_expired(&mut self) {
        self.health.ping = None;
    }

    /// Plans a report when something changed: a second after the last one at the soonest.
    /// Called once per turn of the task's loop rather than per message, so counting stays
    /// an increment.
    pub(super) fn plan_report(&mut self) {
        if !self.health.changed || self.health.report_planned {
            return;
        }
        let now = Instant::now();
        let at = self
            .health
            .reported_at
            .map_or(now, |last| (last + REPORT_INTERVAL).max(now));
        self.health.report_planned = true;
        self.set_timer(Timer::Stats, at);
    }

    /// Tells the application the figures, if they changed since it was last told.
    pub(super) async fn report(&mut self) {
        self.health.report_planned = false;
        if !std::mem::take(&mut self.health.changed) {
            return;
        }
        self.health.reported_at = Some(Instant::now());
        let stats = self.health.stats.clone();
        self.emit(NetEvent::Stats {
            shard: self.index,
            stats,
        })
        .await;
    }
}

fn as_count(messages: usize) -> u64 {
    u64::try_from(messages).unwrap_or(u64::MAX)
}
