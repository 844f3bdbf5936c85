//! Search in a real browser: an agent types a customer's words in another form into the inbox's
//! search box, sees the hits over all history with the matches marked (and markup in a message
//! shown as text), and opens the conversation at the matching message — on a desktop and a
//! phone.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_searches_all_history_and_opens_the_match() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let lead = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let visitor = app.visitor().await;
    let old = app
        .start(&visitor, "去年の春に買った電気ケトルの件です")
        .await;
    app.reply(
        &lead,
        &old,
        "ご連絡ありがとうございます。状況を教えてください",
        false,
    )
    .await;
    app.reply_as_visitor(
        &visitor,
        &old,
        "スイッチを入れても<b>お湯が沸かない</b>んです",
    )
    .await;
    app.patch(
        &format!("/api/v1/conversations/{old}"),
        &json!({"status": "resolved"}),
    )
    .bearer_auth(&lead.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    app.start(&app.visitor().await, "送料について教えてください")
        .await;

    let profiles = std::env::temp_dir().join(format!("mdg-search-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("lead")).await;
    log_in(&client, &app, "lead@example.jp").await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();
    let search = client.find(Locator::Id("search")).await.unwrap();
    search.send_keys("沸きません\u{E007}").await.unwrap();
    eventually("the hit is listed with its match marked", || async {
        client
            .execute(
                "const m = document.querySelector('#conversation-list .result mark'); return m ? m.textContent : ''",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .is_some_and(|m| !m.is_empty())
    })
    .await;
    let shown: Value = client
        .execute(
            "const r = document.querySelector('#conversation-list .result'); \
             return [document.querySelectorAll('#conversation-list .result').length, r.querySelector('.snippet').textContent, \
                     document.querySelectorAll('#conversation-list .result b').length, document.querySelector('.search-note').textContent]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown[0], 1, "{shown}");
    assert!(
        shown[1].as_str().unwrap().contains("<b>お湯が沸かない</b>"),
        "markup stays text: {shown}"
    );
    assert_eq!(shown[2], 0, "no element made from a customer's markup");
    assert!(shown[3].as_str().unwrap().contains("1件"), "{shown}");
    save_screenshot(&client, "inbox-search").await;
    click_settled(&client, "#conversation-list .result").await;
    eventually("the conversation opens at the matching message", || async {
        client
            .execute(
                "const m = document.querySelector('#messages .msg.found'); return m ? m.dataset.seq : ''",
                vec![],
            )
            .await
            .unwrap()
            == json!("3")
    })
    .await;
    save_screenshot(&client, "inbox-search-opened").await;
    client.set_window_size(390, 844).await.unwrap();
    scroll_to(&client, false, "#conversation-list").await;
    save_screenshot(&client, "inbox-search-phone").await;
    client.close().await.unwrap();
}
