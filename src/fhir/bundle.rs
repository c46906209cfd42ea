//! Building Bundles (searchset, history) as JSON.

use super::json::instant;
use serde_json::{json, Map, Value};

/// A Bundle under construction.
pub struct BundleBuilder {
    bundle: Map<String, Value>,
    entries: Vec<Value>,
    links: Vec<Value>,
}

impl BundleBuilder {
    pub fn new(kind: &str) -> BundleBuilder {
        let mut bundle = Map::new();
        bundle.insert("resourceType".into(), json!("Bundle"));
        bundle.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
        bundle.insert(
            "meta".into(),
            json!({ "lastUpdated": instant(super::json::now_ms()) }),
        );
        bundle.insert("type".into(), json!(kind));
        BundleBuilder {
            bundle,
            entries: Vec::new(),
            links: Vec::new(),
        }
    }

    pub fn total(&mut self, total: i64) -> &mut Self {
        self.bundle.insert("total".into(), json!(total));
        self
    }

    pub fn link(&mut self, relation: &str, url: String) -> &mut Self {
        self.links.push(json!({ "relation": relation, "url": url }));
        self
    }

    pub fn entry(&mut self, entry: Value) -> &mut Self {
        self.entries.push(entry);
        self
    }

    pub fn build(mut self) -> Value {
        if !self.links.is_empty() {
            self.bundle.insert("link".into(), Value::Array(self.links));
        }
        if !self.entries.is_empty() {
            self.bundle
                .insert("entry".into(), Value::Array(self.entries));
        }
        Value::Object(self.bundle)
    }
}
