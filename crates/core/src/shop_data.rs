//! What a shop's own systems tell about a customer, so that no case depends on one person's
//! memory: attributes (member rank, points…) and recent orders, sent through the API channel
//! and shown beside the conversation. Checked here: sizes, visible text, links only to http(s).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::check_visible;
use crate::InvalidValue;

pub const MAX_ATTRIBUTES: usize = 50;
pub const MAX_ORDERS: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopData {
    /// Name → value, as the shop's system calls them (会員ランク: ゴールド).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Newest first, as sent.
    #[serde(default)]
    pub orders: Vec<Order>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The shop's order number.
    pub id: String,
    /// When it was placed, as the shop writes it (`2026-11-20`, an RFC 3339 time).
    pub placed_at: String,
    #[serde(default)]
    pub status: Option<String>,
    /// The amount as the shop writes it (`¥3,980`).
    #[serde(default)]
    pub total: Option<String>,
    #[serde(default)]
    pub items: Vec<String>,
    /// The order in the shop's own admin.
    #[serde(default)]
    pub url: Option<String>,
}

fn short(field: &'static str, value: &str, max: usize) -> Result<(), InvalidValue> {
    let chars = value.chars().count();
    if chars == 0 || chars > max {
        return Err(InvalidValue::new(
            field,
            format!("must be 1-{max} characters"),
        ));
    }
    check_visible(field, value, false)
}

impl ShopData {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.attributes.len() > MAX_ATTRIBUTES || self.orders.len() > MAX_ORDERS {
            return Err(InvalidValue::new(
                "attributes",
                format!("at most {MAX_ATTRIBUTES} attributes and {MAX_ORDERS} orders"),
            ));
        }
        for (name, value) in &self.attributes {
            short("attributes", name, 100)?;
            short("attributes", value, 500)?;
        }
        for order in &self.orders {
            short("orders.id", &order.id, 100)?;
            short("orders.placed_at", &order.placed_at, 40)?;
            for (field, value) in [
                ("orders.status", &order.status),
                ("orders.total", &order.total),
            ] {
                if let Some(value) = value {
                    short(field, value, 100)?;
                }
            }
            if order.items.len() > 50 {
                return Err(InvalidValue::new("orders.items", "at most 50 items"));
            }
            for item in &order.items {
                short("orders.items", item, 200)?;
            }
            if let Some(url) = &order.url {
                short("orders.url", url, 2_000)?;
                let lower = url.to_ascii_lowercase();
                if !(lower.starts_with("https://") || lower.starts_with("http://")) {
                    return Err(InvalidValue::new("orders.url", "must be an http(s) link"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_checked_and_links_stay_http() {
        let order = Order {
            id: "A-1029".into(),
            placed_at: "2026-11-20".into(),
            status: Some("発送済み".into()),
            total: Some("¥3,980".into()),
            items: vec!["マグカップ".into()],
            url: Some("https://shop.example/admin/orders/A-1029".into()),
        };
        let data = ShopData {
            attributes: [("会員ランク".to_owned(), "ゴールド".to_owned())].into(),
            orders: vec![order.clone()],
        };
        data.validate().unwrap();
        let script = ShopData {
            orders: vec![Order {
                url: Some("javascript:alert(1)".into()),
                ..order.clone()
            }],
            ..ShopData::default()
        };
        assert!(script.validate().is_err());
        let empty_id = ShopData {
            orders: vec![Order {
                id: String::new(),
                ..order
            }],
            ..ShopData::default()
        };
        assert!(empty_id.validate().is_err());
    }
}
