//! Edits from the tabular's instructional notes: Excludes1 pairs, "code first" and
//! "use additional code" instructions whose referenced codes are all absent. Only
//! references that parse cleanly are acted on.

use super::{finding, Ctx, Dx, Finding, Severity};
use crate::coding::cm_hierarchy::CodeSpec;
use crate::coding::cm_table::{CmData, CmNode, CmNotes, Section};
use crate::coding::codes::key_in_range;
use crate::coding::mce::MceFlag;
use crate::coding::note_refs::{parse_note_refs, NoteRefs};

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    excludes1(ctx, out);
    for (i, dx) in ctx.dx.iter().enumerate() {
        let Some(node) = table_node(ctx, dx) else {
            continue;
        };
        let others: Vec<&str> = ctx
            .dx
            .iter()
            .enumerate()
            .filter(|(j, d)| *j != i && d.key != dx.key)
            .filter_map(|(_, d)| d.key.as_deref())
            .collect();
        let present = |spec: &CodeSpec| others.iter().any(|k| spec.contains_key(k));
        code_first(ctx, dx, node, &present, out);
        use_additional(ctx, dx, node, &present, out);
    }
}

fn table_node<'a>(ctx: &'a Ctx<'_>, dx: &Dx<'_>) -> Option<(u32, &'a CmNode)> {
    dx.in_table.then_some(())?;
    ctx.terms.cm.node(dx.key.as_deref()?)
}

/// Notes of the code levels (code and ancestors), nearest first.
fn code_levels<'a>(ctx: &'a Ctx<'_>, id: u32) -> impl Iterator<Item = (&'a CmNode, &'a CmNotes)> {
    ctx.terms
        .cm
        .ancestry(id)
        .filter_map(|(_, n)| n.notes.as_deref().map(|notes| (n, notes)))
}

/// The level an Excludes1 note sits on; codes under that level itself are never
/// reported against it.
enum Level<'a> {
    Code(&'a str),
    Section(&'a Section),
    Chapter(u16),
}

impl Level<'_> {
    fn name(&self, cm: &CmData) -> String {
        match self {
            Level::Code(own) => crate::coding::codes::cm_dotted(own),
            Level::Section(section) => format!("block {}", section.id),
            Level::Chapter(chapter) => format!("chapter {}", cm.chapters[*chapter as usize].number),
        }
    }

    fn covers(&self, cm: &CmData, key: &str) -> bool {
        match self {
            Level::Code(own) => key.starts_with(own),
            Level::Section(section) => key_in_range(key, &section.first, &section.last),
            Level::Chapter(chapter) => cm
                .node(key)
                .is_some_and(|(_, n)| cm.section_of(n).chapter == *chapter),
        }
    }
}

fn excludes1(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let cm = &ctx.terms.cm;
    let mut reported: Vec<(usize, usize)> = Vec::new();
    for (i, a) in ctx.dx.iter().enumerate() {
        let Some((id, node)) = table_node(ctx, a) else {
            continue;
        };
        let section = cm.section_of(node);
        let mut levels: Vec<(&CmNotes, Level<'_>)> = code_levels(ctx, id)
            .map(|(n, notes)| (notes, Level::Code(&n.key)))
            .collect();
        levels.push((&section.notes, Level::Section(section)));
        levels.push((
            &cm.chapters[section.chapter as usize].notes,
            Level::Chapter(section.chapter),
        ));
        for (notes, level) in &levels {
            for note in &notes.excludes1 {
                let Some(spec) = parse_note_refs(note).codes else {
                    continue;
                };
                for (j, b) in ctx.dx.iter().enumerate() {
                    let Some(bkey) = b
                        .key
                        .as_deref()
                        .filter(|_| b.in_table && j != i && b.key != a.key)
                    else {
                        continue;
                    };
                    let pair = (i.min(j), i.max(j));
                    if level.covers(cm, bkey)
                        || !spec.contains_key(bkey)
                        || reported.contains(&pair)
                    {
                        continue;
                    }
                    reported.push(pair);
                    out.push(finding(
                        "excludes1-conflict",
                        Severity::Error,
                        vec![a.code.clone(), b.code.clone()],
                        &b.src.expression,
                        format!(
                            "{} and {} cannot be coded together: Excludes1 note \"{note}\" under {}; keep only the code that applies.",
                            a.code,
                            b.code,
                            level.name(cm)
                        ),
                    ));
                }
            }
        }
    }
}

/// Groups notes: a lead-in line ("such as:") gathers the lines after it as alternatives;
/// other lines stand alone. `None` when a group is conditional or does not parse cleanly.
fn note_groups(notes: &[String]) -> Option<Vec<(String, CodeSpecUnion)>> {
    let mut groups: Vec<(String, CodeSpecUnion)> = Vec::new();
    let mut in_lead_in = false;
    for note in notes {
        let refs: NoteRefs = parse_note_refs(note);
        if refs.conditional || !refs.clean {
            return None;
        }
        if refs.lead_in {
            groups.push((note.clone(), CodeSpecUnion::default()));
            in_lead_in = true;
            continue;
        }
        let spec = refs.codes?;
        match groups.last_mut() {
            Some((text, union)) if in_lead_in => {
                text.push(' ');
                text.push_str(note);
                union.0.push(spec);
            }
            _ => groups.push((note.clone(), CodeSpecUnion(vec![spec]))),
        }
    }
    groups
        .iter()
        .all(|(_, u)| !u.0.is_empty())
        .then_some(groups)
}

/// Alternatives: satisfied when any member matches.
#[derive(Default)]
struct CodeSpecUnion(Vec<CodeSpec>);

/// Code-first notes are acted on only when the code needs an etiology: a manifestation
/// (MCE flag) or a note asking for the "underlying" condition. Other code-first notes
/// ("heart failure due to hypertension (I11.0)") only order codes when both are present.
fn code_first(
    ctx: &Ctx<'_>,
    dx: &Dx<'_>,
    (id, _): (u32, &CmNode),
    present: &dyn Fn(&CodeSpec) -> bool,
    out: &mut Vec<Finding>,
) {
    let manifestation = dx.flags.is_some_and(|f| f.contains(MceFlag::Manifestation));
    let asks_underlying =
        code_levels(ctx, id).any(|(_, n)| n.code_first.iter().any(|t| t.contains("underlying")));
    if !manifestation && !asks_underlying {
        return;
    }
    let mut texts = Vec::new();
    let mut alternatives = Vec::new();
    for (_, notes) in code_levels(ctx, id).filter(|(_, n)| !n.code_first.is_empty()) {
        let Some(groups) = note_groups(&notes.code_first) else {
            return;
        };
        for (text, union) in groups {
            texts.push(text);
            alternatives.extend(union.0);
        }
    }
    if alternatives.is_empty() || alternatives.iter().any(present) {
        return;
    }
    out.push(finding(
        "code-first-missing",
        Severity::Warning,
        vec![dx.code.clone()],
        &dx.src.expression,
        format!("{} says code first: {}; none of these is coded. Add the underlying condition and sequence it first.", dx.code, texts.join("; ")),
    ));
}

fn use_additional(
    ctx: &Ctx<'_>,
    dx: &Dx<'_>,
    (id, _): (u32, &CmNode),
    present: &dyn Fn(&CodeSpec) -> bool,
    out: &mut Vec<Finding>,
) {
    for (_, notes) in code_levels(ctx, id).filter(|(_, n)| !n.use_additional.is_empty()) {
        let Some(groups) = note_groups(&notes.use_additional) else {
            continue;
        };
        for (text, union) in groups {
            if union.0.iter().any(present) {
                continue;
            }
            out.push(finding(
                "use-additional-missing",
                Severity::Warning,
                vec![dx.code.clone()],
                &dx.src.expression,
                format!("{} says use additional code: {text}; none is coded. Add it when the record supports it.", dx.code),
            ));
        }
    }
}
