//! Customer harassment (カスハラ) and complaints, told apart, in Japanese and English. A message
//! is folded (NFKC, case, katakana → hiragana, spaces and 伏せ字 marks such as ○ ● × * removed,
//! runs of one character shortened) and matched against a lexicon of abusive terms and
//! patterns, each with a category and a severity; phrases that only look abusive (殺菌, 死角,
//! バカ売れ, ぶっ殺し価格, 死ぬほど待った) suppress the terms inside them. Every flag names the
//! term that triggered it. Complaints — angry but legitimate (最悪, 返金してください) — are a
//! separate result, never harassment by themselves. Workspaces add or suppress terms.

use crate::normalize::fold;

/// What kind of abuse a term is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Insult,
    Threat,
    /// 土下座しろ, demands for staff's private contacts, demands to fire someone.
    Coercion,
    Sexual,
    Discrimination,
}

/// One reason a message was flagged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hit {
    pub category: Category,
    /// 1 (rude) to 3 (threat to a person).
    pub severity: u8,
    /// The lexicon term, as written there.
    pub term: String,
}

/// The verdict on one message.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub hits: Vec<Hit>,
    /// Complaint terms found (for routing and the complaint KPI), whether or not abusive.
    pub complaint_terms: Vec<String>,
}

impl Verdict {
    pub fn harassment(&self) -> bool {
        !self.hits.is_empty()
    }

    pub fn complaint(&self) -> bool {
        !self.complaint_terms.is_empty()
    }

    /// The highest severity among the hits (0 when none).
    pub fn severity(&self) -> u8 {
        self.hits.iter().map(|h| h.severity).max().unwrap_or(0)
    }
}

use Category::*;

/// Abusive terms: (term, category, severity). Terms are folded like the message.
const LEXICON: &[(&str, Category, u8)] = &[
    // Insults.
    ("ばか", Insult, 1),
    ("馬鹿", Insult, 1),
    ("あほ", Insult, 1),
    ("阿呆", Insult, 1),
    ("くず", Insult, 2),
    ("屑", Insult, 2),
    ("ごみくず", Insult, 2),
    ("かす", Insult, 1),
    ("無能", Insult, 1),
    ("役立たず", Insult, 1),
    ("給料泥棒", Insult, 2),
    ("脳みそ", Insult, 1),
    ("きもい", Insult, 1),
    ("きしょい", Insult, 1),
    ("うざい", Insult, 1),
    ("ぼけ", Insult, 1),
    ("低能", Insult, 2),
    ("まぬけ", Insult, 1),
    ("間抜け", Insult, 1),
    ("使えない奴", Insult, 1),
    ("消えろ", Insult, 2),
    ("黙れ", Insult, 1),
    ("てめえ", Insult, 1),
    ("てめー", Insult, 1),
    ("お前みたいな", Insult, 1),
    ("おまえみたいな", Insult, 1),
    ("ごみ店員", Insult, 2),
    ("ごみ対応", Insult, 1),
    ("ごみ会社", Insult, 1),
    ("idiot", Insult, 1),
    ("stupid", Insult, 1),
    ("moron", Insult, 2),
    ("dumb", Insult, 1),
    ("useless", Insult, 1),
    ("shut up", Insult, 1),
    ("fuck", Insult, 2),
    ("fucking", Insult, 2),
    ("fck", Insult, 2),
    ("fckng", Insult, 2),
    ("fcking", Insult, 2),
    ("bitch", Insult, 2),
    ("asshole", Insult, 2),
    ("bastard", Insult, 2),
    ("scum", Insult, 2),
    ("loser", Insult, 1),
    // Threats.
    ("しね", Threat, 3),
    ("死ね", Threat, 3),
    ("氏ね", Threat, 3),
    ("たひね", Threat, 3),
    ("死んでしまえ", Threat, 3),
    ("死ねばいい", Threat, 3),
    ("殺す", Threat, 3),
    ("ころす", Threat, 3),
    ("殺してやる", Threat, 3),
    ("ぶっ殺", Threat, 3),
    ("ぶっころ", Threat, 3),
    ("殴る", Threat, 3),
    ("ぶん殴", Threat, 3),
    ("殴って", Threat, 3),
    ("殴りに行", Threat, 3),
    ("燃やしてや", Threat, 3),
    ("刺してや", Threat, 3),
    ("刺す", Threat, 3),
    ("燃やす", Threat, 3),
    ("火をつけ", Threat, 3),
    ("夜道に気をつけ", Threat, 3),
    ("ただじゃおかない", Threat, 3),
    ("ただで済むと思う", Threat, 3),
    ("覚えとけ", Threat, 2),
    ("潰してやる", Threat, 2),
    ("つぶしてやる", Threat, 2),
    ("覚えてろ", Threat, 2),
    ("どうなっても知らない", Threat, 2),
    ("家族がどうなって", Threat, 3),
    ("kill you", Threat, 3),
    ("i will find you", Threat, 3),
    ("watch your back", Threat, 3),
    ("go die", Threat, 3),
    ("hope you die", Threat, 3),
    ("burn down", Threat, 3),
    // Coercion.
    ("土下座", Coercion, 2),
    ("誠意を見せろ", Coercion, 2),
    ("誠意を見せて", Coercion, 1),
    ("住所を教えろ", Coercion, 3),
    ("住所教えろ", Coercion, 3),
    ("家を教えろ", Coercion, 3),
    ("自宅の住所", Coercion, 3),
    ("個人の電話番号", Coercion, 3),
    ("個人のline", Coercion, 3),
    ("携帯番号を教えろ", Coercion, 3),
    ("名前をさらす", Coercion, 3),
    ("名前を晒す", Coercion, 3),
    ("ネットに晒す", Coercion, 3),
    ("ねっとに晒す", Coercion, 3),
    ("晒してやる", Coercion, 3),
    ("くびにしろ", Coercion, 2),
    ("くびにしてやる", Coercion, 2),
    ("拡散してやる", Coercion, 2),
    ("毎日電話してやる", Coercion, 2),
    ("払わないなら", Coercion, 2),
    ("連絡先を教えて", Coercion, 2),
    ("line教えて", Coercion, 2),
    ("首にしろ", Coercion, 2),
    ("辞めさせろ", Coercion, 2),
    ("今すぐ来い", Coercion, 2),
    ("家まで来い", Coercion, 3),
    ("謝罪に来い", Coercion, 2),
    ("your home address", Coercion, 3),
    ("i know where you live", Coercion, 3),
    ("get you fired", Coercion, 2),
    ("fire her", Coercion, 2),
    ("fire him", Coercion, 2),
    // Sexual.
    ("やらせろ", Sexual, 3),
    ("下着の色", Sexual, 3),
    ("胸の大きさ", Sexual, 3),
    ("おっぱい", Sexual, 3),
    ("えろい", Sexual, 2),
    ("抱かせろ", Sexual, 3),
    ("スリーサイズ", Sexual, 3),
    ("すりーさいず", Sexual, 3),
    ("彼氏いるの", Sexual, 2),
    ("デートしよう", Sexual, 2),
    ("今度会おう", Sexual, 2),
    ("でーとしよう", Sexual, 2),
    ("sexy", Sexual, 2),
    ("send nudes", Sexual, 3),
    ("your body", Sexual, 2),
    ("slut", Sexual, 3),
    ("whore", Sexual, 3),
    // Discrimination.
    ("がいじ", Discrimination, 3),
    ("障害者のくせに", Discrimination, 3),
    ("女のくせに", Discrimination, 2),
    ("女のくせ", Discrimination, 2),
    ("外人のくせに", Discrimination, 3),
    ("外国人は帰れ", Discrimination, 3),
    ("ばばあ", Discrimination, 2),
    ("じじい", Discrimination, 2),
    ("ちょん", Discrimination, 3),
    ("retard", Discrimination, 3),
    ("go back to your country", Discrimination, 3),
];

/// Phrases that contain an abusive term but are not abuse; a term inside one does not count.
const NOT_ABUSE: &[&str] = &[
    "殺菌",
    "死角",
    "必死",
    "死ぬほど",
    "しぬほど",
    "死ぬかと思",
    "ばか売れ",
    "ばかうれ",
    "ばかみたいに",
    "馬鹿みたいに",
    "あほみたいに",
    "くずもち",
    "くず餅",
    "くずきり",
    "きもい虫",
    "ぶっ殺し価格",
    "ぶっころし価格",
    "殺し文句",
    "悩殺",
    "相殺",
    "黙認",
    "かすかに",
    "かすり",
    "かすた",
    "ばかり",
    "ばかし",
    "ぼけっと",
    "ぼけて",
    "ちょんと",
    "ちょんまげ",
    "ちょっと",
    "くずれ",
    "くずし",
    "殴り書き",
    "刺す痛み",
    "虫刺",
    "燃やすごみ",
    "土下座外交",
    "fire alarm",
    "skill",
    "killer feature",
    "sexy design",
    "dumbbell",
    "胸ポケット",
    "胸元",
    "ころすけ",
    "もったいない",
    "useless feature",
];

/// Complaints: angry but legitimate wording.
const COMPLAINT: &[&str] = &[
    "最悪",
    "最低",
    "ひどい",
    "酷い",
    "返金",
    "責任者",
    "上司を出",
    "二度と買",
    "がっかり",
    "納得でき",
    "待たされ",
    "二度と利用しない",
    "納得できない",
    "納得いかない",
    "ありえない",
    "あり得ない",
    "遅すぎ",
    "遅い",
    "対応が悪い",
    "不誠実",
    "詐欺",
    "消費者センター",
    "クレーム",
    "くれーむ",
    "謝罪",
    "どうなっているのですか",
    "いい加減にして",
    "困ります",
    "不良品",
    "壊れていた",
    "届かない",
    "まだですか",
    "何度も",
    "何度問い合わせ",
    "壊れて",
    "困っています",
    "二度と利用しません",
    "違うもの",
    "届かなかった",
    "不親切",
    "間違っています",
    "回答がありません",
    "返事がない",
    "不満",
    "対応が悪",
    "つぶれて",
    "酷すぎ",
    "ひどすぎ",
    "回目の連絡",
    "refund",
    "worst",
    "terrible",
    "unacceptable",
    "manager",
    "complaint",
    "disappointed",
    "scam",
    "still waiting",
    "never again",
    "broken",
];

/// Characters that stand for hidden letters (伏せ字) or split a word to dodge a filter.
fn is_filler(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '○' | '〇'
                | '●'
                | '◯'
                | '×'
                | '✕'
                | '*'
                | '＊'
                | '・'
                | '_'
                | '-'
                | '.'
                | '、'
                | '。'
                | '!'
                | '?'
                | '~'
                | '〜'
                | '…'
                | '"'
                | '\''
                | '「'
                | '」'
        )
}

/// The folded text the lexicon is matched against: NFKC, lower case, katakana as hiragana,
/// filler removed, any run of one character kept to two (しねええええ → しねええ).
pub fn folded(text: &str) -> String {
    fold_keeping(text, false)
}

/// The same, keeping spaces (collapsed to one): English is matched word by word.
fn folded_words(text: &str) -> String {
    fold_keeping(text, true)
}

fn fold_keeping(text: &str, spaces: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = None;
    let mut run = 0;
    for c in fold(text).chars() {
        let c = if spaces && c.is_whitespace() { ' ' } else { c };
        if is_filler(c) && !(spaces && c == ' ') {
            continue;
        }
        let c = match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            c => c,
        };
        if Some(c) == last {
            run += 1;
            if run >= 2 {
                continue;
            }
        } else {
            run = 0;
        }
        last = Some(c);
        out.push(c);
    }
    out
}

/// A workspace's own additions and exceptions.
#[derive(Debug, Clone, Default)]
pub struct Custom {
    /// Extra abusive terms (counted as insults of severity 2).
    pub add: Vec<String>,
    /// Terms never to flag in this workspace.
    pub suppress: Vec<String>,
}

/// Byte ranges of `text` covered by any of `phrases` (already folded).
fn covered(text: &str, phrases: &[String]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for phrase in phrases {
        if phrase.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(at) = text[from..].find(phrase.as_str()) {
            spans.push((from + at, from + at + phrase.len()));
            from += at + phrase.len().max(1);
        }
    }
    spans
}

/// A lexicon term with the form it is matched in.
struct Term {
    term: String,
    category: Category,
    severity: u8,
    ascii: bool,
    needle: String,
}

impl Term {
    fn new(term: &str, category: Category, severity: u8) -> Self {
        let ascii = term.is_ascii();
        Self {
            term: term.to_owned(),
            category,
            severity,
            ascii,
            needle: if ascii {
                folded_words(term)
            } else {
                folded(term)
            },
        }
    }
}

/// The built-in lists, folded once.
struct Folded {
    lexicon: Vec<Term>,
    exceptions: Vec<String>,
    word_exceptions: Vec<String>,
    complaints: Vec<(bool, String)>,
}

fn built_in() -> &'static Folded {
    static FOLDED: std::sync::OnceLock<Folded> = std::sync::OnceLock::new();
    FOLDED.get_or_init(|| Folded {
        lexicon: LEXICON
            .iter()
            .map(|(term, category, severity)| Term::new(term, *category, *severity))
            .collect(),
        exceptions: NOT_ABUSE.iter().map(|p| folded(p)).collect(),
        word_exceptions: NOT_ABUSE.iter().map(|p| folded_words(p)).collect(),
        complaints: COMPLAINT
            .iter()
            .map(|t| match t.is_ascii() {
                true => (true, folded_words(t)),
                false => (false, folded(t)),
            })
            .collect(),
    })
}

/// Judges one message with the built-in lexicon and the workspace's `custom` terms.
pub fn judge(text: &str, custom: &Custom) -> Verdict {
    let lists = built_in();
    let folded_text = folded(text);
    let safe = covered(&folded_text, &lists.exceptions);
    let words = folded_words(text);
    let safe_words = covered(&words, &lists.word_exceptions);
    let suppressed: Vec<String> = custom.suppress.iter().map(|t| folded(t)).collect();
    let mut verdict = Verdict::default();
    let custom_terms: Vec<Term> = custom.add.iter().map(|t| Term::new(t, Insult, 2)).collect();
    for term in lists.lexicon.iter().chain(&custom_terms) {
        if term.needle.is_empty() || suppressed.contains(&folded(&term.term)) {
            continue;
        }
        // English only as whole words, spaces kept ("skill" is not "kill").
        let (haystack, safe) = match term.ascii {
            true => (&words, &safe_words),
            false => (&folded_text, &safe),
        };
        let found = covered(haystack, std::slice::from_ref(&term.needle))
            .into_iter()
            .any(|(start, end)| {
                let inside = safe.iter().any(|(s, e)| *s <= start && end <= *e);
                let word = !term.ascii
                    || (haystack[..start]
                        .chars()
                        .last()
                        .is_none_or(|c| !c.is_ascii_alphanumeric())
                        && haystack[end..]
                            .chars()
                            .next()
                            .is_none_or(|c| !c.is_ascii_alphanumeric()));
                !inside && word
            });
        if found && !verdict.hits.iter().any(|h| h.term == term.term) {
            verdict.hits.push(Hit {
                category: term.category,
                severity: term.severity,
                term: term.term.clone(),
            });
        }
    }
    for (term, (ascii, needle)) in COMPLAINT.iter().zip(&lists.complaints) {
        let found = match ascii {
            true => words.contains(needle.as_str()),
            false => folded_text.contains(needle.as_str()),
        };
        if found {
            verdict.complaint_terms.push((*term).to_owned());
        }
    }
    // The model speaks only where the lexicon found nothing, and never over a complaint.
    if verdict.hits.is_empty() && verdict.complaint_terms.is_empty() {
        let (p, why) = crate::abuse_model::model().score(&folded_text);
        if p >= crate::abuse_model::THRESHOLD {
            verdict.hits.push(Hit {
                category: Insult,
                severity: 1,
                term: format!("model {:.2}: {}", p, why.join("・")),
            });
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(text: &str) -> bool {
        judge(text, &Custom::default()).harassment()
    }

    #[test]
    fn abuse_is_found_through_obfuscation() {
        for text in [
            "死ね",
            "しね",
            "ｼﾈ",
            "死 ね",
            "し　ね",
            "死〇ね",
            "しねええええ",
            "お前みたいな店員はクビにしろ",
            "今すぐ土下座しろ",
            "担当者の個人の電話番号を教えろ",
            "ネットに名前を晒してやる",
            "ぶっ殺すぞ",
            "夜道に気をつけろよ",
            "バ カ じゃないの",
            "I will find you",
            "you are a f*ck*ng idiot",
        ] {
            assert!(flagged(text), "{text}");
        }
        let verdict = judge("今すぐ土下座しろ", &Custom::default());
        assert_eq!(verdict.hits[0].category, Coercion);
        assert_eq!(verdict.hits[0].term, "土下座");
    }

    #[test]
    fn hard_negatives_and_complaints_are_not_abuse() {
        for text in [
            "殺菌スプレーはありますか",
            "死角になっていて見えませんでした",
            "この商品はバカ売れしていますね",
            "ぶっ殺し価格セールはいつまでですか",
            "死ぬほど待ったのにまだ届きません",
            "最悪です。返金してください",
            "責任者を出してください",
            "ちょっと確認したいことがあります",
            "ばかりで困っています",
            "The skill level of support is great",
            "I am disappointed, I want a refund",
        ] {
            assert!(
                !flagged(text),
                "{text}: {:?}",
                judge(text, &Custom::default()).hits
            );
        }
        assert!(judge("最悪です。返金してください", &Custom::default()).complaint());
        assert!(judge("死ね。最悪", &Custom::default()).complaint());
    }

    #[test]
    fn workspaces_add_and_suppress_terms() {
        let custom = Custom {
            add: vec!["ポンコツ".into()],
            suppress: vec!["ばか".into()],
        };
        assert!(judge("このポンコツ", &custom).harassment());
        assert!(!judge("ばかじゃないの", &custom).harassment());
        assert!(judge("ばかじゃないの", &Custom::default()).harassment());
    }
}
