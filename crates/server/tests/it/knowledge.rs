//! The knowledge base, the help center, and the support bot over HTTP.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, tokyo_ms, Agent, TestApp, Visitor};

both_backends!(
    articles_search_and_help_center,
    bot_answers_hands_over_and_learns,
    handover_out_of_hours_promises_the_next_opening,
    satisfaction_counts_fours_and_fives_per_day,
    scenarios_are_edited_served_and_counted,
    the_bot_steps_back_once_a_person_is_involved,
    the_bot_offers_only_what_fits_in_the_visitors_language
);

/// A new article in the category ご注文; its id.
pub async fn article(
    app: &TestApp,
    admin: &Agent,
    title: &str,
    body: &str,
    status: &str,
) -> String {
    let created: Value = app
        .post(
            "/api/v1/articles",
            &json!({"title": title, "body": body, "status": status, "category": "ご注文"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn shop_articles(app: &TestApp, admin: &Agent) -> (String, String, String) {
    let returns = article(
        app,
        admin,
        "返品したい",
        "商品到着から**7日以内**なら返品できます。<script>alert(1)</script>",
        "published",
    )
    .await;
    let shipping = article(
        app,
        admin,
        "送料はいくらですか",
        "全国一律500円です。5,000円以上のご注文で送料無料です。",
        "published",
    )
    .await;
    let draft = article(app, admin, "社内向け下書き", "まだ公開しない", "draft").await;
    (returns, shipping, draft)
}

async fn articles_search_and_help_center(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    let agent = app.agent("agent@example.jp").await;
    let refused = app
        .post("/api/v1/articles", &json!({"title": "x", "body": "y"}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let bad = app
        .post("/api/v1/articles", &json!({"title": " ", "body": "y"}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (returns, shipping, draft) = shop_articles(&app, &admin).await;
    let cancel = article(
        &app,
        &admin,
        "注文をキャンセルしたい",
        "発送前であればマイページから取り消せます。",
        "published",
    )
    .await;

    let found: Value = app
        .get("/api/v1/articles/search?q=配送料はいくら？")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["hits"][0]["article"]["id"], shipping.as_str());
    let found: Value = app
        .get("/api/v1/articles/search?q=ﾍﾝﾋﾟﾝ 方法")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hits = found["hits"].as_array().unwrap();
    assert_eq!(
        hits.first().map(|h| &h["article"]["id"]),
        Some(&json!(returns)),
        "half-width ﾍﾝﾋﾟﾝ finds the returns article: {found}"
    );
    assert!(
        hits.iter().all(|h| h["article"]["id"] != draft.as_str()),
        "drafts are not searchable"
    );
    let found: Value = app
        .get("/api/v1/articles/search?q=下書き")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        found["hits"].as_array().map(Vec::len),
        Some(0),
        "a draft's own title does not find it: {found}"
    );
    let synonyms = json!({"groups": [["返品", "返却"]]});
    app.http
        .put(format!("{}/api/v1/synonyms", app.url))
        .bearer_auth(&admin.token)
        .json(&synonyms)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let found: Value = app
        .get("/api/v1/articles/search?q=返却できますか")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        found["hits"][0]["article"]["id"],
        returns.as_str(),
        "synonyms apply at once"
    );

    let help = app
        .get(&format!("/help/{}", app.channel_key))
        .send()
        .await
        .unwrap();
    assert!(help.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    let html = help.text().await.unwrap();
    assert!(
        html.contains("<title>ヘルプセンター | Default</title>")
            && html.contains("返品したい")
            && !html.contains("社内向け下書き"),
        "{html}"
    );
    let app_ref = &app;
    let search = |q: &'static str| async move {
        app_ref
            .get(&format!("/help/{}?q={q}", app_ref.channel_key))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let link = |id: &str| format!("/help/{}/articles/{id}", app.channel_key);
    let results = search("送料").await;
    assert!(
        results.contains(&link(&shipping)) && !results.contains(&link(&returns)),
        "?q=送料 lists shipping and not returns: {results}"
    );
    assert!(!results.contains("見つかりませんでした"), "{results}");
    let half_width = search("ｷｬﾝｾﾙ").await;
    assert!(
        half_width.contains(&link(&cancel)) && !half_width.contains(&link(&shipping)),
        "?q=ｷｬﾝｾﾙ finds the cancellation article: {half_width}"
    );
    let unknown = search("宇宙旅行").await;
    assert!(
        unknown.contains("見つかりませんでした。")
            && unknown.contains(&format!("href=\"/chat/{}\"", app.channel_key))
            && !unknown.contains(&link(&returns))
            && !unknown.contains(&link(&shipping))
            && !unknown.contains(&link(&cancel)),
        "an unknown word shows the no-results text: {unknown}"
    );
    let page = app
        .get(&format!("/help/{}/articles/{returns}", app.channel_key))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<strong>7日以内</strong>")
            && page.contains("&lt;script&gt;")
            && !page.contains("<script>alert"),
        "{page}"
    );
    assert_eq!(
        app.get(&format!("/help/{}/articles/{draft}", app.channel_key))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let (_, other_key) = app.other_workspace().await;
    assert_eq!(
        app.get(&format!("/help/{other_key}/articles/{returns}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

async fn bot_messages(app: &TestApp, visitor: &Visitor, conversation: &str) -> Vec<Value> {
    app.visitor_messages(visitor, conversation)
        .await
        .into_iter()
        .filter(|m| m["sender_kind"] == "bot")
        .collect()
}

async fn status_of(app: &TestApp, agent: &Agent, conversation: &str) -> String {
    let c: Value = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c["status"].as_str().unwrap().to_owned()
}

async fn feedback(
    app: &TestApp,
    visitor: &Visitor,
    conversation: &str,
    turn: &str,
    resolved: bool,
) -> StatusCode {
    app.post(
        &format!("/widget/v1/conversations/{conversation}/bot-feedback"),
        &json!({"turn_id": turn, "resolved": resolved}),
    )
    .header("x-visitor-token", &visitor.token)
    .send()
    .await
    .unwrap()
    .status()
}

async fn bot_answers_hands_over_and_learns(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    let (returns, shipping, _) = shop_articles(&app, &admin).await;

    // A question the knowledge base answers: the bot replies with the article and asks.
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "送料はいくらかかりますか？").await;
    let answers = bot_messages(&app, &visitor, &conversation).await;
    assert_eq!(answers.len(), 1);
    let meta = &answers[0]["meta"];
    assert_eq!(meta["kind"], "answer");
    assert_eq!(meta["articles"][0]["id"], shipping.as_str());
    assert!(answers[0]["body"]
        .as_str()
        .unwrap()
        .contains("解決しましたか？"));
    assert_eq!(
        status_of(&app, &admin, &conversation).await,
        "pending",
        "handled by the bot"
    );
    assert!(
        app.state.store.pending_jobs().await.unwrap().is_empty(),
        "no human expectation while the bot handles it"
    );

    // 「いいえ」: handed over to a person, with the in-hours expectation planned.
    let turn = meta["turn_id"].as_str().unwrap();
    let stranger = app.visitor().await;
    assert_eq!(
        feedback(&app, &stranger, &conversation, turn, false).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        feedback(&app, &visitor, &conversation, turn, false).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status_of(&app, &admin, &conversation).await, "open");
    assert_eq!(bot_messages(&app, &visitor, &conversation).await.len(), 2);
    assert_eq!(app.state.store.pending_jobs().await.unwrap().len(), 1);
    assert_eq!(
        feedback(&app, &visitor, &conversation, turn, true).await,
        StatusCode::NO_CONTENT,
        "a second answer changes nothing"
    );
    assert_eq!(status_of(&app, &admin, &conversation).await, "open");

    // 「はい」: resolved by the bot.
    let second = app.start(&visitor, "返品したいのですが").await;
    let answer = bot_messages(&app, &visitor, &second).await.remove(0);
    assert_eq!(answer["meta"]["articles"][0]["id"], returns.as_str());
    feedback(
        &app,
        &visitor,
        &second,
        answer["meta"]["turn_id"].as_str().unwrap(),
        true,
    )
    .await;
    assert_eq!(status_of(&app, &admin, &second).await, "resolved");
    let rating = app
        .visitor_messages(&visitor, &second)
        .await
        .into_iter()
        .find(|m| m["meta"]["kind"] == "rating")
        .expect("a resolved conversation asks for a rating");
    assert_eq!(rating["meta"]["buttons"].as_array().unwrap().len(), 5);
    let rate = |score: i64| {
        app.post(
            &format!("/widget/v1/conversations/{second}/rating"),
            &json!({"score": score, "comment": "早くて助かりました"}),
        )
        .header("x-visitor-token", &visitor.token)
        .send()
    };
    assert_eq!(
        rate(6).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(rate(5).await.unwrap().status(), StatusCode::NO_CONTENT);
    let other = app
        .post(
            &format!("/widget/v1/conversations/{second}/rating"),
            &json!({"score": 1}),
        )
        .header("x-visitor-token", &stranger.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "only the conversation's visitor rates it"
    );

    // Nothing relevant: no bot answer, a person takes it; the turn is still logged.
    let third = app.start(&visitor, "こんにちは").await;
    assert!(bot_messages(&app, &visitor, &third).await.is_empty());
    assert_eq!(status_of(&app, &admin, &third).await, "open");

    // The quality loop: review, teach a wording, rates.
    let turns: Value = app
        .get("/api/v1/bot/turns")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let turns = turns["turns"].as_array().unwrap().clone();
    assert_eq!(turns.len(), 3);
    let outcomes: Vec<&str> = turns
        .iter()
        .map(|t| t["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"resolved")
            && outcomes.contains(&"not_resolved")
            && outcomes.contains(&"handover"),
        "{outcomes:?}"
    );
    let unanswered = turns.iter().find(|t| t["outcome"] == "handover").unwrap();
    let review = json!({"review": "wrong", "correct_article_id": returns});
    let reviewed: Value = app
        .patch(
            &format!("/api/v1/bot/turns/{}", unanswered["id"].as_str().unwrap()),
            &review,
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reviewed["review"], "wrong");
    let taught: Value = app
        .get(&format!("/api/v1/articles/{returns}"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        taught["alternatives"],
        json!(["こんにちは"]),
        "the customer's wording became an alternative question"
    );
    let correct = turns.iter().find(|t| t["outcome"] == "resolved").unwrap();
    app.patch(
        &format!("/api/v1/bot/turns/{}", correct["id"].as_str().unwrap()),
        &json!({"review": "correct"}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let bad = app
        .patch(
            &format!("/api/v1/bot/turns/{}", correct["id"].as_str().unwrap()),
            &json!({"review": "maybe"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let rates: Value = app
        .get("/api/v1/bot/rates?days=7")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rates["accuracy"], 0.5, "{rates}");
    assert_eq!(rates["resolution"], 0.5, "{rates}");
    assert_eq!(rates["satisfaction"], 1.0, "{rates}");
    assert_eq!(rates["days"].as_array().unwrap().len(), 1);
}

async fn scenarios_are_edited_served_and_counted(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    let agent = app.agent("agent@example.jp").await;
    let (returns, _, _) = shop_articles(&app, &admin).await;
    let channels: Value = app
        .get("/api/v1/channels")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/channels/{}/scenario",
        channels["channels"][0]["id"].as_str().unwrap()
    );
    let scenario = json!({"nodes": [
        {"id": "root", "text_ja": "ご用件をお選びください", "text_en": "How can we help?",
         "choices": [{"label_ja": "返品・交換", "label_en": "Returns", "next": "returns"}, {"label_ja": "その他", "next": "other"}]},
        {"id": "returns", "text_ja": "返品はこちらをご覧ください", "article_id": returns,
         "choices": [{"label_ja": "担当者と話す", "next": "human"}]},
        {"id": "other", "text_ja": "メールアドレスを残していただければご連絡します", "ask_email": true},
        {"id": "human", "text_ja": "メッセージをどうぞ。担当者がお返事します。", "handover": true}
    ]});
    let url = format!("{}{path}", app.url);
    let put = |token: &str, body: &Value| {
        app.http
            .put(&url)
            .bearer_auth(token.to_owned())
            .json(body)
            .send()
    };
    assert_eq!(
        put(&agent.token, &scenario).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let dangling = json!({"nodes": [{"id": "root", "text_ja": "x", "choices": [{"label_ja": "y", "next": "nowhere"}]}]});
    assert_eq!(
        put(&admin.token, &dangling).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(&admin.token, &scenario).await.unwrap().status(),
        StatusCode::OK
    );

    let config: Value = app
        .get(&format!(
            "/widget/v1/channels/{}?locale=en",
            app.channel_key
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nodes = config["scenario"].as_array().unwrap();
    assert_eq!(nodes[0]["text"], "How can we help?");
    assert_eq!(
        nodes[0]["choices"][1]["label"], "その他",
        "Japanese when no translation"
    );
    assert!(nodes[1]["article"]["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/articles/{returns}")));
    assert_eq!(nodes[3]["handover"], true);

    for node in ["returns", "returns", "human"] {
        let click = app
            .http
            .post(format!(
                "{}/widget/v1/channels/{}/scenario/{node}",
                app.url, app.channel_key
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(click.status(), StatusCode::NO_CONTENT);
    }
    let unknown = app
        .http
        .post(format!(
            "{}/widget/v1/channels/{}/scenario/nowhere",
            app.url, app.channel_key
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let clicks: Value = app
        .get(&format!("{path}/clicks"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        clicks,
        json!([{"node_id": "human", "clicks": 1}, {"node_id": "returns", "clicks": 2}])
    );
}

/// Out of hours, 「いいえ」 hands over with the away message at once (no expectation job).
async fn handover_out_of_hours_promises_the_next_opening(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    shop_articles(&app, &admin).await;
    app.clock.set(tokyo_ms("2026-11-26T19:00:00")); // Thursday evening: closed
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "送料はいくらかかりますか？").await;
    let answer = bot_messages(&app, &visitor, &conversation).await.remove(0);
    assert!(
        app.system_messages(&visitor, &conversation)
            .await
            .is_empty(),
        "no away message while the bot handles it"
    );
    let turn = answer["meta"]["turn_id"].as_str().unwrap();
    assert_eq!(
        feedback(&app, &visitor, &conversation, turn, false).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status_of(&app, &admin, &conversation).await, "open");
    let away = app.system_messages(&visitor, &conversation).await;
    assert!(
        away.len() == 1 && away[0].contains("11月27日(金) 9:00"),
        "{away:?}"
    );
    assert!(
        app.state.store.pending_jobs().await.unwrap().is_empty(),
        "out of hours nothing is planned for later"
    );
}

/// 満足率 counts ratings of 4 and 5 as satisfied, per day of the (test) clock and overall.
async fn satisfaction_counts_fours_and_fives_per_day(app: TestApp) {
    let agent = app.agent("lead@example.jp").await;
    let visitor = app.visitor().await;
    let days = [
        ("2026-11-24T10:00:00", vec![5, 3]),
        ("2026-11-25T10:00:00", vec![4, 4, 1]),
    ];
    for (when, scores) in &days {
        app.clock.set(tokyo_ms(when));
        for score in scores {
            let conversation = app.start(&visitor, "評価のテスト").await;
            let rated = app
                .post(
                    &format!("/widget/v1/conversations/{conversation}/rating"),
                    &json!({"score": score}),
                )
                .header("x-visitor-token", &visitor.token)
                .send()
                .await
                .unwrap();
            assert_eq!(rated.status(), StatusCode::NO_CONTENT);
        }
    }
    let rates: Value = app
        .get("/api/v1/bot/rates?days=7")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let per_day: Vec<(String, f64, i64)> = rates["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["satisfaction"].as_f64().unwrap(),
                d["rated"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        per_day,
        [
            ("2026-11-24".to_owned(), 0.5, 2),
            ("2026-11-25".to_owned(), 2.0 / 3.0, 3)
        ],
        "{rates}"
    );
    assert_eq!(rates["satisfaction"], 0.6, "3 of 5 rated 4 or more");
}

/// The bot answers only while no person is involved: not after a human reply, an assignment, a
/// 「いいえ」 or a hand-over node — and the conversation stays 対応中 for its agent.
async fn the_bot_steps_back_once_a_person_is_involved(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    shop_articles(&app, &admin).await;
    let question = "送料はいくらかかりますか？";
    let send = |visitor: &Visitor, conversation: &str| {
        app.post(
            &format!("/widget/v1/conversations/{conversation}/messages"),
            &json!({"body": question}),
        )
        .header("x-visitor-token", visitor.token.clone())
        .send()
    };
    let assign = |conversation: &str| {
        app.patch(
            &format!("/api/v1/conversations/{conversation}"),
            &json!({"assignee_id": admin.id}),
        )
        .bearer_auth(admin.token.clone())
        .send()
    };

    // A new conversation with the question: the bot answers (the control for the rest).
    let visitor = app.visitor().await;
    let answered = app.start(&visitor, question).await;
    assert_eq!(bot_messages(&app, &visitor, &answered).await.len(), 1);

    // After a human reply (the agent took it and answered): no bot, still 対応中.
    let replied = app.start(&visitor, "こんにちは").await;
    assign(&replied).await.unwrap().error_for_status().unwrap();
    app.reply(&admin, &replied, "担当の者です。ご用件をどうぞ。", false)
        .await;
    send(&visitor, &replied)
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert!(bot_messages(&app, &visitor, &replied).await.is_empty());
    assert_eq!(status_of(&app, &admin, &replied).await, "open");
    let mine: Value = app
        .get("/api/v1/conversations?status=open&assignee=me")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        mine["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == replied.as_str()),
        "still in 自分の担当: {mine}"
    );

    // Assigned without a reply yet: no bot either.
    let assigned = app.start(&visitor, "こんにちは").await;
    assign(&assigned).await.unwrap().error_for_status().unwrap();
    send(&visitor, &assigned)
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert!(bot_messages(&app, &visitor, &assigned).await.is_empty());
    assert_eq!(status_of(&app, &admin, &assigned).await, "open");

    // After 「いいえ」: the next question waits for a person.
    let turn = bot_messages(&app, &visitor, &answered).await[0]["meta"]["turn_id"]
        .as_str()
        .unwrap()
        .to_owned();
    feedback(&app, &visitor, &answered, &turn, false).await;
    send(&visitor, &answered)
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let after_no = bot_messages(&app, &visitor, &answered).await;
    assert_eq!(after_no.len(), 2, "the answer and the hand-over line only");
    assert_eq!(status_of(&app, &admin, &answered).await, "open");

    // A scenario's hand-over node chosen before writing keeps the bot out from the start; any
    // other node does not.
    let channels: Value = app
        .get("/api/v1/channels")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scenario = json!({"nodes": [
        {"id": "root", "text_ja": "ご用件は？", "choices": [{"label_ja": "担当者と話す", "next": "human"}]},
        {"id": "human", "text_ja": "担当者がお返事します。", "handover": true}
    ]});
    app.http
        .put(format!(
            "{}/api/v1/channels/{}/scenario",
            app.url,
            channels["channels"][0]["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin.token)
        .json(&scenario)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    for (node, bot_answers) in [("human", false), ("root", true), ("nowhere", true)] {
        let fresh = app.visitor().await;
        let started: Value = app
            .post(
                "/widget/v1/conversations",
                &json!({"body": question, "scenario_node": node}),
            )
            .header("x-visitor-token", &fresh.token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = started["conversation"]["id"].as_str().unwrap();
        assert_eq!(
            bot_messages(&app, &fresh, id).await.len(),
            usize::from(bot_answers),
            "scenario node {node}"
        );
    }
}

async fn the_bot_offers_only_what_fits_in_the_visitors_language(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    shop_articles(&app, &admin).await;
    article(
        &app,
        &admin,
        "注文をキャンセルしたい",
        "発送前ならマイページからキャンセルできます。",
        "published",
    )
    .await;
    let shipping_en = article(
        &app,
        &admin,
        "How much is shipping?",
        "Shipping is 500 yen anywhere in Japan, free from 5,000 yen.",
        "published",
    )
    .await;
    let visitor = app.visitor().await;

    // Questions the shop's articles do not cover get no article list (only endings such as
    // 「できますか」 matched): a person answers.
    for unrelated in [
        "ギフト包装はできますか",
        "領収書はもらえますか",
        "ポイントは使えますか",
    ] {
        let conversation = app.start(&visitor, unrelated).await;
        assert!(
            bot_messages(&app, &visitor, &conversation).await.is_empty(),
            "{unrelated}"
        );
        assert_eq!(status_of(&app, &admin, &conversation).await, "open");
    }

    // Unsure between two: each article once, as a link, not again as a bulleted list.
    let conversation = app.start(&visitor, "送料と返品とキャンセル").await;
    let offered = bot_messages(&app, &visitor, &conversation).await;
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert_eq!(offered[0]["meta"]["kind"], "candidates");
    let body = offered[0]["body"].as_str().unwrap();
    assert!(
        !body.contains('・') && !body.contains("返品したい"),
        "{body}"
    );
    let links = offered[0]["meta"]["articles"].as_array().unwrap();
    assert!(!links.is_empty() && links.len() <= 3);

    // A visitor whose widget is in English hears the bot and auto-replies in English.
    let started: Value = app
        .post(
            "/widget/v1/conversations",
            &json!({"body": "How much does shipping cost?", "locale": "en"}),
        )
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let english = started["conversation"]["id"].as_str().unwrap().to_owned();
    let answer = bot_messages(&app, &visitor, &english).await.remove(0);
    assert_eq!(answer["meta"]["articles"][0]["id"], shipping_en.as_str());
    assert!(answer["body"]
        .as_str()
        .unwrap()
        .contains("Did this solve it?"));
    let labels: Vec<&str> = answer["meta"]["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Yes", "No"]);
    // Written in English without a widget locale: English too.
    let guessed = app.start(&visitor, "How much is shipping to Osaka?").await;
    let reply = bot_messages(&app, &visitor, &guessed).await.remove(0);
    assert!(reply["body"]
        .as_str()
        .unwrap()
        .contains("Did this solve it?"));
    let bad = app
        .post(
            "/widget/v1/conversations",
            &json!({"body": "x", "locale": "fr"}),
        )
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
