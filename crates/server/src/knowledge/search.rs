//! The search index at run time: this node's own index under `data_dir/search`, opened once at
//! start (rebuilt from the store when missing, stale or of an older schema: see
//! `automation::indexing`, which keeps it fed). Until it has caught up, answers may miss recent
//! history and say so.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use madoguchi_store::contacts::Contact;
use madoguchi_store::messages::{IndexRow, Message};
use madoguchi_text::search::{kind, Document, SearchError, SearchIndex};

/// The index, once open, and whether it has caught up with the store.
#[derive(Default)]
pub struct Search {
    index: RwLock<Option<Arc<SearchIndex>>>,
    ready: AtomicBool,
}

/// What the index keeps of a message, for [`Search`]'s documents.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Indexed {
    pub workspace_id: String,
    pub contact_id: String,
    pub conversation_id: String,
    pub message_id: String,
    pub seq: i64,
    pub sender_kind: String,
    pub private: bool,
    pub created_at: i64,
    /// Empty for a masked (flagged) message: it is not searchable.
    pub body: String,
    pub subject: Option<String>,
}

impl Indexed {
    pub fn of_row(row: &IndexRow) -> Self {
        Self::of_message(
            &row.workspace_id,
            &row.contact_id,
            &row.message,
            row.subject.clone(),
        )
    }

    pub fn of_message(
        workspace_id: &str,
        contact_id: &str,
        m: &Message,
        subject: Option<String>,
    ) -> Self {
        Self {
            workspace_id: workspace_id.to_owned(),
            contact_id: contact_id.to_owned(),
            conversation_id: m.conversation_id.clone(),
            message_id: m.id.clone(),
            seq: m.seq,
            sender_kind: m.sender_kind.as_str().to_owned(),
            private: m.private,
            created_at: m.created_at,
            body: if m.masked() {
                String::new()
            } else {
                m.body.clone()
            },
            subject,
        }
    }

    /// The documents it makes: the message (unless masked) and the conversation's subject.
    pub fn documents(&self) -> Vec<Document<'_>> {
        let detail =
            serde_json::json!({"seq": self.seq, "sender_kind": self.sender_kind}).to_string();
        let mut docs = Vec::new();
        if !self.body.is_empty() {
            docs.push(Document {
                key: &self.message_id,
                kind: kind::MESSAGE,
                workspace_id: &self.workspace_id,
                conversation_id: &self.conversation_id,
                contact_id: &self.contact_id,
                private: self.private,
                created_at: self.created_at,
                text: &self.body,
                detail: detail.clone(),
            });
        }
        if let Some(subject) = self.subject.as_deref().filter(|s| !s.is_empty()) {
            docs.push(Document {
                key: &self.conversation_id,
                kind: kind::SUBJECT,
                workspace_id: &self.workspace_id,
                conversation_id: &self.conversation_id,
                contact_id: &self.contact_id,
                private: false,
                created_at: self.created_at,
                text: subject,
                detail,
            });
        }
        docs
    }
}

/// What the index keeps of a contact: everything that finds them, as one text.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedContact {
    pub workspace_id: String,
    pub id: String,
    /// Name, e-mail, phone and identity values (shop user ids, more addresses), once each.
    pub text: String,
    pub updated_at: i64,
}

impl IndexedContact {
    pub fn of(contact: &Contact, identities: &[String]) -> Self {
        let mut parts: Vec<&str> = Vec::new();
        let fields = [&contact.name, &contact.email, &contact.phone];
        for part in fields
            .into_iter()
            .flatten()
            .map(String::as_str)
            .chain(identities.iter().map(String::as_str))
        {
            if !part.is_empty() && !parts.contains(&part) {
                parts.push(part);
            }
        }
        Self {
            workspace_id: contact.workspace_id.clone(),
            id: contact.id.clone(),
            text: parts.join(" "),
            updated_at: contact.updated_at,
        }
    }

    pub fn document(&self) -> Document<'_> {
        Document {
            key: &self.id,
            kind: kind::CONTACT,
            workspace_id: &self.workspace_id,
            conversation_id: "",
            contact_id: &self.id,
            private: false,
            created_at: self.updated_at,
            text: &self.text,
            detail: String::new(),
        }
    }
}

impl Search {
    /// Opens (or starts afresh) the index in `dir`; the watermark of its last commit, `None`
    /// when it must be rebuilt.
    pub fn open(&self, dir: &Path) -> Result<Option<i64>, SearchError> {
        let (index, watermark) = SearchIndex::open(dir)?;
        self.set(Some(index));
        Ok(watermark)
    }

    /// An index in memory (when `data_dir` cannot hold one).
    pub fn open_in_memory(&self) -> Result<(), SearchError> {
        self.set(Some(SearchIndex::in_memory()?));
        Ok(())
    }

    fn set(&self, index: Option<SearchIndex>) {
        *self.index.write().unwrap_or_else(|p| p.into_inner()) = index.map(Arc::new);
    }

    /// The index, while open.
    pub fn index(&self) -> Option<Arc<SearchIndex>> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Lets the index go (at shutdown: its folder's lock goes with the last user).
    pub fn close(&self) {
        self.ready.store(false, Ordering::Release);
        self.set(None);
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Whether the index has caught up with the store since this node started.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
