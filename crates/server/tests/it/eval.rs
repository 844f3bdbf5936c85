//! `madoguchi eval faq` on the shared LocalgovFAQ files (beside the repository as ../shared).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/localgovfaq");
    if dir.join("corpus.json").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI runs with ../shared beside the repository: {} is missing",
        dir.display()
    );
    eprintln!("skipped: {} not found", dir.display());
    None
}

#[test]
fn eval_faq_reports_all_splits_as_json() {
    let Some(dir) = data_dir() else { return };
    let output = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(["eval", "faq", "--json", "--corpus"])
        .arg(dir.join("corpus.json"))
        .arg("--queries")
        .arg(dir.join("queries.json"))
        .arg("--qrels")
        .arg(dir.join("qrels.json"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    for split in ["all", "test", "dev"] {
        for metric in ["ndcg@10", "recall@10", "mrr@10", "p@1"] {
            let value = report[split][metric].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&value), "{split} {metric} = {value}");
        }
    }
    assert_eq!(report["all"]["queries"], 749);
    assert_eq!(
        report["test"]["queries"].as_u64().unwrap() + report["dev"]["queries"].as_u64().unwrap(),
        749
    );
    // A regression floor: the published BM25 + Kuromoji baseline is 0.494 nDCG@10 on all queries.
    assert!(
        report["all"]["ndcg@10"].as_f64().unwrap() > 0.494,
        "{report}"
    );
    assert!(report["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert!(report["index_build_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn eval_faq_rejects_missing_files_clearly() {
    let output = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "eval",
            "faq",
            "--corpus",
            "/nonexistent/corpus.json",
            "--queries",
            "q",
            "--qrels",
            "r",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/corpus.json")
    );
}
