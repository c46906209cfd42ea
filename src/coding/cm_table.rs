//! In-memory ICD-10-CM tabular: chapters, sections (blocks) and every code in
//! pre-order, with the 7th-character expansions placed right after the code they
//! extend. Built once by `cm_parse`; read by the query, check and audit files.

use std::collections::HashMap;

/// Instructional notes attached to one level of the tabular (a code, section or chapter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CmNotes {
    /// `<includes>` notes.
    pub includes: Vec<String>,
    /// `<inclusionTerm>` notes (synonyms coded here).
    pub inclusion_terms: Vec<String>,
    /// `<excludes1>` notes: conditions never coded together with this one.
    pub excludes1: Vec<String>,
    /// `<excludes2>` notes: conditions not included here, may be coded together.
    pub excludes2: Vec<String>,
    /// `<codeFirst>` notes: the underlying condition to sequence first.
    pub code_first: Vec<String>,
    /// `<useAdditionalCode>` notes.
    pub use_additional: Vec<String>,
    /// `<codeAlso>` notes.
    pub code_also: Vec<String>,
    /// General `<notes>`.
    pub notes: Vec<String>,
}

impl CmNotes {
    /// True when no note of any kind is present.
    pub fn is_empty(&self) -> bool {
        self.includes.is_empty()
            && self.inclusion_terms.is_empty()
            && self.excludes1.is_empty()
            && self.excludes2.is_empty()
            && self.code_first.is_empty()
            && self.use_additional.is_empty()
            && self.code_also.is_empty()
            && self.notes.is_empty()
    }
}

/// The 7th-character definition of a category or subcategory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SevenCharDef {
    /// Allowed 7th characters and their meaning.
    pub chars: Vec<(char, String)>,
    /// The `<sevenChrNote>` text, when present.
    pub note: Option<String>,
}

/// A chapter of the tabular.
#[derive(Debug, Clone)]
pub(crate) struct Chapter {
    pub(crate) number: String,
    pub(crate) title: String,
    pub(crate) notes: CmNotes,
}

/// A section (block of categories, e.g. `E08-E13`).
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub(crate) id: String,
    pub(crate) first: String,
    pub(crate) last: String,
    pub(crate) title: String,
    pub(crate) chapter: u16,
    pub(crate) notes: CmNotes,
}

/// One ICD-10-CM code (tabular `<diag>` or a 7th-character expansion).
#[derive(Debug, Clone)]
pub(crate) struct CmNode {
    pub(crate) key: Box<str>,
    pub(crate) code: Box<str>,
    pub(crate) display: Box<str>,
    pub(crate) search_text: Box<str>,
    pub(crate) parent: Option<u32>,
    pub(crate) children: Vec<u32>,
    /// One past the last node of this node's subtree (nodes are in pre-order).
    pub(crate) subtree_end: u32,
    pub(crate) section: u16,
    pub(crate) billable: bool,
    /// True for codes made by appending a 7th character to a tabular leaf.
    pub(crate) expanded: bool,
    pub(crate) notes: Option<Box<CmNotes>>,
    /// The 7th-character definition applying to this code (own or inherited);
    /// `None` for expanded codes and codes outside 7th-character categories.
    pub(crate) seven: Option<u16>,
}

/// The whole ICD-10-CM table.
#[derive(Debug, Default)]
pub(crate) struct CmData {
    pub(crate) chapters: Vec<Chapter>,
    pub(crate) sections: Vec<Section>,
    pub(crate) nodes: Vec<CmNode>,
    pub(crate) seven_defs: Vec<SevenCharDef>,
    pub(crate) index: HashMap<Box<str>, u32>,
    /// Number of `<diag>` elements in the source.
    pub(crate) diag_count: usize,
    /// The tabular's fiscal year (`<version>`), e.g. 2026.
    pub(crate) fiscal_year: i32,
}

impl CmData {
    /// The node of an undotted key.
    pub(crate) fn node(&self, key: &str) -> Option<(u32, &CmNode)> {
        let id = *self.index.get(key)?;
        self.nodes.get(id as usize).map(|n| (id, n))
    }

    /// The node at an index (indices come from the table itself).
    pub(crate) fn at(&self, id: u32) -> &CmNode {
        &self.nodes[id as usize]
    }

    /// `id` and its ancestors, nearest first.
    pub(crate) fn ancestry(&self, id: u32) -> impl Iterator<Item = (u32, &CmNode)> {
        let mut next = Some(id);
        std::iter::from_fn(move || {
            let current = next?;
            let node = self.at(current);
            next = node.parent;
            Some((current, node))
        })
    }

    /// The section of a node.
    pub(crate) fn section_of(&self, node: &CmNode) -> &Section {
        &self.sections[node.section as usize]
    }

    /// The chapter of a node.
    pub(crate) fn chapter_of(&self, node: &CmNode) -> &Chapter {
        &self.chapters[self.section_of(node).chapter as usize]
    }

    /// Number of billable codes.
    pub(crate) fn billable_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.billable).count()
    }

    /// Drops 7th-character expansions that `keep` rejects (the tabular XML cannot say
    /// that, e.g., S06 "death" codes take only 7th character A; the MCE can), then
    /// renumbers parents, children, subtree ends and the index.
    pub(crate) fn retain_expansions(&mut self, keep: impl Fn(&str) -> bool) {
        let kept: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| !n.expanded || keep(&n.key))
            .collect();
        // new_index[i] = number of kept nodes before old index i
        let mut new_index = Vec::with_capacity(kept.len() + 1);
        let mut count = 0u32;
        for k in &kept {
            new_index.push(count);
            count += u32::from(*k);
        }
        new_index.push(count);
        let old = std::mem::take(&mut self.nodes);
        for (mut node, keep) in old.into_iter().zip(kept.iter()) {
            if !keep {
                continue;
            }
            node.parent = node.parent.map(|p| new_index[p as usize]);
            node.children = node
                .children
                .iter()
                .filter(|c| kept[**c as usize])
                .map(|c| new_index[*c as usize])
                .collect();
            node.subtree_end = new_index[node.subtree_end as usize];
            self.nodes.push(node);
        }
        self.index = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.key.clone(), i as u32))
            .collect();
    }
}
