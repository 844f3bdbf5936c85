//! BM25 over one field of a document collection, held in memory (k1 = 1.2, b = 0.75).

use std::collections::HashMap;

const K1: f32 = 1.2;
const B: f32 = 0.75;

#[derive(Debug, Clone, Default)]
pub struct FieldIndex {
    postings: HashMap<String, Vec<(u32, u32)>>,
    lengths: Vec<u32>,
    average_length: f32,
}

impl FieldIndex {
    /// Indexes one list of terms per document; document `i` is `docs[i]`.
    pub fn build(docs: &[Vec<String>]) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(docs.len());
        for (doc, terms) in docs.iter().enumerate() {
            let mut counts: HashMap<&str, u32> = HashMap::new();
            for term in terms {
                *counts.entry(term).or_default() += 1;
            }
            for (term, tf) in counts {
                postings
                    .entry(term.to_owned())
                    .or_default()
                    .push((doc as u32, tf));
            }
            lengths.push(terms.len() as u32);
        }
        let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
        let average_length = if lengths.is_empty() {
            0.0
        } else {
            total as f32 / lengths.len() as f32
        };
        Self {
            postings,
            lengths,
            average_length,
        }
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// Inverse document frequency of a term (terms never seen get the highest).
    pub fn idf(&self, term: &str) -> f32 {
        let n = self.lengths.len() as f32;
        let df = self
            .postings
            .get(term)
            .map_or(0.0, |list| list.len() as f32);
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    /// Adds `weight` × BM25 of each document for the query's distinct terms into `scores`.
    pub fn score_into(&self, query: &[String], weight: f32, scores: &mut [f32]) {
        let mut seen: Vec<&str> = Vec::new();
        for term in query {
            if seen.contains(&term.as_str()) {
                continue;
            }
            seen.push(term);
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let idf = self.idf(term);
            for &(doc, tf) in list {
                let tf = tf as f32;
                let norm =
                    1.0 - B + B * self.lengths[doc as usize] as f32 / self.average_length.max(1.0);
                if let Some(score) = scores.get_mut(doc as usize) {
                    *score += weight * idf * tf * (K1 + 1.0) / (tf + K1 * norm);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn rare_and_repeated_terms_rank_higher() {
        let docs = vec![
            terms("返品 方法 送料"),
            terms("配送 日数 送料"),
            terms("返品 返品 期限"),
        ];
        let index = FieldIndex::build(&docs);
        let mut scores = vec![0.0; 3];
        index.score_into(&terms("返品"), 1.0, &mut scores);
        assert_eq!(scores[1], 0.0);
        assert!(scores[2] > scores[0] && scores[0] > 0.0, "{scores:?}");
        let mut scores = vec![0.0; 3];
        index.score_into(&terms("送料 日数"), 1.0, &mut scores);
        assert!(scores[1] > scores[0], "{scores:?}");
        let mut doubled = vec![0.0; 3];
        index.score_into(&terms("送料 送料 日数"), 1.0, &mut doubled);
        assert_eq!(scores, doubled, "query terms count once");
    }
}
