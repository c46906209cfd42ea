//! `CodeSystem/$lookup` and `CodeSystem/$subsumes`.

use serde_json::{json, Value};

use super::{param, parameters, system_param, version, CodeSystem, OpParams};
use crate::coding::{CmConcept, PcsConcept, Subsumption, Terminology};
use crate::error::{AppError, AppResult};

/// SNOMED CT "Synonym" designation use, the usual code for alternative terms.
const SYNONYM: (&str, &str, &str) = ("http://snomed.info/sct", "900000000000013009", "Synonym");

/// `$lookup`: display, version, designations (inclusion terms) and properties (parent,
/// child, billable, chapter, block, notes, 7th characters; PCS axes). 404 for unknown codes.
pub fn lookup(terms: &Terminology, params: &OpParams) -> AppResult<Value> {
    let system = system_param(params, &["system", "coding.system"])?;
    let code = params.require(&["code", "coding.code"], "code")?;
    let wanted = params.all("property");
    let keep = |name: &str| wanted.is_empty() || wanted.contains(&name);
    let mut out = vec![
        param("name", "valueString", system.name()),
        param("version", "valueString", version(terms)),
    ];
    match system {
        CodeSystem::Cm => {
            let concept = terms
                .cm_lookup(code)
                .ok_or_else(|| not_found(system, code))?;
            cm_output(terms, &concept, &keep, &mut out);
        }
        CodeSystem::Pcs => {
            let concept = terms
                .pcs_lookup(code)
                .ok_or_else(|| not_found(system, code))?;
            pcs_output(&concept, &keep, &mut out);
        }
    }
    Ok(parameters(out))
}

fn not_found(system: CodeSystem, code: &str) -> AppError {
    AppError::NotFound(format!("'{code}' is not a code of {}", system.name()))
}

fn property(code: &str, kind: &str, value: impl Into<Value>, description: Option<&str>) -> Value {
    let mut value_part = json!({ "name": "value" });
    value_part[kind] = value.into();
    let mut part = vec![json!({ "name": "code", "valueCode": code }), value_part];
    if let Some(text) = description {
        part.push(json!({ "name": "description", "valueString": text }));
    }
    json!({ "name": "property", "part": part })
}

fn cm_output(
    terms: &Terminology,
    concept: &CmConcept,
    keep: &dyn Fn(&str) -> bool,
    out: &mut Vec<Value>,
) {
    out.push(param("display", "valueString", concept.display.clone()));
    out.push(param("abstract", "valueBoolean", !concept.billable));
    for term in &concept.notes.inclusion_terms {
        out.push(json!({ "name": "designation", "part": [
            { "name": "use", "valueCoding": { "system": SYNONYM.0, "code": SYNONYM.1, "display": SYNONYM.2 } },
            { "name": "value", "valueString": term },
        ]}));
    }
    let mut props = Vec::new();
    if let Some(parent) = &concept.parent {
        props.push(property("parent", "valueCode", parent.clone(), None));
    }
    for child in &concept.children {
        props.push(property("child", "valueCode", child.clone(), None));
    }
    props.push(property("billable", "valueBoolean", concept.billable, None));
    props.push(property(
        "chapter",
        "valueCode",
        concept.chapter.number.clone(),
        Some(&concept.chapter.title),
    ));
    props.push(property(
        "block",
        "valueCode",
        concept.block.id.clone(),
        Some(&concept.block.title),
    ));
    if let Some(seven) = &concept.seven_char {
        for (ch, meaning) in &seven.chars {
            props.push(property(
                "seventhCharacter",
                "valueCode",
                ch.to_string(),
                Some(meaning),
            ));
        }
    }
    for level in terms.cm_notes_up(&concept.code) {
        let from = (level.level != concept.code).then(|| format!("from {}", level.level));
        let notes = level.notes;
        for (name, texts) in [
            ("includes", &notes.includes),
            ("excludes1", &notes.excludes1),
            ("excludes2", &notes.excludes2),
            ("codeFirst", &notes.code_first),
            ("useAdditional", &notes.use_additional),
            ("codeAlso", &notes.code_also),
            ("note", &notes.notes),
        ] {
            for text in texts {
                props.push(property(name, "valueString", text.clone(), from.as_deref()));
            }
        }
    }
    out.extend(props.into_iter().filter(|p| keep(property_code(p))));
}

fn pcs_output(concept: &PcsConcept, keep: &dyn Fn(&str) -> bool, out: &mut Vec<Value>) {
    out.push(param("display", "valueString", concept.display.clone()));
    out.push(param("abstract", "valueBoolean", false));
    let mut props = vec![property("billable", "valueBoolean", true, None)];
    for axis in &concept.axes {
        let code = axis.title.to_lowercase().replace(' ', "-");
        props.push(property(
            &code,
            "valueCode",
            axis.code.to_string(),
            Some(&axis.label),
        ));
    }
    if let Some(definition) = &concept.operation_definition {
        props.push(property(
            "definition",
            "valueString",
            definition.clone(),
            None,
        ));
    }
    out.extend(props.into_iter().filter(|p| keep(property_code(p))));
}

fn property_code(p: &Value) -> &str {
    p.pointer("/part/0/valueCode")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `$subsumes`: `equivalent`, `subsumes`, `subsumed-by` or `not-subsumed` between codeA
/// and codeB (ICD-10-PCS has no hierarchy between codes: equal or not subsumed).
pub fn subsumes(terms: &Terminology, params: &OpParams) -> AppResult<Value> {
    let system = system_param(params, &["system", "codingA.system", "codingB.system"])?;
    let a = params.require(&["codeA", "codingA.code"], "codeA")?;
    let b = params.require(&["codeB", "codingB.code"], "codeB")?;
    let outcome = match system {
        CodeSystem::Cm => {
            for code in [a, b] {
                terms
                    .cm_lookup(code)
                    .ok_or_else(|| not_found(system, code))?;
            }
            terms.cm_subsumes(a, b).unwrap_or(Subsumption::NotSubsumed)
        }
        CodeSystem::Pcs => {
            let a = terms.pcs_lookup(a).ok_or_else(|| not_found(system, a))?;
            let b = terms.pcs_lookup(b).ok_or_else(|| not_found(system, b))?;
            if a.code == b.code {
                Subsumption::Equivalent
            } else {
                Subsumption::NotSubsumed
            }
        }
    };
    let code = match outcome {
        Subsumption::Equivalent => "equivalent",
        Subsumption::Subsumes => "subsumes",
        Subsumption::SubsumedBy => "subsumed-by",
        Subsumption::NotSubsumed => "not-subsumed",
    };
    Ok(parameters(vec![param("outcome", "valueCode", code)]))
}
