//! The small model beside the harassment lexicon: naive Bayes over character bigrams of the
//! folded text, harassment against everything else, trained at first use on our own labelled
//! messages (`data/abuse-sample.json`, `data/abuse-tuning.json`; the held-out set is never
//! read). It catches abusive wording the lexicon has no term for; its flag names the bigrams
//! that weighed most, so it stays explainable.

use std::sync::OnceLock;

use crate::naive_bayes::NaiveBayes;

/// What the model needs to be sure of before it flags a message.
pub const THRESHOLD: f64 = 0.97;
/// Fewer known bigrams than this: too little to judge.
const MIN_KNOWN: usize = 4;
const HARASSMENT: &str = "harassment";

#[derive(serde::Deserialize)]
struct Labelled {
    text: String,
    label: String,
}

/// Harassment against everything else.
pub struct Model {
    bayes: NaiveBayes,
}

fn bigrams(folded: &str) -> Vec<String> {
    let chars: Vec<char> = folded.chars().filter(|c| !c.is_whitespace()).collect();
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

impl Model {
    fn train(examples: &[(String, bool)]) -> Self {
        Self {
            bayes: NaiveBayes::train(
                examples.iter().map(|(folded, abusive)| {
                    (bigrams(folded), if *abusive { HARASSMENT } else { "other" })
                }),
                1.0,
            ),
        }
    }

    /// The probability that `folded` is harassment, and the bigrams that pushed most that way.
    pub fn score(&self, folded: &str) -> (f64, Vec<String>) {
        let Some(k) = self.bayes.classes().iter().position(|c| c == HARASSMENT) else {
            return (0.0, Vec::new());
        };
        let grams = bigrams(folded);
        let posterior = self.bayes.posterior(&grams);
        if posterior.known < MIN_KNOWN {
            return (0.0, Vec::new());
        }
        (
            posterior.probabilities[k],
            self.bayes.evidence(&grams, k, 3),
        )
    }
}

/// The model trained on our labelled messages, once.
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut examples = Vec::new();
        for data in [
            include_str!("../data/abuse-sample.json"),
            include_str!("../data/abuse-tuning.json"),
        ] {
            let items: Vec<Labelled> = serde_json::from_str(data).unwrap_or_default();
            examples.extend(
                items
                    .into_iter()
                    .map(|i| (crate::abuse::folded(&i.text), i.label == "harassment")),
            );
        }
        Model::train(&examples)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_learns_its_examples_and_keeps_out_of_short_texts() {
        let model = model();
        assert!(model.bayes.vocabulary() > 500, "trained on the data files");
        let (p, why) = model.score(&crate::abuse::folded("お前の頭は空っぽか、このバカ店員"));
        assert!(p > 0.9, "{p}");
        assert!(!why.is_empty());
        let (p, _) = model.score(&crate::abuse::folded("配送状況を教えてください"));
        assert!(p < 0.5, "{p}");
        assert_eq!(model.score("はい").0, 0.0, "too little to judge");
    }

    #[test]
    fn the_model_flags_what_the_lexicon_misses_and_says_why() {
        let verdict = crate::abuse::judge("ふざけんな、ゴミ店が", &crate::abuse::Custom::default());
        assert!(verdict.harassment());
        assert!(
            verdict.hits[0].term.starts_with("model "),
            "{:?}",
            verdict.hits
        );
        // Never over a complaint, and not on the look-alikes.
        for text in [
            "最悪です。返金してください",
            "殺菌済みの商品ですか？",
            "ぶっ殺し価格セールはいつまでですか",
        ] {
            assert!(
                !crate::abuse::judge(text, &crate::abuse::Custom::default()).harassment(),
                "{text}"
            );
        }
    }
}
