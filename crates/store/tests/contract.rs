//! The store's contract: every test runs on SQLite and on PostgreSQL.

use std::collections::HashSet;

use madoguchi_core::agent::{Email, Role};
use madoguchi_core::conversation::{ConversationStatus, Priority};
use madoguchi_core::message::{ClientId, MessageBody, SenderKind};
use madoguchi_store::agents::{NewAgent, TokenKind};
use madoguchi_store::audit::{AuditEntry, AuditKey};
use madoguchi_store::brands::BrandFields;
use madoguchi_store::contacts::{ContactPatch, IDENTITY_EMAIL, IDENTITY_USER, IDENTITY_VISITOR};
use madoguchi_store::conversations::{
    AssigneeFilter, ConversationFilter, ConversationPatch, NewConversation,
};
use madoguchi_store::jobs::{JobChanges, JobSpec, NO_JOBS};
use madoguchi_store::knowledge::NewBotTurn;
use madoguchi_store::messages::NewMessage;
use madoguchi_store::templates::TemplateFields;
use madoguchi_store::testing::TestDatabase;
use madoguchi_store::workspaces::ChannelField;
use madoguchi_store::{now_ms, Backend, Store, StoreError};

/// Runs each named test function once per backend.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
                super::$name(db.store().await, &db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = TestDatabase::create(Backend::Postgres).await {
                    super::$name(db.store().await, &db).await;
                }
            }
        }
    )*};
}

contract!(
    workspaces_and_channels,
    agents_and_tokens,
    visitor_contacts_and_identities,
    messages_are_sequenced_and_notes_hidden,
    client_id_makes_sending_idempotent,
    concurrent_appends_get_distinct_seq,
    status_rules_on_resolve_and_customer_reply,
    conversation_filters,
    patch_rejects_agents_of_other_workspaces,
    audit_chain_detects_tampering,
    keyed_audit_chain_survives_no_rewrite_without_the_key,
    erasure_redacts_the_audit_log_and_the_chain_still_verifies,
    data_survives_reconnect,
    templates_tags_and_channel_settings,
    job_queue_dedupes_leases_and_retries,
    a_message_and_its_jobs_commit_together,
    summaries_show_the_customer_and_the_newest_visible_message,
    concurrent_claimers_never_share_a_job,
    waiting_and_notification_state,
    knowledge_base_and_bot_turns,
    a_channel_moved_to_a_brand_takes_its_conversations_along,
);

struct Fixture {
    workspace: String,
    channel: String,
    contact: String,
}

async fn fixture(store: &Store) -> Fixture {
    let workspace = store.create_workspace("Shop").await.unwrap();
    let channel = store
        .create_channel(&workspace.id, "widget", "Web")
        .await
        .unwrap();
    let contact = store
        .identified_contact(
            &workspace.id,
            IDENTITY_VISITOR,
            &format!("hash-{}", uuid_like()),
        )
        .await
        .unwrap();
    Fixture {
        workspace: workspace.id,
        channel: channel.id,
        contact: contact.id,
    }
}

fn uuid_like() -> String {
    madoguchi_store::new_id()
}

fn body(text: &str) -> MessageBody {
    MessageBody::parse(text).unwrap()
}

async fn agent(store: &Store, workspace: &str, email: &str) -> String {
    store
        .create_agent(NewAgent {
            workspace_id: workspace,
            email: &Email::parse(email).unwrap(),
            name: "担当者",
            role: Role::Agent,
            password_hash: "not-a-real-hash",
        })
        .await
        .unwrap()
        .id
}

async fn start(store: &Store, f: &Fixture, text: &str) -> String {
    store
        .start_conversation(NewConversation {
            id: &madoguchi_store::new_id(),
            workspace_id: &f.workspace,
            channel_id: &f.channel,
            contact_id: &f.contact,
            body: &body(text),
            client_id: None,
            handed_over: false,
            locale: None,
            subject: None,
            meta: None,
            status: ConversationStatus::Open,
            agent: None,
            jobs: &NO_JOBS,
            at: now_ms(),
        })
        .await
        .unwrap()
        .conversation
        .id
}

fn message<'a>(
    f: &'a Fixture,
    conversation: &'a str,
    kind: SenderKind,
    sender: &'a str,
    text: &'a MessageBody,
) -> NewMessage<'a> {
    NewMessage {
        workspace_id: &f.workspace,
        conversation_id: conversation,
        sender_kind: kind,
        sender_id: sender,
        body: text,
        private: false,
        client_id: None,
        meta: None,
        sender_name: None,
        jobs: &NO_JOBS,
        at: now_ms(),
    }
}

async fn workspaces_and_channels(store: Store, _db: &TestDatabase) {
    let ws = store.create_workspace("窓口商店").await.unwrap();
    assert_eq!(ws.time_zone, "Asia/Tokyo");
    assert_eq!(store.first_workspace().await.unwrap().unwrap().id, ws.id);
    let channel = store.create_channel(&ws.id, "widget", "Web").await.unwrap();
    assert!(channel.public_key.starts_with("ch_"));
    assert_eq!(
        store.channel_by_key(&channel.public_key).await.unwrap(),
        channel
    );
    assert!(matches!(
        store.channel_by_key("ch_nope").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.channels(&ws.id).await.unwrap(), vec![channel]);
}

async fn agents_and_tokens(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let id = agent(&store, &f.workspace, "Sato@Example.jp").await;
    let dup = store
        .create_agent(NewAgent {
            workspace_id: &f.workspace,
            email: &Email::parse("sato@example.jp").unwrap(),
            name: "x",
            role: Role::Admin,
            password_hash: "h",
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let by_email = store
        .agent_by_email(&Email::parse("SATO@example.jp").unwrap())
        .await
        .unwrap();
    assert_eq!(by_email.id, id);
    let other = store.create_workspace("Other").await.unwrap();
    assert!(matches!(
        store.agent(&other.id, &id).await,
        Err(StoreError::NotFound)
    ));

    store
        .create_token(
            &id,
            "live",
            TokenKind::Session,
            Some("csrf"),
            None,
            now_ms(),
        )
        .await
        .unwrap();
    let grant = store.token_grant("live", now_ms(), 0).await.unwrap();
    assert_eq!(
        (
            grant.agent.id.as_str(),
            grant.kind,
            grant.csrf_hash.as_deref()
        ),
        (id.as_str(), TokenKind::Session, Some("csrf"))
    );
    store
        .create_token(&id, "expired", TokenKind::Api, None, Some(1), now_ms())
        .await
        .unwrap();
    assert!(matches!(
        store.token_grant("expired", now_ms(), 0).await,
        Err(StoreError::NotFound)
    ));
    // Idle expiry: a token unused since before `idle_since` no longer works.
    assert!(matches!(
        store.token_grant("live", now_ms(), now_ms() + 1).await,
        Err(StoreError::NotFound)
    ));
    store.touch_token("live", now_ms() + 10_000).await.unwrap();
    assert!(store
        .token_grant("live", now_ms(), now_ms() + 1)
        .await
        .is_ok());
    // A disabled agent's tokens do not work; ending them returns their hashes.
    store
        .create_token(&id, "second", TokenKind::Api, None, None, now_ms())
        .await
        .unwrap();
    store
        .set_agent_disabled(&f.workspace, &id, Some(now_ms()))
        .await
        .unwrap();
    assert!(matches!(
        store.token_grant("second", now_ms(), 0).await,
        Err(StoreError::NotFound)
    ));
    store
        .set_agent_disabled(&f.workspace, &id, None)
        .await
        .unwrap();
    assert!(store.token_grant("second", now_ms(), 0).await.is_ok());
    let ended = store.end_tokens(&id, Some("live")).await.unwrap();
    assert!(
        ended.contains(&"second".to_owned()) && !ended.contains(&"live".to_owned()),
        "{ended:?}"
    );
    store.delete_token("live").await.unwrap();
    assert!(matches!(
        store.token_grant("live", now_ms(), 0).await,
        Err(StoreError::NotFound)
    ));
}

async fn visitor_contacts_and_identities(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let contact = store
        .identified_contact(&f.workspace, IDENTITY_VISITOR, "token-hash-a")
        .await
        .unwrap();
    let found = store
        .contact_by_identity(&f.workspace, IDENTITY_VISITOR, "token-hash-a")
        .await
        .unwrap();
    assert_eq!(found.id, contact.id);
    let again = store
        .identified_contact(&f.workspace, IDENTITY_VISITOR, "token-hash-a")
        .await
        .unwrap();
    assert_eq!(again.id, contact.id, "an identity names one contact");
    // Two first writes at once (two tabs of a signed-in customer) end up with one contact.
    let (a, b) = tokio::join!(
        store.identified_contact(&f.workspace, IDENTITY_USER, "shop-user-42"),
        store.identified_contact(&f.workspace, IDENTITY_USER, "shop-user-42"),
    );
    assert_eq!(a.unwrap().id, b.unwrap().id);
    let other = store.create_workspace("Other").await.unwrap();
    assert!(matches!(
        store
            .contact_by_identity(&other.id, IDENTITY_VISITOR, "token-hash-a")
            .await,
        Err(StoreError::NotFound)
    ));
    let patch = ContactPatch {
        name: Some("山田 花子".into()),
        email: Some("hanako@example.jp".into()),
        phone: None,
    };
    let updated = store
        .update_contact(&f.workspace, &contact.id, &patch)
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("山田 花子"));
    assert_eq!(updated.email.as_deref(), Some("hanako@example.jp"));
    let identities = store
        .contact_identities(&f.workspace, &contact.id)
        .await
        .unwrap();
    let kinds: Vec<(&str, &str)> = identities
        .iter()
        .map(|i| (i.kind.as_str(), i.value.as_str()))
        .collect();
    assert!(
        kinds.contains(&(IDENTITY_VISITOR, "")),
        "visitor hash must not be exposed: {kinds:?}"
    );
    assert!(kinds.contains(&(IDENTITY_EMAIL, "hanako@example.jp")));
    assert!(matches!(
        store.update_contact(&other.id, &contact.id, &patch).await,
        Err(StoreError::NotFound)
    ));
}

async fn messages_are_sequenced_and_notes_hidden(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let agent_id = agent(&store, &f.workspace, "a@example.jp").await;
    let conv = start(&store, &f, "返品したいです").await;
    let note_body = body("社内メモ");
    let mut note = message(&f, &conv, SenderKind::Agent, &agent_id, &note_body);
    note.private = true;
    let appended = store.append_message(&note).await.unwrap();
    assert_eq!(appended.message.seq, 2);
    assert_eq!(
        appended.conversation.first_agent_response_at, None,
        "a note is not a response"
    );
    let reply_body = body("承知しました");
    let reply = store
        .append_message(&message(
            &f,
            &conv,
            SenderKind::Agent,
            &agent_id,
            &reply_body,
        ))
        .await
        .unwrap();
    assert_eq!(reply.message.seq, 3);
    assert!(reply.conversation.first_agent_response_at.is_some());
    assert_eq!(reply.conversation.last_seq, 3);

    let all = store.messages_after(&conv, 0, true, 100).await.unwrap();
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    let public = store.messages_after(&conv, 0, false, 100).await.unwrap();
    assert_eq!(
        public.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        vec!["返品したいです", "承知しました"]
    );
    let after = store.messages_after(&conv, 2, true, 100).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].seq, 3);

    let other = store.create_workspace("Other").await.unwrap();
    let stranger = NewMessage {
        workspace_id: &other.id,
        ..message(&f, &conv, SenderKind::Agent, &agent_id, &reply_body)
    };
    assert!(matches!(
        store.append_message(&stranger).await,
        Err(StoreError::NotFound)
    ));
}

async fn client_id_makes_sending_idempotent(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let client_id = ClientId::parse("c-1").unwrap();
    let first_body = body("はじめまして");
    let new = NewConversation {
        id: &madoguchi_store::new_id(),
        workspace_id: &f.workspace,
        channel_id: &f.channel,
        contact_id: &f.contact,
        body: &first_body,
        client_id: Some(&client_id),
        handed_over: false,
        locale: None,
        subject: None,
        meta: None,
        status: ConversationStatus::Open,
        agent: None,
        jobs: &NO_JOBS,
        at: now_ms(),
    };
    let first = store.start_conversation(new).await.unwrap();
    let (conv_a, msg_a) = (first.conversation, first.message);
    assert!(first.created);
    let second_id = madoguchi_store::new_id();
    let again = NewConversation {
        client_id: Some(&client_id),
        ..NewConversation {
            id: &second_id,
            workspace_id: &f.workspace,
            channel_id: &f.channel,
            contact_id: &f.contact,
            body: &first_body,
            client_id: None,
            handed_over: false,
            locale: None,
            subject: None,
            meta: None,
            status: ConversationStatus::Open,
            agent: None,
            jobs: &NO_JOBS,
            at: now_ms(),
        }
    };
    let replay = store.start_conversation(again).await.unwrap();
    assert!(!replay.created);
    let (conv_b, msg_b) = (replay.conversation, replay.message);
    assert_eq!(
        (conv_a.id.as_str(), msg_a.id.as_str()),
        (conv_b.id.as_str(), msg_b.id.as_str())
    );

    let second_id = ClientId::parse("c-2").unwrap();
    let text = body("二通目");
    let mut send = message(&f, &conv_a.id, SenderKind::Contact, &f.contact, &text);
    send.client_id = Some(&second_id);
    let one = store.append_message(&send).await.unwrap();
    let two = store.append_message(&send).await.unwrap();
    assert!(one.created && !two.created);
    assert_eq!(one.message.id, two.message.id);

    // Concurrent retries of one client id produce one message.
    let racing_id = ClientId::parse("c-race").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, ws, conv, contact, racing_id) = (
            store.clone(),
            f.workspace.clone(),
            conv_a.id.clone(),
            f.contact.clone(),
            racing_id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let text = body("同時送信");
            let new = NewMessage {
                workspace_id: &ws,
                conversation_id: &conv,
                sender_kind: SenderKind::Contact,
                sender_id: &contact,
                body: &text,
                private: false,
                client_id: Some(&racing_id),
                meta: None,
                sender_name: None,
                jobs: &NO_JOBS,
                at: now_ms(),
            };
            store.append_message(&new).await.unwrap().message.id
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }
    assert_eq!(ids.len(), 1);
    let all = store
        .messages_after(&conv_a.id, 0, true, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 3, "start + c-2 + c-race");

    // The same client id in another conversation is a conflict, not a silent redirect.
    let conv_c = start(&store, &f, "別件").await;
    let mut elsewhere = message(&f, &conv_c, SenderKind::Contact, &f.contact, &text);
    elsewhere.client_id = Some(&second_id);
    assert!(matches!(
        store.append_message(&elsewhere).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn concurrent_appends_get_distinct_seq(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let conv = start(&store, &f, "start").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (store, ws, conv, contact) = (
            store.clone(),
            f.workspace.clone(),
            conv.clone(),
            f.contact.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let text = body(&format!("message {i}"));
            let new = NewMessage {
                workspace_id: &ws,
                conversation_id: &conv,
                sender_kind: SenderKind::Contact,
                sender_id: &contact,
                body: &text,
                private: false,
                client_id: None,
                meta: None,
                sender_name: None,
                jobs: &NO_JOBS,
                at: now_ms(),
            };
            store.append_message(&new).await.unwrap().message.seq
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (2..=21).collect::<Vec<_>>());
}

async fn status_rules_on_resolve_and_customer_reply(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let conv = start(&store, &f, "質問です").await;
    let resolved = store
        .update_conversation(
            &f.workspace,
            &conv,
            &ConversationPatch {
                status: Some(ConversationStatus::Resolved),
                ..Default::default()
            },
            "system",
            &NO_JOBS,
            now_ms(),
        )
        .await
        .unwrap();
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    assert!(resolved.resolved_at.is_some());
    let text = body("もう一つ質問");
    let reopened = store
        .append_message(&message(&f, &conv, SenderKind::Contact, &f.contact, &text))
        .await
        .unwrap();
    assert_eq!(reopened.conversation.status, ConversationStatus::Open);
    assert_eq!(reopened.conversation.resolved_at, None);
    assert_eq!(
        store
            .conversation(&f.workspace, &conv)
            .await
            .unwrap()
            .status,
        ConversationStatus::Open
    );
}

async fn conversation_filters(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let me = agent(&store, &f.workspace, "me@example.jp").await;
    let first = start(&store, &f, "配送について").await;
    let second = start(&store, &f, "返品について 100%").await;
    let web2 = store
        .create_channel(&f.workspace, "widget", "Web 2")
        .await
        .unwrap();
    let third = store
        .start_conversation(NewConversation {
            id: &madoguchi_store::new_id(),
            workspace_id: &f.workspace,
            channel_id: &web2.id,
            contact_id: &f.contact,
            body: &body("third"),
            client_id: None,
            handed_over: false,
            locale: None,
            subject: None,
            meta: None,
            status: ConversationStatus::Open,
            agent: None,
            jobs: &NO_JOBS,
            at: now_ms(),
        })
        .await
        .unwrap()
        .conversation
        .id;
    let patch = ConversationPatch {
        assignee_id: Some(Some(me.clone())),
        priority: Some(Priority::High),
        tags: Some(vec!["返品".into(), "vip".into()]),
        ..Default::default()
    };
    let patched = store
        .update_conversation(
            &f.workspace,
            &second,
            &patch,
            "agent:me",
            &NO_JOBS,
            now_ms(),
        )
        .await
        .unwrap();
    assert_eq!(patched.tags, vec!["vip".to_string(), "返品".to_string()]);
    assert_eq!(patched.priority, Priority::High);
    store
        .update_conversation(
            &f.workspace,
            &first,
            &ConversationPatch {
                status: Some(ConversationStatus::Pending),
                ..Default::default()
            },
            "agent:me",
            &NO_JOBS,
            now_ms(),
        )
        .await
        .unwrap();

    let ids = |list: Vec<madoguchi_store::conversations::Conversation>| {
        list.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    let all = ConversationFilter {
        limit: 50,
        ..Default::default()
    };
    assert_eq!(
        ids(store.conversations(&f.workspace, &all).await.unwrap()).len(),
        3
    );
    let mine = ConversationFilter {
        assignee: AssigneeFilter::Agent(me.clone()),
        ..all.clone()
    };
    assert_eq!(
        ids(store.conversations(&f.workspace, &mine).await.unwrap()),
        vec![second.clone()]
    );
    let unassigned = ConversationFilter {
        assignee: AssigneeFilter::Unassigned,
        ..all.clone()
    };
    assert_eq!(
        ids(store
            .conversations(&f.workspace, &unassigned)
            .await
            .unwrap())
        .len(),
        2
    );
    let pending = ConversationFilter {
        status: Some(ConversationStatus::Pending),
        ..all.clone()
    };
    assert_eq!(
        ids(store.conversations(&f.workspace, &pending).await.unwrap()),
        vec![first.clone()]
    );
    let tagged = ConversationFilter {
        tag: Some("返品".into()),
        ..all.clone()
    };
    assert_eq!(
        ids(store.conversations(&f.workspace, &tagged).await.unwrap()),
        vec![second.clone()]
    );
    let channel = ConversationFilter {
        channel_id: Some(web2.id.clone()),
        ..all.clone()
    };
    assert_eq!(
        ids(store.conversations(&f.workspace, &channel).await.unwrap()),
        vec![third.clone()]
    );
    let words = ConversationFilter {
        q: Some("配送".into()),
        ..all.clone()
    };
    assert_eq!(
        ids(store.conversations(&f.workspace, &words).await.unwrap()),
        vec![first.clone()]
    );
    let percent = ConversationFilter {
        q: Some("100%".into()),
        ..all.clone()
    };
    assert_eq!(
        ids(store.conversations(&f.workspace, &percent).await.unwrap()),
        vec![second.clone()]
    );
    let literal = ConversationFilter {
        q: Some("%".into()),
        ..all.clone()
    };
    assert_eq!(
        ids(store.conversations(&f.workspace, &literal).await.unwrap()),
        vec![second.clone()]
    );
    let limited = ConversationFilter {
        limit: 2,
        ..all.clone()
    };
    assert_eq!(
        ids(store.conversations(&f.workspace, &limited).await.unwrap()).len(),
        2
    );
    let other = store.create_workspace("Other").await.unwrap();
    assert!(store
        .conversations(&other.id, &all)
        .await
        .unwrap()
        .is_empty());
    let counts = store.conversation_counts(&f.workspace).await.unwrap();
    assert!(
        counts.contains(&(ConversationStatus::Open, 2))
            && counts.contains(&(ConversationStatus::Pending, 1)),
        "{counts:?}"
    );
}

async fn patch_rejects_agents_of_other_workspaces(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let conv = start(&store, &f, "hello").await;
    let other = store.create_workspace("Other").await.unwrap();
    let outsider = agent(&store, &other.id, "out@example.jp").await;
    let patch = ConversationPatch {
        assignee_id: Some(Some(outsider)),
        ..Default::default()
    };
    let result = store
        .update_conversation(&f.workspace, &conv, &patch, "agent:x", &NO_JOBS, now_ms())
        .await;
    assert!(
        matches!(result, Err(StoreError::InvalidReference(_))),
        "{result:?}"
    );
    assert!(matches!(
        store
            .update_conversation(
                &other.id,
                &conv,
                &ConversationPatch::default(),
                "agent:x",
                &NO_JOBS,
                now_ms(),
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .conversation(&f.workspace, &conv)
            .await
            .unwrap()
            .assignee_id,
        None
    );
}

async fn audit_chain_detects_tampering(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    for action in ["auth.login", "auth.login_failed", "agent.created"] {
        store
            .record_audit(&AuditEntry {
                workspace_id: &f.workspace,
                actor: "system",
                action,
                target: "x",
                detail: &serde_json::json!({"ip": "127.0.0.1"}),
            })
            .await
            .unwrap();
    }
    let conv = start(&store, &f, "hi").await;
    store
        .update_conversation(
            &f.workspace,
            &conv,
            &ConversationPatch {
                status: Some(ConversationStatus::Resolved),
                ..Default::default()
            },
            "agent:1",
            &NO_JOBS,
            now_ms(),
        )
        .await
        .unwrap();
    let check = store.verify_audit_chain(&f.workspace).await.unwrap();
    assert_eq!((check.events, check.first_broken_seq), (4, None));
    let events = store.audit_events(&f.workspace).await.unwrap();
    assert_eq!(events[3].action, "conversation.updated");
    assert_eq!(events[1].prev_hash, events[0].hash);

    store
        .execute_unchecked("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2")
        .await
        .unwrap();
    assert_eq!(
        store
            .verify_audit_chain(&f.workspace)
            .await
            .unwrap()
            .first_broken_seq,
        Some(2)
    );
    store
        .execute_unchecked("UPDATE audit_events SET actor = 'system' WHERE seq = 2")
        .await
        .unwrap();
    assert_eq!(
        store
            .verify_audit_chain(&f.workspace)
            .await
            .unwrap()
            .first_broken_seq,
        None
    );
    store
        .execute_unchecked("DELETE FROM audit_events WHERE seq = 4")
        .await
        .unwrap();
    assert_eq!(
        store
            .verify_audit_chain(&f.workspace)
            .await
            .unwrap()
            .first_broken_seq,
        Some(-1)
    );
}

/// An erasure empties the detail of the events about the contact and vouches for their hashes
/// in a sealed tombstone: the chain verifies. A redaction the tombstone does not vouch for, or
/// a forged tombstone, breaks it.
async fn erasure_redacts_the_audit_log_and_the_chain_still_verifies(
    store: Store,
    _db: &TestDatabase,
) {
    let store = store.with_audit_key(AuditKey::new([9; 32], now_ms() - 1));
    let f = fixture(&store).await;
    record_logins(&store, &f.workspace, "agent:1", 1).await;
    let conv = start(&store, &f, "私の住所は東京都千代田区1-1です").await;
    store
        .record_audit(&AuditEntry {
            workspace_id: &f.workspace,
            actor: &format!("contact:{}", f.contact),
            action: "message.reported",
            target: &conv,
            detail: &serde_json::json!({"body": "私の住所は東京都千代田区1-1です"}),
        })
        .await
        .unwrap();
    record_logins(&store, &f.workspace, "agent:1", 1).await;
    let erased = store
        .erase_contact(&f.workspace, &f.contact, "agent:1")
        .await
        .unwrap();
    assert_eq!((erased.messages, erased.redacted_events), (1, 1));
    let events = store.audit_events(&f.workspace).await.unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[1].detail, madoguchi_store::audit::ERASED_DETAIL);
    assert_eq!(events[3].action, "contact.erased");
    assert!(events.iter().all(|e| !e.detail.contains("千代田")));
    let check = store.verify_audit_chain(&f.workspace).await.unwrap();
    assert_eq!((check.events, check.first_broken_seq), (4, None));
    let contact = store.contact(&f.workspace, &f.contact).await.unwrap();
    assert!(contact.erased_at.is_some() && contact.name.is_none());
    assert!(store.all_messages(&conv).await.unwrap().is_empty());

    // Emptying another event's detail is not vouched for.
    store
        .execute_unchecked(&format!(
            "UPDATE audit_events SET detail = '{}' WHERE seq = 3",
            madoguchi_store::audit::ERASED_DETAIL
        ))
        .await
        .unwrap();
    let check = store.verify_audit_chain(&f.workspace).await.unwrap();
    assert_eq!(check.first_broken_seq, Some(3));
    // Nor does a tombstone written without the key vouch for it.
    let mut forged: serde_json::Value = serde_json::from_str(&events[3].detail).unwrap();
    forged["redacted"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!([3, events[2].hash]));
    store
        .execute_unchecked(&format!(
            "UPDATE audit_events SET detail = '{forged}' WHERE seq = 4"
        ))
        .await
        .unwrap();
    let check = store.verify_audit_chain(&f.workspace).await.unwrap();
    assert_eq!(check.first_broken_seq, Some(4));
}

async fn record_logins(store: &Store, workspace: &str, actor: &str, count: usize) {
    for _ in 0..count {
        store
            .record_audit(&AuditEntry {
                workspace_id: workspace,
                actor,
                action: "auth.login",
                target: "agent-1",
                detail: &serde_json::json!({"ip": "127.0.0.1"}),
            })
            .await
            .unwrap();
    }
}

/// Someone who can write the database but has not the key file rewrites the whole log
/// consistently (recomputing every plain hash, or sealing with a key of their own): the chain no
/// longer verifies. Events from before the key existed still do.
async fn keyed_audit_chain_survives_no_rewrite_without_the_key(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    record_logins(&store, &f.workspace, "system", 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let key = AuditKey::new([7; 32], now_ms());
    let key_id = key.id().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let keyed = store.clone().with_audit_key(key);
    record_logins(&keyed, &f.workspace, "agent:1", 2).await;
    let check = keyed.verify_audit_chain(&f.workspace).await.unwrap();
    assert_eq!(
        (check.events, check.unkeyed, check.first_broken_seq),
        (4, 2, None)
    );
    assert!(keyed.foreign_audit_keys().await.unwrap().is_empty());
    // Without the key, the keyed part cannot be checked.
    let unchecked = store.verify_audit_chain(&f.workspace).await.unwrap();
    assert_eq!(unchecked.first_broken_seq, Some(3));
    assert_eq!(unchecked.foreign_key.as_deref(), Some(key_id.as_str()));

    let rewrite = |sealer: Store| {
        let workspace = f.workspace.clone();
        async move {
            sealer
                .execute_unchecked("DELETE FROM audit_events")
                .await
                .unwrap();
            sealer
                .execute_unchecked("UPDATE workspaces SET audit_seq = 0, audit_head = ''")
                .await
                .unwrap();
            record_logins(&sealer, &workspace, "system", 4).await;
        }
    };
    // A plain chain, consistent in itself, dated after the key was made.
    rewrite(store.clone()).await;
    assert_eq!(
        store
            .verify_audit_chain(&f.workspace)
            .await
            .unwrap()
            .first_broken_seq,
        None
    );
    let forged = keyed.verify_audit_chain(&f.workspace).await.unwrap();
    assert_eq!((forged.first_broken_seq, forged.unkeyed), (Some(1), 0));
    // A chain sealed with another key: refused, and a node holding it would be told so.
    let other = store
        .clone()
        .with_audit_key(AuditKey::new([9; 32], now_ms()));
    let other_id = other.foreign_audit_keys().await.unwrap();
    assert!(other_id.is_empty(), "plain heads name no key: {other_id:?}");
    rewrite(other.clone()).await;
    let forged = keyed.verify_audit_chain(&f.workspace).await.unwrap();
    assert_eq!(forged.first_broken_seq, Some(1));
    assert_ne!(forged.foreign_key.as_deref(), Some(key_id.as_str()));
    assert_eq!(keyed.foreign_audit_keys().await.unwrap().len(), 1);
}

async fn data_survives_reconnect(store: Store, db: &TestDatabase) {
    let f = fixture(&store).await;
    let conv = start(&store, &f, "永続化").await;
    store.close().await;
    let reopened = db.store().await;
    let messages = reopened.messages_after(&conv, 0, true, 10).await.unwrap();
    assert_eq!(messages[0].body, "永続化");
}

async fn templates_tags_and_channel_settings(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let template = store
        .create_template(
            &f.workspace,
            &TemplateFields {
                name: "お礼",
                body: "{{contact.name}}様、ありがとうございます。",
                brand_id: None,
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_template(
                &f.workspace,
                &TemplateFields {
                    name: "お礼",
                    body: "x",
                    brand_id: None
                }
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.templates(&f.workspace).await.unwrap(),
        vec![template.clone()]
    );
    let other = store.create_workspace("Other").await.unwrap();
    assert!(store.templates(&other.id).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_template(&other.id, &template.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_template(&f.workspace, &template.id)
        .await
        .unwrap();
    assert!(store.templates(&f.workspace).await.unwrap().is_empty());

    let tag = store.create_tag(&f.workspace, "請求").await.unwrap();
    assert_eq!(
        store.create_tag(&f.workspace, "請求").await.unwrap().id,
        tag.id,
        "creating twice is harmless"
    );
    let conv = start(&store, &f, "請求書について").await;
    let patch = ConversationPatch {
        tags: Some(vec!["請求".into()]),
        ..Default::default()
    };
    store
        .update_conversation(&f.workspace, &conv, &patch, "agent:x", &NO_JOBS, now_ms())
        .await
        .unwrap();
    assert_eq!(store.tags(&f.workspace).await.unwrap()[0].conversations, 1);
    assert!(matches!(
        store.delete_tag(&other.id, &tag.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_tag(&f.workspace, &tag.id).await.unwrap();
    assert!(store
        .conversation(&f.workspace, &conv)
        .await
        .unwrap()
        .tags
        .is_empty());

    let channel = store
        .update_channel(
            &f.workspace,
            &f.channel,
            "Shop site",
            r##"{"color":"#0a7"}"##,
        )
        .await
        .unwrap();
    assert_eq!(
        (channel.name.as_str(), channel.settings.as_str()),
        ("Shop site", r##"{"color":"#0a7"}"##)
    );
    assert!(matches!(
        store.update_channel(&other.id, &f.channel, "x", "{}").await,
        Err(StoreError::NotFound)
    ));
}

async fn job_queue_dedupes_leases_and_retries(store: Store, _db: &TestDatabase) {
    let now = 1_000_000;
    assert!(store
        .enqueue_job("expect", "{}", now + 60_000, Some("expect:c1"), now)
        .await
        .unwrap());
    assert!(
        !store
            .enqueue_job("expect", "{}", now + 10, Some("expect:c1"), now)
            .await
            .unwrap(),
        "deduped while pending"
    );
    assert!(store
        .enqueue_job("notify", r#"{"n":1}"#, now, None, now)
        .await
        .unwrap());
    assert!(
        store
            .enqueue_job("notify", r#"{"n":2}"#, now, None, now)
            .await
            .unwrap(),
        "no key, no dedupe"
    );
    let due = store.claim_due_jobs(now, 10, 30_000).await.unwrap();
    assert_eq!(
        due.iter().map(|j| j.kind.as_str()).collect::<Vec<_>>(),
        vec!["notify", "notify"]
    );
    assert!(
        store
            .claim_due_jobs(now + 1, 10, 30_000)
            .await
            .unwrap()
            .is_empty(),
        "leased jobs are not claimed again"
    );
    let again = store
        .claim_due_jobs(now + 30_001, 10, 30_000)
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        2,
        "an expired lease (crashed worker) frees the job"
    );
    assert_eq!(again[0].attempts, 2);
    store
        .finish_job(&again[0].id, now + 30_002, None)
        .await
        .unwrap();
    store
        .retry_job(&again[1].id, now + 90_000, "smtp down")
        .await
        .unwrap();
    assert!(store.cancel_job("expect:c1", now).await.unwrap());
    assert!(
        store
            .claim_due_jobs(now + 89_999, 10, 1000)
            .await
            .unwrap()
            .is_empty(),
        "retry waits for its time"
    );
    assert!(!store.cancel_job("expect:c1", now).await.unwrap());
    assert!(
        store
            .enqueue_job("expect", "{}", now, Some("expect:c1"), now)
            .await
            .unwrap(),
        "a key is free again once done"
    );
    let pending = store.pending_jobs().await.unwrap();
    assert_eq!(pending.len(), 2);
    let retried = store.claim_due_jobs(now + 90_000, 10, 1000).await.unwrap();
    assert_eq!(retried.len(), 2);

    let secret = store.server_secret("link-key", "first").await.unwrap();
    assert_eq!(secret, "first");
    assert_eq!(
        store.server_secret("link-key", "second").await.unwrap(),
        "first",
        "a secret is created once"
    );
}

async fn concurrent_claimers_never_share_a_job(store: Store, _db: &TestDatabase) {
    for i in 0..40 {
        store
            .enqueue_job("work", &format!("{{\"i\":{i}}}"), 0, None, 0)
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let jobs = store.claim_due_jobs(10, 3, 60_000).await.unwrap();
                if jobs.is_empty() {
                    return mine;
                }
                mine.extend(jobs.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), distinct.len()), (40, 40));
}

async fn waiting_and_notification_state(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let agent_id = agent(&store, &f.workspace, "w@example.jp").await;
    let conv = start(&store, &f, "one").await;
    assert_eq!(
        store
            .conversation(&f.workspace, &conv)
            .await
            .unwrap()
            .waiting_since,
        Some(1)
    );
    let two = body("two");
    store
        .append_message(&message(&f, &conv, SenderKind::Contact, &f.contact, &two))
        .await
        .unwrap();
    assert_eq!(
        store
            .conversation(&f.workspace, &conv)
            .await
            .unwrap()
            .waiting_since,
        Some(1),
        "the wait started with the first"
    );
    // A contact writes only in their own conversations.
    let other = store
        .identified_contact(&f.workspace, IDENTITY_VISITOR, "hash-other-contact")
        .await
        .unwrap();
    let intruder = store
        .append_message(&message(&f, &conv, SenderKind::Contact, &other.id, &two))
        .await;
    assert!(
        matches!(intruder, Err(StoreError::NotFound)),
        "{intruder:?}"
    );
    let note_body = body("note");
    let mut note = message(&f, &conv, SenderKind::Agent, &agent_id, &note_body);
    note.private = true;
    store.append_message(&note).await.unwrap();
    assert_eq!(
        store
            .conversation(&f.workspace, &conv)
            .await
            .unwrap()
            .waiting_since,
        Some(1),
        "a note is not an answer"
    );
    let reply_body = body("reply");
    store
        .append_message(&message(
            &f,
            &conv,
            SenderKind::Agent,
            &agent_id,
            &reply_body,
        ))
        .await
        .unwrap();
    assert_eq!(
        store
            .conversation(&f.workspace, &conv)
            .await
            .unwrap()
            .waiting_since,
        None
    );
    let appended = store
        .append_message(&message(&f, &conv, SenderKind::Contact, &f.contact, &two))
        .await
        .unwrap();
    assert_eq!(appended.conversation.waiting_since, Some(5));
    assert_eq!(
        store
            .conversation(&f.workspace, &conv)
            .await
            .unwrap()
            .waiting_since,
        Some(5)
    );

    let replies = store.unnotified_replies(&conv).await.unwrap();
    assert_eq!(replies.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![4]);
    store.mark_notified(&conv, 4).await.unwrap();
    assert!(store.unnotified_replies(&conv).await.unwrap().is_empty());
    store.mark_notified(&conv, 2).await.unwrap();
    assert!(
        store.unnotified_replies(&conv).await.unwrap().is_empty(),
        "never moves backwards"
    );

    store
        .unsubscribe_contact(&f.workspace, &f.contact)
        .await
        .unwrap();
    assert!(store
        .contact(&f.workspace, &f.contact)
        .await
        .unwrap()
        .unsubscribed_at
        .is_some());
    store
        .add_identity(
            &f.workspace,
            &f.contact,
            IDENTITY_VISITOR,
            "second-token-hash",
        )
        .await
        .unwrap();
    let found = store
        .contact_by_identity(&f.workspace, IDENTITY_VISITOR, "second-token-hash")
        .await
        .unwrap();
    assert_eq!(found.id, f.contact);

    let with_scenario = store
        .set_channel_field(
            &f.workspace,
            &f.channel,
            ChannelField::Scenario,
            Some(r#"{"nodes":[]}"#),
        )
        .await
        .unwrap();
    assert_eq!(with_scenario.scenario, r#"{"nodes":[]}"#);
    store
        .count_scenario_click(&f.channel, "root")
        .await
        .unwrap();
    store
        .count_scenario_click(&f.channel, "root")
        .await
        .unwrap();
    store
        .count_scenario_click(&f.channel, "human")
        .await
        .unwrap();
    assert_eq!(
        store.scenario_clicks(&f.channel).await.unwrap(),
        vec![("human".to_string(), 1), ("root".to_string(), 2)]
    );
    let automation = store
        .set_channel_field(
            &f.workspace,
            &f.channel,
            ChannelField::Automation,
            Some(r#"{"locale":"en"}"#),
        )
        .await
        .unwrap();
    assert_eq!(automation.automation, r#"{"locale":"en"}"#);
    assert_eq!(
        store
            .channel(&f.workspace, &f.channel)
            .await
            .unwrap()
            .automation,
        r#"{"locale":"en"}"#
    );
}

async fn knowledge_base_and_bot_turns(store: Store, _db: &TestDatabase) {
    use madoguchi_store::knowledge::ArticleFields;
    let f = fixture(&store).await;
    let fields = ArticleFields {
        category: "配送".into(),
        locale: "ja".into(),
        status: "draft".into(),
        title: "送料はいくらですか".into(),
        body: "全国一律 **500円** です。".into(),
        alternatives: vec!["配送料金".into()],
        brand_id: None,
    };
    let article = store.create_article(&f.workspace, &fields).await.unwrap();
    assert!(
        store.articles(&f.workspace, true).await.unwrap().is_empty(),
        "drafts are not published"
    );
    let published = ArticleFields {
        status: "published".into(),
        alternatives: vec!["配送料金".into(), "送料無料".into()],
        ..fields
    };
    let updated = store
        .update_article(&f.workspace, &article.id, &published)
        .await
        .unwrap();
    assert_eq!(updated.alternatives, vec!["配送料金", "送料無料"]);
    assert_eq!(
        store.articles(&f.workspace, true).await.unwrap(),
        vec![updated.clone()]
    );
    let other = store.create_workspace("Other").await.unwrap();
    assert!(matches!(
        store.article(&other.id, &article.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .update_article(&other.id, &article.id, &published)
            .await,
        Err(StoreError::NotFound)
    ));

    store
        .set_synonym_groups(&f.workspace, &[vec!["返品".into(), "返却".into()]])
        .await
        .unwrap();
    assert_eq!(
        store.synonym_groups(&f.workspace).await.unwrap(),
        vec![vec!["返品".to_string(), "返却".to_string()]]
    );

    let conv = start(&store, &f, "送料は？").await;
    let turn = store
        .record_bot_turn(NewBotTurn {
            workspace_id: f.workspace.clone(),
            conversation_id: conv.clone(),
            query: "送料は？".into(),
            shown: "[]".into(),
            confidence: 870,
            outcome: "answered",
            at: now_ms(),
        })
        .await
        .unwrap();
    store
        .set_bot_outcome(&f.workspace, &turn.id, "resolved")
        .await
        .unwrap();
    store
        .review_bot_turn(&f.workspace, &turn.id, "correct")
        .await
        .unwrap();
    let second = store
        .record_bot_turn(NewBotTurn {
            workspace_id: f.workspace.clone(),
            conversation_id: conv.clone(),
            query: "返品".into(),
            shown: "[]".into(),
            confidence: 100,
            outcome: "answered",
            at: now_ms(),
        })
        .await
        .unwrap();
    store
        .set_bot_outcome(&f.workspace, &second.id, "not_resolved")
        .await
        .unwrap();
    assert!(matches!(
        store.review_bot_turn(&other.id, &second.id, "wrong").await,
        Err(StoreError::NotFound)
    ));
    let turns = store.bot_turns(&f.workspace, 10).await.unwrap();
    assert_eq!(turns.len(), 2);
    let counts = store
        .bot_day_counts(&f.workspace, 0, i64::MAX)
        .await
        .unwrap();
    let total = counts.iter().fold((0, 0, 0, 0), |a, d| {
        (
            a.0 + d.reviewed,
            a.1 + d.correct,
            a.2 + d.asked,
            a.3 + d.resolved,
        )
    });
    assert_eq!(total, (1, 1, 2, 1));
    store
        .rate_conversation(&f.workspace, &conv, 2, None, now_ms())
        .await
        .unwrap();
    store
        .rate_conversation(&f.workspace, &conv, 5, Some("丁寧でした"), now_ms())
        .await
        .unwrap();
    let counts = store
        .bot_day_counts(&f.workspace, 0, i64::MAX)
        .await
        .unwrap();
    let rated: (i64, i64) = counts
        .iter()
        .fold((0, 0), |a, d| (a.0 + d.rated, a.1 + d.satisfied));
    assert_eq!(rated, (1, 1), "the latest rating of a conversation counts");
    store
        .delete_article(&f.workspace, &article.id)
        .await
        .unwrap();
    assert!(matches!(
        store.delete_article(&f.workspace, &article.id).await,
        Err(StoreError::NotFound)
    ));
}

fn job(kind: &str, key: &str) -> JobSpec {
    JobSpec {
        kind: kind.into(),
        payload: "{}".into(),
        due_at: now_ms() + 60_000,
        dedupe_key: Some(key.into()),
    }
}

async fn pending_kinds(store: &Store) -> Vec<String> {
    let mut kinds: Vec<String> = store
        .pending_jobs()
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.kind)
        .collect();
    kinds.sort();
    kinds
}

async fn a_message_and_its_jobs_commit_together(store: Store, _db: &TestDatabase) {
    let f = fixture(&store).await;
    let expect = JobChanges {
        enqueue: vec![job("expect", "expect:x")],
        cancel: vec![],
    };
    let started = store
        .start_conversation(NewConversation {
            id: &madoguchi_store::new_id(),
            workspace_id: &f.workspace,
            channel_id: &f.channel,
            contact_id: &f.contact,
            body: &body("届きません"),
            client_id: None,
            handed_over: false,
            locale: None,
            subject: None,
            meta: None,
            status: ConversationStatus::Open,
            agent: None,
            jobs: &expect,
            at: now_ms(),
        })
        .await
        .unwrap();
    let conv = started.conversation.id;
    assert_eq!(pending_kinds(&store).await, ["expect"]);

    // A reply cancels one job and queues another, in its own transaction.
    let agent_id = agent(&store, &f.workspace, "a@example.jp").await;
    let reply = JobChanges {
        enqueue: vec![job("notify", "notify:x")],
        cancel: vec!["expect:x".into()],
    };
    let text = body("確認します");
    store
        .append_message(&NewMessage {
            jobs: &reply,
            at: now_ms(),
            ..message(&f, &conv, SenderKind::Agent, &agent_id, &text)
        })
        .await
        .unwrap();
    assert_eq!(pending_kinds(&store).await, ["notify"]);

    // A job that cannot be written takes its message down with it, and the reverse.
    store.refuse_jobs_of_kind("doomed").await.unwrap();
    let doomed = JobChanges {
        enqueue: vec![job("doomed", "doomed:x")],
        cancel: vec!["notify:x".into()],
    };
    let lost = body("消える");
    assert!(store
        .append_message(&NewMessage {
            jobs: &doomed,
            at: now_ms(),
            ..message(&f, &conv, SenderKind::Contact, &f.contact, &lost)
        })
        .await
        .is_err());
    let stored = store.messages_after(&conv, 0, true, 100).await.unwrap();
    assert_eq!(stored.len(), 2, "the message was rolled back with its job");
    assert_eq!(
        store
            .conversation(&f.workspace, &conv)
            .await
            .unwrap()
            .last_seq,
        2
    );
    assert_eq!(pending_kinds(&store).await, ["notify"], "the cancel too");
    let patch = ConversationPatch {
        status: Some(ConversationStatus::Resolved),
        ..ConversationPatch::default()
    };
    assert!(store
        .update_conversation(&f.workspace, &conv, &patch, "agent:x", &doomed, now_ms())
        .await
        .is_err());
    assert_eq!(
        store
            .conversation(&f.workspace, &conv)
            .await
            .unwrap()
            .status,
        ConversationStatus::Open,
        "the update was rolled back with its job"
    );
}

async fn summaries_show_the_customer_and_the_newest_visible_message(
    store: Store,
    _db: &TestDatabase,
) {
    let f = fixture(&store).await;
    assert!(store.summaries(&[]).await.unwrap().is_empty());
    store
        .update_contact(
            &f.workspace,
            &f.contact,
            &ContactPatch {
                name: Some("山田 花子".into()),
                email: Some("hanako@example.jp".into()),
                phone: None,
            },
        )
        .await
        .unwrap();
    let conv = start(&store, &f, "届きません").await;
    let agent_id = agent(&store, &f.workspace, "s@example.jp").await;
    let reply = body(&format!("確認します。{}", "あ".repeat(100)));
    store
        .append_message(&message(&f, &conv, SenderKind::Agent, &agent_id, &reply))
        .await
        .unwrap();
    let note = body("社内メモ");
    store
        .append_message(&NewMessage {
            private: true,
            ..message(&f, &conv, SenderKind::Agent, &agent_id, &note)
        })
        .await
        .unwrap();
    let conversation = store.conversation(&f.workspace, &conv).await.unwrap();
    let summaries = store.summaries(&[conversation]).await.unwrap();
    let summary = &summaries[&conv];
    assert_eq!(summary.contact_name.as_deref(), Some("山田 花子"));
    assert_eq!(summary.contact_email.as_deref(), Some("hanako@example.jp"));
    let preview = summary.preview.as_deref().unwrap();
    assert!(
        preview.starts_with("確認します。"),
        "notes are left out: {preview}"
    );
    assert_eq!(preview.chars().count(), 80, "cut to 80 characters");
}

async fn a_channel_moved_to_a_brand_takes_its_conversations_along(
    store: Store,
    _db: &TestDatabase,
) {
    let f = fixture(&store).await;
    let fields = |slug: &str| BrandFields {
        slug: format!("{slug}-{}", uuid_like()),
        name: slug.to_owned(),
        ..BrandFields::default()
    };
    let a = store
        .create_brand(&f.workspace, &fields("a"))
        .await
        .unwrap();
    let taken = store
        .create_brand(
            &f.workspace,
            &BrandFields {
                slug: a.slug.clone(),
                name: "A again".into(),
                ..BrandFields::default()
            },
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let before = start(&store, &f, "前から").await;
    let conversation = |id: String| {
        let store = store.clone();
        let ws = f.workspace.clone();
        async move { store.conversation(&ws, &id).await.unwrap() }
    };
    assert_eq!(conversation(before.clone()).await.brand_id, None);
    store
        .set_channel_brand(&f.workspace, &f.channel, Some(&a.id))
        .await
        .unwrap();
    assert_eq!(
        conversation(before.clone()).await.brand_id.as_deref(),
        Some(a.id.as_str()),
        "the channel's conversations follow it"
    );
    let after = start(&store, &f, "後から").await;
    assert_eq!(
        conversation(after.clone()).await.brand_id.as_deref(),
        Some(a.id.as_str()),
        "new ones begin in the brand"
    );
    let in_brand = ConversationFilter {
        brand_id: Some(Some(a.id.clone())),
        limit: 10,
        ..ConversationFilter::default()
    };
    assert_eq!(
        store
            .conversations(&f.workspace, &in_brand)
            .await
            .unwrap()
            .len(),
        2
    );
    let other = fixture(&store).await;
    let stranger = store
        .create_brand(&other.workspace, &fields("b"))
        .await
        .unwrap();
    assert!(
        matches!(
            store
                .set_channel_brand(&f.workspace, &f.channel, Some(&stranger.id))
                .await,
            Err(StoreError::NotFound)
        ),
        "another workspace's brand"
    );
    let agent = agent(
        &store,
        &f.workspace,
        &format!("{}@example.com", uuid_like()),
    )
    .await;
    store
        .set_agent_brands(&f.workspace, &agent, std::slice::from_ref(&a.id))
        .await
        .unwrap();
    assert_eq!(
        store.agent_brands(&agent).await.unwrap(),
        vec![a.id.clone()]
    );
    let bad = store
        .set_agent_brands(&f.workspace, &agent, std::slice::from_ref(&stranger.id))
        .await;
    assert!(
        matches!(bad, Err(StoreError::InvalidReference(_))),
        "{bad:?}"
    );
    store.delete_brand(&f.workspace, &a.id).await.unwrap();
    assert_eq!(conversation(after).await.brand_id, None);
    assert!(store.agent_brands(&agent).await.unwrap().is_empty());
    assert_eq!(
        store
            .channel(&f.workspace, &f.channel)
            .await
            .unwrap()
            .brand_id,
        None
    );
}
