//! FAQ retrieval: each document has a question, alternative wordings of it, and an answer. A
//! query is scored by BM25 on the question words (alternatives included), the question's
//! character bigrams and the answer words, fused with fixed weights tuned on the development
//! half of LocalgovFAQ. The same index serves the help-center search and the bot.

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
    pub answer_words: f32,
}

impl Default for Weights {
    fn default() -> Self {
        // Tuned on the development half (even query ids) of LocalgovFAQ.
        Self {
            question_words: 1.0,
            question_bigrams: 0.1,
            answer_words: 1.2,
        }
    }
}

pub struct FaqIndex {
    question_words: FieldIndex,
    question_bigrams: FieldIndex,
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
        let answer_words: Vec<Vec<String>> = docs
            .iter()
            .map(|d| analyzer.words(&d.answer, &synonyms))
            .collect();
        Self {
            question_words: FieldIndex::build(&question_words),
            question_bigrams: FieldIndex::build(&question_bigrams),
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
    pub fn search(&self, analyzer: &Analyzer, query: &str, k: usize) -> Vec<Hit> {
        let words = analyzer.words(query, &self.synonyms);
        let bigrams = analyzer.bigrams(query);
        let mut scores = vec![0.0_f32; self.len()];
        self.question_words
            .score_into(&words, self.weights.question_words, &mut scores);
        self.question_bigrams
            .score_into(&bigrams, self.weights.question_bigrams, &mut scores);
        self.answer_words
            .score_into(&words, self.weights.answer_words, &mut scores);
        let mut hits: Vec<Hit> = scores
            .into_iter()
            .enumerate()
            .filter(|(_, score)| *score > 0.0)
            .map(|(doc, score)| Hit { doc, score })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        hits.truncate(k);
        hits
    }
}

/// How sure the best hit is, 0–1: its share of the top two scores, scaled by how much of the
/// query it explains (a weak absolute score never looks confident).
pub fn confidence(hits: &[Hit]) -> f32 {
    let Some(best) = hits.first() else { return 0.0 };
    let second = hits.get(1).map_or(0.0, |h| h.score);
    let margin = best.score / (best.score + second).max(f32::EPSILON);
    let strength = (best.score / 10.0).min(1.0);
    margin * strength
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
        assert_eq!(
            index.search(&analyzer, "商品を返却するには？", 3)[0].doc,
            0,
            "synonym"
        );
        assert_eq!(index.search(&analyzer, "配送料金について", 3)[0].doc, 1);
        assert_eq!(
            index.search(&analyzer, "ｷｬﾝｾﾙ方法", 3)[0].doc,
            2,
            "half-width katakana"
        );
        assert_eq!(
            index.search(&analyzer, "インボイス", 3)[0].doc,
            3,
            "alternative question"
        );
        assert!(index.search(&analyzer, "天気", 3).is_empty());
        let sure = index.search(&analyzer, "注文をキャンセルしたいです", 3);
        assert!(confidence(&sure) > confidence(&index.search(&analyzer, "について", 3)));
    }
}
