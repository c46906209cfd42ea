//! Registry of the official FHIR R4 (4.0.1) search parameters, loaded once from
//! the embedded SearchParameter Bundle, plus the complete list of R4 resource
//! types and the Patient compartment definition. Pure data; no I/O at runtime.
//!
//! Multi-base expressions (`Account.subject | Patient.link.other ...`) are split
//! into their union branches and kept per base type, so evaluating a parameter
//! for one resource type only walks that type's paths. Parameters whose base is
//! `Resource`/`DomainResource` (`_id`, `_lastUpdated`, `_tag`, `_profile`,
//! `_security`, `_source`, `_text`, `_content`, `_query`) apply to every type.

use std::collections::HashMap;
use std::io::Read;

use once_cell::sync::Lazy;
use serde_json::Value;

use crate::fhir::fhirpath::{compile, BinaryOp, Expr};

static BUNDLE_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/fhir/search-parameters.json.gz"
));
static COMPARTMENT_PATIENT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/fhir/compartment-patient.json"
));

/// All 146 concrete R4 resource types, sorted.
pub const RESOURCE_TYPES: [&str; 146] = [
    "Account",
    "ActivityDefinition",
    "AdverseEvent",
    "AllergyIntolerance",
    "Appointment",
    "AppointmentResponse",
    "AuditEvent",
    "Basic",
    "Binary",
    "BiologicallyDerivedProduct",
    "BodyStructure",
    "Bundle",
    "CapabilityStatement",
    "CarePlan",
    "CareTeam",
    "CatalogEntry",
    "ChargeItem",
    "ChargeItemDefinition",
    "Claim",
    "ClaimResponse",
    "ClinicalImpression",
    "CodeSystem",
    "Communication",
    "CommunicationRequest",
    "CompartmentDefinition",
    "Composition",
    "ConceptMap",
    "Condition",
    "Consent",
    "Contract",
    "Coverage",
    "CoverageEligibilityRequest",
    "CoverageEligibilityResponse",
    "DetectedIssue",
    "Device",
    "DeviceDefinition",
    "DeviceMetric",
    "DeviceRequest",
    "DeviceUseStatement",
    "DiagnosticReport",
    "DocumentManifest",
    "DocumentReference",
    "EffectEvidenceSynthesis",
    "Encounter",
    "Endpoint",
    "EnrollmentRequest",
    "EnrollmentResponse",
    "EpisodeOfCare",
    "EventDefinition",
    "Evidence",
    "EvidenceVariable",
    "ExampleScenario",
    "ExplanationOfBenefit",
    "FamilyMemberHistory",
    "Flag",
    "Goal",
    "GraphDefinition",
    "Group",
    "GuidanceResponse",
    "HealthcareService",
    "ImagingStudy",
    "Immunization",
    "ImmunizationEvaluation",
    "ImmunizationRecommendation",
    "ImplementationGuide",
    "InsurancePlan",
    "Invoice",
    "Library",
    "Linkage",
    "List",
    "Location",
    "Measure",
    "MeasureReport",
    "Media",
    "Medication",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationKnowledge",
    "MedicationRequest",
    "MedicationStatement",
    "MedicinalProduct",
    "MedicinalProductAuthorization",
    "MedicinalProductContraindication",
    "MedicinalProductIndication",
    "MedicinalProductIngredient",
    "MedicinalProductInteraction",
    "MedicinalProductManufactured",
    "MedicinalProductPackaged",
    "MedicinalProductPharmaceutical",
    "MedicinalProductUndesirableEffect",
    "MessageDefinition",
    "MessageHeader",
    "MolecularSequence",
    "NamingSystem",
    "NutritionOrder",
    "Observation",
    "ObservationDefinition",
    "OperationDefinition",
    "OperationOutcome",
    "Organization",
    "OrganizationAffiliation",
    "Parameters",
    "Patient",
    "PaymentNotice",
    "PaymentReconciliation",
    "Person",
    "PlanDefinition",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "Questionnaire",
    "QuestionnaireResponse",
    "RelatedPerson",
    "RequestGroup",
    "ResearchDefinition",
    "ResearchElementDefinition",
    "ResearchStudy",
    "ResearchSubject",
    "RiskAssessment",
    "RiskEvidenceSynthesis",
    "Schedule",
    "SearchParameter",
    "ServiceRequest",
    "Slot",
    "Specimen",
    "SpecimenDefinition",
    "StructureDefinition",
    "StructureMap",
    "Subscription",
    "Substance",
    "SubstanceNucleicAcid",
    "SubstancePolymer",
    "SubstanceProtein",
    "SubstanceReferenceInformation",
    "SubstanceSourceMaterial",
    "SubstanceSpecification",
    "SupplyDelivery",
    "SupplyRequest",
    "Task",
    "TerminologyCapabilities",
    "TestReport",
    "TestScript",
    "ValueSet",
    "VerificationResult",
    "VisionPrescription",
];

/// Whether `name` is a concrete R4 resource type.
pub fn is_resource_type(name: &str) -> bool {
    RESOURCE_TYPES.binary_search(&name).is_ok()
}

/// Search parameter type (`SearchParameter.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    Number,
    Date,
    String,
    Token,
    Reference,
    Composite,
    Quantity,
    Uri,
    Special,
}

impl ParamKind {
    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "number" => Self::Number,
            "date" => Self::Date,
            "string" => Self::String,
            "token" => Self::Token,
            "reference" => Self::Reference,
            "composite" => Self::Composite,
            "quantity" => Self::Quantity,
            "uri" => Self::Uri,
            "special" => Self::Special,
            _ => return None,
        })
    }
}

/// One component of a composite search parameter.
#[derive(Debug, Clone)]
pub struct Component {
    /// Canonical URL of the component's own SearchParameter.
    pub definition_url: String,
    /// Expression relative to the composite's focus.
    pub expression: String,
    /// `expression`, compiled.
    pub compiled: Option<Expr>,
}

/// One search parameter definition.
#[derive(Debug, Clone)]
pub struct SearchParamDef {
    pub code: String,
    pub url: String,
    pub kind: ParamKind,
    pub base: Vec<String>,
    pub expression: Option<String>,
    /// The whole expression, compiled (`None` when absent or not compilable).
    pub compiled: Option<Expr>,
    pub targets: Vec<String>,
    pub modifiers: Vec<String>,
    pub comparators: Vec<String>,
    pub components: Vec<Component>,
    /// Union branches of `compiled` that apply to each base type.
    per_base: Vec<(String, Expr)>,
}

/// R4 Observation's `combo-*` parameters: each is the union of a parameter on the
/// Observation and its twin on the components, so its index rows would repeat theirs (18 %
/// of all index rows on the synthetic population). They are not stored; searches read the
/// two parameters' rows instead.
const UNIONS: &[(&str, [&str; 2])] = &[
    ("combo-code", ["code", "component-code"]),
    (
        "combo-data-absent-reason",
        ["data-absent-reason", "component-data-absent-reason"],
    ),
    (
        "combo-value-concept",
        ["value-concept", "component-value-concept"],
    ),
    (
        "combo-value-quantity",
        ["value-quantity", "component-value-quantity"],
    ),
    (
        "combo-code-value-concept",
        ["code-value-concept", "component-code-value-concept"],
    ),
    (
        "combo-code-value-quantity",
        ["code-value-quantity", "component-code-value-quantity"],
    ),
];

impl SearchParamDef {
    /// The parameters whose index rows together are this one's, when it is not stored.
    pub fn union_of(&self) -> Option<&'static [&'static str]> {
        if self.base.len() != 1 || self.base[0] != "Observation" {
            return None;
        }
        UNIONS
            .iter()
            .find(|(code, _)| *code == self.code)
            .map(|(_, parts)| parts.as_slice())
    }

    /// The part of the expression that applies to `resource_type`.
    pub fn expression_for(&self, resource_type: &str) -> Option<&Expr> {
        self.per_base
            .iter()
            .find(|(base, _)| base == resource_type)
            .or_else(|| {
                self.per_base
                    .iter()
                    .find(|(base, _)| base == "Resource" || base == "DomainResource")
            })
            .map(|(_, expr)| expr)
    }
}

/// The loaded search parameters with lookup indexes.
pub struct Registry {
    params: Vec<SearchParamDef>,
    by_type: HashMap<String, Vec<usize>>,
    by_url: HashMap<String, usize>,
    generic: Vec<usize>,
    /// Per resource type: (parameter index, expression for that type).
    expressions: HashMap<String, Vec<(usize, Expr)>>,
    compartment: HashMap<String, Vec<String>>,
}

static REGISTRY: Lazy<Registry> = Lazy::new(Registry::load);

/// The process-wide registry (parsed on first use).
pub fn registry() -> &'static Registry {
    &REGISTRY
}

impl Registry {
    /// Parameters that apply to `resource_type`, including the `Resource`/
    /// `DomainResource` ones (`_id`, `_lastUpdated`, `_tag`, ...).
    pub fn params_for(&self, resource_type: &str) -> Vec<&SearchParamDef> {
        let own = self.by_type.get(resource_type).into_iter().flatten();
        let known = is_resource_type(resource_type)
            || resource_type == "Resource"
            || resource_type == "DomainResource";
        let generic: &[usize] = if known { &self.generic } else { &[] };
        generic
            .iter()
            .chain(own)
            .map(|&i| &self.params[i])
            .collect()
    }

    /// Parameters of `resource_type` that have an expression, each with the
    /// part of its expression that applies to that type (precomputed).
    pub fn expressions_for(
        &self,
        resource_type: &str,
    ) -> impl Iterator<Item = (&SearchParamDef, &Expr)> {
        self.expressions
            .get(resource_type)
            .into_iter()
            .flatten()
            .map(|(i, expr)| (&self.params[*i], expr))
    }

    /// The parameter `code` for `resource_type` (own or inherited).
    pub fn get(&self, resource_type: &str, code: &str) -> Option<&SearchParamDef> {
        let own = self.by_type.get(resource_type).into_iter().flatten();
        own.chain(self.generic.iter())
            .map(|&i| &self.params[i])
            .find(|p| p.code == code)
    }

    /// The parameter with canonical `url`.
    pub fn by_url(&self, url: &str) -> Option<&SearchParamDef> {
        self.by_url.get(url).map(|&i| &self.params[i])
    }

    /// Every definition, in bundle order.
    pub fn all(&self) -> &[SearchParamDef] {
        &self.params
    }

    /// All concrete R4 resource types.
    pub fn resource_types(&self) -> &'static [&'static str] {
        &RESOURCE_TYPES
    }

    /// Parameters that place a `resource_type` in the Patient compartment
    /// (empty when the type is not in the compartment).
    pub fn patient_compartment_params(&self, resource_type: &str) -> &[String] {
        self.compartment
            .get(resource_type)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn load() -> Registry {
        let bundle = decompress(BUNDLE_GZ).unwrap_or(Value::Null);
        let entries = bundle.get("entry").and_then(Value::as_array);
        let own = super::chartroom_params::definitions();
        let params: Vec<SearchParamDef> = entries
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("resource"))
            .chain(own.iter())
            .filter_map(parse_definition)
            .collect();
        let mut by_type: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_url = HashMap::new();
        let mut generic = Vec::new();
        for (i, p) in params.iter().enumerate() {
            by_url.entry(p.url.clone()).or_insert(i);
            for base in &p.base {
                if base == "Resource" || base == "DomainResource" {
                    generic.push(i);
                } else {
                    by_type.entry(base.clone()).or_default().push(i);
                }
            }
        }
        let expressions = RESOURCE_TYPES
            .iter()
            .map(|rt| {
                let own = by_type.get(*rt).into_iter().flatten();
                let list = generic
                    .iter()
                    .chain(own)
                    .filter_map(|&i| Some((i, params[i].expression_for(rt)?.clone())))
                    .collect();
                (rt.to_string(), list)
            })
            .collect();
        Registry {
            params,
            by_type,
            by_url,
            generic,
            expressions,
            compartment: load_compartment(),
        }
    }
}

fn decompress(bytes: &[u8]) -> Option<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn text(resource: &Value, key: &str) -> Option<String> {
    resource
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn parse_definition(resource: &Value) -> Option<SearchParamDef> {
    let kind = ParamKind::parse(resource.get("type")?.as_str()?)?;
    let expression = text(resource, "expression");
    let compiled = expression.as_deref().and_then(|e| compile(e).ok());
    let base = strings(resource.get("base"));
    let per_base = compiled
        .as_ref()
        .map(|expr| split_by_base(expr, &base))
        .unwrap_or_default();
    let components = resource
        .get("component")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let expression = text(c, "expression")?;
            Some(Component {
                definition_url: text(c, "definition")?,
                compiled: compile(&expression).ok(),
                expression,
            })
        })
        .collect();
    Some(SearchParamDef {
        code: text(resource, "code")?,
        url: text(resource, "url")?,
        kind,
        base,
        expression,
        compiled,
        targets: strings(resource.get("target")),
        modifiers: strings(resource.get("modifier")),
        comparators: strings(resource.get("comparator")),
        components,
        per_base,
    })
}

/// For each base type, the union of the expression's branches rooted at that
/// type (or not rooted at any resource type, e.g. `Resource.meta.tag`).
fn split_by_base(expr: &Expr, bases: &[String]) -> Vec<(String, Expr)> {
    let mut branches = Vec::new();
    union_branches(expr, &mut branches);
    bases
        .iter()
        .filter_map(|base| {
            let kept = branches
                .iter()
                .filter(|b| match root_name(b) {
                    Some(root) if is_resource_type(root) => root == base,
                    _ => true,
                })
                .map(|b| (*b).clone())
                .reduce(|a, b| Expr::Binary(BinaryOp::Union, Box::new(a), Box::new(b)))?;
            Some((base.clone(), kept))
        })
        .collect()
}

fn union_branches<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    match expr {
        Expr::Binary(BinaryOp::Union, left, right) => {
            union_branches(left, out);
            union_branches(right, out);
        }
        other => out.push(other),
    }
}

/// The identifier a path starts from (`Patient` in `Patient.name.where(...)`).
fn root_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Identifier(name) => Some(name),
        Expr::Member(base, _) | Expr::Indexer(base, _) | Expr::Type(_, base, _) => root_name(base),
        Expr::Call(Some(base), _, _) => root_name(base),
        _ => None,
    }
}

fn load_compartment() -> HashMap<String, Vec<String>> {
    let definition: Value = serde_json::from_str(COMPARTMENT_PATIENT).unwrap_or(Value::Null);
    definition
        .get("resource")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let params = strings(r.get("param"));
            let code = r.get("code")?.as_str()?;
            (!params.is_empty()).then(|| (code.to_string(), params))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_all_definitions() {
        let reg = registry();
        let own = crate::fhir::chartroom_params::definitions().len();
        assert_eq!(reg.all().len(), 1375 + own);
        assert!(reg
            .all()
            .iter()
            .all(|p| p.expression.is_none() || p.compiled.is_some()));
        let mut sorted = RESOURCE_TYPES;
        sorted.sort_unstable();
        assert_eq!(sorted, RESOURCE_TYPES);
    }

    #[test]
    fn lookups() {
        let reg = registry();
        let family = reg.get("Patient", "family").expect("family");
        assert_eq!(family.kind, ParamKind::String);
        assert!(reg.get("Patient", "_tag").is_some());
        assert!(reg.get("Patient", "nonsense").is_none());
        let codes: Vec<&str> = reg
            .params_for("Patient")
            .iter()
            .map(|p| p.code.as_str())
            .collect();
        assert!(codes.contains(&"_profile") && codes.contains(&"birthdate"));
        let url = "http://hl7.org/fhir/SearchParameter/clinical-code";
        assert_eq!(reg.by_url(url).map(|p| p.code.as_str()), Some("code"));
        assert!(is_resource_type("Patient") && !is_resource_type("HumanName"));
        assert_eq!(reg.resource_types().len(), 146);
    }

    #[test]
    fn compartment() {
        let reg = registry();
        assert_eq!(
            reg.patient_compartment_params("Observation"),
            ["subject", "performer"]
        );
        assert!(reg.patient_compartment_params("Organization").is_empty());
    }

    #[test]
    fn multi_base_expression_is_split() {
        let reg = registry();
        let patient = reg.get("Observation", "patient").expect("patient");
        assert!(patient.base.len() > 10);
        let text = format!("{:?}", patient.expression_for("Observation"));
        assert!(text.contains("Observation") && !text.contains("AllergyIntolerance"));
        assert!(patient.expression_for("Patient").is_none());
        // The whole union on another type yields only that type's branch.
        let obs = serde_json::json!({"resourceType": "Observation",
            "subject": {"reference": "Patient/1"}, "patient": {"reference": "Patient/2"}});
        let full = patient.compiled.as_ref().expect("compiled");
        let found = crate::fhir::fhirpath::evaluate(full, &obs).expect("evaluates");
        assert_eq!(found.len(), 1);
        let tag = reg.get("Condition", "_tag").expect("_tag");
        assert!(tag.expression_for("Condition").is_some());
    }
}
