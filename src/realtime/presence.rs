//! A channel's presence set as the client sees it (Ably spec RTP): kept by SYNC pages and
//! live PRESENCE events, with Ably's rule for which of two messages is newer.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::{PresenceAction, PresenceMessage};

#[derive(Debug, Default)]
pub struct PresenceMap {
    /// Present members; during a SYNC also the ones that left in it, kept as ABSENT so an
    /// older SYNC entry cannot bring them back (RTP2h2a).
    members: BTreeMap<String, PresenceMessage>,
    /// During a SYNC: its id, and the members not yet seen in it (removed when it ends).
    sync: Option<Sync>,
}

#[derive(Debug)]
struct Sync {
    id: String,
    residual: BTreeSet<String>,
}

/// What changed, for the application: the action as it should be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceChange {
    pub action: PresenceAction,
    pub member: PresenceMessage,
}

/// `connectionId:msgSerial:index` ids compare numerically when both come from their
/// member's own connection; otherwise (synthesized leaves) timestamps decide (RTP2b).
fn is_newer(incoming: &PresenceMessage, existing: &PresenceMessage) -> bool {
    fn position(message: &PresenceMessage) -> Option<(i64, i64)> {
        let id = message.id.as_deref()?;
        let connection = message.connection_id.as_deref()?;
        let rest = id.strip_prefix(connection)?.strip_prefix(':')?;
        let (serial, index) = rest.split_once(':')?;
        Some((serial.parse().ok()?, index.parse().ok()?))
    }
    match (position(incoming), position(existing)) {
        (Some(a), Some(b)) => a > b,
        _ => incoming.timestamp.unwrap_or(0) >= existing.timestamp.unwrap_or(0),
    }
}

impl PresenceMap {
    pub fn members(&self) -> impl Iterator<Item = &PresenceMessage> {
        self.members
            .values()
            .filter(|member| member.action != PresenceAction::Absent)
    }

    pub fn len(&self) -> usize {
        self.members().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies one message (live or from a SYNC page); returns the change to report.
    pub fn apply(&mut self, message: PresenceMessage) -> Option<PresenceChange> {
        let key = message.member_key();
        let syncing = self.sync.is_some();
        if let Some(sync) = &mut self.sync {
            sync.residual.remove(&key);
        }
        if let Some(existing) = self.members.get(&key)
            && !is_newer(&message, existing)
        {
            return None;
        }
        match message.action {
            PresenceAction::Leave | PresenceAction::Absent => {
                let was_present = self
                    .members
                    .get(&key)
                    .is_some_and(|member| member.action != PresenceAction::Absent);
                if syncing {
                    // Kept as ABSENT until the sync ends (RTP2h2a).
                    let mut absent = message.clone();
                    absent.action = PresenceAction::Absent;
                    self.members.insert(key, absent);
                } else {
                    self.members.remove(&key);
                }
                was_present.then_some(PresenceChange {
                    action: PresenceAction::Leave,
                    member: message,
                })
            }
            PresenceAction::Enter | PresenceAction::Update | PresenceAction::Present => {
                let known = self
                    .members
                    .get(&key)
                    .is_some_and(|member| member.action != PresenceAction::Absent);
                let mut stored = message.clone();
                stored.action = PresenceAction::Present;
                self.members.insert(key, stored);
                let action = match message.action {
                    PresenceAction::Present if known => PresenceAction::Update,
                    PresenceAction::Present => PresenceAction::Enter,
                    other => other,
                };
                Some(PresenceChange {
                    action,
                    member: message,
                })
            }
            PresenceAction::Unknown(_) => None,
        }
    }

    /// A page of the SYNC `sync_id`; `last` when its cursor is empty. A new sync id starts
    /// over (RTP18a). When it ends, members it never mentioned leave, and those that left
    /// during it are forgotten.
    pub fn sync_page(
        &mut self,
        sync_id: &str,
        page: Vec<PresenceMessage>,
        last: bool,
    ) -> Vec<PresenceChange> {
        if self.sync.as_ref().is_none_or(|sync| sync.id != sync_id) {
            self.sync = Some(Sync {
                id: sync_id.to_owned(),
                residual: self
                    .members
                    .iter()
                    .filter(|(_, member)| member.action != PresenceAction::Absent)
                    .map(|(key, _)| key.clone())
                    .collect(),
            });
        }
        let mut changes: Vec<PresenceChange> =
            page.into_iter().filter_map(|m| self.apply(m)).collect();
        if last && let Some(sync) = self.sync.take() {
            for key in sync.residual {
                if let Some(mut gone) = self.members.remove(&key) {
                    // A leave the server never sent: no id of its own, and now (RTP19).
                    gone.action = PresenceAction::Leave;
                    gone.id = None;
                    gone.timestamp = Some(crate::clock::now_ms());
                    changes.push(PresenceChange {
                        action: PresenceAction::Leave,
                        member: gone,
                    });
                }
            }
            self.members
                .retain(|_, member| member.action != PresenceAction::Absent);
        }
        changes
    }

    /// A SYNC has begun and not yet ended.
    pub fn is_syncing(&self) -> bool {
        self.sync.is_some()
    }

    /// Everyone leaves (attached without presence, or detached).
    pub fn clear(&mut self) -> Vec<PresenceChange> {
        self.sync = None;
        std::mem::take(&mut self.members)
            .into_values()
            .filter(|member| member.action != PresenceAction::Absent)
            .map(|mut member| {
                member.action = PresenceAction::Leave;
                PresenceChange {
                    action: PresenceAction::Leave,
                    member,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod spec_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn member(
        action: PresenceAction,
        client: &str,
        connection: &str,
        id: &str,
        timestamp: i64,
    ) -> PresenceMessage {
        let mut message = PresenceMessage::new(action);
        message.client_id = Some(client.into());
        message.connection_id = Some(connection.into());
        message.id = Some(id.into());
        message.timestamp = Some(timestamp);
        message
    }

    /// UTS: RTP2, RTP2d1, RTP2h1, RTP6.
    #[test]
    fn enter_update_leave_are_reported_in_order() {
        let mut map = PresenceMap::default();
        let entered = map
            .apply(member(PresenceAction::Enter, "a", "c1", "c1:0:0", 1))
            .unwrap();
        assert_eq!(entered.action, PresenceAction::Enter);
        let updated = map
            .apply(member(PresenceAction::Update, "a", "c1", "c1:1:0", 2))
            .unwrap();
        assert_eq!(updated.action, PresenceAction::Update);
        assert_eq!(map.len(), 1);
        let left = map
            .apply(member(PresenceAction::Leave, "a", "c1", "c1:2:0", 3))
            .unwrap();
        assert_eq!(left.action, PresenceAction::Leave);
        assert!(map.is_empty());
    }

    /// UTS: RTP2b1, RTP2b2.
    #[test]
    fn stale_messages_are_ignored_by_serial_not_timestamp() {
        let mut map = PresenceMap::default();
        map.apply(member(PresenceAction::Update, "a", "c1", "c1:10:0", 5));
        // Older msgSerial with a later timestamp: still older.
        assert_eq!(
            map.apply(member(PresenceAction::Update, "a", "c1", "c1:9:0", 99)),
            None
        );
        // A synthesized leave (id not from the connection) is ordered by timestamp.
        let leave = member(PresenceAction::Leave, "a", "c1", "hub-leave", 6);
        assert!(map.apply(leave).is_some());
    }

    /// UTS: RTP19, RTP2.
    #[test]
    fn sync_removes_members_it_did_not_mention() {
        let mut map = PresenceMap::default();
        map.apply(member(PresenceAction::Enter, "gone", "c9", "c9:0:0", 1));
        map.apply(member(PresenceAction::Enter, "stays", "c1", "c1:0:0", 1));
        let page_one = vec![member(PresenceAction::Present, "stays", "c1", "c1:0:0", 1)];
        assert!(map.sync_page("s1", page_one, false).is_empty());
        let page_two = vec![member(PresenceAction::Present, "new", "c2", "c2:0:0", 2)];
        let changes = map.sync_page("s1", page_two, true);
        let summary: Vec<(PresenceAction, Option<String>)> = changes
            .into_iter()
            .map(|c| (c.action, c.member.client_id))
            .collect();
        assert_eq!(
            summary,
            vec![
                (PresenceAction::Enter, Some("new".into())),
                (PresenceAction::Leave, Some("gone".into()))
            ]
        );
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn rtp2h2a_a_leave_during_a_sync_is_kept_absent_until_it_ends() {
        let mut map = PresenceMap::default();
        map.apply(member(PresenceAction::Enter, "a", "c1", "c1:1:0", 0));
        let leave = map.sync_page(
            "s1",
            vec![member(PresenceAction::Leave, "a", "c1", "c1:5:0", 0)],
            false,
        );
        assert_eq!(leave.len(), 1, "the leave is reported at once");
        assert_eq!(map.len(), 0, "an absent member is not present");
        // An older entry in a later page does not bring the member back.
        let stale = map.sync_page(
            "s1",
            vec![member(PresenceAction::Present, "a", "c1", "c1:2:0", 0)],
            true,
        );
        assert!(stale.is_empty(), "{stale:?}");
        assert_eq!(map.len(), 0);
        assert!(
            map.members.is_empty(),
            "absent members are forgotten when the sync ends"
        );
    }

    #[test]
    fn rtp18a_a_new_sync_id_starts_the_sync_over() {
        let mut map = PresenceMap::default();
        map.apply(member(PresenceAction::Enter, "a", "c1", "c1:1:0", 0));
        map.apply(member(PresenceAction::Enter, "b", "c2", "c2:1:0", 0));
        // The first sync sees only a, then is abandoned for a new one.
        map.sync_page(
            "s1",
            vec![member(PresenceAction::Present, "a", "c1", "c1:1:0", 0)],
            false,
        );
        let changes = map.sync_page(
            "s2",
            vec![member(PresenceAction::Present, "b", "c2", "c2:1:0", 0)],
            true,
        );
        let left: Vec<_> = changes
            .iter()
            .filter(|change| change.action == PresenceAction::Leave)
            .map(|change| change.member.client_id.clone().unwrap_or_default())
            .collect();
        assert_eq!(left, ["a"], "judged by the new sync alone: a was not in it");
        assert_eq!(map.len(), 1);
    }
}
