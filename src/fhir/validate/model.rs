//! The element model the walker follows: one node per resource, datatype and backbone
//! element, built once from `data/fhir/elements.json.gz` (see `tools/gen_fhir_elements.py`).

use std::collections::HashMap;
use std::io::Read;

use once_cell::sync::Lazy;
use serde_json::Value;

use super::binding::ValueSet;
use super::primitive::PrimitiveType;

static TABLE_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/fhir/elements.json.gz"
));

static MODEL: Lazy<Result<Model, String>> = Lazy::new(|| Model::load(TABLE_GZ));

/// The model, or why the embedded table could not be read.
pub(super) fn model() -> Result<&'static Model, &'static str> {
    MODEL.as_ref().map_err(String::as_str)
}

pub(super) type NodeId = usize;

/// What an element holds once its JSON shape is right.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// A primitive that may carry a `_name` companion for id/extensions.
    Primitive(usize),
    /// A bare JSON string without companion (`Element.id`, `Extension.url`).
    Attribute(usize),
    /// An object validated against another node.
    Complex(NodeId),
    /// A whole resource identified by its own `resourceType`.
    Resource,
}

/// One allowed type of an element; choice elements have several.
#[derive(Debug)]
pub(super) struct Variant {
    pub type_name: Box<str>,
    pub kind: Kind,
}

/// One child element definition.
#[derive(Debug)]
pub(super) struct Child {
    pub name: Box<str>,
    pub min: u32,
    pub repeats: bool,
    pub choice: bool,
    pub variants: Vec<Variant>,
    pub binding: Option<usize>,
}

/// The element definitions allowed inside one kind of JSON object.
#[derive(Debug, Default)]
pub(super) struct Node {
    pub children: Vec<Child>,
    lookup: HashMap<Box<str>, (usize, usize)>,
}

impl Node {
    /// The (child, variant) a JSON property name (without `_`) stands for.
    pub fn find(&self, json_name: &str) -> Option<(usize, usize)> {
        self.lookup.get(json_name).copied()
    }
}

/// Every definition the validator needs.
#[derive(Debug)]
pub(super) struct Model {
    pub nodes: Vec<Node>,
    pub primitives: Vec<PrimitiveType>,
    pub value_sets: Vec<ValueSet>,
    pub resource_types: Vec<Box<str>>,
    /// Node for `_name` primitive companions and childless `Element`s: `id` + `extension`.
    pub element_node: NodeId,
    resource_roots: HashMap<Box<str>, NodeId>,
}

impl Model {
    /// Root node of a concrete resource type.
    pub fn resource_root(&self, name: &str) -> Option<NodeId> {
        self.resource_roots.get(name).copied()
    }

    fn load(gz: &[u8]) -> Result<Model, String> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .map_err(|e| format!("element table: {e}"))?;
        let table: Value =
            serde_json::from_str(&text).map_err(|e| format!("element table: {e}"))?;
        Builder::default().build(&table)
    }
}

struct Row<'a> {
    path: &'a str,
    types: Vec<&'a str>,
    min: u32,
    repeats: bool,
    binding: Option<&'a str>,
    content_ref: Option<&'a str>,
}

impl<'a> Row<'a> {
    fn parse(row: &'a Value) -> Result<Row<'a>, String> {
        let bad = || format!("element table: malformed row {row}");
        let cells = row.as_array().ok_or_else(bad)?;
        let text = |i: usize| cells.get(i).and_then(Value::as_str);
        let types = text(1).ok_or_else(bad)?;
        Ok(Row {
            path: text(0).ok_or_else(bad)?,
            types: types.split('|').filter(|t| !t.is_empty()).collect(),
            min: cells.get(2).and_then(Value::as_u64).ok_or_else(bad)? as u32,
            repeats: text(3).ok_or_else(bad)? != "1",
            binding: text(4),
            content_ref: text(5),
        })
    }

    fn parent(&self) -> &'a str {
        self.path.rsplit_once('.').map_or("", |(parent, _)| parent)
    }

    fn name(&self) -> &'a str {
        self.path
            .rsplit_once('.')
            .map_or(self.path, |(_, name)| name)
    }
}

#[derive(Default)]
struct Builder<'a> {
    nodes: Vec<Node>,
    node_ids: HashMap<(&'a str, &'a str), NodeId>,
    primitive_ids: HashMap<&'a str, usize>,
    value_set_ids: HashMap<&'a str, usize>,
}

impl<'a> Builder<'a> {
    fn build(mut self, table: &'a Value) -> Result<Model, String> {
        let missing = |what: &str| format!("element table: missing {what}");
        let mut primitives = Vec::new();
        for (name, regex) in table["primitiveTypes"]
            .as_object()
            .ok_or_else(|| missing("primitiveTypes"))?
        {
            self.primitive_ids.insert(name, primitives.len());
            primitives.push(PrimitiveType::new(name, regex.as_str())?);
        }
        let mut value_sets = Vec::new();
        for (url, systems) in table["valueSets"]
            .as_object()
            .ok_or_else(|| missing("valueSets"))?
        {
            self.value_set_ids.insert(url, value_sets.len());
            value_sets.push(ValueSet::from_table(url, systems));
        }
        let types = table["types"].as_object().ok_or_else(|| missing("types"))?;
        let mut rows_by_type = Vec::new();
        for (type_name, rows) in types {
            let rows = rows.as_array().ok_or_else(|| missing(type_name))?;
            let rows = rows.iter().map(Row::parse).collect::<Result<Vec<_>, _>>()?;
            self.allocate(type_name, "");
            for row in &rows {
                self.allocate(type_name, row.parent());
            }
            rows_by_type.push((type_name.as_str(), rows));
        }
        let element_node = self.element_node()?;
        for (type_name, rows) in &rows_by_type {
            for row in rows {
                let child = self.child(type_name, row, element_node)?;
                let parent = self.node_ids.get(&(*type_name, row.parent())).copied();
                let node = parent
                    .and_then(|id| self.nodes.get_mut(id))
                    .ok_or_else(|| {
                        format!("element table: no parent for {type_name}.{}", row.path)
                    })?;
                let index = node.children.len();
                for (variant_index, variant) in child.variants.iter().enumerate() {
                    let key = if child.choice {
                        choice_property(&child.name, &variant.type_name)
                    } else {
                        child.name.to_string()
                    };
                    node.lookup.insert(key.into(), (index, variant_index));
                }
                node.children.push(child);
            }
        }
        let mut resource_roots = HashMap::new();
        let mut resource_types = Vec::new();
        for name in table["resourceTypes"]
            .as_array()
            .ok_or_else(|| missing("resourceTypes"))?
        {
            let name = name.as_str().ok_or_else(|| missing("resource type name"))?;
            let root = self
                .node_ids
                .get(&(name, ""))
                .ok_or_else(|| missing(name))?;
            resource_roots.insert(name.into(), *root);
            resource_types.push(name.into());
        }
        Ok(Model {
            nodes: self.nodes,
            primitives,
            value_sets,
            resource_types,
            element_node,
            resource_roots,
        })
    }

    fn allocate(&mut self, type_name: &'a str, path: &'a str) -> NodeId {
        let nodes = &mut self.nodes;
        *self.node_ids.entry((type_name, path)).or_insert_with(|| {
            nodes.push(Node::default());
            nodes.len() - 1
        })
    }

    /// The synthetic `Element` node: `id` plus repeating `extension`.
    fn element_node(&mut self) -> Result<NodeId, String> {
        let string = self.primitive("string")?;
        let extension = *self
            .node_ids
            .get(&("Extension", ""))
            .ok_or("element table: missing Extension")?;
        let mut node = Node::default();
        for (name, repeats, kind) in [
            ("id", false, Kind::Attribute(string)),
            ("extension", true, Kind::Complex(extension)),
        ] {
            node.lookup.insert(name.into(), (node.children.len(), 0));
            node.children.push(Child {
                name: name.into(),
                min: 0,
                repeats,
                choice: false,
                variants: vec![Variant {
                    type_name: name.into(),
                    kind,
                }],
                binding: None,
            });
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    fn primitive(&self, name: &str) -> Result<usize, String> {
        self.primitive_ids
            .get(name)
            .copied()
            .ok_or_else(|| format!("element table: unknown primitive type {name}"))
    }

    fn child(
        &self,
        type_name: &'a str,
        row: &Row<'a>,
        element_node: NodeId,
    ) -> Result<Child, String> {
        let name = row.name();
        let (name, choice) = match name.strip_suffix("[x]") {
            Some(base) => (base, true),
            None => (name, false),
        };
        let mut variants = Vec::new();
        if let Some(target) = row.content_ref {
            let node = self
                .node_ids
                .get(&(type_name, target))
                .ok_or_else(|| format!("element table: bad contentReference {target}"))?;
            variants.push(Variant {
                type_name: "BackboneElement".into(),
                kind: Kind::Complex(*node),
            });
        }
        for code in &row.types {
            let kind = self.kind(type_name, row.path, code, element_node)?;
            variants.push(Variant {
                type_name: code.trim_start_matches('@').into(),
                kind,
            });
        }
        Ok(Child {
            name: name.into(),
            min: row.min,
            repeats: row.repeats,
            choice,
            variants,
            binding: row
                .binding
                .and_then(|url| self.value_set_ids.get(url).copied()),
        })
    }

    fn kind(
        &self,
        type_name: &'a str,
        path: &'a str,
        code: &str,
        element_node: NodeId,
    ) -> Result<Kind, String> {
        if let Some(attribute) = code.strip_prefix('@') {
            return Ok(Kind::Attribute(self.primitive(attribute)?));
        }
        if code == "xhtml" {
            // Narrative.div is a bare string: xhtml allows no extensions (max 0).
            return Ok(Kind::Attribute(self.primitive(code)?));
        }
        if let Some(&id) = self.primitive_ids.get(code) {
            return Ok(Kind::Primitive(id));
        }
        Ok(match code {
            "Resource" => Kind::Resource,
            "BackboneElement" | "Element" => Kind::Complex(
                self.node_ids
                    .get(&(type_name, path))
                    .copied()
                    .unwrap_or(element_node),
            ),
            _ => Kind::Complex(
                *self
                    .node_ids
                    .get(&(code, ""))
                    .ok_or_else(|| format!("element table: unknown type {code}"))?,
            ),
        })
    }
}

/// JSON name of a choice variant: `value` + `Quantity` -> `valueQuantity`.
fn choice_property(base: &str, type_name: &str) -> String {
    let mut chars = type_name.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase());
    let mut name = String::with_capacity(base.len() + type_name.len());
    name.push_str(base);
    name.extend(first);
    name.push_str(chars.as_str());
    name
}
