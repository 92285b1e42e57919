//! Remote text is hostile: customer messages, names and payloads may
//! carry escape sequences (OSC 52 clipboard writes, OSC 8 links, title changes, screen
//! clears), C0/C1 controls, bidi overrides and zero-width characters. Every remote string
//! passes through here at intake, before it reaches a widget, a log line or `tail`.
//!
//! Whole escape sequences (7- and 8-bit CSI, OSC, DCS, SOS/PM/APC) are removed with a real
//! terminal parser (`vte`), not patterns; other controls become a visible mark; bidi
//! controls are dropped; zero-width characters are dropped except a joiner inside an emoji
//! sequence; tabs become spaces.

use vte::{Params, Parser, Perform};

/// Shown in place of a control character.
pub const CONTROL_MARK: char = '\u{FFFD}';
const TAB_SPACES: &str = "    ";

/// Multi-line text (message bodies): line breaks are kept.
pub fn clean_block(text: &str) -> String {
    clean(text, false)
}

/// `clean_block` for text already owned: kept as it is, without a copy, when plain.
pub fn clean_block_owned(text: String) -> String {
    if is_plain(&text) {
        text
    } else {
        clean(&text, false)
    }
}

/// One-line text (names, previews, ids): line breaks become spaces.
pub fn clean_line(text: &str) -> String {
    clean(text, true)
}

fn clean(text: &str, single_line: bool) -> String {
    if is_plain(text) {
        return text.to_owned();
    }
    let mut sink = Sink {
        out: String::with_capacity(text.len()),
        single_line,
    };
    let mut parser = Parser::new();
    let widened = widen_c1(text);
    parser.advance(&mut sink, widened.as_bytes());
    drop_stray_joiners(&sink.out)
}

/// Fast path: printable ASCII and ordinary non-ASCII letters need no parsing.
fn is_plain(text: &str) -> bool {
    text.chars()
        .all(|c| (' '..='~').contains(&c) || (c > '\u{9F}' && !is_invisible(c)))
}

/// Bidi controls and zero-width characters.
fn is_invisible(c: char) -> bool {
    is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// 8-bit C1 introducers arrive as characters U+0080–U+009F; spelled as their 7-bit ESC
/// forms the parser removes the whole sequence, not just its first byte.
fn widen_c1(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\u{9B}' => out.push_str("\x1b["),
            '\u{9D}' => out.push_str("\x1b]"),
            '\u{90}' => out.push_str("\x1bP"),
            '\u{9C}' => out.push_str("\x1b\\"),
            '\u{98}' => out.push_str("\x1bX"),
            '\u{9E}' => out.push_str("\x1b^"),
            '\u{9F}' => out.push_str("\x1b_"),
            other => out.push(other),
        }
    }
    out
}

struct Sink {
    out: String,
    single_line: bool,
}

impl Perform for Sink {
    fn print(&mut self, c: char) {
        if c == '\u{7F}' || ('\u{80}'..='\u{9F}').contains(&c) {
            self.out.push(CONTROL_MARK);
        } else if !is_bidi_control(c) {
            self.out.push(c);
        }
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' if self.single_line => self.out.push(' '),
            b'\n' => self.out.push('\n'),
            b'\t' => self.out.push_str(TAB_SPACES),
            b'\r' => {}
            _ => self.out.push(CONTROL_MARK),
        }
    }

    // Sequences are consumed whole and produce nothing.
    fn hook(&mut self, _: &Params, _: &[u8], _: bool, _: char) {}
    fn put(&mut self, _: u8) {}
    fn unhook(&mut self) {}
    fn osc_dispatch(&mut self, _: &[&[u8]], _: bool) {}
    fn csi_dispatch(&mut self, _: &Params, _: &[u8], _: bool, _: char) {}
    fn esc_dispatch(&mut self, _: &[u8], _: bool, _: u8) {}
}

/// Zero-width characters go, except a joiner between two pictographs (emoji families).
fn drop_stray_joiners(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (index, c) in chars.iter().enumerate() {
        if !is_invisible(*c) {
            out.push(*c);
            continue;
        }
        let joins_emoji = *c == '\u{200D}'
            && index > 0
            && chars
                .get(index + 1)
                .is_some_and(|next| is_pictograph(*next))
            && (is_pictograph(chars[index - 1]) || chars[index - 1] == '\u{FE0F}');
        if joins_emoji {
            out.push(*c);
        }
    }
    out
}

fn is_pictograph(c: char) -> bool {
    matches!(c, '\u{2600}'..='\u{27BF}' | '\u{1F000}'..='\u{1FAFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_untouched() {
        for text in ["Hello, can I refinance?", "中文 ✓ émigré", "🏠 3.5%"] {
            assert_eq!(clean_block(text), text);
        }
    }

    #[test]
    fn whole_escape_sequences_are_removed() {
        let cases = [
            ("a\x1b]52;c;ZXZpbA==\x07b", "ab"), // OSC 52 clipboard write
            (
                "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
                "link",
            ), // OSC 8
            ("\x1b]0;pwned title\x07x", "x"),   // OSC 0 title
            ("before\x1b[2Jafter", "beforeafter"), // CSI 2J
            ("red\x1b[31mtext\x1b[0m", "redtext"), // SGR
            ("\u{9b}2Jgone", "gone"),           // 8-bit CSI
            ("\u{9d}0;title\u{9c}ok", "ok"),    // 8-bit OSC, 8-bit ST
            ("\x1bPq#0;2;0;0;0\x1b\\x", "x"),   // DCS (sixel)
        ];
        for (hostile, expected) in cases {
            assert_eq!(clean_block(hostile), expected, "{hostile:?}");
        }
    }

    #[test]
    fn controls_become_visible_marks_and_tabs_spaces() {
        assert_eq!(clean_block("bell\x07!"), format!("bell{CONTROL_MARK}!"));
        assert_eq!(clean_block("a\tb"), "a    b");
        assert_eq!(clean_block("one\r\ntwo"), "one\ntwo");
        assert_eq!(clean_line("one\ntwo"), "one two");
        assert_eq!(clean_block("x\u{85}y"), format!("x{CONTROL_MARK}y"));
    }

    #[test]
    fn bidi_controls_and_stray_zero_width_characters_are_dropped() {
        assert_eq!(clean_line("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean_line("a\u{2066}b\u{2069}c\u{200F}"), "abc");
        assert_eq!(clean_line("ad\u{200B}min\u{FEFF}"), "admin");
        // A joiner inside an emoji family is part of the character and stays.
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(clean_block(family), family);
        assert_eq!(clean_block("x\u{200D}y"), "xy");
        assert_eq!(
            clean_line("soft\u{ad}hy\u{2062}phen\u{e0041}"),
            "softhyphen"
        );
        assert_eq!(clean_line("del\u{7f}"), format!("del{CONTROL_MARK}"));
    }

    #[test]
    fn no_escape_byte_survives_any_input() {
        let nasty = "\x1b[?1049h\x1b]52;c;x\x07\u{9b}31m\x1bc\x1b[6n\x1b(0\u{90}x\u{9c}\x1b";
        let cleaned = clean_block(nasty);
        assert!(!cleaned.contains('\x1b'), "{cleaned:?}");
        assert!(!cleaned.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)));
    }
}
