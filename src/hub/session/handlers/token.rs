//! Token renewal: the hub asks for a new token once per token (AUTH), disconnects at
//! expiry (40142), and takes a new token without dropping the connection.

use std::time::Duration;

use tokio::time::Instant;

use crate::hub::clock::now_ms;
use crate::hub::identity::Identity;
use crate::hub::session::connected_frame;
use crate::protocol::{ErrorInfo, ProtocolAction, ProtocolMessage};

use super::{Flow, Session};

/// When to ask for a new token and when the current one expires: fixed once per token,
/// so the client's own traffic never pushes the request later.
#[derive(Debug, Clone, Copy)]
pub(super) struct TokenTimer {
    renew_at: Instant,
    expires_at: Instant,
}

impl TokenTimer {
    pub(super) fn for_identity(identity: &Identity) -> Option<Self> {
        let life = identity.token_life?;
        let (now, now_wall_ms) = (Instant::now(), now_ms());
        let at = |wall_ms: i64| {
            let ahead = u64::try_from(wall_ms.saturating_sub(now_wall_ms)).unwrap_or(0);
            now.checked_add(Duration::from_millis(ahead))
                .unwrap_or_else(crate::hub::session::far_future)
        };
        Some(Self {
            renew_at: at(life.renewal_due_ms()),
            expires_at: at(life.expires_ms),
        })
    }
}

impl Session {
    /// When the token timer should next fire: the renewal request, then expiry.
    pub fn token_deadline(&self) -> Option<Instant> {
        let timer = self.token_timer?;
        Some(if self.renewal_requested {
            timer.expires_at
        } else {
            timer.renew_at
        })
    }

    /// Returns true when the connection must be disconnected (token expired).
    pub fn token_timer_fired(&mut self) -> bool {
        let expired = self
            .token_timer
            .is_some_and(|timer| timer.expires_at <= Instant::now());
        if expired {
            let error = ErrorInfo::new(40142, 401, "Key/token expired");
            self.send(&ProtocolMessage::new(ProtocolAction::Disconnected).with_error(error));
            return true;
        }
        if !self.renewal_requested {
            self.renewal_requested = true;
            self.send(&ProtocolMessage::new(ProtocolAction::Auth));
        }
        false
    }
    pub(super) fn reauthorise(&mut self, frame: &ProtocolMessage) -> Flow {
        let Some(token) = frame.auth.as_ref().map(|auth| auth.access_token.as_str()) else {
            return Flow::Continue;
        };
        let identity = match self.hub.authority.check_token(token) {
            Ok(identity) => identity,
            Err(error) => {
                self.fatal(error);
                return Flow::Failed;
            }
        };
        {
            let mut state = self.connection.state();
            let old = state.identity.client_id.clone();
            let compatible = match (&old, &identity.client_id) {
                (Some(old), Some(new)) => old == new || new == "*",
                (Some(_), None) => false,
                (None, _) => true,
            };
            if !compatible {
                drop(state);
                self.fatal(ErrorInfo::new(
                    40102,
                    401,
                    "Incompatible credentials: the new token is for another clientId",
                ));
                return Flow::Failed;
            }
            let keep_client = identity.client_id.as_deref() == Some("*") && old.is_some();
            let mut identity = identity;
            if keep_client {
                identity.client_id = old;
            }
            self.token_timer = TokenTimer::for_identity(&identity);
            state.identity = identity;
        }
        // A token already past its renewal point (the same token again, say) is not asked
        // to be renewed again at once: only its expiry is left to wait for.
        self.renewal_requested = self
            .token_timer
            .is_some_and(|timer| timer.renew_at <= Instant::now());
        self.outlet
            .send(connected_frame(&self.hub, &self.connection, None));
        Flow::Continue
    }
}
