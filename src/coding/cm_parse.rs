//! Builds [`CmData`] from the CDC ICD-10-CM tabular XML: walks chapters, sections and
//! nested `<diag>` elements, inherits 7th-character definitions down the tree and
//! expands leaves that need one (placeholder `X` up to six characters).

use std::collections::HashMap;

use roxmltree::{Document, Node, ParsingOptions};

use super::cm_table::{Chapter, CmData, CmNode, CmNotes, Section, SevenCharDef};
use super::codes::{cm_dotted, normalize};
use super::CodingError;

/// Parses the tabular XML text.
pub(crate) fn parse_tabular(xml: &str) -> Result<CmData, CodingError> {
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(xml, options)
        .map_err(|e| CodingError::Data(format!("ICD-10-CM tabular XML: {e}")))?;
    let mut data = CmData {
        fiscal_year: child_text(doc.root_element(), "version")
            .parse()
            .unwrap_or(0),
        ..CmData::default()
    };
    for chapter in doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("chapter"))
    {
        let chapter_index = u16::try_from(data.chapters.len())
            .map_err(|_| CodingError::Data("too many chapters".into()))?;
        data.chapters.push(Chapter {
            number: child_text(chapter, "name"),
            title: child_text(chapter, "desc"),
            notes: read_notes(chapter),
        });
        for section in chapter.children().filter(|n| n.has_tag_name("section")) {
            let id = section.attribute("id").unwrap_or_default().to_string();
            let (first, last) = match id.split_once('-') {
                Some((a, b)) => (a.to_string(), b.to_string()),
                None => (id.clone(), id.clone()),
            };
            let section_index = u16::try_from(data.sections.len())
                .map_err(|_| CodingError::Data("too many sections".into()))?;
            data.sections.push(Section {
                id,
                first,
                last,
                title: child_text(section, "desc"),
                chapter: chapter_index,
                notes: read_notes(section),
            });
            for diag in section.children().filter(|n| n.has_tag_name("diag")) {
                add_diag(&mut data, diag, None, section_index, None)?;
            }
        }
    }
    data.index = data
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.key.clone(), i as u32))
        .collect::<HashMap<_, _>>();
    Ok(data)
}

fn add_diag(
    data: &mut CmData,
    diag: Node,
    parent: Option<u32>,
    section: u16,
    inherited_seven: Option<u16>,
) -> Result<u32, CodingError> {
    data.diag_count += 1;
    let name = child_text(diag, "name");
    let key = normalize(&name)
        .ok_or_else(|| CodingError::Data(format!("ICD-10-CM tabular: bad code {name:?}")))?;
    let display = child_text(diag, "desc");
    let seven = match read_seven_def(diag) {
        Some(def) => {
            data.seven_defs.push(def);
            Some(u16::try_from(data.seven_defs.len() - 1).unwrap_or(u16::MAX))
        }
        None => inherited_seven,
    };
    let notes = read_notes(diag);
    let id = push_node(data, &key, display, parent, section, false, seven)?;
    data.nodes[id as usize].notes = (!notes.is_empty()).then(|| Box::new(notes));
    let mut children = Vec::new();
    for child in diag.children().filter(|n| n.has_tag_name("diag")) {
        children.push(add_diag(data, child, Some(id), section, seven)?);
    }
    if children.is_empty() {
        match seven.and_then(|s| data.seven_defs.get(s as usize)).cloned() {
            Some(def) => {
                let mut padded = key.clone();
                while padded.len() < 6 {
                    padded.push('X');
                }
                let base = data.nodes[id as usize].display.clone();
                for (ch, meaning) in &def.chars {
                    let child_key = format!("{padded}{ch}");
                    let child_display = format!("{base}, {meaning}");
                    let child = push_node(
                        data,
                        &child_key,
                        child_display,
                        Some(id),
                        section,
                        true,
                        None,
                    )?;
                    data.nodes[child as usize].billable = true;
                    children.push(child);
                }
            }
            None => data.nodes[id as usize].billable = true,
        }
    }
    let end = data.nodes.len() as u32;
    let node = &mut data.nodes[id as usize];
    node.children = children;
    node.subtree_end = end;
    Ok(id)
}

fn push_node(
    data: &mut CmData,
    key: &str,
    display: String,
    parent: Option<u32>,
    section: u16,
    expanded: bool,
    seven: Option<u16>,
) -> Result<u32, CodingError> {
    let id = u32::try_from(data.nodes.len())
        .map_err(|_| CodingError::Data("too many ICD-10-CM codes".into()))?;
    data.nodes.push(CmNode {
        key: key.into(),
        code: cm_dotted(key).into(),
        search_text: format!("{} {}", key.to_ascii_lowercase(), display.to_lowercase()).into(),
        display: display.into(),
        parent,
        children: Vec::new(),
        subtree_end: id + 1,
        section,
        billable: false,
        expanded,
        notes: None,
        seven: if expanded { None } else { seven },
    });
    Ok(id)
}

fn read_seven_def(diag: Node) -> Option<SevenCharDef> {
    let def = diag.children().find(|n| n.has_tag_name("sevenChrDef"))?;
    let chars = def
        .children()
        .filter(|n| n.has_tag_name("extension"))
        .filter_map(|ext| {
            let ch = ext.attribute("char")?.chars().next()?;
            Some((
                ch.to_ascii_uppercase(),
                clean(ext.text().unwrap_or_default()),
            ))
        })
        .collect();
    let note = diag
        .children()
        .find(|n| n.has_tag_name("sevenChrNote"))
        .map(|n| note_texts(n).join(" "));
    Some(SevenCharDef { chars, note })
}

fn read_notes(element: Node) -> CmNotes {
    let mut notes = CmNotes::default();
    for child in element.children().filter(Node::is_element) {
        let target = match child.tag_name().name() {
            "includes" => &mut notes.includes,
            "inclusionTerm" => &mut notes.inclusion_terms,
            "excludes1" => &mut notes.excludes1,
            "excludes2" => &mut notes.excludes2,
            "codeFirst" => &mut notes.code_first,
            "useAdditionalCode" => &mut notes.use_additional,
            "codeAlso" => &mut notes.code_also,
            "notes" => &mut notes.notes,
            _ => continue,
        };
        target.extend(note_texts(child));
    }
    notes
}

fn note_texts(element: Node) -> Vec<String> {
    element
        .children()
        .filter(|n| n.has_tag_name("note"))
        .map(|n| clean(n.text().unwrap_or_default()))
        .collect()
}

fn child_text(element: Node, tag: &str) -> String {
    element
        .children()
        .find(|n| n.has_tag_name(tag))
        .and_then(|n| n.text())
        .map(clean)
        .unwrap_or_default()
}

fn clean(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
