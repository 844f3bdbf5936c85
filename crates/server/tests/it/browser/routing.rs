//! Teams and routing in a real browser: an admin makes a team and a rule (on words and the
//! category) in the admin, a customer's message is classified and routed by it, and the inbox
//! shows the team, the category and how it was chosen, and the rule's note on the timeline; the
//! agent corrects the category.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_up_routing_and_the_inbox_shows_it() {
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
    let profiles = std::env::temp_dir().join(format!("mdg-routing-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("lead")).await;
    log_in(&client, &app, "lead@example.jp").await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();
    client
        .goto(&format!("{}/admin#routing", app.url))
        .await
        .unwrap();
    client.refresh().await.unwrap();
    let name = client
        .wait()
        .for_element(Locator::Css("#team-form input"))
        .await
        .unwrap();
    eventually(
        "the categories are shown, classified by keywords",
        || async {
            scroll_to(&client, false, "#classifier-method").await;
            let text = page_text(&client, ".admin-page section.card:nth-of-type(5)").await;
            text.contains("キーワードで分類中")
        },
    )
    .await;
    let lines: String = client
        .execute(
            "return document.querySelector('#categories-form textarea').value",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(lines.starts_with("注文・配送: 注文, 配送"), "{lines}");
    assert!(lines.ends_with("\nその他"), "{lines}");
    scroll_to(&client, false, "#categories-form button").await;
    save_screenshot(&client, "admin-categories").await;
    client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    name.send_keys("返品チーム").await.unwrap();
    click_settled(&client, "#team-form fieldset.members input[type=checkbox]").await;
    click_settled(&client, "#team-form button[type=submit]").await;
    eventually("the team is listed", || async {
        page_text(&client, ".admin-page")
            .await
            .contains("返品チーム")
    })
    .await;
    // An SLA policy: normal priority answered within 30 business minutes.
    client
        .find(Locator::Css("#sla-form input"))
        .await
        .unwrap()
        .send_keys("標準")
        .await
        .unwrap();
    let normal_first: String = client
        .execute(
            "const l = Array.from(document.querySelectorAll('#sla-form label')).find(l => l.textContent.startsWith('通常 · 初回応答')); return l.htmlFor;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    client
        .find(Locator::Id(&normal_first))
        .await
        .unwrap()
        .send_keys("30")
        .await
        .unwrap();
    click_settled(&client, "#sla-form button[type=submit]").await;
    eventually("the policy is listed", || async {
        scroll_to(
            &client,
            false,
            ".admin-page section.card:nth-of-type(4) table",
        )
        .await;
        page_text(&client, ".admin-page section.card:nth-of-type(4)")
            .await
            .contains("初回応答 30分")
    })
    .await;
    save_screenshot(&client, "admin-sla").await;
    // The rule: returns go to the team, handed out in turn, high priority.
    let field = |label: &'static str| {
        let client = client.clone();
        async move {
            let id: String = client
                .execute(
                    "const l = Array.from(document.querySelectorAll('#rule-form label')).find(l => l.textContent.trim() === arguments[0]); return l ? l.htmlFor : '';",
                    vec![json!(label)],
                )
                .await
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned();
            assert!(!id.is_empty(), "no field {label}");
            client.find(Locator::Id(&id)).await.unwrap()
        }
    };
    eventually("the team can be picked", || async {
        client
            .execute(
                "return Array.from(document.querySelectorAll('#rule-form select option')).some(o => o.textContent === '返品チーム')",
                vec![],
            )
            .await
            .unwrap()
            == json!(true)
    })
    .await;
    field("名前").await.send_keys("返品").await.unwrap();
    field("メッセージに含む語（カンマ区切り、どれか1つ）")
        .await
        .send_keys("返品, 交換")
        .await
        .unwrap();
    field("チームに振り分け")
        .await
        .select_by_label("返品チーム")
        .await
        .unwrap();
    field("チーム内の担当者を決める")
        .await
        .select_by_label("順番に（ラウンドロビン）")
        .await
        .unwrap();
    field("分類")
        .await
        .select_by_label("返品・交換")
        .await
        .unwrap();
    field("優先度").await.select_by_label("高").await.unwrap();
    field("SLAを適用")
        .await
        .select_by_label("標準")
        .await
        .unwrap();
    click_settled(&client, "#rule-form button[type=submit]").await;
    eventually("the rule is listed in words", || async {
        scroll_to(
            &client,
            false,
            ".admin-page section.card:nth-of-type(6) table",
        )
        .await;
        let text = page_text(&client, ".admin-page section.card:nth-of-type(6)").await;
        text.contains("語: 返品・交換")
            && text.contains("分類: 返品・交換")
            && text.contains("チームに振り分け: 返品チーム")
            && text.contains("SLA: 標準")
    })
    .await;
    save_screenshot(&client, "admin-routing").await;

    // A customer asks for a return while the lead has the inbox open: it is theirs.
    client.goto(&format!("{}/inbox", app.url)).await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();
    let visitor = app.visitor().await;
    let id = app
        .start(&visitor, "サイズが合わないので返品したいです")
        .await;
    client
        .goto(&format!("{}/inbox#conversation={id}", app.url))
        .await
        .unwrap();
    client.refresh().await.unwrap();
    eventually("the rule's note is on the timeline", || async {
        page_text(&client, "#messages")
            .await
            .contains("ルール「返品」: チーム「返品チーム」")
    })
    .await;
    let team: String = client
        .execute(
            "const s = document.getElementById('team'); return s.options[s.selectedIndex].textContent",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(team, "返品チーム");
    let priority: String = client
        .execute("return document.getElementById('priority').value", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(priority, "high");
    let category = |client: Client| async move {
        client
            .execute(
                "return [document.getElementById('category').value, document.getElementById('category-source').textContent]",
                vec![],
            )
            .await
            .unwrap()
    };
    let shown = category(client.clone()).await;
    assert_eq!(shown[0], "返品・交換");
    assert!(
        shown[1]
            .as_str()
            .unwrap()
            .starts_with("キーワードで分類・確度"),
        "{shown}"
    );
    save_screenshot(&client, "inbox-routed").await;
    // The agent corrects it: a training example, shown as their choice.
    client
        .find(Locator::Id("category"))
        .await
        .unwrap()
        .select_by_label("商品の質問")
        .await
        .unwrap();
    eventually("the correction is saved", || async {
        category(client.clone()).await == json!(["商品の質問", "担当者が選択"])
    })
    .await;
    let stored = app
        .get_json(&lead, &format!("/api/v1/conversations/{id}"))
        .await;
    assert_eq!(stored["category_source"], "agent");
    client.close().await.unwrap();
}
