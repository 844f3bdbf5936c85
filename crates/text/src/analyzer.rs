//! Turning text into terms. Japanese goes through IPADIC morphological analysis (compiled into
//! the binary, nothing downloaded) and keeps the lemmas of content words; English words are
//! stemmed; a second field of character bigrams catches words the dictionary lacks (IPADIC
//! splits カスハラ into カス + ハラ). Synonyms map each term to its group's first spelling.

use std::collections::HashMap;
use std::ops::Range;

use lindera_core::mode::Mode;
use lindera_dictionary::{DictionaryConfig, DictionaryKind};
use lindera_tokenizer::tokenizer::{Tokenizer, TokenizerConfig};
use rust_stemmers::{Algorithm, Stemmer};

use crate::normalize::{fold, term};
use crate::TextError;

/// Groups of interchangeable words (返品, 返却); every word maps to its group's first one.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    canonical: HashMap<String, String>,
}

impl Synonyms {
    /// Builds the map from groups of spellings; spellings are normalised like terms.
    pub fn new<I, G, S>(groups: I) -> Self
    where
        I: IntoIterator<Item = G>,
        G: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut canonical = HashMap::new();
        for group in groups {
            let words: Vec<String> = group.into_iter().map(|w| term(&fold(w.as_ref()))).collect();
            if let Some(first) = words.first() {
                for word in &words {
                    canonical.insert(word.clone(), first.clone());
                }
            }
        }
        Self { canonical }
    }

    fn map(&self, word: String) -> String {
        self.canonical.get(&word).cloned().unwrap_or(word)
    }
}

/// Verbs that carry no meaning of their own in a question.
const LIGHT_VERBS: &[&str] = &[
    "する",
    "ある",
    "いる",
    "なる",
    "できる",
    "れる",
    "られる",
    "いう",
    "おる",
    "くる",
    "いく",
    "もらう",
    "くれる",
    "しまう",
];

pub struct Analyzer {
    tokenizer: Tokenizer,
    stemmer: Stemmer,
}

impl Analyzer {
    /// Loads the embedded IPADIC (a few hundred milliseconds): build one and share it.
    pub fn new() -> Result<Self, TextError> {
        let config = TokenizerConfig {
            dictionary: DictionaryConfig {
                kind: Some(DictionaryKind::IPADIC),
                path: None,
            },
            user_dictionary: None,
            mode: Mode::Normal,
        };
        let tokenizer =
            Tokenizer::from_config(config).map_err(|err| TextError::Dictionary(err.to_string()))?;
        Ok(Self {
            tokenizer,
            stemmer: Stemmer::create(Algorithm::English),
        })
    }

    /// Content-word terms of `text`, normalised and mapped through `synonyms`.
    pub fn words(&self, text: &str, synonyms: &Synonyms) -> Vec<String> {
        self.content_tokens(&fold(text), synonyms)
            .into_iter()
            .map(|(word, _)| word)
            .collect()
    }

    /// The terms of [`Analyzer::words`] (no synonyms) with the byte range of `text` each comes
    /// from, for highlighting. Folding is done a character at a time here, so a half-width kana
    /// with a separate sound mark may fall apart; the words found are otherwise the same.
    pub fn word_spans(&self, text: &str) -> Vec<(String, Range<usize>)> {
        let mut folded = String::new();
        // The original character each folded byte comes from.
        let mut origin: Vec<Range<usize>> = Vec::new();
        for (at, c) in text.char_indices() {
            let piece = fold(c.encode_utf8(&mut [0; 4]));
            origin.extend(std::iter::repeat_n(at..at + c.len_utf8(), piece.len()));
            folded.push_str(&piece);
        }
        self.content_tokens(&folded, &Synonyms::default())
            .into_iter()
            .filter_map(|(word, range)| {
                let first = origin.get(range.start)?;
                let last = origin.get(range.end.checked_sub(1)?)?;
                Some((word, first.start..last.end))
            })
            .collect()
    }

    /// Content-word terms of already folded text, each with its byte range in it.
    fn content_tokens(&self, folded: &str, synonyms: &Synonyms) -> Vec<(String, Range<usize>)> {
        let Ok(mut tokens) = self.tokenizer.tokenize(folded) else {
            return Vec::new();
        };
        let mut words = Vec::new();
        // Consecutive katakana tokens, joined: IPADIC splits a kanji word typed in kana
        // (ヘンピン → ヘン + ピン), and the whole run is what meets its reading.
        let mut katakana_run = Run::default();
        for token in tokens.iter_mut() {
            let surface = token.text.to_owned();
            let range = token.byte_start..token.byte_end;
            if !surface.is_empty() && surface.chars().all(is_katakana) {
                katakana_run.push(&surface, range.clone());
            } else {
                katakana_run.end(&mut words, synonyms);
            }
            if surface.chars().all(|c| c.is_ascii_alphanumeric()) {
                if surface.chars().any(|c| c.is_ascii_alphabetic()) {
                    words.push((
                        synonyms.map(self.stemmer.stem(&surface).into_owned()),
                        range,
                    ));
                } else {
                    words.push((surface, range));
                }
                continue;
            }
            let details = token.get_details().unwrap_or_default();
            if let Some(lemma) = content_lemma(&surface, &details) {
                words.push((synonyms.map(term(&lemma)), range));
            }
        }
        katakana_run.end(&mut words, synonyms);
        words
    }

    /// Readings (in hiragana) of the nouns of `text` written with kanji: 返品 → へんぴん, so that a
    /// customer who types the word in kana (ﾍﾝﾋﾟﾝ, へんぴん) still meets it. For documents only:
    /// a query's kana words are already terms of [`Analyzer::words`].
    pub fn kanji_readings(&self, text: &str) -> Vec<String> {
        let folded = fold(text);
        let Ok(mut tokens) = self.tokenizer.tokenize(&folded) else {
            return Vec::new();
        };
        let mut readings = Vec::new();
        for token in tokens.iter_mut() {
            let surface = token.text.to_owned();
            if !surface.chars().any(is_kanji) {
                continue;
            }
            let details = token.get_details().unwrap_or_default();
            let reading = details.get(7).copied().filter(|r| *r != "*");
            if let (Some(_), Some(reading)) = (content_lemma(&surface, &details), reading) {
                if details.first() == Some(&"名詞") {
                    readings.push(term(reading));
                }
            }
        }
        readings
    }

    /// The whole text as it is read, in hiragana (荷物が届かない → にもつがとどかない), so that a
    /// customer's kana meets the shop's kanji; words without a reading stay as written.
    pub fn reading(&self, text: &str) -> String {
        let folded = fold(text);
        let Ok(mut tokens) = self.tokenizer.tokenize(&folded) else {
            return String::new();
        };
        let mut reading = String::new();
        for token in tokens.iter_mut() {
            let surface = token.text.to_owned();
            let details = token.get_details().unwrap_or_default();
            match details.get(7).copied().filter(|r| *r != "*") {
                Some(kana) => reading.push_str(kana),
                None => reading.push_str(&surface),
            }
        }
        term(&reading)
    }

    /// Character bigrams of the folded text, skipping spaces and punctuation.
    pub fn bigrams(&self, text: &str) -> Vec<String> {
        let chars: Vec<char> = term(&fold(text))
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        chars.windows(2).map(|pair| pair.iter().collect()).collect()
    }
}

/// Consecutive katakana tokens: two or more become one more term.
#[derive(Default)]
struct Run {
    text: String,
    tokens: usize,
    range: Option<Range<usize>>,
}

impl Run {
    fn push(&mut self, surface: &str, range: Range<usize>) {
        self.text.push_str(surface);
        self.tokens += 1;
        self.range = Some(
            self.range
                .take()
                .map_or(range.clone(), |r| r.start..range.end),
        );
    }

    fn end(&mut self, words: &mut Vec<(String, Range<usize>)>, synonyms: &Synonyms) {
        let run = std::mem::take(self);
        if let (true, Some(range)) = (run.tokens >= 2, run.range) {
            words.push((synonyms.map(term(&run.text)), range));
        }
    }
}

fn is_katakana(c: char) -> bool {
    matches!(c, 'ァ'..='ヶ' | 'ー')
}

fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '々')
}

/// The lemma of a content word (noun, independent verb or adjective), or `None`.
fn content_lemma(surface: &str, details: &[&str]) -> Option<String> {
    let pos = details.first().copied().unwrap_or("UNK");
    let sub = details.get(1).copied().unwrap_or("*");
    let lemma = details
        .get(6)
        .copied()
        .filter(|l| *l != "*")
        .unwrap_or(surface);
    let keep = match pos {
        "名詞" => !matches!(sub, "非自立" | "代名詞" | "数" | "特殊"),
        "動詞" => sub == "自立" && !LIGHT_VERBS.contains(&lemma),
        "形容詞" => sub == "自立",
        "UNK" => surface.chars().any(char::is_alphanumeric),
        _ => false,
    };
    keep.then(|| lemma.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_content_words_are_lemmatised() {
        let analyzer = Analyzer::new().unwrap();
        let words = analyzer.words(
            "住民票を取りたいのですが、どこで申請できますか？",
            &Synonyms::default(),
        );
        assert!(
            words.contains(&"住民票".to_string()) || words.contains(&"住民".to_string()),
            "{words:?}"
        );
        assert!(
            words.contains(&"取る".to_string()),
            "verbs become their dictionary form: {words:?}"
        );
        assert!(words.contains(&"申請".to_string()), "{words:?}");
        assert!(
            !words
                .iter()
                .any(|w| w == "を" || w == "です" || w == "できる"),
            "{words:?}"
        );
    }

    #[test]
    fn width_variants_and_english_meet() {
        let analyzer = Analyzer::new().unwrap();
        let none = Synonyms::default();
        assert_eq!(
            analyzer.words("ｷｬﾝｾﾙしたい", &none),
            analyzer.words("キャンセルしたい", &none)
        );
        assert_eq!(
            analyzer.words("ＲＥＳＥＴ passwords", &none),
            vec!["reset", "password"]
        );
    }

    #[test]
    fn word_spans_point_into_the_original_text() {
        let analyzer = Analyzer::new().unwrap();
        let text = "ｷｬﾝｾﾙした荷物が届かない";
        let spans = analyzer.word_spans(text);
        let found: Vec<(&str, &str)> = spans
            .iter()
            .map(|(w, r)| (w.as_str(), &text[r.clone()]))
            .collect();
        assert!(found.contains(&("きゃんせる", "ｷｬﾝｾﾙ")), "{found:?}");
        assert!(found.contains(&("届く", "届か")), "{found:?}");
        assert!(found.contains(&("荷物", "荷物")), "{found:?}");
    }

    #[test]
    fn synonyms_join_words() {
        let analyzer = Analyzer::new().unwrap();
        let synonyms = Synonyms::new([["返品", "返却"], ["キャンセル", "取り消し"]]);
        assert_eq!(
            analyzer.words("返却", &synonyms),
            analyzer.words("返品", &synonyms)
        );
        assert_eq!(analyzer.words("キャンセル", &synonyms), vec!["きゃんせる"]);
    }

    #[test]
    fn bigrams_cover_unknown_words() {
        let analyzer = Analyzer::new().unwrap();
        assert_eq!(
            analyzer.bigrams("カスハラ対策"),
            vec!["かす", "すは", "はら", "ら対", "対策"]
        );
        assert!(analyzer.bigrams("a").is_empty());
    }
}
