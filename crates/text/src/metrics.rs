//! Evaluation metrics. Retrieval at cut-off 10 for graded relevance judgements (grade > 0 is
//! relevant): nDCG@10 with linear gain, Recall@10, MRR@10, and P@1. Classification: precision,
//! recall and F1 per label, and their macro average.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub ndcg10: f64,
    pub recall10: f64,
    pub mrr10: f64,
    pub p1: f64,
}

/// The metrics of one ranked list against its judgements (`doc id → grade`).
pub fn score_query(ranked: &[String], judged: &HashMap<String, u32>) -> Scores {
    let grade = |doc: &String| judged.get(doc).copied().unwrap_or(0);
    let top = &ranked[..ranked.len().min(10)];
    let dcg: f64 = top
        .iter()
        .enumerate()
        .map(|(i, d)| f64::from(grade(d)) / (i as f64 + 2.0).log2())
        .sum();
    let mut ideal: Vec<u32> = judged.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, &g)| f64::from(g) / (i as f64 + 2.0).log2())
        .sum();
    let relevant = ideal.len();
    let found = top.iter().filter(|d| grade(d) > 0).count();
    let first = top.iter().position(|d| grade(d) > 0);
    Scores {
        ndcg10: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        recall10: if relevant > 0 {
            found as f64 / relevant as f64
        } else {
            0.0
        },
        mrr10: first.map_or(0.0, |rank| 1.0 / (rank as f64 + 1.0)),
        p1: if top.first().is_some_and(|d| grade(d) > 0) {
            1.0
        } else {
            0.0
        },
    }
}

/// The mean of per-query scores.
pub fn mean(scores: &[Scores]) -> Scores {
    let n = scores.len().max(1) as f64;
    let sum = |f: fn(&Scores) -> f64| scores.iter().map(f).sum::<f64>() / n;
    Scores {
        ndcg10: sum(|s| s.ndcg10),
        recall10: sum(|s| s.recall10),
        mrr10: sum(|s| s.mrr10),
        p1: sum(|s| s.p1),
    }
}

/// One label's classification figures.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScores {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many items truly have the label.
    pub support: usize,
}

/// Precision, recall and F1 of each of `labels` over `(gold, predicted)` pairs.
pub fn per_label(pairs: &[(&str, &str)], labels: &[&str]) -> Vec<LabelScores> {
    labels
        .iter()
        .map(|&label| {
            let tp = pairs
                .iter()
                .filter(|(g, p)| *g == label && *p == label)
                .count() as f64;
            let predicted = pairs.iter().filter(|(_, p)| *p == label).count() as f64;
            let support = pairs.iter().filter(|(g, _)| *g == label).count();
            let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support as f64);
            LabelScores {
                label: label.to_owned(),
                precision,
                recall,
                f1: ratio(2.0 * precision * recall, precision + recall),
                support,
            }
        })
        .collect()
}

/// The unweighted mean of the labels' F1.
pub fn macro_f1(scores: &[LabelScores]) -> f64 {
    scores.iter().map(|s| s.f1).sum::<f64>() / scores.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_partial_and_empty_rankings() {
        let judged: HashMap<String, u32> = [("a".to_string(), 2), ("b".to_string(), 1)]
            .into_iter()
            .collect();
        let ranked = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let perfect = score_query(&ranked(&["a", "b", "x"]), &judged);
        assert!((perfect.ndcg10 - 1.0).abs() < 1e-9);
        assert_eq!(
            (perfect.recall10, perfect.mrr10, perfect.p1),
            (1.0, 1.0, 1.0)
        );
        let late = score_query(&ranked(&["x", "y", "b"]), &judged);
        assert_eq!((late.recall10, late.mrr10, late.p1), (0.5, 1.0 / 3.0, 0.0));
        assert!(late.ndcg10 > 0.0 && late.ndcg10 < 0.5);
        assert_eq!(score_query(&[], &judged), Scores::default());
        let averaged = mean(&[perfect, late]);
        assert_eq!(averaged.recall10, 0.75);
    }

    #[test]
    fn per_label_figures_and_their_macro_mean() {
        let pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("c", "b")];
        let scores = per_label(&pairs, &["a", "b", "c"]);
        assert_eq!((scores[0].precision, scores[0].recall), (1.0, 0.5));
        assert!((scores[0].f1 - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!((scores[1].precision, scores[1].recall), (1.0 / 3.0, 1.0));
        assert_eq!((scores[2].f1, scores[2].support), (0.0, 1));
        assert!((macro_f1(&scores) - (2.0 / 3.0 + 0.5) / 3.0).abs() < 1e-9);
    }
}
