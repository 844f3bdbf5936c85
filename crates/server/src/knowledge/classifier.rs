//! Classifying new conversations into the workspace's categories. Per workspace: a naive Bayes
//! model trained on the conversations its agents categorised (an agent's choice is a training
//! example), or the workspace's keyword rule while that history is too small. When the labels
//! or the categories change (seen in the workspace row, so on every node) the model retrains in
//! the background; messages meanwhile get the model as it was.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use madoguchi_core::classification::{defaults, source, Category};
use madoguchi_store::messages::Classified;
use madoguchi_store::workspaces::Workspace;
use madoguchi_store::Store;
use madoguchi_text::classify::{Keywords, Model};
use madoguchi_text::Analyzer;

use crate::knowledge::index::KnowledgeError;

/// How many of the newest labelled conversations a model learns from.
const MAX_EXAMPLES: i64 = 5_000;

/// The workspace's categories: as written in admin, or the defaults.
pub fn categories(workspace: &Workspace) -> Vec<Category> {
    workspace
        .categories
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(defaults)
}

/// What decides a workspace's categories now.
struct Trained {
    /// `(labels_version, categories)` it was built for.
    version: (i64, Option<String>),
    names: Vec<String>,
    keywords: Keywords,
    model: Option<Model>,
}

/// How a workspace is classified now: by its model (trained on `examples`) or by keywords.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Method {
    /// `model` or `keywords`.
    pub method: &'static str,
    /// Labelled conversations the model learned from (0 with keywords).
    pub examples: usize,
}

#[derive(Default)]
pub struct Classifiers {
    trained: Mutex<HashMap<String, Arc<Trained>>>,
    training: Mutex<HashSet<String>>,
}

fn version_of(workspace: &Workspace) -> (i64, Option<String>) {
    (workspace.labels_version, workspace.categories.clone())
}

async fn train(
    store: &Store,
    analyzer: Arc<Analyzer>,
    workspace: &Workspace,
) -> Result<Trained, KnowledgeError> {
    let categories = categories(workspace);
    let names: Vec<String> = categories.iter().map(|c| c.name.clone()).collect();
    let examples: Vec<(String, String)> = store
        .labelled_examples(&workspace.id, MAX_EXAMPLES)
        .await?
        .into_iter()
        .filter(|(_, label)| names.contains(label))
        .collect();
    let keywords = Keywords::new(
        categories
            .iter()
            .map(|c| (c.name.as_str(), c.keywords.as_slice())),
    );
    let rule = keywords.clone();
    let model = tokio::task::spawn_blocking(move || {
        Model::train(
            &analyzer,
            &rule,
            examples.iter().map(|(t, l)| (t.as_str(), l.as_str())),
        )
    })
    .await
    .map_err(|err| KnowledgeError::Analyzer(err.to_string()))?;
    Ok(Trained {
        version: version_of(workspace),
        keywords,
        names,
        model,
    })
}

impl Classifiers {
    /// The classifier for `workspace`: trained now the first time, retrained in the background
    /// when its labels or categories have moved since.
    async fn current(
        self: &Arc<Self>,
        store: &Store,
        analyzer: Arc<Analyzer>,
        workspace: &Workspace,
    ) -> Result<Arc<Trained>, KnowledgeError> {
        let cached = self
            .trained
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&workspace.id)
            .cloned();
        let Some(trained) = cached else {
            let trained = Arc::new(train(store, analyzer, workspace).await?);
            self.trained
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(workspace.id.clone(), trained.clone());
            return Ok(trained);
        };
        if trained.version != version_of(workspace)
            && self
                .training
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(workspace.id.clone())
        {
            let (this, store, workspace) = (self.clone(), store.clone(), workspace.clone());
            tokio::spawn(async move {
                match train(&store, analyzer, &workspace).await {
                    Ok(fresh) => {
                        this.trained
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(workspace.id.clone(), Arc::new(fresh));
                    }
                    Err(err) => {
                        tracing::warn!(workspace = %workspace.id, error = %err, "the classifier could not retrain")
                    }
                }
                this.training
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&workspace.id);
            });
        }
        Ok(trained)
    }

    /// The category of a new conversation whose first message is `text`.
    pub async fn classify(
        self: &Arc<Self>,
        store: &Store,
        analyzer: Arc<Analyzer>,
        workspace: &Workspace,
        text: &str,
    ) -> Result<Option<Classified>, KnowledgeError> {
        let trained = self.current(store, analyzer.clone(), workspace).await?;
        let by_model = trained
            .model
            .as_ref()
            .and_then(|m| m.classify(&analyzer, text))
            .filter(|g| trained.names.contains(&g.label))
            .map(|g| (g, source::MODEL));
        let guess = by_model.or_else(|| {
            trained
                .keywords
                .classify(text)
                .map(|g| (g, source::KEYWORDS))
        });
        Ok(guess.map(|(g, source)| Classified {
            name: g.label,
            confidence: (g.confidence * 100.0).round() / 100.0,
            source,
        }))
    }

    /// How the workspace is classified now.
    pub async fn method(
        self: &Arc<Self>,
        store: &Store,
        analyzer: Arc<Analyzer>,
        workspace: &Workspace,
    ) -> Result<Method, KnowledgeError> {
        let trained = self.current(store, analyzer, workspace).await?;
        Ok(match &trained.model {
            Some(model) => Method {
                method: source::MODEL,
                examples: model.examples(),
            },
            None => Method {
                method: source::KEYWORDS,
                examples: 0,
            },
        })
    }
}
