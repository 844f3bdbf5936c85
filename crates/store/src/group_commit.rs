//! Group commit: short writes that arrive while a commit is in flight share the next
//! transaction, so many acknowledged writes pay for one `fsync`. A write still returns only
//! after the transaction holding it has committed, so the guarantee is the same as one
//! transaction per write.
//!
//! On SQLite one committer task takes every queued [`WriteOp`] (up to [`MAX_BATCH`]), runs them
//! in one transaction under the store's writer lock and commits. When any of them fails, or the
//! commit does, the transaction is rolled back and each op of the batch runs again alone, so a
//! failing write never takes another one down with it. On PostgreSQL, whose own WAL flush already
//! groups concurrent commits, each op runs in its own transaction.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::{Result, StoreError};

/// Most writes committed together.
pub const MAX_BATCH: usize = 256;
/// Writes waiting for the committer before senders wait too.
const QUEUE: usize = 4096;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A short write that can share a transaction with others. `run` may be called more than once
/// (after a rolled-back batch it runs again alone), so it must do nothing but database work.
pub(crate) trait WriteOp: Send + Sync + 'static {
    type Output: Send + 'static;
    fn run<'a>(&'a self, conn: &'a mut AnyConnection) -> BoxFuture<'a, Result<Self::Output>>;
}

/// Batches and writes committed so far (for `/metrics` and tests).
#[derive(Debug, Default)]
pub struct CommitStats {
    pub batches: AtomicU64,
    pub writes: AtomicU64,
}

/// Where writes are queued; cheap to clone.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Box<dyn Queued>>,
    pub(crate) stats: Arc<CommitStats>,
}

/// A queued op with its reply channel, its type erased.
trait Queued: Send {
    /// Runs the op in the open transaction, keeping its result; false when it failed.
    fn run<'a>(&'a mut self, conn: &'a mut AnyConnection) -> BoxFuture<'a, bool>;
    /// Replaces the kept result (a failed commit).
    fn fail(&mut self, err: StoreError);
    fn reply(self: Box<Self>);
}

struct Pending<O: WriteOp> {
    op: O,
    result: Option<Result<O::Output>>,
    reply: oneshot::Sender<Result<O::Output>>,
}

impl<O: WriteOp> Queued for Pending<O> {
    fn run<'a>(&'a mut self, conn: &'a mut AnyConnection) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let result = self.op.run(conn).await;
            let ok = result.is_ok();
            self.result = Some(result);
            ok
        })
    }

    fn fail(&mut self, err: StoreError) {
        self.result = Some(Err(err));
    }

    fn reply(self: Box<Self>) {
        // Every batch runs (or reruns) each of its ops, so a result is always there.
        let result = self
            .result
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)));
        // The caller may have gone away; the write stands either way.
        let _ = self.reply.send(result);
    }
}

impl GroupCommit {
    /// Starts the committer task on the current Tokio runtime.
    pub(crate) fn start(pool: AnyPool, writer: Arc<Mutex<()>>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let stats = Arc::new(CommitStats::default());
        tokio::spawn(committer(pool, writer, receiver, stats.clone()));
        Self { queue, stats }
    }

    /// Queues `op` and waits until the transaction holding it has committed.
    pub(crate) async fn write<O: WriteOp>(&self, op: O) -> Result<O::Output> {
        let (reply, answer) = oneshot::channel();
        let pending: Box<dyn Queued> = Box::new(Pending {
            op,
            result: None,
            reply,
        });
        self.queue.send(pending).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

fn closed() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

async fn committer(
    pool: AnyPool,
    writer: Arc<Mutex<()>>,
    mut receiver: mpsc::Receiver<Box<dyn Queued>>,
    stats: Arc<CommitStats>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        {
            let _writer = writer.lock().await;
            if run_together(&pool, &mut batch).await.is_err() {
                for pending in batch.iter_mut() {
                    run_alone(&pool, pending.as_mut()).await;
                }
            }
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats
            .writes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        for pending in batch.drain(..) {
            pending.reply();
        }
    }
}

/// One transaction for the whole batch; an error when any op or the commit failed (nothing of
/// the batch is then committed).
async fn run_together(pool: &AnyPool, batch: &mut [Box<dyn Queued>]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for pending in batch.iter_mut() {
        if !pending.run(&mut tx).await {
            return Err(StoreError::Conflict("an op of the batch failed".into()));
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn run_alone(pool: &AnyPool, pending: &mut dyn Queued) {
    let committed = async {
        let mut tx = pool.begin().await?;
        if pending.run(&mut tx).await {
            tx.commit().await?;
        }
        Result::Ok(())
    }
    .await;
    if let Err(err) = committed {
        pending.fail(err);
    }
}

/// Runs `op` in a transaction of its own (PostgreSQL).
pub(crate) async fn write_alone<O: WriteOp>(pool: &AnyPool, op: O) -> Result<O::Output> {
    let mut tx = pool.begin().await?;
    let output = op.run(&mut tx).await?;
    tx.commit().await?;
    Ok(output)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use madoguchi_core::message::{MessageBody, SenderKind};

    use crate::conversations::NewConversation;
    use crate::jobs::NO_JOBS;
    use crate::messages::NewMessage;
    use crate::testing::TestDatabase;
    use crate::{Backend, StoreError};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_waiting_for_a_commit_share_the_next_one_and_a_failure_stays_alone() {
        let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
        let store = db.store().await;
        let workspace = store.create_workspace("Shop").await.unwrap();
        let channel = store
            .create_channel(&workspace.id, "widget", "Web")
            .await
            .unwrap();
        let contact = store
            .identified_contact(
                &workspace.id,
                crate::contacts::IDENTITY_VISITOR,
                "hash-group-commit",
            )
            .await
            .unwrap();
        let hello = MessageBody::parse("こんにちは").unwrap();
        let started = store
            .start_conversation(NewConversation {
                id: &crate::new_id(),
                workspace_id: &workspace.id,
                channel_id: &channel.id,
                contact_id: &contact.id,
                body: &hello,
                client_id: None,
                handed_over: false,
                locale: None,
                subject: None,
                meta: None,
                status: madoguchi_core::conversation::ConversationStatus::Open,
                agent: None,
                jobs: &NO_JOBS,
                at: crate::now_ms(),
            })
            .await
            .unwrap();
        let conversation = started.conversation.id;
        let stats = store.commit_stats().unwrap();
        let (batches, writes) = (
            stats.batches.load(Ordering::Relaxed),
            stats.writes.load(Ordering::Relaxed),
        );

        // Hold the writer, as a commit in flight would, while 21 writes queue up: one of them
        // is for a conversation that does not exist.
        let in_flight = store.begin_write().await.unwrap();
        let bodies: Vec<MessageBody> = (0..21)
            .map(|n| MessageBody::parse(&format!("メッセージ {n}")).unwrap())
            .collect();
        let appends = futures_util::future::join_all(bodies.iter().enumerate().map(|(n, body)| {
            let (store, conversation, contact, workspace) =
                (&store, &conversation, &contact.id, &workspace.id);
            async move {
                let target = if n == 7 {
                    "no-such-conversation"
                } else {
                    conversation
                };
                store
                    .append_message(&NewMessage {
                        workspace_id: workspace,
                        conversation_id: target,
                        sender_kind: SenderKind::Contact,
                        sender_id: contact,
                        body,
                        private: false,
                        client_id: None,
                        meta: None,
                        sender_name: None,
                        jobs: &NO_JOBS,
                        at: crate::now_ms(),
                    })
                    .await
            }
        }));
        tokio::pin!(appends);
        // One poll queues all 21 writes (the queue has room for them); none can commit while
        // the writer is held.
        assert!(
            futures_util::FutureExt::now_or_never(appends.as_mut()).is_none(),
            "writes finished while the writer was held"
        );
        drop(in_flight);
        let results = appends.await;

        let mut seqs = Vec::new();
        for (n, result) in results.into_iter().enumerate() {
            match result {
                Err(StoreError::NotFound) if n == 7 => {}
                Ok(appended) if n != 7 => seqs.push(appended.message.seq),
                other => panic!("write {n}: unexpected {other:?}"),
            }
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (2..=21).collect::<Vec<i64>>());
        let stored = store
            .messages_after(&conversation, 0, true, 100)
            .await
            .unwrap();
        assert_eq!(stored.len(), 21);
        // At most one batch was taken before the writer was free, and one holds the rest.
        let new_batches = stats.batches.load(Ordering::Relaxed) - batches;
        assert!((1..=2).contains(&new_batches), "{new_batches} batches");
        assert_eq!(stats.writes.load(Ordering::Relaxed) - writes, 21);
    }
}
