//! Sentence vectors of articles, stored once per text and model so the search index does not
//! embed every article again when it is rebuilt: the question and each alternative by their
//! digest. The index computes what is missing when it is rebuilt and drops the vectors of texts
//! an edit removed.

use sqlx::Row;

use crate::{Result, Store};

/// One stored vector: whose, for which text (its digest), and the values.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleVector {
    pub article_id: String,
    pub digest: String,
    pub vector: Vec<f32>,
}

fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl Store {
    /// The workspace's stored vectors of `model`.
    pub async fn article_vectors(
        &self,
        workspace_id: &str,
        model: &str,
    ) -> Result<Vec<ArticleVector>> {
        let rows = sqlx::query(
            "SELECT article_id, digest, vector FROM article_vectors WHERE workspace_id = $1 AND model = $2",
        )
        .bind(workspace_id)
        .bind(model)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ArticleVector {
                    article_id: row.try_get("article_id")?,
                    digest: row.try_get("digest")?,
                    vector: from_bytes(&row.try_get::<Vec<u8>, _>("vector")?),
                })
            })
            .collect()
    }

    /// Stores newly computed vectors of `model` (a vector already there is kept), drops the
    /// `stale` ones (article id, digest) and the workspace's vectors of other models. Vectors of
    /// an article deleted meanwhile are skipped.
    pub async fn save_article_vectors(
        &self,
        workspace_id: &str,
        model: &str,
        vectors: &[ArticleVector],
        stale: &[(String, String)],
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM article_vectors WHERE workspace_id = $1 AND model <> $2")
            .bind(workspace_id)
            .bind(model)
            .execute(&mut *w.tx)
            .await?;
        for (article_id, digest) in stale {
            sqlx::query(
                "DELETE FROM article_vectors WHERE article_id = $1 AND workspace_id = $2 AND model = $3 AND digest = $4",
            )
            .bind(article_id)
            .bind(workspace_id)
            .bind(model)
            .bind(digest)
            .execute(&mut *w.tx)
            .await?;
        }
        for v in vectors {
            sqlx::query(
                "INSERT INTO article_vectors (article_id, workspace_id, model, digest, vector) \
                 SELECT $1, $2, $3, $4, $5 WHERE EXISTS \
                 (SELECT 1 FROM articles WHERE id = $1 AND workspace_id = $2) \
                 ON CONFLICT (article_id, model, digest) DO NOTHING",
            )
            .bind(&v.article_id)
            .bind(workspace_id)
            .bind(model)
            .bind(&v.digest)
            .bind(to_bytes(&v.vector))
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }
}
