//! The task's deadlines: one heap, where setting a timer again moves it and cancelling
//! forgets it; stale entries are dropped lazily.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use tokio::time::Instant;

use crate::protocol::ErrorInfo;
use crate::realtime::channel::ChannelInput;
use crate::realtime::connection::{ConnectionState, Input};

use super::Shard;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Timer {
    Retry,
    ConnectDeadline,
    /// CLOSE was sent: closed at this time even without CLOSED.
    CloseDeadline,
    Renew,
    AttachDeadline(String),
    DetachDeadline(String),
    ChannelRetry(String),
    /// Something is due on the polling plan.
    Poll,
    /// An upgrade was refused: try again soon, inside the same connection attempt.
    UpgradeRetry,
    /// Time to ping (RTN13), while connected.
    Ping,
    /// The ping went unanswered: forget it.
    PingExpired,
    /// The health figures are due to be reported.
    Stats,
}

#[derive(Default)]
pub(super) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, Timer)>>,
    deadlines: HashMap<Timer, Instant>,
}

impl Timers {
    pub(super) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines.insert(timer.clone(), at);
        self.heap.push(Reverse((at, timer)));
    }

    pub(super) fn cancel(&mut self, timer: &Timer) {
        self.deadlines.remove(timer);
    }

    /// The earliest live deadline.
    pub(super) fn next(&mut self) -> Option<Instant> {
        // Entries whose deadline was cancelled or moved are dropped lazily here.
        while let Some(Reverse((at, timer))) = self.heap.peek() {
            if self.deadlines.get(timer) == Some(at) {
                return Some(*at);
            }
            self.heap.pop();
        }
        None
    }

    /// Takes the earliest timer due at `now`, if any.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        while let Some(Reverse((at, timer))) = self.heap.peek().cloned() {
            if at > now {
                return None;
            }
            self.heap.pop();
            if self.deadlines.get(&timer) == Some(&at) {
                self.deadlines.remove(&timer);
                return Some(timer);
            }
        }
        None
    }
}

impl Shard {
    pub(super) fn set_timer(&mut self, timer: Timer, at: Instant) {
        self.timers.set(timer, at);
    }

    pub(super) fn cancel_timer(&mut self, timer: &Timer) {
        self.timers.cancel(timer);
    }

    pub(super) fn next_timer(&mut self) -> Option<Instant> {
        self.timers.next()
    }

    pub(super) async fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(timer) = self.timers.pop_due(now) {
            self.fire_due(timer).await;
        }
    }

    /// What a timer does when it is due.
    pub(super) async fn fire_due(&mut self, timer: Timer) {
        match timer {
            Timer::Retry => self.connection(Input::RetryDue).await,
            Timer::ConnectDeadline => {
                if self.machine.state() == ConnectionState::Connecting {
                    let error =
                        ErrorInfo::new(80003, 408, "Timed out waiting for the server to connect");
                    self.connection(Input::Lost(error)).await;
                }
            }
            Timer::CloseDeadline => {
                if self.machine.state() == ConnectionState::Closing {
                    self.connection(Input::Closed).await;
                }
            }
            Timer::Renew => self.renew_token(),
            Timer::AttachDeadline(channel) => {
                self.channel(&channel, ChannelInput::AttachTimedOut).await
            }
            Timer::DetachDeadline(channel) => {
                self.channel(&channel, ChannelInput::DetachTimedOut).await
            }
            Timer::ChannelRetry(channel) => self.channel(&channel, ChannelInput::RetryDue).await,
            Timer::Poll => self.poll_due(),
            Timer::UpgradeRetry => {
                if self.machine.state() == ConnectionState::Connecting && self.opening.is_none() {
                    let resume_key = self.machine.connection_key().map(str::to_owned);
                    self.open(resume_key, false);
                }
            }
            Timer::Ping => self.ping().await,
            Timer::PingExpired => self.ping_expired(),
            Timer::Stats => self.report().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::{Timer, Timers};

    #[test]
    fn the_earliest_live_deadline_comes_first() {
        let now = Instant::now();
        let mut timers = Timers::default();
        timers.set(Timer::Renew, now + Duration::from_secs(30));
        timers.set(Timer::Retry, now + Duration::from_secs(5));
        assert_eq!(timers.next(), Some(now + Duration::from_secs(5)));
    }

    #[test]
    fn setting_a_timer_again_moves_it_and_cancelling_forgets_it() {
        let now = Instant::now();
        let mut timers = Timers::default();
        timers.set(Timer::Retry, now + Duration::from_secs(1));
        timers.set(Timer::Retry, now + Duration::from_secs(9));
        assert_eq!(
            timers.next(),
            Some(now + Duration::from_secs(9)),
            "moved, not doubled"
        );
        assert_eq!(
            timers.pop_due(now + Duration::from_secs(2)),
            None,
            "the old deadline is stale"
        );
        timers.cancel(&Timer::Retry);
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn due_timers_come_out_once_each_in_order() {
        let now = Instant::now();
        let mut timers = Timers::default();
        timers.set(
            Timer::ChannelRetry("b".into()),
            now + Duration::from_millis(20),
        );
        timers.set(
            Timer::AttachDeadline("a".into()),
            now + Duration::from_millis(10),
        );
        timers.set(Timer::Renew, now + Duration::from_secs(60));
        let later = now + Duration::from_millis(30);
        assert_eq!(
            timers.pop_due(later),
            Some(Timer::AttachDeadline("a".into()))
        );
        assert_eq!(timers.pop_due(later), Some(Timer::ChannelRetry("b".into())));
        assert_eq!(timers.pop_due(later), None, "Renew is not due yet");
        assert_eq!(timers.next(), Some(now + Duration::from_secs(60)));
    }
}
