//! chiVe word vectors: the 20000 × 300 table (480k words pointing into it) inside PyPI
//! `ja-ginza` 5.3.0 (Apache-2.0; only the vectors are used, not the package's parser models).
//! spaCy's files: `vectors` (a `.npy`), `key2row` (msgpack: a word's hash → its row) and
//! `strings.json` (the words; a hash is MurmurHash64A of the UTF-8 bytes, seed 1). Words are
//! kept under the analyzer's spelling of a term (so カタカナ and ひらがな meet), and a text is
//! embedded as the weighted mean of its words' vectors, the weights being the IDF of the index
//! that asks.

use std::collections::HashMap;
use std::path::Path;

use super::npz::{parse_npy, Values};
use super::{Encoder, SemanticError};
use crate::normalize::{fold, term};

pub struct WordVectors {
    rows: HashMap<String, u32>,
    table: Vec<f32>,
    dim: usize,
}

/// spaCy's string hash.
fn murmur64a(bytes: &[u8]) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = 1_u64 ^ (bytes.len() as u64).wrapping_mul(M);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut k = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The msgpack map of `key2row`: unsigned integer keys and values.
fn read_key2row(data: &[u8]) -> Result<HashMap<u64, u32>, SemanticError> {
    let bad = || SemanticError::Format("key2row is not a msgpack map of integers".into());
    let uint = |pos: &mut usize| -> Option<u64> {
        let tag = *data.get(*pos)?;
        let (len, value) = match tag {
            0x00..=0x7f => {
                return {
                    *pos += 1;
                    Some(u64::from(tag))
                }
            }
            0xcc => (1, None),
            0xcd => (2, None),
            0xce => (4, None),
            0xcf => (8, None::<u64>),
            _ => return None,
        };
        let bytes = data.get(*pos + 1..*pos + 1 + len)?;
        *pos += 1 + len;
        value.or_else(|| Some(bytes.iter().fold(0_u64, |acc, &b| acc << 8 | u64::from(b))))
    };
    let (entries, mut pos) = match data.first() {
        Some(0x80..=0x8f) => (u64::from(data[0] & 0x0f), 1),
        Some(0xde) => (
            u64::from(u16::from_be_bytes([
                *data.get(1).ok_or_else(bad)?,
                *data.get(2).ok_or_else(bad)?,
            ])),
            3,
        ),
        Some(0xdf) => (
            u64::from(u32::from_be_bytes(
                data.get(1..5)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?,
            )),
            5,
        ),
        _ => return Err(bad()),
    };
    let mut map = HashMap::with_capacity(entries as usize);
    for _ in 0..entries {
        let key = uint(&mut pos).ok_or_else(bad)?;
        let row = uint(&mut pos).ok_or_else(bad)?;
        map.insert(key, u32::try_from(row).map_err(|_| bad())?);
    }
    Ok(map)
}

impl WordVectors {
    /// Loads `vectors`, `key2row` and `strings.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, SemanticError> {
        let array = parse_npy(&std::fs::read(dir.join("vectors"))?)?;
        let (Values::F32(table), &[_, dim]) = (array.values, &array.shape[..]) else {
            return Err(SemanticError::Format(
                "vectors is not a float matrix".into(),
            ));
        };
        let key2row = read_key2row(&std::fs::read(dir.join("key2row"))?)?;
        let strings: Vec<String> =
            serde_json::from_slice(&std::fs::read(dir.join("strings.json"))?)
                .map_err(|e| SemanticError::Format(format!("strings.json: {e}")))?;
        let mut rows = HashMap::with_capacity(key2row.len());
        for word in strings {
            if let Some(&row) = key2row.get(&murmur64a(word.as_bytes())) {
                if (row as usize + 1) * dim <= table.len() {
                    rows.entry(term(&fold(&word))).or_insert(row);
                }
            }
        }
        Ok(Self { rows, table, dim })
    }

    /// The vector of an analyzer term, if the table knows the word.
    pub fn vector(&self, term: &str) -> Option<&[f32]> {
        let row = *self.rows.get(term)? as usize;
        Some(&self.table[row * self.dim..][..self.dim])
    }

    /// The weighted mean of the words' vectors, L2-normalized; empty when no word is known.
    pub fn mean(&self, words: &[(String, f32)]) -> Vec<f32> {
        let mut sum = vec![0.0_f32; self.dim];
        let mut any = false;
        for (word, weight) in words {
            if let Some(v) = self.vector(word) {
                any = true;
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += weight * x);
            }
        }
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !any || norm == 0.0 {
            return Vec::new();
        }
        sum.iter_mut().for_each(|x| *x /= norm);
        sum
    }
}

impl Encoder for WordVectors {
    fn model(&self) -> &str {
        "chive"
    }

    fn embed_query(&self, _text: &str, words: &[(String, f32)]) -> Vec<f32> {
        self.mean(words)
    }

    fn text_only(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::{testing::models, PACKAGES};

    /// spaCy's hashes of these words (`spacy.strings.hash_string`): the keys its `key2row`
    /// holds for them.
    #[test]
    fn hashes_words_as_spacy_does() {
        assert_eq!(murmur64a("送料".as_bytes()), 7593511184120187368);
        assert_eq!(murmur64a("返品".as_bytes()), 14965169178509343197);
        assert_eq!(murmur64a("マイナンバー".as_bytes()), 9192813473634080369);
        assert_eq!(murmur64a("引っ越し".as_bytes()), 1251580805881596718);
    }

    /// The rows spaCy's own tables give these words (read with the package's files in Python:
    /// `key2row[hash_string(word)]`), and their vectors' cosines.
    #[test]
    fn looks_words_up_as_the_package_does() {
        let Some(models) = models() else { return };
        let package = PACKAGES.iter().find(|p| p.name == "chive").unwrap();
        let vectors = WordVectors::load(&models.join(package.name)).unwrap();
        let row = |w: &str| vectors.rows.get(&term(&fold(w))).copied();
        assert_eq!(row("送料"), Some(1115));
        assert_eq!(row("返品"), Some(5142));
        assert_eq!(
            row("マイナンバー"),
            Some(7034),
            "katakana under the analyzer's spelling"
        );
        let near = |a: &str, b: &str| {
            let (a, b) = (
                vectors.mean(&[(term(a), 1.0)]),
                vectors.mean(&[(term(b), 1.0)]),
            );
            crate::semantic::cosine(&a, &b)
        };
        // Cosines of the same rows computed with numpy from the package's `vectors`.
        for (a, b, reference) in [
            ("支払い", "決済", 0.715),
            ("支払い", "天気", 0.086),
            ("返品", "返却", 0.354),
            ("返品", "住民票", 0.151),
        ] {
            let got = near(a, b);
            assert!((got - reference).abs() < 1e-3, "{a} {b}: {got}");
        }
    }
}
