//! The knowledge base at run time: one search index per workspace (and per brand, over the
//! brand's own articles and the shared ones) over its published articles (question,
//! alternative questions, answer), built on first use and rebuilt when articles or
//! synonyms change — detected from the store, so every node sees edits made on any node (within
//! the store's cache TTL, 2 s), or when the sentence encoder becomes ready. With the encoder,
//! each article's question and alternatives have vectors, stored once per text
//! ([`madoguchi_store::article_vectors`]); only new or edited texts are embedded at a rebuild,
//! which saving an article starts at once in the background ([`KnowledgeBase::refresh`]), so
//! the next search finds the vectors ready; one rebuild runs at a time (searches meanwhile
//! wait for it, or use the lexical index while every article is embedded for new encoders).
//! The help center's search and the bot use this same retrieval.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use madoguchi_store::article_vectors::ArticleVector;
use madoguchi_store::knowledge::{Article, KnowledgeVersion};
use madoguchi_store::Store;
use madoguchi_text::faq::{embedded_texts, DocVectors, Weights};
use madoguchi_text::semantic::Encoder;
use madoguchi_text::{Analyzer, FaqDoc, FaqIndex, Synonyms};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::http::metrics::Histogram;
use crate::knowledge::models::Models;

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
    /// The encoder fused in, if one was ready.
    model: Option<String>,
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
    /// One rebuild at a time per index: the others wait for it (or, while new encoders embed
    /// every article, answer from the index without them) instead of embedding the same texts
    /// again.
    rebuilding: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The sentence encoder (lexical search until it is ready).
    pub models: Arc<Models>,
    /// How long each search took (the query's embedding included), for `/metrics`.
    pub timings: Histogram,
}

/// The digest a text's vector is stored under.
fn digest(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// Each document's vectors, taken from the store where they are and computed (then stored)
/// where not.
async fn doc_vectors(
    store: &Store,
    workspace_id: &str,
    encoder: Arc<dyn Encoder>,
    articles: &[Article],
    docs: &[FaqDoc],
) -> Result<Vec<DocVectors>> {
    let model = encoder.model().to_owned();
    let mut stored: HashMap<(String, String), Vec<f32>> = store
        .article_vectors(workspace_id, &model)
        .await?
        .into_iter()
        .map(|v| ((v.article_id, v.digest), v.vector))
        .collect();
    let wanted: Vec<Vec<(String, String)>> = articles
        .iter()
        .zip(docs)
        .map(|(a, d)| {
            embedded_texts(d)
                .into_iter()
                .map(|t| (a.id.clone(), digest(t)))
                .collect()
        })
        .collect();
    let missing: Vec<(String, String, String)> = articles
        .iter()
        .zip(docs)
        .flat_map(|(a, d)| {
            embedded_texts(d)
                .into_iter()
                .map(move |t| (a.id.clone(), digest(t), t.to_owned()))
        })
        .filter(|(id, digest, _)| !stored.contains_key(&(id.clone(), digest.clone())))
        .collect();
    let computed: Vec<ArticleVector> = tokio::task::spawn_blocking(move || {
        missing
            .into_iter()
            .map(|(article_id, digest, text)| ArticleVector {
                article_id,
                digest,
                vector: encoder.embed_document(&text, &[]),
            })
            .collect()
    })
    .await
    .map_err(unavailable)?;
    // Texts an edit removed from an article on this shelf (other shelves prune their own).
    let used: HashSet<&(String, String)> = wanted.iter().flatten().collect();
    let on_shelf: HashSet<&str> = articles.iter().map(|a| a.id.as_str()).collect();
    let stale: Vec<(String, String)> = stored
        .keys()
        .filter(|k| !used.contains(k) && on_shelf.contains(k.0.as_str()))
        .cloned()
        .collect();
    if !computed.is_empty() || !stale.is_empty() {
        store
            .save_article_vectors(workspace_id, &model, &computed, &stale)
            .await?;
    }
    for v in computed {
        stored.insert((v.article_id, v.digest), v.vector);
    }
    Ok(wanted
        .into_iter()
        .zip(docs)
        .map(|(keys, doc)| {
            let vectors = keys.iter().filter_map(|k| stored.get(k).cloned()).collect();
            DocVectors::new(doc, vectors)
        })
        .collect())
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

    fn cached(&self, key: &str) -> Option<Arc<WorkspaceIndex>> {
        self.indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
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
        let cached = self.cached(&key);
        let encoders = self.models.encoders();
        let model = (!encoders.is_empty()).then(|| {
            let names: Vec<&str> = encoders.iter().map(|e| e.model()).collect();
            names.join("+")
        });
        let current =
            |index: &Arc<WorkspaceIndex>| index.version == version && index.model == model;
        if let Some(index) = cached.as_ref().filter(|i| current(i)) {
            return Ok(index.clone());
        }
        let turn = self
            .rebuilding
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let _turn = match (turn.try_lock(), cached) {
            (Ok(turn), _) => turn,
            // Another search is embedding every article for encoders that became ready: the
            // index without them answers meanwhile. After an edit, the search waits for it
            // (a few texts), so what was saved is what is found.
            (Err(_), Some(older)) if older.model != model => return Ok(older),
            (Err(_), _) => turn.lock().await,
        };
        if let Some(index) = self.cached(&key).filter(current) {
            return Ok(index);
        }
        let mut articles = store.articles(workspace_id, true).await?;
        articles.retain(|a| shelf.holds(a));
        let analyzer = self.analyzer().await?;
        let docs: Vec<FaqDoc> = articles
            .iter()
            .map(|a| FaqDoc {
                question: a.title.clone(),
                alternatives: a.alternatives.clone(),
                answer: a.body.clone(),
            })
            .collect();
        // Sentence vectors are stored; word-vector means follow this index's IDF.
        let mut stored = Vec::new();
        for encoder in encoders.iter().filter(|e| e.text_only()) {
            let vectors =
                doc_vectors(store, workspace_id, encoder.clone(), &articles, &docs).await?;
            stored.push((encoder.clone(), vectors));
        }
        let built = tokio::task::spawn_blocking(move || {
            let names: Vec<&str> = encoders.iter().map(|e| e.model()).collect();
            let mut index = FaqIndex::build_weighted(
                &analyzer,
                &docs,
                Synonyms::new(version.synonyms.clone()),
                Weights::for_models(&names),
            );
            for (encoder, vectors) in stored {
                index = index.with_semantic(encoder, vectors);
            }
            for encoder in encoders.into_iter().filter(|e| !e.text_only()) {
                index = index.with_word_vectors(&analyzer, &docs, encoder);
            }
            WorkspaceIndex {
                version,
                model,
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

    /// Rebuilds the workspace's index in the background after an article was saved: the new
    /// texts are embedded and stored now rather than at the next search (brand shelves then
    /// find them stored).
    pub fn refresh(self: &Arc<Self>, store: &Store, workspace_id: &str) {
        let (kb, store, workspace_id) = (self.clone(), store.clone(), workspace_id.to_owned());
        tokio::spawn(async move {
            if let Err(err) = kb.index(&store, &workspace_id, Shelf::All).await {
                tracing::warn!(%err, "the knowledge index was not rebuilt after a save");
            }
        });
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
        // Embedding the query takes milliseconds: off the async threads.
        let (searched, query) = (index.clone(), query.to_owned());
        let started = std::time::Instant::now();
        let ranked =
            tokio::task::spawn_blocking(move || searched.index.search(&analyzer, &query, k))
                .await
                .map_err(unavailable)?;
        self.timings.observe(started.elapsed());
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
