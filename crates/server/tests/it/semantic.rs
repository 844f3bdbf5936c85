//! The semantic search over HTTP: with the sentence encoder fetched, customers' paraphrases
//! (and other languages) find their article in the search API and the help center, each
//! article's texts get stored vectors, and an alternative wording counts at once; without the
//! model files the server starts, searches lexically and says so in `/healthz`; e5-small is
//! fused when the settings name it.

use std::path::PathBuf;
use std::time::Duration;

use madoguchi_core::agent::Role;
use madoguchi_store::knowledge::ArticleFields;
use madoguchi_store::testing::TestDatabase;
use madoguchi_store::Backend;
use serde_json::{json, Value};

use crate::knowledge::article;
use crate::support::{both_backends, start_server, TestApp};

both_backends!(paraphrases_find_their_article_and_vectors_are_kept);

/// The models folder CI fetched (`madoguchi models fetch`), named by `MADOGUCHI_TEST_MODELS`.
fn fetched_models() -> Option<PathBuf> {
    let dir = std::env::var_os("MADOGUCHI_TEST_MODELS").map(PathBuf::from);
    let present = |d: &PathBuf| {
        madoguchi_text::semantic::PACKAGES
            .iter()
            .all(|p| p.present(d))
    };
    if let Some(dir) = dir.filter(present) {
        return Some(dir);
    }
    madoguchi_store::testing::skip("MADOGUCHI_TEST_MODELS names no fetched models");
    None
}

/// `/healthz`'s `semantic` once it is no longer `loading` (model loading is in the background).
async fn settled_semantic(http: &reqwest::Client, url: &str) -> Value {
    for _ in 0..600 {
        let health: Value = http
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["semantic"]["state"] != "loading" {
            return health["semantic"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the encoder was still loading after 60 s");
}

async fn first_hit(app: &TestApp, token: &str, q: &str) -> Value {
    let found: Value = app
        .get(&format!("/api/v1/articles/search?q={}", urlencode(q)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    found["hits"][0]["article"]["title"].clone()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn paraphrases_find_their_article_and_vectors_are_kept(app: TestApp) {
    let Some(models) = fetched_models() else {
        return;
    };
    app.state
        .kb
        .models
        .start(models, false, &madoguchi_text::semantic::default_encoders());
    let semantic = settled_semantic(&app.http, &app.url).await;
    assert_eq!(semantic["state"], "ready", "{semantic}");
    assert_eq!(semantic["model"], "use-m3+chive");
    assert_eq!(semantic["reason"], Value::Null, "{semantic}");

    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    let mut ids = Vec::new();
    for (title, body) in [
        (
            "返品したい",
            "商品到着から7日以内ならマイページから手続きできます。",
        ),
        (
            "送料はいくらですか",
            "全国一律500円です。5000円以上で無料です。",
        ),
        (
            "支払い方法を教えてください",
            "カード、コンビニ、銀行振込に対応しています。",
        ),
    ] {
        ids.push(article(&app, &admin, title, body, "published").await);
    }
    assert_eq!(
        first_hit(&app, &admin.token, "配達にかかる費用は？").await,
        "送料はいくらですか"
    );
    assert_eq!(
        first_hit(&app, &admin.token, "How much is delivery?").await,
        "送料はいくらですか"
    );
    assert_eq!(
        first_hit(&app, &admin.token, "クレジットカード以外で払える？").await,
        "支払い方法を教えてください"
    );
    // One sentence vector per question and per answer, stored with the articles (the word
    // vectors follow the index's IDF and are computed with it).
    let stored = app
        .store
        .article_vectors(&workspace, "use-m3")
        .await
        .unwrap();
    assert_eq!(stored.len(), 6, "{stored:?}");
    assert!(stored.iter().all(|v| v.vector.len() == 512));

    // The help center (what a customer sees) ranks the same way.
    let page = app
        .get(&format!(
            "/help/{}?q={}",
            app.channel_key,
            urlencode("I want to send the item back")
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let returns = page
        .find("返品したい")
        .expect("the returns article is listed");
    assert!(
        page.find("送料はいくらですか")
            .is_none_or(|other| returns < other),
        "{page}"
    );

    // A customer's wording taught as an alternative question has its own vector at once.
    let taught = "ログインできなくなった";
    let updated = app
        .http
        .put(format!("{}/api/v1/articles/{}", app.url, ids[2]))
        .bearer_auth(&admin.token)
        .json(&json!({"title": "支払い方法を教えてください", "body": "カード、コンビニ、銀行振込に対応しています。", "status": "published", "category": "ご注文", "alternatives": [taught]}))
        .send()
        .await
        .unwrap();
    assert!(
        updated.status().is_success(),
        "{}",
        updated.text().await.unwrap()
    );
    // Saving embeds it in the background: stored before anyone searches.
    let mut stored = 0;
    for _ in 0..200 {
        stored = app
            .store
            .article_vectors(&workspace, "use-m3")
            .await
            .unwrap()
            .len();
        if stored == 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored, 7, "the alternative's vector joined the others");
    assert_eq!(
        first_hit(&app, &admin.token, taught).await,
        "支払い方法を教えてください"
    );
}

/// With `encoders` naming e5-small too (the slower, better ranking), the server fuses it: its
/// vectors (384 floats) are stored beside the others and a paraphrase finds its article.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e5_is_fused_when_the_settings_name_it() {
    let Some(models) = fetched_models() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let wanted = ["use-m3", "chive", "e5-small"].map(String::from);
    app.state.kb.models.start(models, false, &wanted);
    let semantic = settled_semantic(&app.http, &app.url).await;
    assert_eq!(semantic["model"], "use-m3+chive+e5-small", "{semantic}");
    let admin = app
        .agent_in(&app.workspace_id, "admin@example.jp", Role::Admin)
        .await;
    for (title, body) in [
        ("返品したい", "商品到着から7日以内なら手続きできます。"),
        ("送料はいくらですか", "全国一律500円です。"),
    ] {
        article(&app, &admin, title, body, "published").await;
    }
    assert_eq!(
        first_hit(&app, &admin.token, "配達にかかる費用は？").await,
        "送料はいくらですか"
    );
    let stored = app
        .store
        .article_vectors(&app.workspace_id, "e5-small")
        .await
        .unwrap();
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(stored.iter().all(|v| v.vector.len() == 384));
}

/// An offline install: no model files and no fetching. The server starts, says in `/healthz`
/// that the search is lexical and why, and the help center still finds articles by their words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_model_files_the_server_starts_and_searches_lexically() {
    let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let empty = db.dir().join("no-models");
    std::fs::create_dir_all(&empty).unwrap();
    let server = start_server(&db, &[("MADOGUCHI_MODELS_DIR", empty.to_str().unwrap())]).await;
    let http = reqwest::Client::new();
    let semantic = settled_semantic(&http, &server.url).await;
    assert_eq!(semantic["state"], "lexical", "{semantic}");
    let reason = semantic["reason"].as_str().unwrap();
    assert!(
        reason.contains("use-m3") && reason.contains("fetch_models is off"),
        "{reason}"
    );

    let store = db.store().await;
    let workspace = store.first_workspace().await.unwrap().unwrap();
    store
        .create_article(
            &workspace.id,
            &ArticleFields {
                category: "ご注文".into(),
                locale: "ja".into(),
                status: "published".into(),
                title: "送料はいくらですか".into(),
                body: "全国一律500円です。".into(),
                alternatives: vec![],
                brand_id: None,
            },
        )
        .await
        .unwrap();
    let key = server.channel_key.clone().unwrap();
    // The store's knowledge cache lives 2 s in the server's own process.
    let mut page = String::new();
    for _ in 0..50 {
        page = http
            .get(format!(
                "{}/help/{key}?q={}",
                server.url,
                urlencode("送料について")
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("送料はいくらですか") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(page.contains("送料はいくらですか"), "{page}");
}
