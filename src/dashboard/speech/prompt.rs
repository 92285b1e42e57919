//! The calm prompt: while a command is being typed, incoming lines are held and delivered
//! after Enter (or after a pause), prefixed with how many were held; an urgent line is
//! said at once on its own line and the partial command is shown again after it. Pure: it
//! returns the text to write, and the front end writes it.

/// How long typing may pause before held lines are delivered anyway.
pub const PAUSE_MS: i64 = 5_000;

/// Lines end with CR LF: in raw mode a bare LF would not return the carriage.
const NEWLINE: &str = "\r\n";
const PROMPT: &str = "> ";

/// A key at the prompt, already told apart from the terminal's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKey {
    Char(char),
    Backspace,
    /// Ctrl+U: forget what was typed.
    ClearLine,
    Enter,
}

#[derive(Debug, Default)]
pub struct Prompt {
    buffer: String,
    /// When the last key was typed, while there is a partial command.
    last_key_ms: Option<i64>,
    held: Vec<String>,
}

impl Prompt {
    /// A command is being typed.
    pub fn typing(&self) -> bool {
        !self.buffer.is_empty()
    }

    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// A line to say: at once when nothing is being typed or it is urgent, else held.
    pub fn say(&mut self, line: &str, urgent: bool) -> String {
        if !self.typing() {
            return format!("{line}{NEWLINE}");
        }
        if urgent {
            return format!("{NEWLINE}{line}{NEWLINE}{PROMPT}{}", self.buffer);
        }
        self.held.push(line.to_owned());
        String::new()
    }

    /// A key: the text to echo, and the command when Enter ends one.
    pub fn key(&mut self, key: PromptKey, now_ms: i64) -> (String, Option<String>) {
        match key {
            PromptKey::Char(c) if !c.is_control() => {
                let echo = if self.buffer.is_empty() {
                    format!("{PROMPT}{c}")
                } else {
                    c.to_string()
                };
                self.buffer.push(c);
                self.last_key_ms = Some(now_ms);
                (echo, None)
            }
            PromptKey::Char(_) => (String::new(), None),
            PromptKey::Backspace => {
                self.last_key_ms = Some(now_ms);
                match self.buffer.pop() {
                    Some(_) => ("\u{8} \u{8}".to_owned(), None),
                    None => (String::new(), None),
                }
            }
            PromptKey::ClearLine => {
                self.last_key_ms = Some(now_ms);
                if self.buffer.is_empty() {
                    return (String::new(), None);
                }
                self.buffer.clear();
                // Nothing is being typed any more: what was held is due now.
                (format!("{NEWLINE}{}", self.release()), None)
            }
            PromptKey::Enter => {
                self.last_key_ms = None;
                let command = std::mem::take(&mut self.buffer);
                let echo = if command.is_empty() {
                    String::new()
                } else {
                    NEWLINE.to_owned()
                };
                (echo, Some(command))
            }
        }
    }

    /// The held lines, after a command's answer: "2 lines held while you typed:" first.
    pub fn release(&mut self) -> String {
        if self.held.is_empty() {
            return String::new();
        }
        let held = std::mem::take(&mut self.held);
        let count = match held.len() {
            1 => "1 line".to_owned(),
            n => format!("{n} lines"),
        };
        let mut out = format!("{count} held while you typed:{NEWLINE}");
        for line in held {
            out.push_str(&line);
            out.push_str(NEWLINE);
        }
        out
    }

    /// Once a second: typing has paused long enough, so what was held is delivered, and
    /// the partial command shown again after it.
    pub fn tick(&mut self, now_ms: i64) -> String {
        let paused = self
            .last_key_ms
            .is_some_and(|last| now_ms - last >= PAUSE_MS);
        if !paused || self.held.is_empty() {
            return String::new();
        }
        let released = self.release();
        format!("{NEWLINE}{released}{PROMPT}{}", self.buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_text(prompt: &mut Prompt, text: &str, at_ms: i64) -> String {
        text.chars()
            .map(|c| prompt.key(PromptKey::Char(c), at_ms).0)
            .collect()
    }

    #[test]
    fn lines_are_said_at_once_when_nothing_is_being_typed() {
        let mut prompt = Prompt::default();
        assert_eq!(
            prompt.say("Customer message", false),
            "Customer message\r\n"
        );
        assert_eq!(prompt.held(), 0);
    }

    #[test]
    fn lines_wait_while_a_command_is_typed_and_follow_its_answer() {
        let mut prompt = Prompt::default();
        assert_eq!(type_text(&mut prompt, "li", 0), "> li");
        assert_eq!(prompt.say("first", false), "");
        assert_eq!(prompt.say("second", false), "");
        assert_eq!(type_text(&mut prompt, "st", 100), "st");
        let (echo, command) = prompt.key(PromptKey::Enter, 200);
        assert_eq!((echo.as_str(), command.as_deref()), ("\r\n", Some("list")));
        assert_eq!(
            prompt.release(),
            "2 lines held while you typed:\r\nfirst\r\nsecond\r\n"
        );
        assert_eq!(prompt.release(), "", "released once");
        assert_eq!(prompt.say("third", false), "third\r\n");
    }

    #[test]
    fn an_urgent_line_is_said_at_once_and_the_partial_command_shown_again() {
        let mut prompt = Prompt::default();
        type_text(&mut prompt, "open 3", 0);
        assert_eq!(
            prompt.say("SLA breach, conversation 3", true),
            "\r\nSLA breach, conversation 3\r\n> open 3"
        );
        assert_eq!(prompt.held(), 0);
    }

    #[test]
    fn a_pause_in_typing_delivers_what_was_held() {
        let mut prompt = Prompt::default();
        type_text(&mut prompt, "rep", 1_000);
        prompt.say("held", false);
        assert_eq!(prompt.tick(1_000 + PAUSE_MS - 1), "", "not yet");
        assert_eq!(
            prompt.tick(1_000 + PAUSE_MS),
            "\r\n1 line held while you typed:\r\nheld\r\n> rep"
        );
        assert_eq!(
            prompt.tick(1_000 + 2 * PAUSE_MS),
            "",
            "nothing more to deliver"
        );
        assert!(prompt.typing(), "the partial command is kept");
    }

    #[test]
    fn editing_keys_edit_and_an_empty_line_runs_nothing() {
        let mut prompt = Prompt::default();
        type_text(&mut prompt, "ab", 0);
        assert_eq!(prompt.key(PromptKey::Backspace, 1).0, "\u{8} \u{8}");
        assert_eq!(prompt.key(PromptKey::ClearLine, 2).0, "\r\n");
        assert!(!prompt.typing());
        assert_eq!(
            prompt.key(PromptKey::Enter, 3),
            (String::new(), Some(String::new()))
        );
        assert_eq!(
            prompt.key(PromptKey::Char('\u{7}'), 4).0,
            "",
            "controls are not typed"
        );
    }

    #[test]
    fn clearing_the_line_delivers_what_was_held() {
        let mut prompt = Prompt::default();
        type_text(&mut prompt, "x", 0);
        prompt.say("held", false);
        let (echo, command) = prompt.key(PromptKey::ClearLine, 1);
        assert_eq!(echo, "\r\n1 line held while you typed:\r\nheld\r\n");
        assert_eq!(command, None);
        assert_eq!(prompt.say("said", false), "said\r\n");
    }
}
