//! The knowledge base at run time: one search index per workspace (and per brand, over the
//! brand's own articles and the shared ones) over its published articles (question,
//! alternative questions, answer), built on first use and rebuilt when articles or
//! synonyms change — detected from the store, so every node sees edits made on any node (within
//! the store's cache TTL, 2 s). The help center's search and the bot use this same retrieval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use madoguchi_store::knowledge::{Article, KnowledgeVersion};
use madoguchi_store::Store;
use madoguchi_text::{Analyzer, FaqDoc, FaqIndex, Synonyms};
use tokio::sync::OnceCell;

use madoguchi_store::StoreError;

/// What can go wrong when the index is asked.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The analyzer could not be built (the embedded dictionary did not load).
    #[error("the text analyzer is unavailable: {0}")]
    Analyzer(String),
}

type Result<T> = std::result::Result<T, KnowledgeError>;

/// Published articles and their index, as of `version`.
pub struct WorkspaceIndex {
    version: KnowledgeVersion,
    index: FaqIndex,
    pub articles: Vec<Article>,
}

/// The articles that best answer a query, with the bot's confidence in the first.
pub struct Found {
    pub hits: Vec<(Article, f32)>,
    pub confidence: f32,
    /// The workspace has no published article at all.
    pub empty: bool,
}

/// Whose articles a search reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shelf<'a> {
    /// Every published article of the workspace (what staff search).
    All,
    /// What a brand's customers see: its own articles and those of every brand (`None`: the
    /// shared ones only, for a channel of no brand).
    Brand(Option<&'a str>),
}

impl Shelf<'_> {
    fn holds(self, article: &Article) -> bool {
        match self {
            Shelf::All => true,
            Shelf::Brand(brand) => {
                article.brand_id.is_none() || article.brand_id.as_deref() == brand
            }
        }
    }

    /// The index's name in the cache.
    fn key(self, workspace_id: &str) -> String {
        match self {
            Shelf::All => workspace_id.to_owned(),
            Shelf::Brand(brand) => format!("{workspace_id}/{}", brand.unwrap_or("")),
        }
    }
}

#[derive(Default)]
pub struct KnowledgeBase {
    analyzer: OnceCell<Arc<Analyzer>>,
    indexes: Mutex<HashMap<String, Arc<WorkspaceIndex>>>,
}

fn unavailable(err: impl std::fmt::Display) -> KnowledgeError {
    KnowledgeError::Analyzer(err.to_string())
}

impl KnowledgeBase {
    /// The shared analyzer; the embedded dictionary is loaded once, off the async threads.
    pub async fn analyzer(&self) -> Result<Arc<Analyzer>> {
        self.analyzer
            .get_or_try_init(|| async {
                let analyzer = tokio::task::spawn_blocking(Analyzer::new)
                    .await
                    .map_err(unavailable)?
                    .map_err(unavailable)?;
                Ok::<_, KnowledgeError>(Arc::new(analyzer))
            })
            .await
            .cloned()
    }

    async fn index(
        &self,
        store: &Store,
        workspace_id: &str,
        shelf: Shelf<'_>,
    ) -> Result<Arc<WorkspaceIndex>> {
        // A cheap check of what changed; articles are loaded only to rebuild.
        let version = store.knowledge_version(workspace_id).await?;
        let key = shelf.key(workspace_id);
        let cached = self
            .indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        if let Some(index) = cached.filter(|i| i.version == version) {
            return Ok(index);
        }
        let mut articles = store.articles(workspace_id, true).await?;
        articles.retain(|a| shelf.holds(a));
        let analyzer = self.analyzer().await?;
        let built = tokio::task::spawn_blocking(move || {
            let docs: Vec<FaqDoc> = articles
                .iter()
                .map(|a| FaqDoc {
                    question: a.title.clone(),
                    alternatives: a.alternatives.clone(),
                    answer: a.body.clone(),
                })
                .collect();
            let index = FaqIndex::build(&analyzer, &docs, Synonyms::new(version.synonyms.clone()));
            WorkspaceIndex {
                version,
                index,
                articles,
            }
        })
        .await
        .map_err(unavailable)?;
        let built = Arc::new(built);
        self.indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, built.clone());
        Ok(built)
    }

    /// The `k` published articles on `shelf` that best answer `query`.
    pub async fn search(
        &self,
        store: &Store,
        workspace_id: &str,
        shelf: Shelf<'_>,
        query: &str,
        k: usize,
    ) -> Result<Found> {
        let index = self.index(store, workspace_id, shelf).await?;
        let analyzer = self.analyzer().await?;
        let ranked = index.index.search(&analyzer, query, k);
        let confidence = ranked.confidence;
        let hits = ranked
            .hits
            .iter()
            .filter_map(|h| index.articles.get(h.doc).map(|a| (a.clone(), h.score)))
            .collect();
        Ok(Found {
            hits,
            confidence,
            empty: index.articles.is_empty(),
        })
    }
}
