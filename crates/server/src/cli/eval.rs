//! `madoguchi eval abuse`: precision, recall and F1 per label (harassment, complaint, normal)
//! of the harassment / complaint check on a labelled JSON array `[{"text", "label"}]`, how many
//! complaints it took for harassment, and its latency per message.
//!
//! `madoguchi eval classify`: macro-F1 and per-label precision / recall of the conversation
//! classifier on a held-out third of a labelled JSON array, beside the keyword rule.
//!
//! `madoguchi eval faq`: loads a FAQ corpus as a knowledge base, sends every query through the
//! bot's retrieval, and reports nDCG@10, Recall@10, MRR@10 and P@1 for the test half (odd query
//! ids), the development half (even ids) and all queries, with per-query latency and index
//! build time; with a sentence encoder in the models folder, the semantic path is on (the
//! encoder's own cost per query and the time to embed the documents are reported beside),
//! else lexical; and how the bot's own threshold answers: the share of answerable queries it
//! answers and how many of those answers are right, and — for queries whose qrels entry is
//! empty (`{}`: the FAQ has no answer) — how often it rightly abstains. Formats are those of LocalgovFAQ: `corpus.json` `{"id": "Question: …\nAnswer: …"}`,
//! `queries.json` `{"qid": "query"}`, `qrels.json` `{"qid": {"docid": grade}}`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use madoguchi_text::faq::{embedded_texts, DocVectors, Weights};
use madoguchi_text::metrics::{mean, per_label, score_query, Scores};
use madoguchi_text::semantic::{Encoder, Package};
use madoguchi_text::{Analyzer, FaqDoc, FaqIndex, Synonyms};
use serde_json::json;

use crate::bot::ANSWER_THRESHOLD;

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not in the expected format", path.display()))
}

/// Splits `Question: …\nAnswer: …`; text without the markers is all question.
pub fn parse_entry(text: &str) -> FaqDoc {
    let body = text.strip_prefix("Question:").unwrap_or(text);
    let (question, answer) = body.split_once("\nAnswer:").unwrap_or((body, ""));
    FaqDoc {
        question: question.trim().to_owned(),
        alternatives: Vec::new(),
        answer: answer.trim().to_owned(),
    }
}

/// What the bot's retrieval said of one query.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    confidence: f32,
    /// `None`: the query is unanswerable.
    first_is_relevant: Option<bool>,
    /// The confidence with the query's relevant documents taken out.
    without_answers: f32,
}

/// How the bot's threshold answers: counts over answerable and unanswerable queries, and over
/// answerable ones asked again with their relevant documents taken out of the ranking (the
/// FAQ then has no answer: a data set without unanswerable queries still tests abstention).
#[derive(Debug, Default, PartialEq, Clone, Copy)]
struct Answering {
    threshold: f32,
    answerable: usize,
    answered: usize,
    answered_correct: usize,
    unanswerable: usize,
    abstained: usize,
    answers_removed: usize,
    abstained_answers_removed: usize,
}

impl Answering {
    fn answerable(&mut self, confident: bool, first_is_relevant: bool) {
        self.answerable += 1;
        if confident {
            self.answered += 1;
            self.answered_correct += usize::from(first_is_relevant);
        }
    }

    fn unanswerable(&mut self, confident: bool) {
        self.unanswerable += 1;
        self.abstained += usize::from(!confident);
    }

    fn answers_removed(&mut self, confident: bool) {
        self.answers_removed += 1;
        self.abstained_answers_removed += usize::from(!confident);
    }

    /// The counts of `outcomes` (confidence and whether the first hit is relevant, `None` for
    /// an unanswerable query; then the confidence with the answers removed) at `threshold`.
    fn at(outcomes: &[Outcome], threshold: f32) -> Self {
        let mut counts = Self {
            threshold,
            ..Self::default()
        };
        for outcome in outcomes {
            match outcome.first_is_relevant {
                Some(relevant) => {
                    counts.answerable(outcome.confidence >= threshold, relevant);
                    counts.answers_removed(outcome.without_answers >= threshold);
                }
                None => counts.unanswerable(outcome.confidence >= threshold),
            }
        }
        counts
    }

    /// `answered_rate` of answerable queries, `answered_correct_rate` of those answered,
    /// `abstained_rate` of unanswerable ones (`null` when there are none), and
    /// `abstained_rate_answers_removed`.
    fn json(&self) -> serde_json::Value {
        let rate = |n: usize, of: usize| (of > 0).then(|| n as f64 / of as f64);
        json!({
            "threshold": (f64::from(self.threshold) * 1000.0).round() / 1000.0,
            "answered_rate": rate(self.answered, self.answerable),
            "answered_correct_rate": rate(self.answered_correct, self.answered),
            "unanswerable": self.unanswerable,
            "abstained_rate": rate(self.abstained, self.unanswerable),
            "abstained_rate_answers_removed": rate(self.abstained_answers_removed, self.answers_removed),
        })
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn scores_json(scores: &Scores, queries: usize) -> serde_json::Value {
    json!({"ndcg@10": scores.ndcg10, "recall@10": scores.recall10, "mrr@10": scores.mrr10, "p@1": scores.p1, "queries": queries})
}

/// `encoder`'s vectors of `texts`, read from `cache` where an earlier run left them (a file
/// named by the model and a digest of the texts), else computed and left there.
fn document_vectors(
    encoder: &dyn Encoder,
    texts: &[&str],
    cache: Option<&Path>,
) -> anyhow::Result<Vec<Vec<f32>>> {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for text in texts {
        digest.update(text.as_bytes());
        digest.update([0]);
    }
    let file = cache.map(|dir| {
        let digest = hex::encode(&digest.finalize()[..8]);
        dir.join(format!("{}-{digest}.vectors", encoder.model()))
    });
    if let Some(vectors) = file.as_deref().and_then(read_vectors) {
        if vectors.len() == texts.len() {
            return Ok(vectors);
        }
    }
    let vectors: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| encoder.embed_document(t, &[]))
        .collect();
    if let Some(file) = file {
        let mut bytes = Vec::new();
        for vector in &vectors {
            bytes.extend_from_slice(&(vector.len() as u32).to_le_bytes());
            bytes.extend(vector.iter().flat_map(|x| x.to_le_bytes()));
        }
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(vectors)
}

/// Vectors written by [`document_vectors`]: each a little-endian length, then its floats.
fn read_vectors(file: &Path) -> Option<Vec<Vec<f32>>> {
    let bytes = std::fs::read(file).ok()?;
    let mut vectors = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(4)?;
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let (floats, tail) = tail.split_at_checked(len.checked_mul(4)?)?;
        vectors.push(
            floats
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        );
        rest = tail;
    }
    Some(vectors)
}

/// The `packages`' encoders fetched into `models`, each with the time it took to load.
fn load_encoders(
    models: &Path,
    packages: &[&Package],
) -> anyhow::Result<Vec<(Arc<dyn Encoder>, f64)>> {
    let mut loaded = Vec::new();
    for package in packages.iter().filter(|p| p.present(models)) {
        let started = Instant::now();
        let encoder = package
            .load(models)
            .with_context(|| format!("cannot load {} from {}", package.name, models.display()))?;
        loaded.push((encoder, started.elapsed().as_secs_f64() * 1000.0));
    }
    Ok(loaded)
}

/// The FAQ evaluation with the encoders of `models` (their folder, which to fuse); `None`
/// keeps it lexical.
pub fn run(
    corpus: &Path,
    queries: &Path,
    qrels: &Path,
    weights: Option<&[f32]>,
    models: Option<(&Path, &[&Package])>,
    cache: Option<&Path>,
    as_json: bool,
) -> anyhow::Result<()> {
    let corpus: HashMap<String, String> = read_json(corpus)?;
    let queries: HashMap<String, String> = read_json(queries)?;
    let qrels: HashMap<String, HashMap<String, u32>> = read_json(qrels)?;
    let mut ids: Vec<&String> = corpus.keys().collect();
    ids.sort_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX));
    let docs: Vec<FaqDoc> = ids.iter().map(|id| parse_entry(&corpus[*id])).collect();

    let encoders = match models {
        Some((dir, packages)) => load_encoders(dir, packages)?,
        None => Vec::new(),
    };
    let names: Vec<&str> = encoders.iter().map(|(e, _)| e.model()).collect();
    let weights = Weights::for_models(&names).replaced(weights.unwrap_or_default());
    let started = Instant::now();
    let analyzer = Analyzer::new()?;
    let mut index = FaqIndex::build_weighted(&analyzer, &docs, Synonyms::default(), weights);
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut semantic = Vec::new();
    for (encoder, load_ms) in encoders {
        let started = Instant::now();
        index = if encoder.text_only() {
            let texts: Vec<&str> = docs.iter().flat_map(embedded_texts).collect();
            let mut computed = document_vectors(encoder.as_ref(), &texts, cache)?.into_iter();
            let vectors: Vec<DocVectors> = docs
                .iter()
                .map(|d| {
                    let n = embedded_texts(d).len();
                    DocVectors::new(d, computed.by_ref().take(n).collect())
                })
                .collect();
            index.with_semantic(encoder.clone(), vectors)
        } else {
            index.with_word_vectors(&analyzer, &docs, encoder.clone())
        };
        let embed_ms = started.elapsed().as_secs_f64() * 1000.0;
        // The encoder's own share of a query (the words are the analyzer's, as in a search).
        let mut latencies: Vec<f64> = queries
            .values()
            .map(|query| {
                let words: Vec<(String, f32)> = analyzer
                    .words(query, &Synonyms::default())
                    .into_iter()
                    .map(|w| (w, 1.0))
                    .collect();
                let started = Instant::now();
                encoder.embed_query(query, &words);
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        latencies.sort_by(f64::total_cmp);
        semantic.push(json!({
            "model": encoder.model(),
            "load_ms": load_ms,
            "embed_documents_ms": embed_ms,
            "encoder_ms": {"p50": percentile(&latencies, 50.0), "p99": percentile(&latencies, 99.0)},
        }));
    }

    let mut qids: Vec<&String> = queries.keys().filter(|q| qrels.contains_key(*q)).collect();
    qids.sort_by_key(|q| q.parse::<u64>().unwrap_or(u64::MAX));
    let (mut all, mut test, mut dev) = (Vec::new(), Vec::new(), Vec::new());
    let mut latencies = Vec::with_capacity(qids.len());
    // P@1 of the queries the bot would answer directly (confidence over its threshold).
    let mut answered = Vec::new();
    // Test (odd ids), development (even ids).
    let (mut test_outcomes, mut dev_outcomes) = (Vec::new(), Vec::new());
    let position: HashMap<&String, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for qid in qids {
        let outcomes = if qid.parse::<u64>().unwrap_or(0) % 2 == 1 {
            &mut test_outcomes
        } else {
            &mut dev_outcomes
        };
        let started = Instant::now();
        let found = index.search(&analyzer, &queries[qid], 10);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let confident = found.confidence >= ANSWER_THRESHOLD;
        if qrels[qid].is_empty() {
            outcomes.push(Outcome {
                confidence: found.confidence,
                first_is_relevant: None,
                without_answers: found.confidence,
            });
            continue;
        }
        let ranked: Vec<String> = found.hits.iter().map(|h| ids[h.doc].clone()).collect();
        let scores = score_query(&ranked, &qrels[qid]);
        let relevant: Vec<usize> = qrels[qid]
            .keys()
            .filter_map(|d| position.get(d).copied())
            .collect();
        let without = index.search_where(&analyzer, &queries[qid], 10, |d| !relevant.contains(&d));
        outcomes.push(Outcome {
            confidence: found.confidence,
            first_is_relevant: Some(scores.p1 > 0.0),
            without_answers: without.confidence,
        });
        if confident {
            answered.push(scores.p1);
        }
        all.push(scores);
        if qid.parse::<u64>().unwrap_or(0) % 2 == 1 {
            test.push(scores)
        } else {
            dev.push(scores)
        }
    }
    latencies.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    let (m_all, m_test, m_dev) = (mean(&all), mean(&test), mean(&dev));
    let all_outcomes = [test_outcomes.as_slice(), &dev_outcomes].concat();
    let answering = [&all_outcomes, &test_outcomes, &dev_outcomes]
        .map(|outcomes| Answering::at(outcomes, ANSWER_THRESHOLD));
    // The trade-off other thresholds would make (all queries).
    let curve: Vec<serde_json::Value> = (1..10)
        .map(|tenth| Answering::at(&all_outcomes, tenth as f32 / 10.0).json())
        .collect();
    if as_json {
        let report = json!({
            "all": scores_json(&m_all, all.len()),
            "test": scores_json(&m_test, test.len()),
            "dev": scores_json(&m_dev, dev.len()),
            "latency_ms": {"p50": p50, "p99": p99},
            "bot": {
                "threshold": ANSWER_THRESHOLD,
                "answered_share": answered.len() as f64 / all.len().max(1) as f64,
                "answered_p@1": answered.iter().sum::<f64>() / answered.len().max(1) as f64,
            },
            "answering": answering[0].json(),
            "answering_by_split": {"test": answering[1].json(), "dev": answering[2].json()},
            "answering_by_threshold": curve,
            "index_build_ms": build_ms,
            "semantic": index.semantic_model(),
            "encoders": semantic,
        });
        println!("{report}");
    } else {
        println!(
            "documents {}   index build {build_ms:.0} ms (dictionary load included)",
            docs.len()
        );
        println!(
            "{:<6} {:>8} {:>10} {:>8} {:>8} {:>8}",
            "split", "nDCG@10", "Recall@10", "MRR@10", "P@1", "queries"
        );
        for (name, m, n) in [
            ("test", m_test, test.len()),
            ("dev", m_dev, dev.len()),
            ("all", m_all, all.len()),
        ] {
            println!(
                "{name:<6} {:>8.3} {:>10.3} {:>8.3} {:>8.3} {n:>8}",
                m.ndcg10, m.recall10, m.mrr10, m.p1
            );
        }
        println!("latency per query: p50 {p50:.2} ms, p99 {p99:.2} ms");
        match index.semantic_model() {
            Some(model) => println!("semantic: {model} {}", json!(semantic)),
            None => println!("semantic: off (no encoder in the models folder): lexical only"),
        }
        println!(
            "bot (confidence >= {ANSWER_THRESHOLD}): answers {:.1}% of queries directly, P@1 {:.3} on those",
            100.0 * answered.len() as f64 / all.len().max(1) as f64,
            answered.iter().sum::<f64>() / answered.len().max(1) as f64
        );
        println!("answering (all): {}", answering[0].json());
        println!("answering (test): {}", answering[1].json());
        println!("answering (dev): {}", answering[2].json());
        for point in curve {
            println!("  at another threshold: {point}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_into_question_and_answer() {
        let doc = parse_entry("Question: 住民票の取り方\nAnswer: 市役所で申請できます。\n2行目");
        assert_eq!(doc.question, "住民票の取り方");
        assert_eq!(doc.answer, "市役所で申請できます。\n2行目");
        assert_eq!(parse_entry("only text").question, "only text");
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 99.0), 4.0);
    }

    #[test]
    fn answering_counts_answers_right_answers_and_abstentions() {
        let outcome = |confidence, first_is_relevant, without_answers| Outcome {
            confidence,
            first_is_relevant,
            without_answers,
        };
        let outcomes = [
            outcome(0.9, Some(true), 0.1),
            outcome(0.8, Some(false), 0.6),
            outcome(0.2, Some(false), 0.1),
            outcome(0.3, Some(true), 0.0),
            outcome(0.1, None, 0.1),
            outcome(0.7, None, 0.7),
            outcome(0.4, None, 0.4),
        ];
        let report = Answering::at(&outcomes, 0.5).json();
        assert_eq!(report["threshold"], 0.5);
        assert_eq!(report["answered_rate"], 0.5);
        assert_eq!(report["answered_correct_rate"], 0.5);
        assert_eq!(report["unanswerable"], 3);
        assert!((report["abstained_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(report["abstained_rate_answers_removed"], 0.75);
        // A stricter threshold answers less, and rightly.
        let strict = Answering::at(&outcomes, 0.85).json();
        assert_eq!(strict["answered_rate"], 0.25);
        assert_eq!(strict["answered_correct_rate"], 1.0);
        assert_eq!(strict["abstained_rate"], 1.0);
        assert_eq!(
            Answering::default().json()["abstained_rate"],
            serde_json::Value::Null
        );
    }
}

#[derive(serde::Deserialize)]
struct Labelled {
    text: String,
    label: String,
}

/// The harassment / complaint check on a labelled file.
pub fn abuse(data: &Path, as_json: bool) -> anyhow::Result<()> {
    use madoguchi_text::abuse::{judge, Custom};
    let items: Vec<Labelled> = read_json(data)?;
    const LABELS: [&str; 3] = ["harassment", "complaint", "normal"];
    let custom = Custom::default();
    // Trained once at first use: not part of any message's time.
    madoguchi_text::abuse_model::model();
    let mut latencies = Vec::new();
    let mut pairs = Vec::new();
    for item in &items {
        let started = Instant::now();
        let verdict = judge(&item.text, &custom);
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
        let predicted = if verdict.harassment() {
            "harassment"
        } else if verdict.complaint() {
            "complaint"
        } else {
            "normal"
        };
        pairs.push((item.label.as_str(), predicted));
    }
    latencies.sort_by(f64::total_cmp);
    let labels: serde_json::Map<String, serde_json::Value> = per_label(&pairs, &LABELS)
        .into_iter()
        .map(|l| {
            let figures = json!({"precision": l.precision, "recall": l.recall, "f1": l.f1, "support": l.support});
            (l.label, figures)
        })
        .collect();
    let complaints = pairs.iter().filter(|(g, _)| *g == "complaint").count();
    let taken = pairs
        .iter()
        .filter(|(g, p)| *g == "complaint" && *p == "harassment")
        .count();
    let figures = json!({
        "labels": labels,
        "complaints_flagged_as_harassment": if complaints > 0 { taken as f64 / complaints as f64 } else { 0.0 },
        "latency_us": {"p50": percentile(&latencies, 50.0), "p99": percentile(&latencies, 99.0)},
        "messages": items.len(),
    });
    if as_json {
        println!("{figures}");
    } else {
        for label in LABELS {
            let l = &figures["labels"][label];
            println!(
                "{label:<11} precision {:.3}  recall {:.3}  F1 {:.3}  (n = {})",
                l["precision"].as_f64().unwrap_or(0.0),
                l["recall"].as_f64().unwrap_or(0.0),
                l["f1"].as_f64().unwrap_or(0.0),
                l["support"]
            );
        }
        println!(
            "complaints flagged as harassment: {taken} of {complaints}; latency p50 {:.1} µs, p99 {:.1} µs",
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0)
        ); // What it got wrong, to tune from.
        for (item, (gold, predicted)) in items.iter().zip(&pairs) {
            if gold != predicted {
                println!("  {gold} taken for {predicted}: {}", item.text);
            }
        }
    }
    Ok(())
}

/// The conversation classifier on a labelled file: every third item (the 3rd, 6th …) is held
/// out; the model learns from the rest and is scored on the held-out part beside the default
/// keyword rule, with macro-F1 and per-label precision / recall. With `dev`, the held-out part
/// is never read: the model learns from the 1st, 4th … and is scored on the 2nd, 5th … (for
/// tuning).
pub fn classify(data: &Path, dev: bool, as_json: bool) -> anyhow::Result<()> {
    use madoguchi_core::classification::defaults;
    use madoguchi_text::classify::{Keywords, Model};
    use madoguchi_text::metrics::macro_f1;
    let items: Vec<Labelled> = read_json(data)?;
    let (train, test): (Vec<_>, Vec<_>) = items
        .iter()
        .enumerate()
        .filter(|(i, _)| !dev || i % 3 != 2)
        .partition(|(i, _)| if dev { i % 3 == 0 } else { i % 3 != 2 });
    let analyzer = Analyzer::new()?;
    let categories = defaults();
    let keywords = Keywords::new(
        categories
            .iter()
            .map(|c| (c.name.as_str(), c.keywords.as_slice())),
    );
    let started = Instant::now();
    let model = Model::train(
        &analyzer,
        &keywords,
        train
            .iter()
            .map(|(_, i)| (i.text.as_str(), i.label.as_str())),
    )
    .context("too few labelled examples to train on (at least 30, two labels)")?;
    let train_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut labels: Vec<&str> = Vec::new();
    for item in &items {
        if !labels.contains(&item.label.as_str()) {
            labels.push(&item.label);
        }
    }
    let mut latencies = Vec::new();
    let mut by_model = Vec::new();
    let mut by_keywords = Vec::new();
    let mut guessed: Vec<(String, String)> = Vec::new();
    for (_, item) in &test {
        let started = Instant::now();
        let guess = model.classify(&analyzer, &item.text);
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
        let keyword = keywords.classify(&item.text).map(|g| g.label);
        guessed.push((
            guess.map(|g| g.label).unwrap_or_default(),
            keyword.unwrap_or_default(),
        ));
    }
    for ((_, item), (m, k)) in test.iter().zip(&guessed) {
        by_model.push((item.label.as_str(), m.as_str()));
        by_keywords.push((item.label.as_str(), k.as_str()));
    }
    latencies.sort_by(f64::total_cmp);
    let figures = |pairs: &[(&str, &str)]| {
        let scores = per_label(pairs, &labels);
        let accuracy =
            pairs.iter().filter(|(g, p)| g == p).count() as f64 / pairs.len().max(1) as f64;
        json!({
            "macro_f1": macro_f1(&scores),
            "accuracy": accuracy,
            "labels": scores.iter().map(|s| (s.label.clone(), json!({"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}))).collect::<serde_json::Map<_, _>>(),
        })
    };
    let report = json!({
        "messages": items.len(),
        "trained_on": train.len(),
        "held_out": test.len(),
        "model": figures(&by_model),
        "keywords": figures(&by_keywords),
        "train_ms": train_ms,
        "latency_us": {"p50": percentile(&latencies, 50.0), "p99": percentile(&latencies, 99.0)},
    });
    if as_json {
        println!("{report}");
        return Ok(());
    }
    println!(
        "{} messages: trained on {}, scored on {} ({})",
        items.len(),
        train.len(),
        test.len(),
        if dev {
            "development split; the held-out third is not read"
        } else {
            "the held-out third"
        }
    );
    println!(
        "macro-F1: model {:.3}, keyword baseline {:.3}; accuracy {:.3} / {:.3}",
        report["model"]["macro_f1"].as_f64().unwrap_or(0.0),
        report["keywords"]["macro_f1"].as_f64().unwrap_or(0.0),
        report["model"]["accuracy"].as_f64().unwrap_or(0.0),
        report["keywords"]["accuracy"].as_f64().unwrap_or(0.0),
    );
    for label in &labels {
        let (m, k) = (
            &report["model"]["labels"][label],
            &report["keywords"]["labels"][label],
        );
        let f = |v: &serde_json::Value, key: &str| v[key].as_f64().unwrap_or(0.0);
        println!(
            "{label:<8} model P {:.3} R {:.3} · keywords P {:.3} R {:.3} (n = {})",
            f(m, "precision"),
            f(m, "recall"),
            f(k, "precision"),
            f(k, "recall"),
            m["support"]
        );
    }
    println!(
        "training {train_ms:.1} ms; per message p50 {:.1} µs, p99 {:.1} µs",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0)
    );
    Ok(())
}
