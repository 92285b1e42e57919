//! The presence map held to Ably's spec items one by one (named by their ids).

use super::*;

fn member(
    action: PresenceAction,
    client: &str,
    id: Option<&str>,
    timestamp: i64,
) -> PresenceMessage {
    let mut message = PresenceMessage::new(action);
    message.client_id = Some(client.into());
    message.connection_id = Some("c1".into());
    message.id = id.map(str::to_owned);
    message.timestamp = Some(timestamp);
    message
}

fn stored_actions(map: &PresenceMap) -> Vec<PresenceAction> {
    map.members.values().map(|member| member.action).collect()
}

/// UTS: RTP2d2.
#[test]
fn rtp2d2_enter_update_and_present_are_stored_as_present() {
    for action in [
        PresenceAction::Enter,
        PresenceAction::Update,
        PresenceAction::Present,
    ] {
        let mut map = PresenceMap::default();
        map.apply(member(action, "a", Some("c1:0:0"), 1));
        assert_eq!(
            stored_actions(&map),
            [PresenceAction::Present],
            "{action:?}"
        );
    }
}

#[test]
fn rtp2h1_a_leave_for_an_unknown_member_changes_nothing() {
    let mut map = PresenceMap::default();
    assert_eq!(
        map.apply(member(PresenceAction::Leave, "ghost", Some("c1:0:0"), 1)),
        None
    );
    assert!(map.is_empty());
}

/// UTS: RTP2, RTP2h2a.
#[test]
fn rtp2h2b_members_left_during_a_sync_are_absent_then_deleted_when_it_ends() {
    let mut map = PresenceMap::default();
    map.sync_page(
        "s1",
        vec![member(PresenceAction::Present, "a", Some("c1:0:0"), 1)],
        false,
    );
    map.apply(member(PresenceAction::Leave, "a", Some("c1:1:0"), 2));
    assert_eq!(stored_actions(&map), [PresenceAction::Absent]);
    assert_eq!(map.members().count(), 0, "values() leaves out the absent");
    map.sync_page("s1", Vec::new(), true);
    assert!(map.members.is_empty(), "deleted at the end of the sync");
}

#[test]
fn rtp2b2_of_two_messages_from_one_connection_the_higher_serial_and_index_is_newer() {
    let mut map = PresenceMap::default();
    map.apply(member(PresenceAction::Enter, "a", Some("c1:5:1"), 9));
    assert_eq!(
        map.apply(member(PresenceAction::Update, "a", Some("c1:5:0"), 99)),
        None,
        "a lower index is older, whatever its time"
    );
    assert!(
        map.apply(member(PresenceAction::Update, "a", Some("c1:5:2"), 1))
            .is_some()
    );
}

/// UTS: RTP2b1a.
#[test]
fn rtp2b1_a_synthesized_leave_is_judged_by_time_and_an_older_one_is_refused() {
    let mut map = PresenceMap::default();
    map.apply(member(PresenceAction::Enter, "a", Some("c1:0:0"), 100));
    assert_eq!(
        map.apply(member(PresenceAction::Leave, "a", Some("synthetic"), 50)),
        None,
        "older"
    );
    assert!(
        map.apply(member(PresenceAction::Leave, "a", Some("synthetic"), 100))
            .is_some(),
        "an equal time counts as newer"
    );
}

#[test]
fn rtp2c_a_sync_page_follows_the_same_newness_rule() {
    let mut map = PresenceMap::default();
    map.apply(member(PresenceAction::Enter, "a", Some("c1:7:0"), 1));
    let changes = map.sync_page(
        "s1",
        vec![member(PresenceAction::Present, "a", Some("c1:3:0"), 1)],
        true,
    );
    assert!(
        changes.is_empty(),
        "an older PRESENT from the sync is ignored"
    );
    assert_eq!(
        map.members().next().and_then(|m| m.id.clone()),
        Some("c1:7:0".into())
    );
}

/// UTS: RTP18b.
#[test]
fn rtp18a_a_sync_is_in_progress_from_its_first_page_to_its_last() {
    let mut map = PresenceMap::default();
    assert!(!map.is_syncing());
    map.sync_page(
        "s1",
        vec![member(PresenceAction::Present, "a", Some("c1:0:0"), 1)],
        false,
    );
    assert!(map.is_syncing());
    map.sync_page("s1", Vec::new(), true);
    assert!(!map.is_syncing());
}

/// UTS: RTP19.
#[test]
fn rtp18c_a_sync_in_one_frame_begins_and_ends_at_once_and_rtp19_leaves_the_rest() {
    let mut map = PresenceMap::default();
    map.apply(member(PresenceAction::Enter, "gone", Some("c1:0:0"), 1));
    let changes = map.sync_page(
        "s2",
        vec![member(PresenceAction::Present, "stays", Some("c1:1:0"), 1)],
        true,
    );
    assert!(!map.is_syncing());
    let left: Vec<_> = changes
        .iter()
        .filter(|change| change.action == PresenceAction::Leave)
        .collect();
    assert_eq!(left.len(), 1);
    let leave = &left[0].member;
    assert_eq!(leave.client_id.as_deref(), Some("gone"));
    assert_eq!(leave.id, None, "a synthesized leave has no id");
    let now = crate::clock::now_ms();
    assert!(
        leave.timestamp.is_some_and(|at| (now - at).abs() < 60_000),
        "and the time is now"
    );
}

#[test]
fn rtp19_a_sync_of_an_empty_map_makes_no_leaves_and_live_enters_during_it_stay() {
    let mut map = PresenceMap::default();
    assert!(map.sync_page("s1", Vec::new(), true).is_empty());
    map.apply(member(PresenceAction::Enter, "old", Some("c1:0:0"), 1));
    map.sync_page("s2", Vec::new(), false);
    // Entered live while the sync runs: not stale when it ends.
    map.apply(member(PresenceAction::Enter, "old", Some("c1:2:0"), 2));
    map.apply(member(PresenceAction::Enter, "new", Some("c1:3:0"), 3));
    let changes = map.sync_page("s2", Vec::new(), true);
    assert!(
        changes
            .iter()
            .all(|change| change.action != PresenceAction::Leave)
    );
    assert_eq!(map.len(), 2);
}

#[test]
fn rtp19a_clear_leaves_everyone_and_resets_the_sync() {
    let mut map = PresenceMap::default();
    map.sync_page(
        "s1",
        vec![member(PresenceAction::Present, "a", Some("c1:0:0"), 1)],
        false,
    );
    let changes = map.clear();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].action, PresenceAction::Leave);
    assert!(map.is_empty());
    assert!(!map.is_syncing());
}

#[test]
fn tp3h_the_member_key_is_client_and_connection() {
    let message = member(PresenceAction::Enter, "broker-7", None, 1);
    assert_eq!(message.member_key(), "broker-7:c1");
}

#[test]
fn rtp19_a_member_the_sync_mentions_stays_even_if_its_entry_there_is_older() {
    let mut map = PresenceMap::default();
    map.apply(member(PresenceAction::Enter, "a", Some("c1:9:0"), 9));
    map.sync_page(
        "s1",
        vec![member(PresenceAction::Present, "a", Some("c1:1:0"), 1)],
        false,
    );
    let changes = map.sync_page("s1", Vec::new(), true);
    assert!(changes.is_empty(), "mentioned, so not left: {changes:?}");
    assert_eq!(map.len(), 1);
}
