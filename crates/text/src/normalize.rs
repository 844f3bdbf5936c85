//! Normalisation applied before and after tokenising: NFKC folds full-width ASCII and
//! half-width katakana (ＡＢＣ → ABC, ｷｬﾝｾﾙ → キャンセル); case is folded; katakana become
//! hiragana and a trailing long-vowel mark is dropped so that spelling variants meet
//! (サーバー ≡ サーバ ≡ さーば).

use unicode_normalization::UnicodeNormalization;

/// NFKC and lower case: for the text as a whole, before tokenising.
pub fn fold(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

/// A term's canonical spelling: katakana → hiragana, no trailing long-vowel mark.
pub fn term(word: &str) -> String {
    let mut out: String = word
        .chars()
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect();
    if out.chars().count() >= 3 && out.ends_with('ー') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_and_case_fold() {
        assert_eq!(fold("ｷｬﾝｾﾙ"), "キャンセル");
        assert_eq!(fold("ＡＢＣ"), "abc");
        assert_eq!(fold("ABC"), "abc");
        assert_eq!(fold("１２３"), "123");
    }

    #[test]
    fn kana_and_long_vowels_meet() {
        assert_eq!(term(&fold("ｷｬﾝｾﾙ")), term("キャンセル"));
        assert_eq!(term("キャンセル"), "きゃんせる");
        assert_eq!(term("サーバー"), term("サーバ"));
        assert_eq!(term("サーバー"), "さーば");
        assert_eq!(term("返品"), "返品");
        assert_eq!(term("ヴ"), "ゔ");
    }
}
