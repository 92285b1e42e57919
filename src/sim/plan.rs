//! A customer's behaviour as an endless list of timed steps, generated lazily from the
//! customer's own seeded RNG: the same seed gives the same steps at the same nominal
//! offsets, whatever the other actors do. Delays are nominal (demo pace); the customer
//! actor scales them by the speed.

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::script::{Customer, follow_up};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Come online (presence enter).
    Enter,
    StartTyping,
    /// Stop typing without sending (thought better of it).
    StopTyping,
    /// Stop typing and send this text as `message:user`.
    Send(String),
    /// Go away (presence leave), to come back later.
    Leave,
    /// Leave for good: close the connection and stop.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Timed {
    /// Nominal delay since the previous step (the first: since the simulation started).
    pub after: Duration,
    pub step: Step,
}

/// Customers come online spread over this much time after the start.
const ARRIVALS_SPREAD_MS: u64 = 1_900;
/// Customers come back to their conversation this often (nominal).
const THINK_MS: RangeInclusive<u64> = 12_000..=40_000;
const FOLLOW_UP_MS: RangeInclusive<u64> = 30_000..=90_000;
const AWAY_MS: RangeInclusive<u64> = 10_000..=40_000;
const AWAY_CHANCE: f64 = 0.25;
const HESITATE_CHANCE: f64 = 0.15;
/// Once their questions are answered (or not), this share of customers closes the tab.
const GONE_CHANCE: f64 = 0.3;

pub(crate) struct Plan {
    rng: StdRng,
    questions: VecDeque<String>,
    upcoming: VecDeque<Timed>,
    arrival: Duration,
    started: bool,
    /// Decided once the main questions run out.
    staying: Option<bool>,
    /// `Gone` is planned: nothing follows it.
    finished: bool,
}

impl Plan {
    /// The plan of customer `customer` among `count`, from `seed`.
    pub fn new(customer: &Customer, count: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(super::derive_seed(
            seed,
            0x1000_0000 + u64::from(customer.id),
        ));
        // Evenly spread arrivals (by conversation number) with a little jitter, so the
        // first few conversations always open within the first second or so.
        let slot = ARRIVALS_SPREAD_MS * u64::from(customer.id.saturating_sub(1))
            / u64::try_from(count.max(1)).unwrap_or(u64::MAX);
        let arrival = Duration::from_millis(slot + rng.random_range(0..=100));
        Self {
            rng,
            questions: customer.questions.iter().map(|q| q.text.clone()).collect(),
            upcoming: VecDeque::new(),
            arrival,
            started: false,
            staying: None,
            finished: false,
        }
    }

    fn push(&mut self, after_ms: u64, step: Step) {
        self.upcoming.push_back(Timed {
            after: Duration::from_millis(after_ms),
            step,
        });
    }

    fn ms(&mut self, range: RangeInclusive<u64>) -> u64 {
        self.rng.random_range(range)
    }

    /// Time to type `text`: about a character every 60 ms, within 1.2–6 s, plus jitter.
    fn typing_ms(&mut self, text: &str) -> u64 {
        let chars = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
        chars.saturating_mul(60).clamp(1_200, 6_000) + self.ms(0..=800)
    }

    /// Adds the next stretch of behaviour.
    fn extend(&mut self) {
        if !self.started {
            self.started = true;
            // Opening: online, then a quick first message, so the demo looks alive at once.
            let arrival = u64::try_from(self.arrival.as_millis()).unwrap_or(u64::MAX);
            self.push(arrival, Step::Enter);
            let think = self.ms(100..=300);
            self.push(think, Step::StartTyping);
            if let Some(first) = self.questions.pop_front() {
                let typing = self.ms(400..=700);
                self.push(typing, Step::Send(first));
            } else {
                self.push(0, Step::StopTyping);
            }
            return;
        }
        let text = match self.questions.pop_front() {
            Some(question) => question,
            None => {
                let staying = match self.staying {
                    Some(staying) => staying,
                    None => !self.rng.random_bool(GONE_CHANCE),
                };
                self.staying = Some(staying);
                if !staying {
                    let think = self.ms(THINK_MS);
                    self.push(think, Step::Leave);
                    self.push(0, Step::Gone);
                    self.finished = true;
                    return;
                }
                follow_up(&mut self.rng).to_owned()
            }
        };
        let gap = if self.staying.is_some() {
            self.ms(FOLLOW_UP_MS)
        } else {
            self.ms(THINK_MS)
        };
        if self.rng.random_bool(AWAY_CHANCE) {
            self.push(gap / 3, Step::Leave);
            let away = self.ms(AWAY_MS);
            self.push(away, Step::Enter);
            let settle = self.ms(1_500..=4_000);
            self.push(settle, Step::StartTyping);
        } else {
            self.push(gap, Step::StartTyping);
        }
        if self.rng.random_bool(HESITATE_CHANCE) {
            let pause = self.ms(1_000..=2_500);
            self.push(pause, Step::StopTyping);
            let resume = self.ms(2_000..=6_000);
            self.push(resume, Step::StartTyping);
        }
        let typing = self.typing_ms(&text);
        self.push(typing, Step::Send(text));
    }
}

impl Iterator for Plan {
    type Item = Timed;

    fn next(&mut self) -> Option<Timed> {
        if self.upcoming.is_empty() && !self.finished {
            self.extend();
        }
        self.upcoming.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::script::Script;

    fn steps(seed: u64, id: usize, count: usize) -> Vec<Timed> {
        let script = Script::generate(seed, 12);
        Plan::new(&script.customers[id], 12, seed)
            .take(count)
            .collect()
    }

    #[test]
    fn plans_repeat_for_a_seed_and_differ_between_seeds() {
        assert_eq!(steps(7, 3, 40), steps(7, 3, 40));
        assert_ne!(steps(7, 3, 40), steps(8, 3, 40));
    }

    #[test]
    fn customers_open_with_a_message_within_three_seconds() {
        let script = Script::generate(7, 12);
        let mut quick = 0;
        for customer in &script.customers {
            let mut elapsed = Duration::ZERO;
            let mut plan = Plan::new(customer, 12, 7);
            let first = plan.next().unwrap();
            assert_eq!(first.step, Step::Enter);
            for timed in plan.by_ref() {
                elapsed += timed.after;
                if let Step::Send(text) = timed.step {
                    assert_eq!(text, customer.questions[0].text);
                    break;
                }
            }
            if first.after + elapsed <= Duration::from_secs(3) {
                quick += 1;
            }
        }
        assert!(quick >= 5, "only {quick} conversations open within 3 s");
    }

    #[test]
    fn a_customer_who_leaves_for_good_leaves_first_and_then_ends() {
        let script = Script::generate(7, 12);
        let ended: Vec<Vec<Step>> = script
            .customers
            .iter()
            .map(|customer| {
                Plan::new(customer, 12, 7)
                    .take(500)
                    .map(|timed| timed.step)
                    .collect()
            })
            .filter(|steps: &Vec<Step>| steps.len() < 500)
            .collect();
        assert!(!ended.is_empty(), "someone should leave for good");
        for steps in ended {
            assert_eq!(&steps[steps.len() - 2..], &[Step::Leave, Step::Gone]);
        }
    }
}
