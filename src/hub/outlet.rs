//! A connection's outbound path as channels see it: a bounded queue of ready-made frames
//! plus an overflow signal. One outlet per transport; a resumed connection gets a new one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{Notify, mpsc};

#[derive(Clone)]
pub(crate) struct Outlet {
    pub echo: bool,
    queue: mpsc::Sender<Outbound>,
    overflow: Arc<Overflow>,
}

/// One slot of an outlet's queue.
pub(crate) enum Outbound {
    Frame(Utf8Bytes),
    /// Frames that go out back to back: a resume or rewind backlog, a presence SYNC. They
    /// take one slot because history already holds them (queueing costs no memory) and
    /// because a backlog longer than the queue must not look like a stalled reader: it
    /// would be cut off on every resume and never catch up.
    Burst(Vec<Utf8Bytes>),
}

impl IntoIterator for Outbound {
    type Item = Utf8Bytes;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<Utf8Bytes>, std::vec::IntoIter<Utf8Bytes>>;

    fn into_iter(self) -> Self::IntoIter {
        match self {
            Self::Frame(frame) => Some(frame).into_iter().chain(Vec::new()),
            Self::Burst(frames) => None.into_iter().chain(frames),
        }
    }
}

/// Set once when the queue is full; the writer then disconnects the transport.
#[derive(Default)]
pub(crate) struct Overflow {
    hit: AtomicBool,
    notify: Notify,
}

impl Overflow {
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.hit.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

impl Outlet {
    pub fn new(echo: bool, capacity: usize) -> (Self, mpsc::Receiver<Outbound>, Arc<Overflow>) {
        let (queue, receiver) = mpsc::channel(capacity.max(1));
        let overflow = Arc::new(Overflow::default());
        let outlet = Self {
            echo,
            queue,
            overflow: overflow.clone(),
        };
        (outlet, receiver, overflow)
    }

    /// Queues a frame without waiting. False when the connection is overflowed or gone:
    /// the caller stops sending to it; nothing is dropped silently because the client
    /// resumes from its last channel serial and gets the rest from history.
    pub fn send(&self, frame: Utf8Bytes) -> bool {
        self.push(Outbound::Frame(frame))
    }

    /// Queues frames to go out back to back, in one slot (see [`Outbound::Burst`]).
    pub fn send_burst(&self, frames: Vec<Utf8Bytes>) -> bool {
        frames.is_empty() || self.push(Outbound::Burst(frames))
    }

    fn push(&self, outbound: Outbound) -> bool {
        if self.overflow.hit.load(Ordering::Acquire) {
            return false;
        }
        match self.queue.try_send(outbound) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow.hit.store(true, Ordering::Release);
                self.overflow.notify.notify_waiters();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

impl Outlet {
    /// The same transport (outlets are cloned into every channel the transport attached).
    pub fn same(&self, other: &Outlet) -> bool {
        Arc::ptr_eq(&self.overflow, &other.overflow)
    }
}
