//! Frame rules: which frames a rule matches (the direction and the protocol action) and what
//! it does to them (drop, delay, or replace with another frame), a given number of times.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Frames the client sends.
    Client,
    /// Frames the server sends.
    Server,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "do", rename_all = "lowercase")]
pub enum RuleAction {
    Drop,
    Delay {
        ms: u64,
    },
    /// Sends this frame (a JSON protocol message) instead.
    Replace {
        frame: Value,
    },
}

/// One rule as posted to `/_proxy/rules`, e.g.
/// `{"direction": "server", "action": 11, "do": "delay", "ms": 3000, "times": 1}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FrameRule {
    pub direction: Direction,
    /// The protocol action number the frame must have (ATTACHED is 11, …).
    pub action: u64,
    #[serde(flatten)]
    pub what: RuleAction,
    /// How many frames it applies to; without it, every matching frame.
    pub times: Option<u32>,
}

/// What happens to one frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    Drop,
    Delay(Duration),
    Replace(Value),
}

/// The longest delay a rule may ask for: longer is a typo, not a test.
pub const MAX_DELAY_MS: u64 = 10 * 60 * 1000;
/// Rules held at once.
pub const MAX_RULES: usize = 256;

/// The first rule that matches the frame decides, and is used up by it.
pub fn verdict(rules: &mut Vec<FrameRule>, direction: Direction, action: Option<u64>) -> Verdict {
    let Some(action) = action else {
        return Verdict::Pass;
    };
    let Some(index) = rules
        .iter()
        .position(|rule| rule.direction == direction && rule.action == action)
    else {
        return Verdict::Pass;
    };
    let rule = &mut rules[index];
    let verdict = match &rule.what {
        RuleAction::Drop => Verdict::Drop,
        RuleAction::Delay { ms } => Verdict::Delay(Duration::from_millis((*ms).min(MAX_DELAY_MS))),
        RuleAction::Replace { frame } => Verdict::Replace(frame.clone()),
    };
    if let Some(times) = &mut rule.times {
        *times = times.saturating_sub(1);
        if *times == 0 {
            rules.remove(index);
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules(value: serde_json::Value) -> Vec<FrameRule> {
        serde_json::from_value(value).expect("rules")
    }

    #[test]
    fn the_first_matching_rule_decides_and_is_used_up() {
        let mut rules = rules(json!([
            {"direction": "server", "action": 11, "do": "drop", "times": 1},
            {"direction": "server", "action": 11, "do": "delay", "ms": 250},
            {"direction": "client", "action": 10, "do": "replace", "frame": {"action": 12}},
        ]));
        let server = Direction::Server;
        assert_eq!(verdict(&mut rules, server, Some(11)), Verdict::Drop);
        assert_eq!(
            verdict(&mut rules, server, Some(11)),
            Verdict::Delay(Duration::from_millis(250)),
            "the drop was used up; the delay has no limit"
        );
        assert_eq!(
            verdict(&mut rules, server, Some(11)),
            Verdict::Delay(Duration::from_millis(250))
        );
        assert_eq!(
            verdict(&mut rules, server, Some(10)),
            Verdict::Pass,
            "direction"
        );
        assert_eq!(
            verdict(&mut rules, Direction::Client, Some(10)),
            Verdict::Replace(json!({"action": 12}))
        );
        assert_eq!(verdict(&mut rules, server, None), Verdict::Pass);
    }

    #[test]
    fn a_rule_with_an_unknown_verb_is_refused() {
        let parsed: Result<Vec<FrameRule>, _> = serde_json::from_value(json!([
            {"direction": "server", "action": 11, "do": "explode"}
        ]));
        assert!(parsed.is_err());
    }
}
