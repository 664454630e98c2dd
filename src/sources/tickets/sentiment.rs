//! Text signals of a ticket: VADER sentiment and the cancellation intent found in it.

use super::*;

/// VADER's documented reading of the compound score: ≤ −0.05 negative, ≥ 0.05 positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    Negative,
    Neutral,
    Positive,
}

impl SentimentLabel {
    pub const ALL: [SentimentLabel; 3] = [
        SentimentLabel::Negative,
        SentimentLabel::Neutral,
        SentimentLabel::Positive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Negative => "negative",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Positive => "positive",
        }
    }

    pub fn parse(raw: &str) -> Option<SentimentLabel> {
        Self::ALL.into_iter().find(|l| l.as_str() == raw)
    }

    /// The label for a VADER compound score (thresholds from VADER's README).
    pub fn from_compound(compound: f64) -> SentimentLabel {
        if compound >= 0.05 {
            SentimentLabel::Positive
        } else if compound <= -0.05 {
            SentimentLabel::Negative
        } else {
            SentimentLabel::Neutral
        }
    }
}

/// What a ticket's words say about the account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextSignals {
    /// VADER compound score, −1 (most negative) to 1 (most positive).
    pub sentiment: f64,
    pub label: SentimentLabel,
    /// The customer talks about leaving: cancelling, not renewing, a refund, a competitor,
    /// the price being too high, downgrading.
    pub cancellation_intent: bool,
    /// The words that matched, as written (e.g. "cancel our subscription", "won't be
    /// renewing"), so the UI can say why a ticket was flagged.
    pub intent_phrases: Vec<String>,
}

impl TextSignals {
    /// The matched phrases as one line for storage and display ("cancel, too expensive"),
    /// at most 500 characters; `None` when nothing matched.
    pub fn intent_summary(&self) -> Option<String> {
        (!self.intent_phrases.is_empty())
            .then(|| self.intent_phrases.join(", ").chars().take(500).collect())
    }
}

/// The sentiment model, built once per process: loading VADER's lexicon (about 7,500
/// words and 3,500 emoji) is the costly part, scoring a ticket is one linear pass.
///
/// Crate: `vader-parity`. Of the crates.io VADER ports, `vader_sentiment` (0.1.1, 2019)
/// is unmaintained and `vader-sentimental` (0.1.3, 2026) is a faster fork of it; both
/// carry its scoring defects, which flip the sign of the compound score on ordinary
/// sentences ("he is at least smart" scores −0.31 instead of +0.40; "shittiest" matches
/// "the shit" and scores positive) and drift from the reference on many others.
/// `vader-parity` (0.1, 2026) reimplements Python vaderSentiment 3.3.2 over its own
/// lexicon files and tests output parity against it. On 28 sentences (ticket texts and
/// VADER's README examples) scored by Python vaderSentiment 3.3.2, it matched every
/// compound score; the other two differed beyond rounding on 12, two with the opposite
/// sign, and scored "How do I export a CSV of all users?" as negative. It has no
/// dependencies (its data is `include_str!`'d, nothing is read at run time), so it
/// builds for `wasm32-unknown-unknown`, and its scoring is total: any `&str` scores. Its
/// risk is youth (a single release); the API used here is one call.
fn sentiment_model() -> &'static vader_parity::SentimentIntensityAnalyzer {
    static MODEL: OnceLock<vader_parity::SentimentIntensityAnalyzer> = OnceLock::new();
    MODEL.get_or_init(vader_parity::SentimentIntensityAnalyzer::new)
}

/// Sentiment and cancellation intent of a ticket's subject and text together. Each is
/// cut to [`MAX_TEXT_BYTES`] first, so the work is bounded whatever the input.
///
/// Cancellation intent is phrase patterns over the words (case-folded, typographic
/// apostrophes straightened, split into clauses at punctuation), each match reported in
/// `intent_phrases`:
/// - cancel / terminate / discontinue / downgrade, with its object: an account noun
///   ("cancel our subscription", "terminate the contract") or none ("we want to cancel")
///   is intent; an everyday object is not ("cancel the meeting/invite/order/export/job",
///   "how do I cancel a scheduled report", "downgrade the browser version"), nor "the
///   call was cancelled", "meeting cancellation", "clicked cancel" or "the cancel button".
///   Terminate and discontinue need an account noun or no object at all.
/// - "cancellation" ("cancellation request", "cancellation of our plan"), "refund",
///   "chargeback", "money back".
/// - not renewing: a negation before renew/renewal ("won't be renewing", "do not plan to
///   renew", "non-renewal", "decided against renewing"); "can't renew" (a payment
///   problem) is not intent.
/// - a competitor: "switching/moving/migrating to" or "going with" a capitalised name
///   ("switching to Gainsight"; not months, days, plan names such as Enterprise, or
///   regions) or "a competitor", "another/a different/a cheaper tool|vendor|platform…";
///   "moving away from"; "looking at/evaluating/considering alternatives|competitors|
///   other vendors".
/// - price: "too expensive/pricey/costly", "overpriced", "can't afford", "not worth the
///   money/price/cost".
/// - "close/end/stop/drop our account|contract|subscription…" ("at the end of our
///   contract" is not), "stop using your product", "stop paying", "let the contract
///   lapse/expire".
///
/// A negation within four words before the match, in the same clause and not cut off
/// by "but", cancels it: "we do NOT want to cancel", "we don't want to cancel, just
/// pause", "no refund needed". "Can't"/"cannot" is not a negation ("I can't cancel my
/// subscription" is intent), nor "don't know/see/find" ("I don't know how to cancel").
/// Not caught: intent without these words ("we're done with you"), lowercase competitor
/// names; and "moving to Chicago" is a false positive.
pub fn analyze(subject: &str, text: &str) -> TextSignals {
    let subject = clip_bytes(subject, MAX_TEXT_BYTES).trim();
    let text = clip_bytes(text, MAX_TEXT_BYTES).trim();
    let joined = match (subject.is_empty(), text.is_empty()) {
        (true, _) => text.to_string(),
        (false, true) => subject.to_string(),
        (false, false) => format!("{subject}\n{text}"),
    };
    let compound = sentiment_model().polarity_scores(&joined).compound;
    let sentiment = if compound.is_finite() {
        compound.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let mut intent_phrases: Vec<String> = Vec::new();
    for part in [subject, text] {
        for clause in clauses(part) {
            for phrase in intent_in_clause(&clause) {
                if !intent_phrases
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&phrase))
                {
                    intent_phrases.push(phrase);
                }
            }
        }
    }
    TextSignals {
        sentiment,
        label: SentimentLabel::from_compound(sentiment),
        cancellation_intent: !intent_phrases.is_empty(),
        intent_phrases,
    }
}
