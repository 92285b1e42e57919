//! Emoji in their names, for speech output that reads them as noise or not at all
//! (`[screen_reader] emoji = "names"`).

use unicode_segmentation::UnicodeSegmentation;

/// Replaces each emoji (a whole grapheme: flags, skin tones and joined sequences included)
/// with its name in brackets: "Thanks 🙂" becomes "Thanks [slightly smiling face]".
pub fn emoji_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for grapheme in text.graphemes(true) {
        match emojis::get(grapheme) {
            Some(emoji) => {
                out.push('[');
                out.push_str(emoji.name());
                out.push(']');
            }
            None => out.push_str(grapheme),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::emoji_names;

    #[test]
    fn emoji_become_their_names_and_other_text_stays() {
        assert_eq!(
            emoji_names("Thanks 🙂, see you 👍🏽!"),
            "Thanks [slightly smiling face], see you [thumbs up: medium skin tone]!"
        );
        assert_eq!(emoji_names("plain text, 100 %"), "plain text, 100 %");
        assert_eq!(emoji_names("名前"), "名前");
    }
}
