//! ICD-10-CM look-up: the public [`CmConcept`] view of a code, and the instructional
//! notes collected up the hierarchy (code, its ancestors, its section and chapter).

use super::cm_table::{CmNode, CmNotes, SevenCharDef};
use super::codes::normalize;
use super::Terminology;

/// A chapter of ICD-10-CM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmChapter {
    /// Chapter number (`"19"`).
    pub number: String,
    /// Title with its range (`"Injury, poisoning ... (S00-T88)"`).
    pub title: String,
}

/// A block (section) of categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmBlock {
    /// Range id (`"S70-S79"`).
    pub id: String,
    /// Title with its range.
    pub title: String,
}

/// Everything the tabular says about one ICD-10-CM code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmConcept {
    /// Dotted code (`S72.001A`).
    pub code: String,
    /// Description (7th-character codes: the code's description, a comma, the 7th character's meaning).
    pub display: String,
    /// Valid for HIPAA transactions (a leaf, including 7th-character expansions).
    pub billable: bool,
    /// Dotted parent code; `None` for categories.
    pub parent: Option<String>,
    /// Dotted child codes (for 7th-character leaves: the expansions).
    pub children: Vec<String>,
    /// The chapter.
    pub chapter: CmChapter,
    /// The block (section).
    pub block: CmBlock,
    /// Notes attached to this code itself; see [`Terminology::cm_notes_up`] for inherited ones.
    pub notes: CmNotes,
    /// The 7th-character definition the code needs (own or inherited); `None` when no
    /// 7th character applies or the code already carries it.
    pub seven_char: Option<SevenCharDef>,
}

/// The notes of one level of the hierarchy.
#[derive(Debug, Clone, Copy)]
pub struct NoteLevel<'a> {
    /// What the level is: a dotted code, a block id (`E08-E13`), or a chapter number (`4`).
    pub level: &'a str,
    /// True for a code level (as opposed to a block or chapter).
    pub is_code: bool,
    /// Its notes.
    pub notes: &'a CmNotes,
}

impl Terminology {
    /// Looks up an ICD-10-CM code given dotted or undotted, any case.
    pub fn cm_lookup(&self, code: &str) -> Option<CmConcept> {
        let key = normalize(code)?;
        let (_, node) = self.cm.node(&key)?;
        Some(self.cm_concept(node))
    }

    pub(crate) fn cm_concept(&self, node: &CmNode) -> CmConcept {
        let section = self.cm.section_of(node);
        let chapter = self.cm.chapter_of(node);
        CmConcept {
            code: node.code.to_string(),
            display: node.display.to_string(),
            billable: node.billable,
            parent: node.parent.map(|p| self.cm.at(p).code.to_string()),
            children: node
                .children
                .iter()
                .map(|c| self.cm.at(*c).code.to_string())
                .collect(),
            chapter: CmChapter {
                number: chapter.number.clone(),
                title: chapter.title.clone(),
            },
            block: CmBlock {
                id: section.id.clone(),
                title: section.title.clone(),
            },
            notes: node.notes.as_deref().cloned().unwrap_or_default(),
            seven_char: node
                .seven
                .and_then(|s| self.cm.seven_defs.get(s as usize))
                .cloned(),
        }
    }

    /// The notes of a code, then of each ancestor, then of its block and chapter
    /// (nearest first). Levels without notes are skipped. Empty for unknown codes.
    pub fn cm_notes_up(&self, code: &str) -> Vec<NoteLevel<'_>> {
        let Some(key) = normalize(code) else {
            return Vec::new();
        };
        let Some((id, node)) = self.cm.node(&key) else {
            return Vec::new();
        };
        let mut levels: Vec<NoteLevel<'_>> = self
            .cm
            .ancestry(id)
            .filter_map(|(_, n)| {
                n.notes.as_deref().map(|notes| NoteLevel {
                    level: &n.code,
                    is_code: true,
                    notes,
                })
            })
            .collect();
        let section = self.cm.section_of(node);
        let chapter = self.cm.chapter_of(node);
        if !section.notes.is_empty() {
            levels.push(NoteLevel {
                level: &section.id,
                is_code: false,
                notes: &section.notes,
            });
        }
        if !chapter.notes.is_empty() {
            levels.push(NoteLevel {
                level: &chapter.number,
                is_code: false,
                notes: &chapter.notes,
            });
        }
        levels
    }

    /// The display of a code, when the tabular has it.
    pub fn cm_display(&self, code: &str) -> Option<&str> {
        let key = normalize(code)?;
        self.cm.node(&key).map(|(_, n)| &*n.display)
    }
}
