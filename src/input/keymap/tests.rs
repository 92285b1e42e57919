use crossterm::event::{KeyCode, KeyModifiers};

use super::*;

fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

#[test]
fn context_bindings_win_and_global_ones_apply_everywhere() {
    let keymap = Keymap::default();
    assert_eq!(
        keymap.lookup(Context::Composer, &key(KeyCode::Enter, KeyModifiers::NONE)),
        Some(Command::Send)
    );
    assert_eq!(
        keymap.lookup(Context::Inbox, &key(KeyCode::Enter, KeyModifiers::NONE)),
        Some(Command::Open)
    );
    assert_eq!(
        keymap.lookup(
            Context::Composer,
            &key(KeyCode::Char('a'), KeyModifiers::ALT)
        ),
        Some(Command::MostUrgent)
    );
    assert_eq!(
        keymap.lookup(
            Context::Composer,
            &key(KeyCode::Char('x'), KeyModifiers::NONE)
        ),
        None
    );
    assert_eq!(
        keymap.lookup(
            Context::Inbox,
            &key(KeyCode::Char('?'), KeyModifiers::SHIFT)
        ),
        Some(Command::Help)
    );
    assert_eq!(
        keymap.lookup(
            Context::Composer,
            &key(KeyCode::Char('3'), KeyModifiers::ALT)
        ),
        Some(Command::PickSuggestion(Some(3)))
    );
    assert_eq!(
        keymap.lookup(
            Context::Composer,
            &key(KeyCode::Char('j'), KeyModifiers::CONTROL)
        ),
        Some(Command::Newline)
    );
}

#[test]
fn the_config_rebinds_and_unbinds_keys() {
    let overrides: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> =
        toml::from_str(
            r#"
        [inbox]
        "x" = "open"
        "q" = "none"
        [composer]
        "ctrl+s" = "send"
        "alt+2" = "pick_2"
        "#,
        )
        .unwrap();
    let keymap = Keymap::with_overrides(&overrides).unwrap();
    assert_eq!(
        keymap.lookup(Context::Inbox, &key(KeyCode::Char('x'), KeyModifiers::NONE)),
        Some(Command::Open)
    );
    assert_eq!(
        keymap.lookup(Context::Inbox, &key(KeyCode::Char('q'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(
        keymap.lookup(
            Context::Composer,
            &key(KeyCode::Char('s'), KeyModifiers::CONTROL)
        ),
        Some(Command::Send)
    );
    assert_eq!(
        keymap.lookup(Context::Composer, &key(KeyCode::Enter, KeyModifiers::NONE)),
        Some(Command::Send),
        "defaults stay"
    );
    assert!(
        keymap
            .bindings()
            .iter()
            .any(|b| b.key.words() == "x" && b.description == "open the selected conversation")
    );
}

#[test]
fn keymap_mistakes_quote_the_offending_value() {
    let table = |context: &str, key: &str, command: &str| {
        let mut inner = std::collections::BTreeMap::new();
        inner.insert(key.to_owned(), command.to_owned());
        let mut outer = std::collections::BTreeMap::new();
        outer.insert(context.to_owned(), inner);
        outer
    };
    assert_eq!(
        Keymap::with_overrides(&table("inbx", "x", "open")).unwrap_err(),
        KeymapError::Context("inbx".into())
    );
    assert!(
        matches!(Keymap::with_overrides(&table("inbox", "hyper+x", "open")), Err(KeymapError::Key { key, .. }) if key == "hyper+x")
    );
    assert!(
        matches!(Keymap::with_overrides(&table("inbox", "x", "opne")), Err(KeymapError::Command { command, .. }) if command == "opne")
    );
    assert_eq!(Key::parse("shift+tab"), Some(Key::plain(KeyCode::BackTab)));
    assert_eq!(Key::parse("F2"), Some(Key::plain(KeyCode::F(2))));
}

#[test]
fn keys_are_spelled_in_words() {
    assert_eq!(
        Key::with(KeyCode::Char('j'), KeyModifiers::ALT).words(),
        "Alt+j"
    );
    assert_eq!(Key::plain(KeyCode::PageUp).words(), "PgUp");
    assert_eq!(
        Keymap::default()
            .key_for(Context::Composer, &Command::Send)
            .as_deref(),
        Some("Enter")
    );
}
