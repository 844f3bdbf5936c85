//! Turning text into terms. Japanese goes through IPADIC morphological analysis (compiled into
//! the binary, nothing downloaded) and keeps the lemmas of content words; English words are
//! stemmed; a second field of character bigrams catches words the dictionary lacks (IPADIC
//! splits カスハラ into カス + ハラ). Synonyms map each term to its group's first spelling.

use std::collections::HashMap;

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
        let folded = fold(text);
        let Ok(mut tokens) = self.tokenizer.tokenize(&folded) else {
            return Vec::new();
        };
        let mut words = Vec::new();
        // Consecutive katakana tokens, joined: IPADIC splits a kanji word typed in kana
        // (ヘンピン → ヘン + ピン), and the whole run is what meets its reading.
        let mut katakana_run = (String::new(), 0);
        for token in tokens.iter_mut() {
            let surface = token.text.to_owned();
            if !surface.is_empty() && surface.chars().all(is_katakana) {
                katakana_run.0.push_str(&surface);
                katakana_run.1 += 1;
            } else {
                push_run(&mut katakana_run, &mut words, synonyms);
            }
            if surface.chars().all(|c| c.is_ascii_alphanumeric()) {
                if surface.chars().any(|c| c.is_ascii_alphabetic()) {
                    words.push(synonyms.map(self.stemmer.stem(&surface).into_owned()));
                } else {
                    words.push(surface);
                }
                continue;
            }
            let details = token.get_details().unwrap_or_default();
            if let Some(lemma) = content_lemma(&surface, &details) {
                words.push(synonyms.map(term(&lemma)));
            }
        }
        push_run(&mut katakana_run, &mut words, synonyms);
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

    /// Character bigrams of the folded text, skipping spaces and punctuation.
    pub fn bigrams(&self, text: &str) -> Vec<String> {
        let chars: Vec<char> = term(&fold(text))
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        chars.windows(2).map(|pair| pair.iter().collect()).collect()
    }
}

/// Ends a run of katakana tokens: two or more become one more term.
fn push_run(run: &mut (String, usize), words: &mut Vec<String>, synonyms: &Synonyms) {
    let (text, tokens) = std::mem::take(run);
    if tokens >= 2 {
        words.push(synonyms.map(term(&text)));
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
