//! What the simulated AI says: the question's topic guessed from its words (the AI sees only
//! the text that arrived, like the real one), an answer for that topic, and the customer's
//! persona for tone.

use rand::Rng;
use rand::seq::IndexedRandom;

use super::script::Persona;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topic {
    Human,
    Remortgage,
    Documents,
    Property,
    Deposit,
    Rates,
    Affordability,
    Fees,
    Timeline,
    Greeting,
    Thanks,
    General,
}

/// Keywords per topic, most specific topics first: the first topic with a match wins.
const KEYWORDS: &[(Topic, &[&str])] = &[
    (Topic::Human, &["human", "speak to", "call me", "a person"]),
    (
        Topic::Remortgage,
        &[
            "remortgage",
            "product transfer",
            "deal ends",
            "port the mortgage",
        ],
    ),
    (
        Topic::Documents,
        &["self-employed", "sa302", "documents", "accounts"],
    ),
    (Topic::Property, &["lease", "survey", "flat"]),
    (Topic::Rates, &["rate", "fixed", "fix now", "tracker"]),
    (Topic::Affordability, &["borrow", "salary", "income"]),
    (Topic::Deposit, &["deposit", "gifted", "首付"]),
    (
        Topic::Fees,
        &["fee", "penalty", "overpay", "cheaper", "cost"],
    ),
    (
        Topic::Timeline,
        &["how long", "what happens next", "approval", "accepted"],
    ),
    (
        Topic::Greeting,
        &["anyone there", "still there", "any update", "hello"],
    ),
    (Topic::Thanks, &["thank", "👍"]),
];

pub(crate) fn topic_of(text: &str) -> Topic {
    let lower = text.to_lowercase();
    if lower.starts_with("hi") && lower.len() < 40 {
        return Topic::Greeting;
    }
    KEYWORDS
        .iter()
        .find(|(_, words)| words.iter().any(|word| lower.contains(word)))
        .map_or(Topic::General, |(topic, _)| *topic)
}

/// (full answer, short answer) per topic.
fn bodies(topic: Topic) -> (&'static str, &'static str) {
    match topic {
        Topic::Human => (
            "I've flagged your conversation for one of our brokers; a person will join this \
             chat shortly. In the meantime I can answer general questions.",
            "A broker has been notified and will join shortly.",
        ),
        Topic::Remortgage => (
            "Most lenders let you secure a new deal up to six months before your current one \
             ends. A product transfer is quick and usually fee-free, but comparing the whole \
             market often finds a lower rate; switching lenders typically comes with free \
             valuation and legal work.",
            "You can lock a new rate up to 6 months early; worth comparing before accepting.",
        ),
        Topic::Documents => (
            "With two years of trading, many lenders will consider you. Expect to provide \
             SA302s and tax year overviews for both years, three months of bank statements \
             and ID. Some lenders use your latest year's income, others an average.",
            "SA302s + tax year overviews for 2 years, bank statements, ID.",
        ),
        Topic::Property => (
            "Many lenders want at least 85 years left on the lease at the end of the mortgage \
             term, so a lease extension before exchange is often the safest route. We can \
             check which lenders accept the current length.",
            "Short leases limit lenders; an extension before exchange is safest.",
        ),
        Topic::Deposit => (
            "The minimum deposit is usually 5%, though 10% or more unlocks better rates. Gifted \
             deposits from family are accepted with a signed gift letter, and student loan \
             repayments are counted as an outgoing in affordability.",
            "5% minimum, 10%+ for better rates; gifted deposits are fine with a gift letter.",
        ),
        Topic::Rates => (
            "Five-year fixes currently start around 4.2% for a 40% deposit and rise with \
             smaller deposits. Nobody can promise where rates go next; fixing gives certainty, \
             a tracker gives flexibility. A broker can compare both for your numbers.",
            "5-year fixes from about 4.2% (60% LTV); fix for certainty, track for flexibility.",
        ),
        Topic::Affordability => (
            "Lenders typically lend around 4 to 4.5 times income, reduced by regular \
             commitments such as car finance and card balances. A longer term lowers the \
             monthly payment but costs more interest overall.",
            "Roughly 4–4.5× income, minus regular commitments.",
        ),
        Topic::Fees => (
            "Our advice is free to you; lenders may charge arrangement fees, and valuation \
             fees are rarely refundable once the valuation is done. Most deals allow \
             overpayments of up to 10% a year without an early repayment charge.",
            "No broker fee; most deals allow 10% overpayment a year penalty-free.",
        ),
        Topic::Timeline => (
            "Congratulations! Next: we submit the full application, the lender values the \
             property and, if all is well, issues an offer, usually within two to four weeks.",
            "Application, valuation, then an offer in about 2–4 weeks.",
        ),
        Topic::Greeting => (
            "Hi, I'm the virtual assistant and I'm here now. What would you like to know \
             about your mortgage?",
            "Here. How can I help?",
        ),
        Topic::Thanks => (
            "You're welcome. Is there anything else I can help you with today?",
            "You're welcome.",
        ),
        Topic::General => (
            "Thanks for your message. I'm not sure I understood it fully; could you tell me a \
             little more about what you're looking for?",
            "Could you say a bit more?",
        ),
    }
}

const FRIENDLY_OPENINGS: &[&str] = &["Great question! ", "Happy to help 😊 ", "Good one! "];
const FRIENDLY_CLOSINGS: &[&str] = &[" Just shout if anything's unclear!", "", " 🙂"];

/// The answer to `question` in `persona`'s tone.
pub(crate) fn answer(question: &str, persona: Persona, rng: &mut impl Rng) -> String {
    let topic = topic_of(question);
    let (full, short) = bodies(topic);
    // "Great question!" fits questions, not a greeting, a thank-you or a hand-over.
    let answers_a_question = !matches!(
        topic,
        Topic::Human | Topic::Greeting | Topic::Thanks | Topic::General
    );
    match persona {
        Persona::Concise => short.to_owned(),
        Persona::Friendly => {
            let opening = if answers_a_question {
                FRIENDLY_OPENINGS.choose(rng).copied().unwrap_or_default()
            } else {
                ""
            };
            let closing = FRIENDLY_CLOSINGS.choose(rng).copied().unwrap_or_default();
            format!("{opening}{full}{closing}")
        }
        Persona::Professional if answers_a_question => format!(
            "Thank you for your question. {full} A broker can confirm the details for your \
             circumstances."
        ),
        Persona::Professional => full.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn topics_follow_the_words_of_the_question() {
        let cases = [
            ("Hi, is anyone there?", Topic::Greeting),
            ("What's today's 5-year fixed rate?", Topic::Rates),
            ("Can I overpay without a penalty?", Topic::Fees),
            (
                "Quick questions:\n1. What's the minimum deposit?",
                Topic::Deposit,
            ),
            ("Can I speak to a human, please?", Topic::Human),
            ("Is 10% deposit enough?", Topic::Deposit),
            (
                "We've saved a £35,000 deposit. How much could we borrow?",
                Topic::Affordability,
            ),
            ("你好！首付最少需要百分之几？", Topic::Deposit),
            (
                "Here's my situation:\n- salary £52,000\nWhat could I borrow?",
                Topic::Affordability,
            ),
            (
                "Our offer was accepted!! 🎉 What happens next?",
                Topic::Timeline,
            ),
            ("Great, thank you! 👍", Topic::Thanks),
            ("Blorp", Topic::General),
        ];
        for (question, topic) in cases {
            assert_eq!(topic_of(question), topic, "{question}");
        }
    }

    #[test]
    fn persona_sets_the_tone() {
        let mut rng = StdRng::seed_from_u64(1);
        let question = "Is 10% deposit enough?";
        let concise = answer(question, Persona::Concise, &mut rng);
        let professional = answer(question, Persona::Professional, &mut rng);
        assert!(concise.len() < professional.len());
        assert!(professional.starts_with("Thank you for your question."));
        assert!(answer(question, Persona::Friendly, &mut rng).contains("gift letter"));
    }
}
