//! SentencePiece unigram tokenization read from a `.model` file: the `nmt_nfkc` normalizer of the
//! model's precompiled character map (a darts-clone double-array trie), whitespace escaping
//! (`▁`), and Viterbi segmentation over the pieces' scores — the same ids as the reference
//! `sentencepiece` library gives for the sentence encoder's model.

use std::collections::HashMap;

use super::SemanticError;

const UNK: u32 = 0;
const BOS: u32 = 1;
const EOS: u32 = 2;
const SPACE: &str = "\u{2581}";

/// A protobuf field of a message: its number and, for length-delimited and 32-bit fields,
/// its bytes.
struct Field<'a> {
    number: u64,
    bytes: &'a [u8],
}

fn varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0_u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The length-delimited and 32-bit fields of one protobuf message (others are skipped).
fn fields(data: &[u8]) -> Result<Vec<Field<'_>>, SemanticError> {
    let bad = || SemanticError::Format("sentencepiece model: bad protobuf".into());
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let tag = varint(data, &mut pos).ok_or_else(bad)?;
        let (number, wire) = (tag >> 3, tag & 7);
        let len = match wire {
            0 => {
                varint(data, &mut pos).ok_or_else(bad)?;
                continue;
            }
            1 => 8,
            2 => usize::try_from(varint(data, &mut pos).ok_or_else(bad)?).map_err(|_| bad())?,
            5 => 4,
            _ => return Err(bad()),
        };
        let bytes = data.get(pos..pos + len).ok_or_else(bad)?;
        pos += len;
        if wire != 1 {
            out.push(Field { number, bytes });
        }
    }
    Ok(out)
}

/// `nmt_nfkc` over the precompiled character map.
struct Normalizer {
    units: Vec<u32>,
    normalized: Vec<u8>,
}

impl Normalizer {
    fn new(charsmap: &[u8]) -> Result<Self, SemanticError> {
        if charsmap.is_empty() {
            return Ok(Self {
                units: Vec::new(),
                normalized: Vec::new(),
            });
        }
        let bad = || SemanticError::Format("sentencepiece model: bad character map".into());
        let size = u32::from_le_bytes(
            charsmap
                .get(..4)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ) as usize;
        let trie = charsmap.get(4..4 + size).ok_or_else(bad)?;
        let units = trie
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Self {
            units,
            normalized: charsmap[4 + size..].to_vec(),
        })
    }

    fn offset(unit: u32) -> usize {
        ((unit >> 10) << ((unit & 0x200) >> 6)) as usize
    }

    /// The longest match of the trie at `data[pos..]`: its replacement and how many bytes it
    /// consumed; without a match, the character itself.
    fn prefix<'a>(&'a self, data: &'a [u8], pos: usize) -> (&'a [u8], usize) {
        let (mut best_len, mut best_value) = (0, 0_usize);
        if let Some(&root) = self.units.first() {
            let mut node = Self::offset(root);
            for (i, &c) in data[pos..].iter().enumerate() {
                node ^= usize::from(c);
                let Some(&unit) = self.units.get(node) else {
                    break;
                };
                if unit & 0x8000_00ff != u32::from(c) {
                    break;
                }
                node ^= Self::offset(unit);
                if unit & 0x100 != 0 {
                    best_len = i + 1;
                    best_value = self
                        .units
                        .get(node)
                        .map_or(usize::MAX, |v| (v & 0x7fff_ffff) as usize);
                }
            }
        }
        if best_len == 0 || best_value >= self.normalized.len() {
            let first = data[pos];
            let mut len = match first {
                0..0x80 => 1,
                _ if first >> 5 == 0x6 => 2,
                _ if first >> 4 == 0xe => 3,
                _ if first >> 3 == 0x1e => 4,
                _ => 1,
            };
            if (1..len).any(|k| data.get(pos + k).is_none_or(|b| b & 0xc0 != 0x80)) {
                len = 1;
            }
            return (&data[pos..pos + len], len);
        }
        let rest = &self.normalized[best_value..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        (&rest[..end], best_len)
    }

    /// Normalized text with a leading `▁`, spaces as `▁`, runs of spaces and the ends trimmed.
    fn normalize(&self, text: &str) -> String {
        let raw = text.as_bytes();
        let mut pos = 0;
        while pos < raw.len() {
            let (piece, consumed) = self.prefix(raw, pos);
            if piece != b" " {
                break;
            }
            pos += consumed;
        }
        if pos >= raw.len() {
            return String::new();
        }
        let mut out: Vec<u8> = SPACE.as_bytes().to_vec();
        let mut prev_space = true;
        while pos < raw.len() {
            let (mut piece, consumed) = self.prefix(raw, pos);
            pos += consumed;
            if prev_space {
                while let [b' ', rest @ ..] = piece {
                    piece = rest;
                }
            }
            let Some(&last) = piece.last() else { continue };
            for &byte in piece {
                if byte == b' ' {
                    out.extend_from_slice(SPACE.as_bytes());
                } else {
                    out.push(byte);
                }
            }
            prev_space = last == b' ';
        }
        while out.ends_with(SPACE.as_bytes()) {
            out.truncate(out.len() - SPACE.len());
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

pub struct SentencePiece {
    scores: Vec<f32>,
    /// Every piece (its id + 1) and every prefix of one (0), so a walk knows when to stop.
    prefixes: HashMap<String, u32>,
    /// The longest piece, in characters.
    max_chars: usize,
    unk_score: f32,
    normalizer: Normalizer,
}

impl SentencePiece {
    pub fn from_bytes(data: &[u8]) -> Result<Self, SemanticError> {
        let top = fields(data)?;
        let mut pieces = Vec::new();
        let mut scores = Vec::new();
        for field in top.iter().filter(|f| f.number == 1) {
            let inner = fields(field.bytes)?;
            let Some(piece) = inner.iter().find(|f| f.number == 1) else {
                continue;
            };
            pieces.push(String::from_utf8_lossy(piece.bytes).into_owned());
            scores.push(
                inner
                    .iter()
                    .find(|f| f.number == 2 && f.bytes.len() == 4)
                    .map_or(0.0, |f| {
                        f32::from_le_bytes([f.bytes[0], f.bytes[1], f.bytes[2], f.bytes[3]])
                    }),
            );
        }
        if pieces.len() <= EOS as usize {
            return Err(SemanticError::Format(
                "sentencepiece model: no pieces".into(),
            ));
        }
        let mut prefixes = HashMap::new();
        for (id, piece) in pieces.iter().enumerate() {
            for (end, _) in piece.char_indices().skip(1) {
                prefixes.entry(piece[..end].to_owned()).or_insert(0);
            }
            prefixes.insert(piece.clone(), id as u32 + 1);
        }
        let charsmap = match top.iter().find(|f| f.number == 3) {
            Some(spec) => fields(spec.bytes)?
                .into_iter()
                .find(|f| f.number == 2)
                .map_or(&[][..], |f| f.bytes),
            None => &[],
        };
        Ok(Self {
            unk_score: scores.iter().copied().fold(f32::INFINITY, f32::min) - 10.0,
            max_chars: pieces.iter().map(|p| p.chars().count()).max().unwrap_or(1),
            scores,
            prefixes,
            normalizer: Normalizer::new(charsmap)?,
        })
    }

    /// Piece ids of `text`, between the begin and end markers.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let normalized = self.normalizer.normalize(text);
        let mut ids = vec![BOS];
        if normalized.is_empty() {
            ids.push(UNK);
        } else {
            ids.extend(self.viterbi(&normalized));
        }
        ids.push(EOS);
        ids
    }

    /// The best-scoring segmentation; ties keep the earliest-starting piece, as the reference.
    fn viterbi(&self, text: &str) -> Vec<u32> {
        let mut bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        bounds.push(text.len());
        let chars = bounds.len() - 1;
        let mut best = vec![-1e38_f32; chars + 1];
        best[0] = 0.0;
        let mut start_of = vec![0_usize; chars + 1];
        let mut piece_of = vec![UNK; chars + 1];
        for i in 0..chars {
            let base = best[i];
            let mut single = false;
            for j in i + 1..=(i + self.max_chars).min(chars) {
                let Some(&value) = self.prefixes.get(&text[bounds[i]..bounds[j]]) else {
                    break;
                };
                if value == 0 {
                    continue;
                }
                let score = base + self.scores[value as usize - 1];
                if score > best[j] {
                    best[j] = score;
                    start_of[j] = i;
                    piece_of[j] = value - 1;
                }
                single |= j == i + 1;
            }
            if !single && base + self.unk_score > best[i + 1] {
                best[i + 1] = base + self.unk_score;
                start_of[i + 1] = i;
                piece_of[i + 1] = UNK;
            }
        }
        let mut ids = Vec::new();
        let mut end = chars;
        while end > 0 {
            ids.push(piece_of[end]);
            end = start_of[end];
        }
        ids.reverse();
        ids
    }
}
