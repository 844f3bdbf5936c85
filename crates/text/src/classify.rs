//! Sorting a customer's first message into the workspace's categories (注文・配送, 支払い …):
//! [`Model`], naive Bayes over the analyzer's words, character bigrams and keyword hits, trained
//! on the workspace's own labelled history; [`Keywords`], the rule the workspace writes, for when that
//! history is too small (and as the baseline `madoguchi eval classify` compares against).

use crate::naive_bayes::NaiveBayes;
use crate::normalize::fold;
use crate::{Analyzer, Synonyms};

/// Below this many labelled examples (or with a single category among them) the keyword rule
/// classifies instead of the model.
pub const MIN_EXAMPLES: usize = 30;
/// Fewer known features than this: the model does not judge.
const MIN_KNOWN: usize = 1;
/// How many times a keyword hit counts among a text's features (chosen on the development
/// split of `data/classify-ja.json`).
const KEYWORD_WEIGHT: usize = 3;
/// What a keyword guess is worth at most: a rule is a guess, never a certainty.
const KEYWORD_CONFIDENCE: f64 = 0.6;

/// A category and how sure the classifier is (0–1), with the words that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Guess {
    pub label: String,
    pub confidence: f64,
    pub because: Vec<String>,
}

/// The features of a text: its content words, its character bigrams, and each keyword it
/// contains as its category's name, [`KEYWORD_WEIGHT`] times (the workspace's own rule is
/// strong evidence when labelled examples are few).
pub fn features(analyzer: &Analyzer, keywords: &Keywords, text: &str) -> Vec<String> {
    let mut features: Vec<String> = analyzer
        .words(text, &Synonyms::default())
        .into_iter()
        .map(|w| format!("w:{w}"))
        .collect();
    features.extend(analyzer.bigrams(text).into_iter().map(|b| format!("b:{b}")));
    for hit in keywords.hits(text) {
        features.extend(std::iter::repeat_n(format!("k:{hit}"), KEYWORD_WEIGHT));
    }
    features
}

/// A model trained on labelled texts.
#[derive(Debug, Clone)]
pub struct Model {
    bayes: NaiveBayes,
    keywords: Keywords,
    examples: usize,
}

impl Model {
    /// Trains on `(text, label)` pairs; `None` when they are too few or all of one label.
    pub fn train<'a>(
        analyzer: &Analyzer,
        keywords: &Keywords,
        examples: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<Self> {
        let examples: Vec<(&str, &str)> = examples.into_iter().collect();
        let bayes = NaiveBayes::train(
            examples
                .iter()
                .map(|(text, label)| (features(analyzer, keywords, text), *label)),
            1.0,
        );
        (examples.len() >= MIN_EXAMPLES && bayes.classes().len() >= 2).then_some(Self {
            bayes,
            keywords: keywords.clone(),
            examples: examples.len(),
        })
    }

    /// How many examples it learned from.
    pub fn examples(&self) -> usize {
        self.examples
    }

    /// The most probable label; `None` when the text shares nothing with the training data.
    pub fn classify(&self, analyzer: &Analyzer, text: &str) -> Option<Guess> {
        let features = features(analyzer, &self.keywords, text);
        let posterior = self.bayes.posterior(&features);
        if posterior.known < MIN_KNOWN {
            return None;
        }
        let (k, p) = posterior.best();
        let because = self
            .bayes
            .evidence(&features, k, 3)
            .into_iter()
            .map(|f| f.split_once(':').map_or(f.clone(), |(_, w)| w.to_owned()))
            .collect();
        Some(Guess {
            label: self.bayes.classes()[k].clone(),
            confidence: p,
            because,
        })
    }
}

/// Categories by keyword: the one whose keywords occur most often (ties: the earlier one);
/// texts without any keyword go to the last category (その他).
#[derive(Debug, Clone)]
pub struct Keywords {
    categories: Vec<(String, Vec<String>)>,
}

impl Keywords {
    /// From `(name, keywords)` in the workspace's order; keywords fold like the text.
    pub fn new<'a>(categories: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        Self {
            categories: categories
                .into_iter()
                .map(|(name, words)| {
                    let folded = words
                        .iter()
                        .map(|w| fold(w))
                        .filter(|w| !w.is_empty())
                        .collect();
                    (name.to_owned(), folded)
                })
                .collect(),
        }
    }

    /// The categories whose keywords `text` contains, once each per keyword.
    pub fn hits(&self, text: &str) -> Vec<&str> {
        let text = fold(text);
        self.categories
            .iter()
            .flat_map(|(name, words)| {
                words
                    .iter()
                    .filter(|w| text.contains(w.as_str()))
                    .map(move |_| name.as_str())
            })
            .collect()
    }

    pub fn classify(&self, text: &str) -> Option<Guess> {
        let text = fold(text);
        let mut best: Option<(usize, Vec<String>)> = None;
        let mut all_hits = 0;
        for (i, (_, words)) in self.categories.iter().enumerate() {
            let hits: Vec<String> = words
                .iter()
                .filter(|w| text.contains(w.as_str()))
                .cloned()
                .collect();
            all_hits += hits.len();
            if !hits.is_empty() && best.as_ref().is_none_or(|(_, b)| hits.len() > b.len()) {
                best = Some((i, hits));
            }
        }
        match best {
            Some((i, hits)) => Some(Guess {
                label: self.categories[i].0.clone(),
                confidence: KEYWORD_CONFIDENCE * hits.len() as f64 / all_hits as f64,
                because: hits,
            }),
            None => self.categories.last().map(|(name, _)| Guess {
                label: name.clone(),
                confidence: 0.0,
                because: Vec::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords() -> Keywords {
        let table: Vec<(&str, Vec<String>)> = vec![
            ("返品・交換", vec!["返品".into(), "交換".into()]),
            ("支払い", vec!["支払".into(), "カード".into()]),
            ("その他", vec![]),
        ];
        Keywords::new(table.iter().map(|(n, w)| (*n, w.as_slice())))
    }

    #[test]
    fn keywords_fold_like_the_text_and_fall_back_to_the_last_category() {
        let rules = keywords();
        let guess = rules.classify("ﾍﾝﾋﾟﾝではなくｶｰﾄﾞの返金で").unwrap();
        assert_eq!(guess.label, "支払い", "half-width カード");
        let guess = rules.classify("返品して交換したい、カードで").unwrap();
        assert_eq!(guess.label, "返品・交換");
        assert!((guess.confidence - 0.4).abs() < 1e-9, "two of three hits");
        let guess = rules.classify("こんにちは").unwrap();
        assert_eq!((guess.label.as_str(), guess.confidence), ("その他", 0.0));
    }

    #[test]
    fn the_model_learns_words_the_keywords_do_not_have() {
        let analyzer = Analyzer::new().unwrap();
        let rules = keywords();
        let mut examples: Vec<(&str, &str)> = Vec::new();
        for _ in 0..5 {
            examples.extend([
                ("サイズが合わないので返したい", "返品・交換"),
                ("届いた品物が割れていました", "返品・交換"),
                ("ほつれがあるので取り替えて", "返品・交換"),
                ("振込先を教えてください", "支払い"),
                ("請求が二重になっています", "支払い"),
                ("領収書がほしいです", "支払い"),
            ]);
        }
        assert!(Model::train(&analyzer, &rules, examples[..12].iter().copied()).is_none());
        let model = Model::train(&analyzer, &rules, examples.iter().copied()).unwrap();
        assert_eq!(model.examples(), 30);
        let guess = model.classify(&analyzer, "箱が割れて届きました").unwrap();
        assert_eq!(guess.label, "返品・交換");
        assert!(guess.confidence > 0.5, "{guess:?}");
        assert!(guess.because.iter().any(|w| w.contains('割')), "{guess:?}");
        let guess = model.classify(&analyzer, "請求書の宛名を変えたい").unwrap();
        assert_eq!(guess.label, "支払い");
        assert_eq!(
            rules.classify("箱が割れて届きました").unwrap().label,
            "その他"
        );
        assert!(model.classify(&analyzer, "zzz").is_none());
    }
}
