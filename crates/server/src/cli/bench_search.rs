//! `madoguchi bench search`: builds the full-text index over N synthetic messages of Japanese
//! shop conversations (varied products, colours, order numbers, names and phrasings; agents'
//! answers among them) in a scratch folder, then times a fixed set of Japanese and English
//! queries. Prints the build time, the index's size beside the size of the texts it covers,
//! and the latency per query. Then it keeps adding messages at `--rate` a second for
//! `--live-seconds`, gathered and committed the way the server's indexer does, and prints how
//! long each took to become searchable (the indexing lag; the end-to-end lag through a running
//! server is in `bench realtime`'s `indexing_lag_ms`).

use std::sync::Arc;
use std::time::Instant;

use madoguchi_text::search::{kind, Document, Request, SearchIndex};
use madoguchi_text::Analyzer;
use serde_json::json;

use crate::automation::indexing::GATHER;
use crate::cli::bench::percentile;

const PRODUCTS: &[&str] = &[
    "電気ケトル",
    "マグカップ",
    "スニーカー",
    "リュック",
    "ワンピース",
    "Tシャツ",
    "加湿器",
    "炊飯器",
    "トースター",
    "フライパン",
    "タオルセット",
    "腕時計",
    "イヤホン",
    "スマホケース",
    "ハンドクリーム",
    "化粧水",
    "コーヒー豆",
    "緑茶ギフト",
    "子ども用長靴",
    "折りたたみ傘",
    "ノートパソコンスタンド",
    "ワイヤレスマウス",
    "枕",
    "毛布",
    "ダウンジャケット",
    "ブーツ",
    "財布",
    "香水",
    "電動歯ブラシ",
    "空気清浄機",
];
const COLOURS: &[&str] = &[
    "黒",
    "白",
    "ネイビー",
    "ベージュ",
    "赤",
    "グレー",
    "緑",
    "ピンク",
];
const NAMES: &[&str] = &[
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村",
];
const CUSTOMER: &[&str] = &[
    "{p}を注文しましたが、まだ届きません。注文番号は{o}です。",
    "{o}の{p}、配送状況を教えてください",
    "届いた{p}が壊れていました。交換できますか？",
    "{p}の{c}はいつ再入荷しますか",
    "{p}のサイズが合わなかったので返品したいです",
    "注文番号{o}をキャンセルしたいです",
    "クレジットカードで二重に請求されています（{o}）",
    "{p}の使い方がわかりません。説明書はありますか",
    "{c}の{p}を注文したのに違う色が届きました",
    "ｷｬﾝｾﾙした{p}の返金はいつになりますか",
    "配送先を変更したいです。{o}の件です",
    "I ordered a {p} ({o}) and it has not arrived yet",
    "Can I return the {c} {p}? It does not fit.",
    "{p}を贈り物にしたいのですが、ラッピングはできますか",
    "何度問い合わせても返事がありません。{o}の件、どうなっていますか",
];
const AGENT: &[&str] = &[
    "{n}様、お問い合わせありがとうございます。{o}は本日出荷いたしました。",
    "ご不便をおかけして申し訳ございません。{p}の交換品をお送りいたします。",
    "{p}の{c}は来週入荷予定です。入荷しましたらご連絡いたします。",
    "返品を承りました。返送用の伝票をお送りします。",
    "ご注文{o}のキャンセルを承りました。返金は3営業日ほどかかります。",
    "Thank you for contacting us. Your order {o} has been shipped today.",
];

/// The queries timed, Japanese and English.
const QUERIES: &[&str] = &[
    "届かない",
    "届きません",
    "ケトル 壊れ",
    "キャンセル",
    "きゃんせる",
    "返品 サイズ",
    "二重 請求",
    "再入荷",
    "\"違う色が届きました\"",
    "ラッピング",
    "A-100123",
    "返金 いつ",
    "交換品",
    "arrived",
    "return fit",
    "shipped today",
];

/// A small deterministic generator (splitmix64).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Message `i` of the synthetic history: every third is an agent's answer.
fn message(i: u64) -> String {
    let mut dice = Dice(i);
    let template = if i % 3 == 2 {
        dice.pick(AGENT)
    } else {
        dice.pick(CUSTOMER)
    };
    template
        .replace("{p}", dice.pick(PRODUCTS))
        .replace("{c}", dice.pick(COLOURS))
        .replace("{n}", dice.pick(NAMES))
        .replace("{o}", &format!("A-{}", 100_000 + (i / 3) % 900_000))
}

fn folder_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// What `bench search` runs.
pub struct SearchOptions {
    pub messages: usize,
    /// Messages a second in the live phase.
    pub rate: usize,
    pub live_seconds: u64,
    pub as_json: bool,
}

/// Adds messages at `rate` a second for `seconds` to the built index, gathering them for
/// [`GATHER`] and committing each batch like the server's indexer; each message's lag (ms)
/// from when it was due to when a commit made it searchable, and the rate kept.
fn live(
    index: &SearchIndex,
    analyzer: &Analyzer,
    first: usize,
    rate: usize,
    seconds: u64,
) -> anyhow::Result<(Vec<f64>, f64)> {
    let started = Instant::now();
    let total = rate * seconds as usize;
    let mut lags = Vec::with_capacity(total);
    let mut next = 0;
    while next < total {
        std::thread::sleep(GATHER);
        let now = started.elapsed().as_secs_f64();
        let due = ((now * rate as f64) as usize).min(total);
        let texts: Vec<(String, String, String)> = (next..due)
            .map(|i| {
                let n = first + i;
                (format!("m{n}"), format!("c{}", n / 3), message(n as u64))
            })
            .collect();
        let docs = documents(&texts, first as i64);
        index.upsert(analyzer, &docs)?;
        index.commit((first + due) as i64)?;
        let done = started.elapsed().as_secs_f64();
        lags.extend((next..due).map(|i| (done - i as f64 / rate as f64) * 1e3));
        next = due;
    }
    Ok((lags, total as f64 / started.elapsed().as_secs_f64()))
}

/// Bench documents of `(key, conversation, text)` triples.
fn documents(texts: &[(String, String, String)], created_at: i64) -> Vec<Document<'_>> {
    texts
        .iter()
        .map(|(key, conversation, text)| Document {
            key,
            kind: kind::MESSAGE,
            workspace_id: "bench",
            conversation_id: conversation,
            contact_id: conversation,
            private: false,
            created_at,
            text,
            detail: String::new(),
        })
        .collect()
}

pub fn search(options: SearchOptions) -> anyhow::Result<()> {
    let SearchOptions {
        messages,
        rate,
        live_seconds,
        as_json,
    } = options;
    let dir = std::env::temp_dir().join(format!("madoguchi-bench-search-{}", std::process::id()));
    let (index, _) = SearchIndex::open(&dir)?;
    let index = Arc::new(index);
    let analyzer = Arc::new(Analyzer::new()?);
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    const BATCH: usize = 5_000;
    let text_bytes = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (index, analyzer, text_bytes) = (&index, &analyzer, &text_bytes);
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut from = t * BATCH;
                    while from < messages {
                        let to = (from + BATCH).min(messages);
                        let texts: Vec<(String, String, String)> = (from..to)
                            .map(|i| {
                                let text = message(i as u64);
                                (format!("m{i}"), format!("c{}", i / 3), text)
                            })
                            .collect();
                        let bytes: usize = texts.iter().map(|(_, _, t)| t.len()).sum();
                        text_bytes.fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
                        let docs = documents(&texts, from as i64);
                        index.upsert(analyzer, &docs)?;
                        from += threads * BATCH;
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("an indexing thread panicked"))??;
        }
        Ok(())
    })?;
    index.commit(messages as i64)?;
    let build_s = started.elapsed().as_secs_f64();
    let index_mb = folder_bytes(&dir) as f64 / 1e6;
    let parts: serde_json::Map<String, serde_json::Value> = index
        .space()
        .into_iter()
        .map(|(part, bytes)| (part.to_owned(), json!(bytes as f64 / 1e6)))
        .collect();
    let mut latencies = Vec::new();
    let mut per_query = serde_json::Map::new();
    for query in QUERIES {
        let mut hits = 0;
        for _ in 0..20 {
            let started = Instant::now();
            let found = index.search(
                &analyzer,
                &Request {
                    workspace_id: "bench",
                    text: query,
                    include_private: true,
                    limit: 100,
                    ..Request::default()
                },
            )?;
            latencies.push(started.elapsed().as_secs_f64() * 1e3);
            hits = found.hits.len();
        }
        per_query.insert((*query).to_owned(), json!(hits));
    }
    latencies.sort_by(f64::total_cmp);
    let (mut lags, kept) = live(&index, &analyzer, messages, rate, live_seconds)?;
    lags.sort_by(f64::total_cmp);
    let figures = json!({
        "messages": messages,
        "index_build_s": build_s,
        "index_mb": index_mb,
        "index_parts_mb": parts,
        "texts_mb": text_bytes.into_inner() as f64 / 1e6,
        "indexing_msgs_per_s": messages as f64 / build_s,
        "latency_ms": {"p50": percentile(&latencies, 50.0), "p99": percentile(&latencies, 99.0), "max": latencies.last().copied().unwrap_or(0.0)},
        "queries": QUERIES.len(),
        "hits_per_query": per_query,
        "live": {"rate_asked": rate, "rate_kept_msgs_per_s": kept, "seconds": live_seconds,
            "indexing_lag_ms": {"p50": percentile(&lags, 50.0), "p99": percentile(&lags, 99.0), "max": lags.last().copied().unwrap_or(0.0)}},
    });
    std::fs::remove_dir_all(&dir).ok();
    if as_json {
        println!("{figures}");
    } else {
        println!(
            "{messages} messages indexed in {build_s:.1} s ({:.0}/s); index {index_mb:.1} MB for {:.1} MB of text",
            figures["indexing_msgs_per_s"].as_f64().unwrap_or(0.0),
            figures["texts_mb"].as_f64().unwrap_or(0.0)
        );
        println!(
            "{} queries × 20: p50 {:.2} ms, p99 {:.2} ms",
            QUERIES.len(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0)
        );
        println!(
            "live: {rate} messages/s asked, {kept:.0} kept for {live_seconds} s; searchable after p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            percentile(&lags, 50.0),
            percentile(&lags, 99.0),
            lags.last().copied().unwrap_or(0.0)
        );
    }
    Ok(())
}
