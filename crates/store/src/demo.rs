//! A synthetic but realistic history for demos and benchmarks: Japanese shop conversations
//! (delivery, orders, returns, payment, product questions, a few complaints) arriving mostly in
//! business hours on weekdays, answered by several agents or by the bot, some abandoned,
//! reopened or followed by a re-contact, with ratings. Written in batches of multi-row inserts,
//! with the same facts the live write path keeps, so reports over it are exact.

use sqlx::AnyConnection;

use crate::{new_id, Result, Store};

/// What to make.
pub struct DemoPlan<'a> {
    pub workspace_id: &'a str,
    pub channel_id: &'a str,
    pub agent_ids: &'a [String],
    pub conversations: usize,
    /// Spread over this many days before `end_ms`.
    pub days: i64,
    pub end_ms: i64,
    /// The same seed makes the same history.
    pub seed: u64,
}

/// What was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seeded {
    pub conversations: usize,
    pub messages: usize,
}

/// A small, fast, deterministic generator (xorshift64*).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A case: subject, the customer's question, the agent's answer, the customer's follow-up.
type Case = (&'static str, &'static str, &'static str, &'static str);

/// Cases by topic.
const TOPICS: &[(&str, &[Case])] = &[
    ("配送", &[
        ("注文した商品がまだ届かない", "3日前に注文した商品がまだ届きません。いつ届きますか？", "ご不便をおかけしております。本日出荷いたしました。追跡番号は 1234-5678-9012 です。", "追跡番号ありがとうございます。確認します。"),
        ("配送先を変更したい", "配送先の住所を変更したいのですが、まだ間に合いますか？", "出荷前でしたので、新しいご住所に変更いたしました。", "助かりました。"),
        ("配達日時の指定", "配達日時を土曜日の午前に指定できますか？", "はい、土曜日午前中で承りました。", "よろしくお願いします。"),
    ]),
    ("注文", &[
        ("注文内容の確認", "注文確認メールが届いていません。注文できていますか？", "ご注文は正常に承っております。確認メールを再送いたしました。", "届きました。"),
        ("注文をキャンセルしたい", "間違えて2個注文してしまいました。1個キャンセルできますか？", "1個分のキャンセルを承りました。差額は返金いたします。", "ありがとうございます。"),
    ]),
    ("返品・交換", &[
        ("サイズ交換の依頼", "靴のサイズが合わなかったので交換をお願いしたいです。", "交換を承ります。返送用の伝票をお送りしますので、同封してお送りください。", "伝票が届いたら送ります。"),
        ("不良品の返品", "届いたマグカップが割れていました。", "大変申し訳ございません。新しい商品をすぐにお送りいたします。割れた商品はご返送不要です。", "対応ありがとうございます。"),
    ]),
    ("支払い", &[
        ("支払い方法について", "コンビニ払いはできますか？", "はい、コンビニ払いをご利用いただけます。注文画面で選択してください。", "わかりました。"),
        ("二重請求されている", "クレジットカードで二重に請求されています。", "確認したところ仮売上が二重になっておりました。1件は数日で取り消されます。", "安心しました。"),
    ]),
    ("商品の質問", &[
        ("在庫の問い合わせ", "この商品の青色はいつ再入荷しますか？", "青色は来週水曜日に再入荷の予定です。", "また見に来ます。"),
        ("使い方がわからない", "電気ケトルの保温機能の使い方を教えてください。", "保温ボタンを3秒長押ししてください。ランプが点灯すれば保温中です。", "できました！"),
    ]),
    ("クレーム", &[
        ("対応が遅い", "何度問い合わせても返事がありません。どうなっているのですか。", "ご連絡が遅くなり大変申し訳ございません。本日中に担当より折り返しご連絡いたします。", "本日中に必ずお願いします。"),
    ]),
];

/// The hour of day (JST) a message arrives at: mostly business hours, some evenings.
fn arrival_hour(dice: &mut Dice) -> i64 {
    const WEIGHTS: [u64; 24] = [
        1, 1, 0, 0, 0, 0, 1, 2, 4, 9, 12, 12, 8, 10, 11, 11, 10, 8, 5, 4, 4, 3, 2, 1,
    ];
    let total: u64 = WEIGHTS.iter().sum();
    let mut roll = dice.below(total);
    for (hour, weight) in WEIGHTS.iter().enumerate() {
        if roll < *weight {
            return hour as i64;
        }
        roll -= weight;
    }
    12
}

/// One value of a row.
enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
}

fn text(value: impl Into<String>) -> Cell {
    Cell::Text(Some(value.into()))
}

/// Inserts rows into `table` with multi-row `VALUES`, a few hundred at a time.
async fn insert(
    conn: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Cell>>,
) -> Result<()> {
    let per = (30_000 / columns.len()).clamp(1, 500);
    for chunk in rows.chunks(per) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..columns.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for cell in row {
                query = match cell {
                    Cell::Text(v) => query.bind(v.clone()),
                    Cell::Int(v) => query.bind(*v),
                };
            }
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
    /// Writes a synthetic history as `plan` says, committing every 20,000 conversations.
    pub async fn seed_history(&self, plan: &DemoPlan<'_>) -> Result<Seeded> {
        let mut dice = Dice(plan.seed | 1);
        let mut seeded = Seeded::default();
        let day_ms = 24 * 3_600_000;
        let start_day = plan.end_ms / day_ms - plan.days;
        let contacts_wanted = (plan.conversations / 2).max(1);
        let mut contact_ids: Vec<String> = Vec::with_capacity(contacts_wanted);
        let complaint_tag = new_id();
        {
            let mut w = self.begin_write().await?;
            sqlx::query("INSERT INTO tags (id, workspace_id, name) VALUES ($1, $2, 'complaint') ON CONFLICT (workspace_id, name) DO NOTHING")
                .bind(&complaint_tag)
                .bind(plan.workspace_id)
                .execute(&mut *w.tx)
                .await?;
            w.commit().await?;
        }
        let tag_id: String = sqlx::Row::try_get(
            &sqlx::query("SELECT id FROM tags WHERE workspace_id = $1 AND name = 'complaint'")
                .bind(plan.workspace_id)
                .fetch_one(self.pool())
                .await?,
            "id",
        )?;
        const SURNAMES: &[&str] = &[
            "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
        ];
        const GIVEN: &[&str] = &[
            "花子",
            "太郎",
            "美咲",
            "健太",
            "陽菜",
            "大輔",
            "さくら",
            "翔",
            "結衣",
            "蓮",
        ];
        let mut done = 0;
        while done < plan.conversations {
            let batch = (plan.conversations - done).min(20_000);
            let (mut contacts, mut conversations, mut messages, mut ratings, mut tags, mut turns) = (
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
            );
            for _ in 0..batch {
                // A returning customer a third of the time (re-contacts happen).
                let contact = if !contact_ids.is_empty()
                    && (contact_ids.len() >= contacts_wanted || dice.chance(33))
                {
                    dice.pick(&contact_ids).clone()
                } else {
                    let id = new_id();
                    let n = contact_ids.len();
                    contacts.push(vec![
                        text(id.clone()),
                        text(plan.workspace_id),
                        text(format!("{} {}", dice.pick(SURNAMES), dice.pick(GIVEN))),
                        text(format!("customer{n}@example.jp")),
                        Cell::Int(Some(plan.end_ms)),
                        Cell::Int(Some(plan.end_ms)),
                    ]);
                    contact_ids.push(id.clone());
                    id
                };
                let day = start_day + dice.below(plan.days.max(1) as u64) as i64;
                // JST is UTC+9: the local hour h is UTC hour h − 9.
                let at = day * day_ms
                    + (arrival_hour(&mut dice) - 9) * 3_600_000
                    + dice.below(3_600_000) as i64;
                let (topic, cases) = dice.pick(TOPICS);
                let (subject, question, answer, follow_up) = *dice.pick(cases);
                let id = new_id();
                let agent = dice.pick(plan.agent_ids).clone();
                let mut seq = 0;
                let mut message = |kind: &str, sender: &str, body: &str, at: i64, seq: &mut i64| {
                    *seq += 1;
                    messages.push(vec![
                        text(new_id()),
                        text(id.clone()),
                        Cell::Int(Some(*seq)),
                        text(kind),
                        text(sender),
                        text(body),
                        Cell::Int(Some(0)),
                        Cell::Int(Some(at)),
                    ]);
                };
                message("contact", &contact, question, at, &mut seq);
                let recent = plan.end_ms - at < day_ms;
                let roll = dice.below(100);
                let (mut status, mut assignee, mut first_response, mut resolved, mut first_bot) =
                    ("resolved", None, None, None, None);
                let (mut last_contact, mut waiting, mut reopened) = (at, None, 0);
                let mut rating = None;
                if roll < 10 {
                    // The bot answers from the FAQ and the customer says it solved it.
                    first_bot = Some(at + 2_000);
                    message(
                        "bot",
                        "bot",
                        "こちらの記事が参考になるかもしれません。",
                        at + 2_000,
                        &mut seq,
                    );
                    resolved = Some(at + 60_000);
                    turns.push(vec![
                        text(new_id()),
                        text(plan.workspace_id),
                        text(id.clone()),
                        text(question),
                        text("[]"),
                        Cell::Int(Some(80)),
                        text("resolved"),
                        Cell::Int(Some(at + 2_000)),
                        Cell::Int(Some(at + 60_000)),
                    ]);
                } else if roll < 15 {
                    // Nobody answered; the customer left.
                    if recent {
                        status = "open";
                        waiting = Some(1);
                    } else {
                        resolved = Some(at + 2 * day_ms);
                    }
                } else {
                    let wait = 20_000 + dice.below(600_000) as i64;
                    let replied = at + wait;
                    message("agent", &agent, answer, replied, &mut seq);
                    first_response = Some(replied);
                    assignee = Some(agent.clone());
                    let mut end = replied + 120_000 + dice.below(900_000) as i64;
                    if dice.chance(20) {
                        last_contact = replied + 60_000;
                        message("contact", &contact, follow_up, last_contact, &mut seq);
                        end = end.max(last_contact + 60_000);
                    }
                    if dice.chance(5) {
                        reopened = 1;
                    }
                    if recent && dice.chance(30) {
                        status = "open";
                    } else {
                        resolved = Some(end);
                        if dice.chance(60) {
                            let score = match dice.below(100) {
                                0..=44 => 5,
                                45..=74 => 4,
                                75..=86 => 3,
                                87..=94 => 2,
                                _ => 1,
                            };
                            rating = Some(score);
                            ratings.push(vec![
                                text(id.clone()),
                                text(plan.workspace_id),
                                Cell::Int(Some(score)),
                                Cell::Text(None),
                                Cell::Int(Some(end + 30_000)),
                            ]);
                        }
                    }
                }
                let complaint = *topic == "クレーム" || dice.chance(1);
                if complaint {
                    tags.push(vec![text(id.clone()), text(tag_id.clone())]);
                }
                let last_activity = resolved.unwrap_or(at).max(last_contact);
                conversations.push(vec![
                    text(id.clone()),
                    text(plan.workspace_id),
                    text(plan.channel_id),
                    text(contact.clone()),
                    text(status),
                    Cell::Text(assignee),
                    text("normal"),
                    Cell::Int(Some(seq)),
                    Cell::Int(Some(at)),
                    Cell::Int(first_response),
                    Cell::Int(Some(last_activity)),
                    Cell::Int(resolved),
                    Cell::Int(waiting),
                    text("ja"),
                    text(subject),
                    Cell::Int(Some(at)),
                    Cell::Int(Some(last_contact)),
                    Cell::Int(first_bot),
                    Cell::Int(Some(reopened)),
                    Cell::Int(rating),
                    Cell::Int(Some(i64::from(complaint))),
                    Cell::Int(Some(i64::from(first_bot.is_some()))),
                    Cell::Int(waiting.map(|_| at)),
                ]);
                seeded.messages += seq as usize;
            }
            let mut w = self.begin_write().await?;
            insert(
                &mut w.tx,
                "contacts",
                &[
                    "id",
                    "workspace_id",
                    "name",
                    "email",
                    "created_at",
                    "updated_at",
                ],
                contacts,
            )
            .await?;
            insert(
                &mut w.tx,
                "conversations",
                &[
                    "id",
                    "workspace_id",
                    "channel_id",
                    "contact_id",
                    "status",
                    "assignee_id",
                    "priority",
                    "last_seq",
                    "created_at",
                    "first_agent_response_at",
                    "last_activity_at",
                    "resolved_at",
                    "waiting_since",
                    "locale",
                    "subject",
                    "first_contact_at",
                    "last_contact_at",
                    "first_bot_at",
                    "reopened",
                    "rating",
                    "complaint",
                    "bot_resolved",
                    "waiting_since_at",
                ],
                conversations,
            )
            .await?;
            insert(
                &mut w.tx,
                "messages",
                &[
                    "id",
                    "conversation_id",
                    "seq",
                    "sender_kind",
                    "sender_id",
                    "body",
                    "private",
                    "created_at",
                ],
                messages,
            )
            .await?;
            insert(
                &mut w.tx,
                "ratings",
                &[
                    "conversation_id",
                    "workspace_id",
                    "score",
                    "comment",
                    "created_at",
                ],
                ratings,
            )
            .await?;
            insert(
                &mut w.tx,
                "conversation_tags",
                &["conversation_id", "tag_id"],
                tags,
            )
            .await?;
            insert(
                &mut w.tx,
                "bot_turns",
                &[
                    "id",
                    "workspace_id",
                    "conversation_id",
                    "query",
                    "shown",
                    "confidence",
                    "outcome",
                    "created_at",
                    "updated_at",
                ],
                turns,
            )
            .await?;
            w.commit().await?;
            done += batch;
            seeded.conversations = done;
        }
        Ok(seeded)
    }
}
