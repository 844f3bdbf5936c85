//! `madoguchi eval abuse`: precision, recall and F1 per label (harassment, complaint, normal)
//! of the harassment / complaint check on a labelled JSON array `[{"text", "label"}]`, how many
//! complaints it took for harassment, and its latency per message.
//!
//! `madoguchi eval faq`: loads a FAQ corpus as a knowledge base, sends every query through the
//! bot's retrieval, and reports nDCG@10, Recall@10, MRR@10 and P@1 for the test half (odd query
//! ids), the development half (even ids) and all queries, with per-query latency and index
//! build time. Formats are those of LocalgovFAQ: `corpus.json` `{"id": "Question: …\nAnswer: …"}`,
//! `queries.json` `{"qid": "query"}`, `qrels.json` `{"qid": {"docid": grade}}`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use madoguchi_text::faq::Weights;
use madoguchi_text::metrics::{mean, score_query, Scores};
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

pub fn run(
    corpus: &Path,
    queries: &Path,
    qrels: &Path,
    weights: Option<Weights>,
    as_json: bool,
) -> anyhow::Result<()> {
    let corpus: HashMap<String, String> = read_json(corpus)?;
    let queries: HashMap<String, String> = read_json(queries)?;
    let qrels: HashMap<String, HashMap<String, u32>> = read_json(qrels)?;
    let mut ids: Vec<&String> = corpus.keys().collect();
    ids.sort_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX));
    let docs: Vec<FaqDoc> = ids.iter().map(|id| parse_entry(&corpus[*id])).collect();

    let started = Instant::now();
    let analyzer = Analyzer::new()?;
    let index = FaqIndex::build_weighted(
        &analyzer,
        &docs,
        Synonyms::default(),
        weights.unwrap_or_default(),
    );
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;

    let mut qids: Vec<&String> = queries.keys().filter(|q| qrels.contains_key(*q)).collect();
    qids.sort_by_key(|q| q.parse::<u64>().unwrap_or(u64::MAX));
    let (mut all, mut test, mut dev) = (Vec::new(), Vec::new(), Vec::new());
    let mut latencies = Vec::with_capacity(qids.len());
    // P@1 of the queries the bot would answer directly (confidence over its threshold).
    let mut answered = Vec::new();
    for qid in qids {
        let started = Instant::now();
        let found = index.search(&analyzer, &queries[qid], 10);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let ranked: Vec<String> = found.hits.iter().map(|h| ids[h.doc].clone()).collect();
        let scores = score_query(&ranked, &qrels[qid]);
        if found.confidence >= ANSWER_THRESHOLD {
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
            "index_build_ms": build_ms,
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
        println!(
            "bot (confidence >= {ANSWER_THRESHOLD}): answers {:.1}% of queries directly, P@1 {:.3} on those",
            100.0 * answered.len() as f64 / all.len().max(1) as f64,
            answered.iter().sum::<f64>() / answered.len().max(1) as f64
        );
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
    let mut labels = serde_json::Map::new();
    for label in LABELS {
        let tp = pairs
            .iter()
            .filter(|(g, p)| *g == label && *p == label)
            .count() as f64;
        let predicted = pairs.iter().filter(|(_, p)| *p == label).count() as f64;
        let support = pairs.iter().filter(|(g, _)| *g == label).count() as f64;
        let precision = if predicted > 0.0 { tp / predicted } else { 0.0 };
        let recall = if support > 0.0 { tp / support } else { 0.0 };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        labels.insert(
            label.to_owned(),
            json!({"precision": precision, "recall": recall, "f1": f1, "support": support as usize}),
        );
    }
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
