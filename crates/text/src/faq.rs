//! FAQ retrieval: each document has a question, alternative wordings of it, and an answer. A
//! query is scored by BM25 on the question words (alternatives included), the question's
//! character bigrams and the answer words, fused with fixed weights tuned on the development
//! half of LocalgovFAQ; with a sentence encoder ([`crate::semantic`]) the best cosine between
//! the query and the document's question or one of its alternatives (each its own vector), and
//! the cosine with the opening of its answer, are added to the lexical score scaled to the
//! query's best. The same index serves the help-center search and the bot.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::analyzer::{Analyzer, Synonyms};
use crate::bm25::FieldIndex;
use crate::semantic::{cosine, Encoder};

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
    /// Of the cosine with the question (or an alternative), beside the lexical score scaled to 0–1.
    pub semantic: f32,
    /// Of the cosine with the opening of the answer.
    pub semantic_answer: f32,
    /// Of the word vectors' cosines (question, answer).
    pub word_vectors: f32,
    pub word_vectors_answer: f32,
    /// Of multilingual-e5-small's cosines (question, answer), when it is fused too.
    pub e5: f32,
    pub e5_answer: f32,
    /// Of the answer words when encoders are fused: they see the questions well, the words of
    /// the answers then weigh more in the lexical part.
    pub fused_answer_words: f32,
}

impl Default for Weights {
    fn default() -> Self {
        // Tuned on the development half (even query ids) of LocalgovFAQ.
        Self {
            question_words: 1.0,
            question_bigrams: 0.1,
            question_readings: 0.5,
            answer_words: 1.2,
            semantic: 3.0,
            semantic_answer: 2.0,
            word_vectors: 2.0,
            word_vectors_answer: 2.0,
            e5: 8.0,
            e5_answer: 10.0,
            fused_answer_words: 4.0,
        }
    }
}

impl Weights {
    /// The weights tuned (on the development half) for the encoders fused, by name: beside
    /// e5 the USE cosines and the answer words weigh less.
    pub fn for_models(models: &[&str]) -> Self {
        let mut weights = Self::default();
        if models.contains(&"e5-small") {
            weights.semantic = 2.0;
            weights.semantic_answer = 1.0;
            weights.fused_answer_words = 3.0;
        }
        weights
    }

    /// Replaces the first `values.len()` weights, in the order of the fields (for tuning;
    /// `fused_answer_words` before e5's).
    pub fn replaced(mut self, values: &[f32]) -> Self {
        let fields = [
            &mut self.question_words,
            &mut self.question_bigrams,
            &mut self.question_readings,
            &mut self.answer_words,
            &mut self.semantic,
            &mut self.semantic_answer,
            &mut self.word_vectors,
            &mut self.word_vectors_answer,
            &mut self.fused_answer_words,
            &mut self.e5,
            &mut self.e5_answer,
        ];
        for (field, value) in fields.into_iter().zip(values) {
            *field = *value;
        }
        self
    }

    /// The weights of a sentence encoder's cosines: (question, answer).
    fn of(&self, model: &str) -> (f32, f32) {
        match model {
            "e5-small" => (self.e5, self.e5_answer),
            _ => (self.semantic, self.semantic_answer),
        }
    }
}

/// The ranking for a query and how sure the best hit is.
#[derive(Debug, Clone, Default)]
pub struct Ranked {
    pub hits: Vec<Hit>,
    /// 0–1. Lexically: the share of the query's weight (IDF) that the best document contains,
    /// lowered when a second document scores nearly as well — a query the knowledge base only
    /// half covers, or one that two articles answer equally, is not a confident answer. With
    /// the encoder: that evidence and the cosines, calibrated (see [`Evidence`]).
    pub confidence: f32,
    pub evidence: Evidence,
}

/// What the confidence in the best hit is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Evidence {
    /// The share of the query's IDF weight that the best document contains.
    pub coverage: f32,
    /// best / (best + second) of the scores: 1 a clear lead, 0.5 a tie.
    pub margin: f32,
    /// The best document's cosine with the query: its question or an alternative, its answer.
    pub question_cosine: Option<f32>,
    pub answer_cosine: Option<f32>,
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
    /// The sentence encoders, the calibrated one ([`CALIBRATED`]) first when it is there.
    sentence: Vec<Semantic>,
    /// The word vectors.
    word_vectors: Option<Semantic>,
}

/// An encoder, each document's vectors, and the weights of its cosines (question, answer).
struct Semantic {
    encoder: Arc<dyn Encoder>,
    docs: Vec<DocVectors>,
    weights: (f32, f32),
}

/// A document's vectors: its question and each alternative, and the opening of its answer.
#[derive(Debug, Clone, Default)]
pub struct DocVectors {
    pub questions: Vec<Vec<f32>>,
    pub answer: Option<Vec<f32>>,
}

impl DocVectors {
    /// Vectors of `doc`'s [`embedded_texts`], in their order.
    pub fn new(doc: &FaqDoc, mut vectors: Vec<Vec<f32>>) -> Self {
        let answer = (!answer_excerpt(doc).is_empty())
            .then(|| vectors.pop())
            .flatten();
        Self {
            questions: vectors,
            answer,
        }
    }
}

/// How much of an answer is embedded: its opening says what it is about.
const ANSWER_EXCERPT_CHARS: usize = 150;

fn answer_excerpt(doc: &FaqDoc) -> &str {
    let answer = doc.answer.trim();
    answer
        .char_indices()
        .nth(ANSWER_EXCERPT_CHARS)
        .map_or(answer, |(end, _)| &answer[..end])
}

/// The texts of a document that get their own vector: its question, each alternative, then
/// the opening of its answer (when it has one).
pub fn embedded_texts(doc: &FaqDoc) -> Vec<&str> {
    let mut texts = vec![doc.question.as_str()];
    texts.extend(doc.alternatives.iter().map(String::as_str));
    let answer = answer_excerpt(doc);
    if !answer.is_empty() {
        texts.push(answer);
    }
    texts
}

impl Semantic {
    /// Each document's cosines with the query: (its question or an alternative, its answer).
    fn cosines(&self, query: &str, words: &[(String, f32)]) -> Vec<(f32, f32)> {
        let query = self.encoder.embed_query(query, words);
        self.docs
            .iter()
            .map(|doc| {
                let question = doc
                    .questions
                    .iter()
                    .map(|v| cosine(&query, v))
                    .fold(0.0_f32, f32::max);
                (
                    question,
                    doc.answer.as_ref().map_or(0.0, |v| cosine(&query, v)),
                )
            })
            .collect()
    }
}

/// A document vector below this cosine does not make a hit on its own (without a shared word).
const SEMANTIC_FLOOR: f32 = 0.45;

/// The sentence encoder whose cosines the confidence is calibrated on ([`CALIBRATION`]).
const CALIBRATED: &str = "use-m3";

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
            sentence: Vec::new(),
            word_vectors: None,
        }
    }

    /// Adds the word vectors: each document's vectors are computed here, weighted by this
    /// index's IDF (`docs` are those the index was built from).
    pub fn with_word_vectors(
        mut self,
        analyzer: &Analyzer,
        docs: &[FaqDoc],
        encoder: Arc<dyn Encoder>,
    ) -> Self {
        let vectors = docs
            .iter()
            .map(|doc| {
                let vectors = embedded_texts(doc)
                    .into_iter()
                    .map(|text| {
                        let words = self.weighted(&analyzer.words(text, &self.synonyms));
                        encoder.embed_document(text, &words)
                    })
                    .collect();
                DocVectors::new(doc, vectors)
            })
            .collect();
        self.word_vectors = Some(Semantic {
            encoder,
            docs: vectors,
            weights: (self.weights.word_vectors, self.weights.word_vectors_answer),
        });
        self
    }

    /// A word's IDF in the index; words it never uses weigh like its rarest words.
    fn idf(&self, word: &str) -> f32 {
        let n = self.doc_words.len() as f32;
        let df = self.word_df.get(word).copied().unwrap_or(0).max(1) as f32;
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    fn weighted(&self, words: &[String]) -> Vec<(String, f32)> {
        words.iter().map(|w| (w.clone(), self.idf(w))).collect()
    }

    /// Adds a sentence encoder: `doc_vectors[i]` are document `i`'s vectors by `encoder`
    /// (computed once and stored by the caller).
    pub fn with_semantic(
        mut self,
        encoder: Arc<dyn Encoder>,
        doc_vectors: Vec<DocVectors>,
    ) -> Self {
        let weights = self.weights.of(encoder.model());
        self.sentence.push(Semantic {
            encoder,
            docs: doc_vectors,
            weights,
        });
        self.sentence
            .sort_by_key(|s| s.encoder.model() != CALIBRATED);
        self
    }

    /// The encoders fused into the ranking, if any.
    pub fn semantic_model(&self) -> Option<String> {
        let names: Vec<&str> = self
            .sentence
            .iter()
            .chain(&self.word_vectors)
            .map(|s| s.encoder.model())
            .collect();
        (!names.is_empty()).then(|| names.join("+"))
    }

    pub fn len(&self) -> usize {
        self.question_words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.question_words.is_empty()
    }

    /// The best `k` documents for `query`, best first (documents scoring zero are left out).
    pub fn search(&self, analyzer: &Analyzer, query: &str, k: usize) -> Ranked {
        self.search_where(analyzer, query, k, |_| true)
    }

    /// [`Self::search`] among the documents `keep` accepts, as if the others were not there
    /// (`eval faq` asks so how sure the bot would be with a question's answers missing).
    pub fn search_where(
        &self,
        analyzer: &Analyzer,
        query: &str,
        k: usize,
        keep: impl Fn(usize) -> bool,
    ) -> Ranked {
        let words = analyzer.words(query, &self.synonyms);
        let mut scores = self.lexical(analyzer, query, &words);
        for (doc, score) in scores.iter_mut().enumerate() {
            if !keep(doc) {
                *score = 0.0;
            }
        }
        let weighted = self.weighted(&words);
        let cosines: Vec<(&Semantic, Vec<(f32, f32)>)> = self
            .sentence
            .iter()
            .chain(&self.word_vectors)
            .map(|s| (s, s.cosines(query, &weighted)))
            .collect();
        // The calibrated encoder's cosines weigh in the confidence and admit documents alone.
        let calibrated = cosines
            .first()
            .filter(|(s, _)| s.encoder.model() == CALIBRATED)
            .map(|(_, c)| c);
        self.fuse(&mut scores, &cosines, calibrated);
        let mut hits: Vec<Hit> = scores
            .into_iter()
            .enumerate()
            .filter(|(doc, score)| *score > 0.0 && keep(*doc))
            .map(|(doc, score)| Hit { doc, score })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        hits.truncate(k.max(2));
        let mut evidence = self.evidence(&words, &hits);
        if let (Some(cosines), Some(best)) = (calibrated, hits.first()) {
            evidence.question_cosine = Some(cosines[best.doc].0);
            evidence.answer_cosine = Some(cosines[best.doc].1);
        }
        hits.truncate(k);
        Ranked {
            confidence: confidence(&evidence, self.calibration()),
            hits,
            evidence,
        }
    }

    /// Adds each encoder's weighted cosines to documents the lexical side found or that are
    /// close enough on their own (by the calibrated encoder); lexical scores are scaled to the
    /// query's best first.
    fn fuse(
        &self,
        scores: &mut [f32],
        cosines: &[(&Semantic, Vec<(f32, f32)>)],
        calibrated: Option<&Vec<(f32, f32)>>,
    ) {
        if cosines.is_empty() {
            return;
        }
        let best = scores.iter().copied().fold(0.0_f32, f32::max);
        let scale = if best > 0.0 { 1.0 / best } else { 0.0 };
        for (doc, score) in scores.iter_mut().enumerate() {
            let close = calibrated.is_some_and(|c| c[doc].0 >= SEMANTIC_FLOOR);
            if *score > 0.0 || close {
                *score = *score * scale
                    + cosines
                        .iter()
                        .map(|(s, c)| s.weights.0 * c[doc].0 + s.weights.1 * c[doc].1)
                        .sum::<f32>();
            }
        }
    }

    fn calibration(&self) -> [f32; 6] {
        if self
            .sentence
            .iter()
            .any(|s| s.encoder.model() == "e5-small")
        {
            CALIBRATION_WITH_E5
        } else {
            CALIBRATION
        }
    }

    /// Each document's BM25 score, its fields fused.
    fn lexical(&self, analyzer: &Analyzer, query: &str, words: &[String]) -> Vec<f32> {
        let bigrams = analyzer.bigrams(query);
        let mut scores = vec![0.0_f32; self.len()];
        self.question_words
            .score_into(words, self.weights.question_words, &mut scores);
        self.question_bigrams
            .score_into(&bigrams, self.weights.question_bigrams, &mut scores);
        self.question_readings
            .score_into(words, self.weights.question_readings, &mut scores);
        let answer_words = if !self.sentence.is_empty() || self.word_vectors.is_some() {
            self.weights.fused_answer_words
        } else {
            self.weights.answer_words
        };
        self.answer_words
            .score_into(words, answer_words, &mut scores);
        scores
    }

    /// The lexical evidence for the best hit (the cosines are the caller's).
    fn evidence(&self, words: &[String], hits: &[Hit]) -> Evidence {
        let Some(best) = hits.first() else {
            return Evidence::default();
        };
        let distinct: HashSet<&String> = words.iter().collect();
        // Words the knowledge base never uses weigh like its rarest words: they say the topic
        // may be missing, without drowning everything else (as an unbounded IDF would).
        let weight = |w: &String| self.idf(w);
        let total: f32 = distinct.iter().map(|w| weight(w)).sum();
        let Some(doc_words) = self.doc_words.get(best.doc) else {
            return Evidence::default();
        };
        let covered: f32 = distinct
            .iter()
            .filter(|w| doc_words.contains(w.as_str()))
            .map(|w| weight(w))
            .sum();
        let coverage = if total > 0.0 { covered / total } else { 0.0 };
        let second = hits.get(1).map_or(0.0, |h| h.score);
        Evidence {
            coverage,
            margin: best.score / (best.score + second).max(f32::EPSILON),
            question_cosine: None,
            answer_cosine: None,
        }
    }
}

/// How the evidence weighs with the encoder: a logistic regression fitted on the development
/// half of LocalgovFAQ (even ids) — right first answers against wrong ones and against the same
/// questions with their relevant articles taken out (questions the FAQ cannot answer) — over
/// coverage, margin, question cosine, answer cosine, question cosine × margin, and the bias.
/// The bias is shifted so that 0.35, the bot's threshold, sits where the fitted probability is
/// 0.42: there, on the development half, the bot answers 20 % of the questions, 87 % of them
/// rightly, and abstains on 92 % of the unanswerable ones.
const CALIBRATION: [f32; 6] = [0.772, 12.344, -2.257, 0.878, 10.399, -10.352];

/// The same fit with e5 fused too (its scores make the lead over the second article narrower),
/// the bias shifted by −0.5: on the development half the bot answers 19 % at 0.35, 89 % of them
/// rightly, and abstains on 92 % with the answers taken out.
const CALIBRATION_WITH_E5: [f32; 6] = [0.565, 51.929, -18.184, 1.023, 41.823, -30.142];

/// How sure the bot may be of the best hit, from its evidence and the calibration of the
/// encoders fused.
fn confidence(evidence: &Evidence, calibration: [f32; 6]) -> f32 {
    let Evidence {
        coverage, margin, ..
    } = *evidence;
    if let (Some(question), Some(answer)) = (evidence.question_cosine, evidence.answer_cosine) {
        let [w_coverage, w_margin, w_question, w_answer, w_both, bias] = calibration;
        let z = w_coverage * coverage
            + w_margin * margin
            + w_question * question
            + w_answer * answer
            + w_both * question * margin
            + bias;
        return 1.0 / (1.0 + (-z).exp());
    }
    // A clear lead (margin 1) keeps the coverage; a tie (margin 0.5) halves it.
    coverage * (2.0 * margin - 1.0).max(0.0).sqrt().max(0.5)
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

    /// Customers' paraphrases that share no word with the FAQ: BM25 alone misses them, the
    /// sentence encoder (fused) puts the right article first, across languages too.
    #[test]
    fn paraphrases_find_their_article_with_the_encoder() {
        let Some(models) = crate::semantic::testing::models() else {
            return;
        };
        let encoder = crate::semantic::PACKAGES[0].load(&models).unwrap();
        let analyzer = Analyzer::new().unwrap();
        let docs = vec![
            doc(
                "返品したい",
                "商品到着から7日以内ならマイページから手続きできます。",
            ),
            doc(
                "送料はいくらですか",
                "全国一律500円です。5000円以上で無料です。",
            ),
            doc(
                "注文をキャンセルしたい",
                "発送前ならマイページから取り消せます。",
            ),
            doc(
                "支払い方法を教えてください",
                "カード、コンビニ、銀行振込に対応しています。",
            ),
            doc("領収書を発行してほしい", "注文履歴からPDFで発行できます。"),
        ];
        let lexical = FaqIndex::build(&analyzer, &docs, Synonyms::default());
        let vectors = docs
            .iter()
            .map(|d| {
                let texts = embedded_texts(d);
                DocVectors::new(
                    d,
                    texts
                        .iter()
                        .map(|t| encoder.embed_document(t, &[]))
                        .collect(),
                )
            })
            .collect();
        let fused =
            FaqIndex::build(&analyzer, &docs, Synonyms::default()).with_semantic(encoder, vectors);
        assert_eq!(fused.semantic_model().as_deref(), Some("use-m3"));
        let first =
            |index: &FaqIndex, q: &str| index.search(&analyzer, q, 3).hits.first().map(|h| h.doc);
        for (query, right) in [
            ("届いた品物の送り返し", 0),
            ("配達にかかる費用は？", 1),
            ("クレジットカード以外で払える？", 3),
            ("I want to send the item back", 0),
            ("How much is delivery?", 1),
        ] {
            assert_ne!(
                first(&lexical, query),
                Some(right),
                "BM25 alone already finds {query}"
            );
            assert_eq!(first(&fused, query), Some(right), "{query}");
        }
        assert!(
            fused.search(&analyzer, "今日の天気", 3).hits.is_empty(),
            "an unrelated question finds nothing"
        );
    }
}
