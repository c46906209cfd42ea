//! Bulk Data kick-off parameters (`_type`, `_since`, `_typeFilter`, `_outputFormat`,
//! `_elements`, `patient`, `includeAssociatedData`) → the stored `ExportSpec`, and the
//! search each exported type runs. Pure: no I/O.

use crate::auth::{Access, Action, Principal};
use crate::error::{AppError, AppResult};
use crate::fhir::search_params::{registry, RESOURCE_TYPES};
use crate::search::parse::{parse, Clause, ClauseKind, Limits, SearchRequest};
use serde::{Deserialize, Serialize};

/// Output formats accepted for `_outputFormat` (all mean FHIR NDJSON).
pub const OUTPUT_FORMATS: &[&str] = &["application/fhir+ndjson", "application/ndjson", "ndjson"];

/// Whose data: everything, every patient's compartment, or a Group's members'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    System,
    Patient,
    /// The Group's id and its member patients' ids (resolved at kick-off).
    Group {
        id: String,
        patients: Vec<String>,
    },
}

/// One `_typeFilter` query.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TypeFilter {
    pub res_type: String,
    /// The query string (`code=E11&status=active`), form-encoded.
    pub query: String,
}

/// `includeAssociatedData`: which Provenance resources go with the exported resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Associated {
    /// `LatestProvenanceResources`: per exported resource, its most recent Provenance.
    LatestProvenance,
    /// `RelevantProvenanceResources`: every Provenance targeting an exported resource.
    RelevantProvenance,
}

/// What a job exports, as stored with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportSpec {
    pub level: Level,
    /// Types in export order (with `associated`, a last `Provenance` for that pass).
    pub types: Vec<String>,
    /// `_since` as given (a FHIR instant).
    pub since: Option<String>,
    pub type_filters: Vec<TypeFilter>,
    /// `patient`: only these patients' compartments (ids, checked at kick-off).
    #[serde(default)]
    pub patients: Vec<String>,
    /// `_elements` as given (`Patient.name`, `status`).
    #[serde(default)]
    pub elements: Vec<String>,
    #[serde(default)]
    pub associated: Option<Associated>,
    /// Parameters ignored under `Prefer: handling=lenient` (for the kick-off response).
    #[serde(default)]
    pub ignored: Vec<String>,
}

/// True for types in the Patient compartment (and Patient itself).
pub fn in_patient_compartment(res_type: &str) -> bool {
    res_type == "Patient" || !registry().patient_compartment_params(res_type).is_empty()
}

fn refused(name: &str, why: &str) -> AppError {
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(": {why}")
    };
    AppError::invalid(format!(
        "the export parameter '{name}' is not supported{why} (send Prefer: handling=lenient to ignore it)"
    ))
}

/// Splits a `_typeFilter` value into its queries: commas start a new query only where
/// `Type?` follows, so unescaped commas inside values (OR lists) stay in their query.
fn split_filters(value: &str) -> Vec<&str> {
    let mut starts = vec![0];
    for (i, _) in value.match_indices(',') {
        let rest = &value[i + 1..];
        let head: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !head.is_empty() && rest[head.len()..].starts_with('?') {
            starts.push(i + 1);
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(n, &s)| {
            let end = starts.get(n + 1).map(|e| e - 1).unwrap_or(value.len());
            &value[s..end]
        })
        .filter(|q| !q.trim().is_empty())
        .collect()
}

fn filter_limits() -> Limits {
    Limits {
        default_count: 1000,
        max_count: 1000,
        strict: true,
        ..Limits::default()
    }
}

/// The clauses of one `_typeFilter` query (400 when it is not a plain search).
pub fn filter_clauses(filter: &TypeFilter) -> AppResult<Vec<Clause>> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(filter.query.as_bytes())
        .into_owned()
        .collect();
    let at = |e: AppError| match e {
        AppError::BadRequest(mut issues) => {
            for issue in &mut issues {
                issue.diagnostics = format!(
                    "_typeFilter {}?{}: {}",
                    filter.res_type, filter.query, issue.diagnostics
                );
            }
            AppError::BadRequest(issues)
        }
        other => other,
    };
    if let Some((key, _)) = pairs.iter().find(|(k, _)| {
        matches!(
            k.as_str(),
            "_include"
                | "_revinclude"
                | "_sort"
                | "_count"
                | "_summary"
                | "_elements"
                | "_total"
                | "_type"
        )
    }) {
        return Err(AppError::invalid(format!(
            "_typeFilter {}: '{key}' is not a search criterion",
            filter.res_type
        )));
    }
    let request = parse(
        std::slice::from_ref(&filter.res_type),
        &pairs,
        &filter_limits(),
    )
    .map_err(at)?;
    Ok(request.clauses)
}

/// The export a kick-off request asks for: `pairs` are its query parameters, `principal`
/// its caller; `lenient` ignores unsupported parameters instead of refusing them.
pub fn plan(
    level: Level,
    pairs: &[(String, String)],
    principal: &Principal,
    lenient: bool,
) -> AppResult<ExportSpec> {
    let mut types: Option<Vec<String>> = None;
    let mut since = None;
    let mut type_filters = Vec::new();
    let mut patients: Vec<String> = Vec::new();
    let mut elements: Vec<String> = Vec::new();
    let mut associated = None;
    let mut ignored = Vec::new();
    let mut unsupported = |name: &str, why: &str| {
        if lenient {
            ignored.push(name.to_string());
            Ok(())
        } else {
            Err(refused(name, why))
        }
    };
    for (key, value) in pairs {
        match key.as_str() {
            "_type" => {
                let listed = types.get_or_insert_with(Vec::new);
                for t in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if !crate::fhir::search_params::is_resource_type(t) {
                        return Err(AppError::invalid(format!(
                            "_type: '{t}' is not a FHIR R4 resource type"
                        )));
                    }
                    if !listed.iter().any(|l| l == t) {
                        listed.push(t.to_string());
                    }
                }
            }
            "_since" => {
                if crate::fhir::index::date_range(value).is_none() || !value.contains('T') {
                    return Err(AppError::invalid(format!(
                        "_since '{value}' is not a FHIR instant (e.g. 2026-01-01T00:00:00Z)"
                    )));
                }
                since = Some(value.clone());
            }
            "_outputFormat" => {
                if !OUTPUT_FORMATS.contains(&value.as_str()) {
                    return Err(AppError::invalid(format!(
                        "_outputFormat '{value}' is not supported; use application/fhir+ndjson"
                    )));
                }
            }
            "_typeFilter" => {
                for query in split_filters(value) {
                    let (res_type, query) = query.split_once('?').ok_or_else(|| {
                        AppError::invalid(format!(
                            "_typeFilter '{query}' is not of the form Type?query"
                        ))
                    })?;
                    if !crate::fhir::search_params::is_resource_type(res_type) {
                        return Err(AppError::invalid(format!(
                            "_typeFilter: '{res_type}' is not a FHIR R4 resource type"
                        )));
                    }
                    let filter = TypeFilter {
                        res_type: res_type.to_string(),
                        query: query.to_string(),
                    };
                    filter_clauses(&filter)?;
                    type_filters.push(filter);
                }
            }
            "_elements" => {
                for element in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                    check_element(element)?;
                    elements.push(element.to_string());
                }
            }
            "patient" if level == Level::System => {
                unsupported("patient", "it does not apply to a system-level export")?
            }
            "patient" => {
                let id = patient_id(value)?;
                if let Level::Group {
                    id: group,
                    patients: members,
                } = &level
                {
                    if !members.contains(&id) {
                        return Err(AppError::invalid(format!(
                            "patient: Patient/{id} is not an active member of Group/{group}"
                        )));
                    }
                }
                if !patients.contains(&id) {
                    patients.push(id);
                }
            }
            "includeAssociatedData" => {
                for code in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    match code {
                        "LatestProvenanceResources" => {
                            associated.get_or_insert(Associated::LatestProvenance);
                        }
                        "RelevantProvenanceResources" => {
                            associated = Some(Associated::RelevantProvenance)
                        }
                        other => unsupported(
                            &format!("includeAssociatedData={other}"),
                            "the values supported are LatestProvenanceResources and RelevantProvenanceResources",
                        )?,
                    }
                }
            }
            "_format" | "_pretty" => {}
            other => unsupported(other, "")?,
        }
    }
    let compartment_only = level != Level::System;
    let types = match types {
        Some(listed) => {
            for t in &listed {
                if compartment_only && !in_patient_compartment(t) {
                    return Err(AppError::invalid(format!(
                        "_type: {t} is not in the Patient compartment, so a Patient or Group export has none"
                    )));
                }
                if !principal.may(t, Action::Search) {
                    return Err(AppError::Forbidden(format!(
                        "the token's scopes do not allow exporting {t}"
                    )));
                }
            }
            listed
        }
        None => RESOURCE_TYPES
            .iter()
            .filter(|t| !compartment_only || in_patient_compartment(t))
            .filter(|t| principal.may(t, Action::Search))
            .map(|t| t.to_string())
            .collect(),
    };
    if let Some(f) = type_filters.iter().find(|f| !types.contains(&f.res_type)) {
        return Err(AppError::invalid(format!(
            "_typeFilter names {} which this export does not include",
            f.res_type
        )));
    }
    if types.is_empty() {
        return Err(AppError::Forbidden(
            "the token's scopes allow exporting no resource type".into(),
        ));
    }
    let mut types = types;
    // Provenance among the types already brings every Provenance the requester may see
    let associated = associated.filter(|_| !types.iter().any(|t| t == "Provenance"));
    if associated.is_some() {
        if !principal.may("Provenance", Action::Search) {
            return Err(AppError::Forbidden(
                "includeAssociatedData: the token's scopes do not allow exporting Provenance"
                    .into(),
            ));
        }
        types.push("Provenance".into());
    }
    Ok(ExportSpec {
        level,
        types,
        since,
        type_filters,
        patients,
        elements,
        associated,
        ignored,
    })
}

/// `_elements` items are `element` or `Type.element`, top-level elements only.
fn check_element(element: &str) -> AppResult<()> {
    let (res_type, name) = match element.split_once('.') {
        Some((t, n)) => (Some(t), n),
        None => (None, element),
    };
    let plain = |n: &str| {
        n.starts_with(|c: char| c.is_ascii_lowercase())
            && n.chars().all(|c| c.is_ascii_alphanumeric())
    };
    if !plain(name) {
        return Err(AppError::invalid(format!(
            "_elements: '{element}' is not a top-level element (use element or Type.element)"
        )));
    }
    if let Some(t) = res_type.filter(|t| !crate::fhir::search_params::is_resource_type(t)) {
        return Err(AppError::invalid(format!(
            "_elements: '{t}' is not a FHIR R4 resource type"
        )));
    }
    Ok(())
}

/// The id of a `patient` reference (`Patient/123`, or an absolute URL ending so).
fn patient_id(reference: &str) -> AppResult<String> {
    let bad = || {
        AppError::invalid(format!(
            "patient: '{reference}' is not a Patient reference (Patient/id)"
        ))
    };
    let (_, id) = reference.rsplit_once("Patient/").ok_or_else(bad)?;
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid || !(reference == format!("Patient/{id}") || reference.contains("://")) {
        return Err(bad());
    }
    Ok(id.to_string())
}

impl ExportSpec {
    /// The search that selects `res_type`'s resources for this export, with the requester's
    /// `access` limits (compartment, sealed labels) and the Consent-`denied` patients applied:
    /// exactly what the requester could find by searching.
    pub fn search(
        &self,
        res_type: &str,
        access: &Access,
        denied: &[String],
    ) -> AppResult<SearchRequest> {
        let mut search = parse(
            std::slice::from_ref(&res_type.to_string()),
            &[],
            &filter_limits(),
        )?;
        let clause = |kind| Clause {
            res_type: res_type.to_string(),
            kind,
        };
        if self.associated_pass(res_type) {
            // which Provenance go along is decided per resource (`associated`)
            crate::store::access::restrict_search(&mut search, access)?;
            return Ok(search);
        }
        if let Some(since) = &self.since {
            search
                .clauses
                .push(clause(ClauseKind::LastUpdated(vec![format!("gt{since}")])));
        }
        let compartments = match &self.level {
            Level::System => None,
            Level::Patient if self.patients.is_empty() => Some(None),
            Level::Patient => Some(Some(self.patients.clone())),
            Level::Group { patients, .. } if self.patients.is_empty() => {
                Some(Some(patients.clone()))
            }
            // requested patients are checked to be members at kick-off
            Level::Group { .. } => Some(Some(self.patients.clone())),
        };
        if let Some(patients) = compartments {
            search
                .clauses
                .push(clause(ClauseKind::InCompartments(patients)));
        }
        let filters: Vec<Vec<Clause>> = self
            .type_filters
            .iter()
            .filter(|f| f.res_type == res_type)
            .map(filter_clauses)
            .collect::<AppResult<_>>()?;
        if !filters.is_empty() {
            search.clauses.push(clause(ClauseKind::AnyOf(filters)));
        }
        crate::store::access::restrict_search(&mut search, access)?;
        if !denied.is_empty() {
            search
                .clauses
                .push(clause(ClauseKind::ExcludePatients(denied.to_vec())));
        }
        Ok(search)
    }
}

impl ExportSpec {
    /// True when `res_type` is the extra Provenance pass of `includeAssociatedData`.
    pub fn associated_pass(&self, res_type: &str) -> bool {
        self.associated.is_some() && res_type == "Provenance"
    }

    /// The top-level elements `res_type`'s resources keep under `_elements` (with the
    /// type's mandatory ones); None when none is listed for the type (exported whole).
    pub fn elements_for(&self, res_type: &str) -> Option<Vec<String>> {
        let mut names: Vec<String> = self
            .elements
            .iter()
            .filter_map(|e| match e.split_once('.') {
                Some((t, name)) => (t == res_type).then(|| name.to_string()),
                None => Some(e.clone()),
            })
            .collect();
        if names.is_empty() {
            return None;
        }
        names.extend(crate::fhir::validate::required_elements(res_type));
        Some(names)
    }
}

/// The clauses of a plain search `pairs` on `res_type` (an export's own criteria).
pub fn clauses(res_type: &str, pairs: &[(String, String)]) -> AppResult<Vec<Clause>> {
    Ok(parse(
        std::slice::from_ref(&res_type.to_string()),
        pairs,
        &filter_limits(),
    )?
    .clauses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filters_split_where_a_type_follows() {
        assert_eq!(
            split_filters("Condition?code=E11,E10,Observation?status=final"),
            vec!["Condition?code=E11,E10", "Observation?status=final"]
        );
        assert_eq!(
            split_filters("Patient?gender=female"),
            vec!["Patient?gender=female"]
        );
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bad_parameters_are_refused() {
        let p = Principal::unrestricted();
        for bad in [
            ("_type", "Nonsense"),
            ("_since", "yesterday"),
            ("_since", "2026-01-01"),
            ("_outputFormat", "text/csv"),
            ("_typeFilter", "Condition?bogus=1"),
            ("_typeFilter", "Condition?_sort=date"),
            ("patient", "Patient/1"),
        ] {
            assert!(
                plan(Level::System, &pairs(&[bad]), &p, false).is_err(),
                "{bad:?}"
            );
        }
        assert!(plan(Level::System, &pairs(&[("patient", "Patient/1")]), &p, true).is_ok());
        assert!(plan(
            Level::Patient,
            &pairs(&[("_type", "Practitioner")]),
            &p,
            false
        )
        .is_err());
    }

    #[test]
    fn patients_elements_and_associated_data() {
        let p = Principal::unrestricted();
        let group = Level::Group {
            id: "g".into(),
            patients: vec!["p1".into(), "p2".into()],
        };
        let spec = plan(
            group.clone(),
            &pairs(&[("patient", "Patient/p2")]),
            &p,
            false,
        )
        .unwrap();
        assert_eq!(spec.patients, vec!["p2"]);
        assert!(plan(group, &pairs(&[("patient", "Patient/p3")]), &p, false).is_err());
        assert!(plan(Level::Patient, &pairs(&[("patient", "p3")]), &p, false).is_err());

        let spec = plan(
            Level::System,
            &pairs(&[
                ("_elements", "Patient.name,code"),
                ("_type", "Patient,Observation,Condition"),
            ]),
            &p,
            false,
        )
        .unwrap();
        assert_eq!(spec.elements_for("Patient").unwrap(), vec!["name", "code"]);
        let observation = spec.elements_for("Observation").unwrap();
        assert!(
            observation.contains(&"status".to_string()),
            "{observation:?}"
        );
        let spec = plan(
            Level::System,
            &pairs(&[("_elements", "Patient.name")]),
            &p,
            false,
        )
        .unwrap();
        assert_eq!(spec.elements_for("Condition"), None);

        let associated = |value: &str, types: &str| {
            plan(
                Level::System,
                &pairs(&[("_type", types), ("includeAssociatedData", value)]),
                &p,
                true,
            )
            .unwrap()
        };
        let spec = associated("LatestProvenanceResources", "Condition");
        assert_eq!(spec.types, vec!["Condition", "Provenance"]);
        assert!(spec.associated_pass("Provenance"));
        let spec = associated(
            "LatestProvenanceResources,RelevantProvenanceResources",
            "Condition",
        );
        assert_eq!(spec.associated, Some(Associated::RelevantProvenance));
        let spec = associated("LatestProvenanceResources", "Condition,Provenance");
        assert_eq!(spec.associated, None);
        let spec = associated("_custom", "Condition");
        assert_eq!(spec.ignored, vec!["includeAssociatedData=_custom"]);
    }

    #[test]
    fn default_types_follow_the_level() {
        let p = Principal::unrestricted();
        let system = plan(Level::System, &[], &p, false).unwrap();
        assert_eq!(system.types.len(), RESOURCE_TYPES.len());
        let patient = plan(Level::Patient, &[], &p, false).unwrap();
        assert!(patient.types.contains(&"Condition".to_string()));
        assert!(!patient.types.contains(&"Practitioner".to_string()));
    }
}
