//! FAQ retrieval: each document has a question, alternative wordings of it, and an answer. A
//! query is scored by BM25 on the question words (alternatives included), the question's
//! character bigrams and the answer words, fused with fixed weights tuned on the development
//! half of LocalgovFAQ. The same index serves the help-center search and the bot.

use std::collections::{HashMap, HashSet};

use crate::analyzer::{Analyzer, Synonyms};
use crate::bm25::FieldIndex;

#[derive(Debug, Clone, Default)]
pub struct FaqDoc {
    pub question: String,
    pub alternatives: Vec<String>,
    pub answer: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index of the document in the list the index was built from.
    pub doc: usize,
    pub score: f32,
}

/// Fusion weights of the fields.
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    pub question_words: f32,
    pub question_bigrams: f32,
    /// Kana readings of the question's kanji nouns, met by kana words of the query.
    pub question_readings: f32,
    pub answer_words: f32,
}

impl Default for Weights {
    fn default() -> Self {
        // Tuned on the development half (even query ids) of LocalgovFAQ.
        Self {
            question_words: 1.0,
            question_bigrams: 0.1,
            question_readings: 0.5,
            answer_words: 1.2,
        }
    }
}

/// The ranking for a query and how sure the best hit is.
#[derive(Debug, Clone, Default)]
pub struct Ranked {
    pub hits: Vec<Hit>,
    /// 0–1: the share of the query's weight (IDF) that the best document contains, lowered when
    /// a second document scores nearly as well. A query the knowledge base only half covers, or
    /// one that two articles answer equally, is not a confident answer.
    pub confidence: f32,
}

pub struct FaqIndex {
    /// Every word of each document (question, alternatives and answer).
    doc_words: Vec<HashSet<String>>,
    /// In how many documents each word occurs (any field).
    word_df: HashMap<String, u32>,
    question_words: FieldIndex,
    question_bigrams: FieldIndex,
    question_readings: FieldIndex,
    answer_words: FieldIndex,
    weights: Weights,
    synonyms: Synonyms,
}

impl FaqIndex {
    pub fn build(analyzer: &Analyzer, docs: &[FaqDoc], synonyms: Synonyms) -> Self {
        Self::build_weighted(analyzer, docs, synonyms, Weights::default())
    }

    pub fn build_weighted(
        analyzer: &Analyzer,
        docs: &[FaqDoc],
        synonyms: Synonyms,
        weights: Weights,
    ) -> Self {
        let questions: Vec<String> = docs
            .iter()
            .map(|d| {
                std::iter::once(d.question.as_str())
                    .chain(d.alternatives.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
        let question_words: Vec<Vec<String>> = questions
            .iter()
            .map(|q| analyzer.words(q, &synonyms))
            .collect();
        let question_bigrams: Vec<Vec<String>> =
            questions.iter().map(|q| analyzer.bigrams(q)).collect();
        let question_readings: Vec<Vec<String>> = questions
            .iter()
            .map(|q| analyzer.kanji_readings(q))
            .collect();
        let answer_words: Vec<Vec<String>> = docs
            .iter()
            .map(|d| analyzer.words(&d.answer, &synonyms))
            .collect();
        let doc_words: Vec<HashSet<String>> = question_words
            .iter()
            .zip(&answer_words)
            .zip(&question_readings)
            .map(|((q, a), r)| q.iter().chain(a).chain(r).cloned().collect())
            .collect();
        let mut word_df: HashMap<String, u32> = HashMap::new();
        for word in doc_words.iter().flatten() {
            *word_df.entry(word.clone()).or_default() += 1;
        }
        Self {
            doc_words,
            word_df,
            question_words: FieldIndex::build(&question_words),
            question_bigrams: FieldIndex::build(&question_bigrams),
            question_readings: FieldIndex::build(&question_readings),
            answer_words: FieldIndex::build(&answer_words),
            weights,
            synonyms,
        }
    }

    pub fn len(&self) -> usize {
        self.question_words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.question_words.is_empty()
    }

    /// The best `k` documents for `query`, best first (documents scoring zero are left out).
    pub fn search(&self, analyzer: &Analyzer, query: &str, k: usize) -> Ranked {
        let words = analyzer.words(query, &self.synonyms);
        let bigrams = analyzer.bigrams(query);
        let mut scores = vec![0.0_f32; self.len()];
        self.question_words
            .score_into(&words, self.weights.question_words, &mut scores);
        self.question_bigrams
            .score_into(&bigrams, self.weights.question_bigrams, &mut scores);
        self.question_readings
            .score_into(&words, self.weights.question_readings, &mut scores);
        self.answer_words
            .score_into(&words, self.weights.answer_words, &mut scores);
        let mut hits: Vec<Hit> = scores
            .into_iter()
            .enumerate()
            .filter(|(_, score)| *score > 0.0)
            .map(|(doc, score)| Hit { doc, score })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        hits.truncate(k.max(2));
        let confidence = self.confidence(&words, &hits);
        hits.truncate(k);
        Ranked { hits, confidence }
    }

    fn confidence(&self, words: &[String], hits: &[Hit]) -> f32 {
        let Some(best) = hits.first() else { return 0.0 };
        let distinct: HashSet<&String> = words.iter().collect();
        // Words the knowledge base never uses weigh like its rarest words: they say the topic
        // may be missing, without drowning everything else (as an unbounded IDF would).
        let n = self.doc_words.len() as f32;
        let weight = |w: &String| {
            let df = self.word_df.get(w).copied().unwrap_or(0).max(1) as f32;
            ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
        };
        let total: f32 = distinct.iter().map(|w| weight(w)).sum();
        let Some(doc_words) = self.doc_words.get(best.doc) else {
            return 0.0;
        };
        let covered: f32 = distinct
            .iter()
            .filter(|w| doc_words.contains(w.as_str()))
            .map(|w| weight(w))
            .sum();
        let coverage = if total > 0.0 { covered / total } else { 0.0 };
        let second = hits.get(1).map_or(0.0, |h| h.score);
        let margin = best.score / (best.score + second).max(f32::EPSILON);
        // A clear lead (margin 1) keeps the coverage; a tie (margin 0.5) halves it.
        coverage * (2.0 * margin - 1.0).max(0.0).sqrt().max(0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(question: &str, answer: &str) -> FaqDoc {
        FaqDoc {
            question: question.into(),
            alternatives: vec![],
            answer: answer.into(),
        }
    }

    #[test]
    fn finds_the_right_article_for_japanese_questions() {
        let analyzer = Analyzer::new().unwrap();
        let docs = vec![
            doc(
                "返品したい",
                "商品到着から7日以内なら返品できます。マイページから手続きしてください。",
            ),
            doc(
                "送料はいくらですか",
                "全国一律500円です。5000円以上で無料です。",
            ),
            doc(
                "注文をキャンセルしたい",
                "発送前ならマイページからキャンセルできます。",
            ),
            FaqDoc {
                question: "領収書がほしい".into(),
                alternatives: vec!["インボイスを発行してほしい".into()],
                answer: "注文履歴から発行できます。".into(),
            },
        ];
        let index = FaqIndex::build(&analyzer, &docs, Synonyms::new([["返品", "返却"]]));
        let best = |q: &str| index.search(&analyzer, q, 3).hits[0].doc;
        assert_eq!(best("商品を返却するには？"), 0, "synonym");
        assert_eq!(best("配送料金について"), 1);
        assert_eq!(best("ｷｬﾝｾﾙ方法"), 2, "half-width katakana");
        assert_eq!(best("ﾍﾝﾋﾟﾝ 方法"), 0, "a kanji word typed in katakana");
        assert_eq!(best("インボイス"), 3, "alternative question");
        assert!(index.search(&analyzer, "天気", 3).hits.is_empty());
        let sure = index
            .search(&analyzer, "注文をキャンセルしたい", 3)
            .confidence;
        let half = index
            .search(&analyzer, "キャンセルの天気予報", 3)
            .confidence;
        assert!(sure > 0.5 && half < sure / 2.0, "{sure} {half}");
    }
}
