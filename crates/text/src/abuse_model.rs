//! The small model beside the harassment lexicon: naive Bayes over character bigrams of the
//! folded text, harassment against everything else, trained at first use on our own labelled
//! messages (`data/abuse-sample.json`, `data/abuse-tuning.json`; the held-out set is never
//! read). It catches abusive wording the lexicon has no term for; its flag names the bigrams
//! that weighed most, so it stays explainable.

use std::collections::HashMap;
use std::sync::OnceLock;

/// What the model needs to be sure of before it flags a message.
pub const THRESHOLD: f64 = 0.97;
/// Fewer known bigrams than this: too little to judge.
const MIN_KNOWN: usize = 4;

#[derive(serde::Deserialize)]
struct Labelled {
    text: String,
    label: String,
}

/// Log-probabilities per class: `[harassment, other]`.
pub struct Model {
    prior: [f64; 2],
    likelihood: HashMap<String, [f64; 2]>,
}

fn bigrams(folded: &str) -> Vec<String> {
    let chars: Vec<char> = folded.chars().filter(|c| !c.is_whitespace()).collect();
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

impl Model {
    fn train(examples: &[(String, bool)]) -> Self {
        let mut counts: HashMap<String, [f64; 2]> = HashMap::new();
        let mut totals = [0.0_f64; 2];
        let mut docs = [0.0_f64; 2];
        for (folded, abusive) in examples {
            let class = usize::from(!abusive);
            docs[class] += 1.0;
            for gram in bigrams(folded) {
                counts.entry(gram).or_default()[class] += 1.0;
                totals[class] += 1.0;
            }
        }
        let vocabulary = counts.len() as f64;
        let likelihood = counts
            .into_iter()
            .map(|(gram, c)| {
                let p = |k: usize| ((c[k] + 1.0) / (totals[k] + vocabulary)).ln();
                (gram, [p(0), p(1)])
            })
            .collect();
        let all = docs[0] + docs[1];
        Self {
            prior: [(docs[0] / all).ln(), (docs[1] / all).ln()],
            likelihood,
        }
    }

    /// The probability that `folded` is harassment, and the bigrams that pushed most that way.
    pub fn score(&self, folded: &str) -> (f64, Vec<String>) {
        let mut logs = self.prior;
        let mut known = 0;
        let mut weights: Vec<(f64, String)> = Vec::new();
        for gram in bigrams(folded) {
            if let Some(l) = self.likelihood.get(&gram) {
                known += 1;
                logs[0] += l[0];
                logs[1] += l[1];
                weights.push((l[0] - l[1], gram));
            }
        }
        if known < MIN_KNOWN {
            return (0.0, Vec::new());
        }
        let p = 1.0 / (1.0 + (logs[1] - logs[0]).exp());
        weights.sort_by(|a, b| b.0.total_cmp(&a.0));
        weights.dedup_by(|a, b| a.1 == b.1);
        (p, weights.into_iter().take(3).map(|(_, g)| g).collect())
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
        assert!(model.likelihood.len() > 500, "trained on the data files");
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
