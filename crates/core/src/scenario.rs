//! Bot scenarios: a tree of nodes the visitor walks with buttons before (or instead of) writing.
//! A node shows a message, may point to a knowledge-base article, may ask for an e-mail
//! address or hand over to a person, and offers choices leading to other nodes; the first node
//! is the root. The path to a human can sit as deep in the tree as the shop wants.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The first node is where visitors start; an empty list means no scenario.
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: String,
    pub text_ja: String,
    #[serde(default)]
    pub text_en: String,
    /// A knowledge-base article to show with the message.
    #[serde(default)]
    pub article_id: Option<String>,
    /// Offer the form for an e-mail address / phone number.
    #[serde(default)]
    pub ask_email: bool,
    /// Let the visitor write to a person from here.
    #[serde(default)]
    pub handover: bool,
    #[serde(default)]
    pub choices: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub label_ja: String,
    #[serde(default)]
    pub label_en: String,
    /// The id of the node this button leads to.
    pub next: String,
}

const MAX_NODES: usize = 200;

impl Scenario {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.nodes.len() > MAX_NODES {
            return Err(InvalidValue::new(
                "nodes",
                format!("at most {MAX_NODES} nodes"),
            ));
        }
        let mut ids = HashSet::new();
        for node in &self.nodes {
            let id_ok = !node.id.is_empty()
                && node.id.len() <= 40
                && node
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !id_ok || !ids.insert(node.id.as_str()) {
                return Err(InvalidValue::new(
                    "nodes",
                    format!(
                        "node id {:?} must be unique, 1-40 of A-Z a-z 0-9 - _",
                        node.id
                    ),
                ));
            }
            if node.text_ja.chars().count() > 1000
                || node.text_en.chars().count() > 1000
                || node.choices.len() > 10
            {
                return Err(InvalidValue::new(
                    "nodes",
                    format!(
                        "node {}: texts up to 1000 characters, up to 10 choices",
                        node.id
                    ),
                ));
            }
        }
        for node in &self.nodes {
            for choice in &node.choices {
                if !ids.contains(choice.next.as_str()) {
                    return Err(InvalidValue::new(
                        "choices",
                        format!("node {}: no node {:?}", node.id, choice.next),
                    ));
                }
                if choice.label_ja.trim().is_empty()
                    || choice.label_ja.chars().count() > 60
                    || choice.label_en.chars().count() > 60
                {
                    return Err(InvalidValue::new(
                        "choices",
                        format!("node {}: labels are 1-60 characters", node.id),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, next: &[&str]) -> Node {
        Node {
            id: id.into(),
            text_ja: format!("{id}です"),
            text_en: String::new(),
            article_id: None,
            ask_email: false,
            handover: next.is_empty(),
            choices: next
                .iter()
                .map(|n| Choice {
                    label_ja: format!("{n}へ"),
                    label_en: String::new(),
                    next: (*n).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_tree_with_a_deep_path_to_a_human_is_valid() {
        let scenario = Scenario {
            nodes: vec![
                node("root", &["orders", "other"]),
                node("orders", &["human"]),
                node("other", &[]),
                node("human", &[]),
            ],
        };
        assert!(scenario.validate().is_ok());
        assert!(scenario.node("human").unwrap().handover);
        assert!(scenario.node("nope").is_none());
    }

    #[test]
    fn dangling_choices_and_duplicate_ids_are_rejected() {
        let dangling = Scenario {
            nodes: vec![node("root", &["missing"])],
        };
        assert_eq!(dangling.validate().unwrap_err().field, "choices");
        let duplicate = Scenario {
            nodes: vec![node("a", &[]), node("a", &[])],
        };
        assert_eq!(duplicate.validate().unwrap_err().field, "nodes");
        let bad_id = Scenario {
            nodes: vec![node("a b", &[])],
        };
        assert!(bad_id.validate().is_err());
    }
}
