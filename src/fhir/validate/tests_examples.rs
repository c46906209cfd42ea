//! Validates every resource in the official R4 examples package (`$FHIR_EXAMPLES_DIR`,
//! the unpacked `hl7.fhir.r4.examples` 4.0.1) and expects all to pass except the few
//! that are genuinely invalid.

use std::path::Path;

use super::validate_resource;

/// Official examples that break the spec: (file name prefix, end of every expression
/// reported for it). Each is checked to still fail, so the list cannot go stale.
const KNOWN_INVALID: &[(&str, &str)] = &[
    // Questionnaire.item.linkId is 1..1; the nested display items have none.
    ("Questionnaire-qs1.json", ".linkId"),
    // ImplementationGuide.name and .status are 1..1.
    ("ImplementationGuide-fhir.json", "ImplementationGuide.name"),
    (
        "ImplementationGuide-fhir.json",
        "ImplementationGuide.status",
    ),
    ("ig-r4.json", "ImplementationGuide.name"),
    ("ig-r4.json", "ImplementationGuide.status"),
    // SearchParameter.base is 1..*; these extension search parameters omit it.
    (
        "SearchParameter-codesystem-extensions-",
        "SearchParameter.base",
    ),
    (
        "SearchParameter-valueset-extensions-",
        "SearchParameter.base",
    ),
    // The id has 68 characters; ids are limited to 64.
    (
        "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject",
        "SearchParameter.id",
    ),
];

#[test]
fn official_examples_validate() {
    let Ok(dir) = crate::fhir::test_examples_dir() else {
        println!("FHIR_EXAMPLES_DIR is not set: skipping the official examples");
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(Path::new(&dir))
        .expect("FHIR_EXAMPLES_DIR is readable")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let (mut checked, mut passed) = (0, 0);
    let mut unexpected = Vec::new();
    let mut known_used = vec![false; KNOWN_INVALID.len()];
    for path in &files {
        let text = std::fs::read_to_string(path).expect("example is readable");
        let resource: serde_json::Value = serde_json::from_str(&text).expect("example is JSON");
        if resource.get("resourceType").is_none() {
            continue; // package.json and the index
        }
        checked += 1;
        let issues = validate_resource(&resource);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if issues.is_empty() {
            passed += 1;
            continue;
        }
        for issue in issues {
            let known = KNOWN_INVALID.iter().position(|(file, expr)| {
                name.starts_with(file) && issue.expression.ends_with(expr)
            });
            if let Some(index) = known {
                known_used[index] = true;
            } else {
                unexpected.push(format!(
                    "{name}: {} [{}] {}",
                    issue.expression, issue.code, issue.message
                ));
            }
        }
    }
    println!(
        "official examples: {passed} of {checked} valid, {} known invalid",
        checked - passed
    );
    assert!(checked > 0, "no examples found");
    assert!(
        unexpected.is_empty(),
        "unexpected issues:\n{}",
        unexpected.join("\n")
    );
    for ((file, expression), used) in KNOWN_INVALID.iter().zip(known_used) {
        assert!(
            used,
            "{file} no longer reports {expression}: update KNOWN_INVALID"
        );
    }
}
