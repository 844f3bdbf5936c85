//! A workspace's categories for classifying new conversations: each a name and the keywords the
//! fallback rule looks for, in order; the last one catches what no keyword names. Where a
//! workspace has written none, [`defaults`] (注文・配送, 支払い, 返品・交換, アカウント, 商品の質問,
//! クレーム, その他).

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

/// How a conversation got its category.
pub mod source {
    /// The workspace's trained model.
    pub const MODEL: &str = "model";
    /// The keyword rule (too little labelled history for a model).
    pub const KEYWORDS: &str = "keywords";
    /// An agent chose it: a training example.
    pub const AGENT: &str = "agent";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub name: String,
    #[serde(default)]
    pub keywords: Vec<String>,
}

fn category(name: &str, keywords: &[&str]) -> Category {
    Category {
        name: name.to_owned(),
        keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
    }
}

/// The categories of a workspace that has set none.
pub fn defaults() -> Vec<Category> {
    vec![
        category(
            "注文・配送",
            &[
                "注文",
                "配送",
                "発送",
                "届",
                "到着",
                "配達",
                "追跡",
                "送料",
                "出荷",
                "キャンセル",
                "お届け",
                "再配達",
                "order",
                "ship",
                "deliver",
                "tracking",
            ],
        ),
        category(
            "支払い",
            &[
                "支払",
                "決済",
                "クレジット",
                "カード",
                "請求",
                "代引",
                "振込",
                "領収書",
                "ポイント",
                "クーポン",
                "引き落とし",
                "pay",
                "charge",
                "invoice",
            ],
        ),
        category(
            "返品・交換",
            &[
                "返品",
                "交換",
                "返金",
                "不良",
                "破損",
                "壊れ",
                "返送",
                "取り替",
                "refund",
                "return",
                "replace",
                "broken",
            ],
        ),
        category(
            "アカウント",
            &[
                "アカウント",
                "ログイン",
                "パスワード",
                "会員",
                "登録",
                "退会",
                "メルマガ",
                "認証",
                "account",
                "password",
                "login",
                "log in",
            ],
        ),
        category(
            "商品の質問",
            &[
                "在庫",
                "入荷",
                "サイズ",
                "素材",
                "使い方",
                "対応して",
                "何色",
                "おすすめ",
                "使えますか",
                "stock",
                "size",
                "waterproof",
            ],
        ),
        category(
            "クレーム",
            &[
                "最悪",
                "ひどい",
                "信じられ",
                "責任者",
                "二度と",
                "不愉快",
                "誠意",
                "がっかり",
                "遅すぎ",
                "いい加減",
                "worst",
                "disappointed",
                "manager",
            ],
        ),
        category("その他", &[]),
    ]
}

/// Checks a workspace's list: 2–30 categories with distinct names of 1–40 characters, at most
/// 100 keywords of 1–50 characters each.
pub fn validate(categories: &[Category]) -> Result<(), InvalidValue> {
    if !(2..=30).contains(&categories.len()) {
        return Err(InvalidValue::new(
            "categories",
            "between 2 and 30 categories",
        ));
    }
    for (i, c) in categories.iter().enumerate() {
        let name = c.name.trim();
        if name.is_empty() || name.chars().count() > 40 || name != c.name {
            return Err(InvalidValue::new(
                "name",
                "a category name has 1-40 characters, no spaces around",
            ));
        }
        if categories[..i].iter().any(|o| o.name == c.name) {
            return Err(InvalidValue::new("name", "category names must differ"));
        }
        if c.keywords.len() > 100
            || c.keywords
                .iter()
                .any(|k| k.trim().is_empty() || k.chars().count() > 50)
        {
            return Err(InvalidValue::new(
                "keywords",
                "at most 100 keywords of 1-50 characters",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_end_with_the_catch_all() {
        let defaults = defaults();
        assert!(validate(&defaults).is_ok());
        assert_eq!(defaults.len(), 7);
        assert_eq!(defaults.last().map(|c| c.name.as_str()), Some("その他"));
    }

    #[test]
    fn bad_lists_are_refused_with_the_field_at_fault() {
        let one = vec![category("a", &[])];
        assert_eq!(validate(&one).unwrap_err().field, "categories");
        let twice = vec![category("a", &[]), category("a", &[])];
        assert_eq!(validate(&twice).unwrap_err().field, "name");
        let blank = vec![category("a", &[" "]), category("b", &[])];
        assert_eq!(validate(&blank).unwrap_err().field, "keywords");
        let padded = vec![category(" a", &[]), category("b", &[])];
        assert_eq!(validate(&padded).unwrap_err().field, "name");
    }
}
