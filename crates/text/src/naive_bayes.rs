//! Multinomial naive Bayes over string features, with Laplace smoothing: the small, explainable
//! model behind the harassment check's second opinion and the conversation classifier. Features
//! it never saw in training are left out of a score, and a score says how many were known, so a
//! caller can refuse to judge a text it knows too little of.

use std::collections::HashMap;

/// A trained model: classes, their log priors and each feature's log likelihood per class.
#[derive(Debug, Clone)]
pub struct NaiveBayes {
    classes: Vec<String>,
    prior: Vec<f64>,
    likelihood: HashMap<String, Vec<f64>>,
}

/// The posterior of each class (in [`NaiveBayes::classes`] order, summing to 1) and how many of
/// the text's features the model knew.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    pub probabilities: Vec<f64>,
    pub known: usize,
}

impl Posterior {
    /// The most probable class's index and probability.
    pub fn best(&self) -> (usize, f64) {
        self.probabilities
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0))
    }
}

impl NaiveBayes {
    /// Trains on `(features, class)` examples with additive smoothing `alpha` (1: Laplace);
    /// classes appear in the order first seen.
    pub fn train<'a, I, F>(examples: I, alpha: f64) -> Self
    where
        I: IntoIterator<Item = (F, &'a str)>,
        F: IntoIterator<Item = String>,
    {
        let mut classes: Vec<String> = Vec::new();
        let mut counts: HashMap<String, Vec<f64>> = HashMap::new();
        let mut totals: Vec<f64> = Vec::new();
        let mut docs: Vec<f64> = Vec::new();
        for (features, class) in examples {
            let k = match classes.iter().position(|c| c == class) {
                Some(k) => k,
                None => {
                    classes.push(class.to_owned());
                    totals.push(0.0);
                    docs.push(0.0);
                    for row in counts.values_mut() {
                        row.push(0.0);
                    }
                    classes.len() - 1
                }
            };
            docs[k] += 1.0;
            for feature in features {
                let row = counts
                    .entry(feature)
                    .or_insert_with(|| vec![0.0; classes.len()]);
                row[k] += 1.0;
                totals[k] += 1.0;
            }
        }
        let vocabulary = counts.len() as f64;
        let likelihood = counts
            .into_iter()
            .map(|(feature, row)| {
                let logs = row
                    .iter()
                    .zip(&totals)
                    .map(|(c, total)| ((c + alpha) / (total + alpha * vocabulary)).ln())
                    .collect();
                (feature, logs)
            })
            .collect();
        let all: f64 = docs.iter().sum();
        Self {
            prior: docs.iter().map(|d| (d / all).ln()).collect(),
            classes,
            likelihood,
        }
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// How many distinct features the model knows.
    pub fn vocabulary(&self) -> usize {
        self.likelihood.len()
    }

    /// The posterior over classes for a text's features.
    pub fn posterior(&self, features: &[String]) -> Posterior {
        let mut logs = self.prior.clone();
        let mut known = 0;
        for feature in features {
            if let Some(row) = self.likelihood.get(feature) {
                known += 1;
                for (log, l) in logs.iter_mut().zip(row) {
                    *log += l;
                }
            }
        }
        let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
        let sum: f64 = exp.iter().sum();
        Posterior {
            probabilities: exp.iter().map(|e| e / sum).collect(),
            known,
        }
    }

    /// The `n` known features of `features` that weigh most towards class `k` against the
    /// mean of the others: why the model chose it.
    pub fn evidence(&self, features: &[String], k: usize, n: usize) -> Vec<String> {
        let others = (self.classes.len().max(2) - 1) as f64;
        let mut weights: Vec<(f64, &String)> = features
            .iter()
            .filter_map(|f| {
                let row = self.likelihood.get(f)?;
                let rest: f64 = row
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != k)
                    .map(|(_, l)| l)
                    .sum();
                Some((row.get(k)? - rest / others, f))
            })
            .collect();
        weights.sort_by(|a, b| b.0.total_cmp(&a.0));
        weights.dedup_by(|a, b| a.1 == b.1);
        weights
            .into_iter()
            .take(n)
            .map(|(_, f)| f.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn the_class_whose_words_a_text_shares_wins_and_the_evidence_names_them() {
        let examples = [
            ("refund broken item", "returns"),
            ("broken box refund please", "returns"),
            ("card charged twice", "payment"),
            ("pay by card", "payment"),
            ("where is my parcel", "delivery"),
        ];
        let model = NaiveBayes::train(examples.iter().map(|(t, c)| (words(t), *c)), 1.0);
        assert_eq!(model.classes(), ["returns", "payment", "delivery"]);
        let posterior = model.posterior(&words("my card was charged"));
        let (best, p) = posterior.best();
        assert_eq!(model.classes()[best], "payment");
        assert!(p > 0.5 && p < 1.0, "{p}");
        assert!((posterior.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(posterior.known, 3, "my, card, charged; was is unknown");
        assert_eq!(
            model.evidence(&words("my card was charged"), best, 2),
            ["card", "charged"]
        );
        let unknown = model.posterior(&words("zzz"));
        assert_eq!(unknown.known, 0);
        let prior = [0.4, 0.4, 0.2];
        for (p, want) in unknown.probabilities.iter().zip(prior) {
            assert!((p - want).abs() < 1e-9, "the prior: {unknown:?}");
        }
    }
}
