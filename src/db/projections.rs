//! Typed projections of Patient, Encounter, Condition, Procedure, Observation and
//! MedicationRequest: narrow tables the coding audit, billing and reporting query with
//! plain SQL. Rewritten from the resource in the same transaction as every write.

use super::inserts::Inserts;
use super::sql::{Sql, SqlValue};
use super::Conn;
use crate::error::AppResult;
use crate::fhir::json::{
    codeable_first, date_part, epoch_ms, reference_id, security_codes, str_at, ICD10CM, ICD10PCS,
};
use serde_json::Value;

/// Resource types that have a projection.
pub const PROJECTED: &[&str] = &[
    "Patient",
    "Encounter",
    "Condition",
    "Procedure",
    "Observation",
    "MedicationRequest",
];

fn table_of(res_type: &str) -> &'static [&'static str] {
    match res_type {
        "Patient" => &["patient", "mpi_key"],
        "Encounter" => &["encounter", "encounter_diagnosis"],
        "Condition" => &["condition"],
        "Procedure" => &["procedure_"],
        "Observation" => &["observation"],
        "MedicationRequest" => &["medication_request"],
        _ => &[],
    }
}

/// Every projection table.
pub fn tables() -> Vec<&'static str> {
    PROJECTED
        .iter()
        .flat_map(|t| table_of(t))
        .copied()
        .collect()
}

/// Removes the projection rows of `rk` (on delete, and before rewriting).
pub fn clear(conn: &mut Conn, res_type: &str, rk: i64) -> AppResult<()> {
    for table in table_of(res_type) {
        let key = if *table == "encounter_diagnosis" {
            "enc_rk"
        } else {
            "rk"
        };
        let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE {key} = "));
        sql.bind(rk);
        conn.execute(&sql)?;
    }
    Ok(())
}

/// Rewrites the projection of one resource version. `fresh` skips the delete for a
/// resource that has never been projected.
pub fn write(
    conn: &mut Conn,
    res_type: &str,
    rk: i64,
    resource: &Value,
    fresh: bool,
) -> AppResult<()> {
    if !PROJECTED.contains(&res_type) {
        return Ok(());
    }
    if !fresh {
        clear(conn, res_type, rk)?;
    }
    let id = str_at(resource, &["id"]).unwrap_or_default();
    let mut inserts = Inserts::default();
    for (table, columns) in rows(res_type, rk, &id, resource) {
        inserts.add_named(table, columns);
    }
    conn.insert_later(inserts)
}

/// One projection row: its table and (column, value) pairs.
pub type Row = (&'static str, Vec<(&'static str, SqlValue)>);

fn insert(table: &'static str, columns: &[(&'static str, SqlValue)]) -> Row {
    (table, columns.to_vec())
}

fn rows(res_type: &str, rk: i64, id: &str, r: &Value) -> Vec<Row> {
    let security = Some(security_codes(r).join(",")).filter(|s| !s.is_empty());
    match res_type {
        "Patient" => std::iter::once(patient(rk, id, r, security))
            .chain(crate::records::mpi::keys::key_rows(rk, id, r))
            .collect(),
        "Encounter" => encounter(rk, id, r, security),
        "Condition" => vec![condition(rk, id, r, security)],
        "Procedure" => vec![procedure(rk, id, r, security)],
        "Observation" => observation(rk, id, r),
        "MedicationRequest" => vec![medication_request(rk, id, r)],
        _ => Vec::new(),
    }
}

fn patient(rk: i64, id: &str, r: &Value, security: Option<String>) -> Row {
    let name = official_name(r);
    let address = r.get("address").and_then(|a| a.get(0));
    let given = name
        .and_then(|n| n.get("given"))
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        });
    let deceased = r
        .get("deceasedBoolean")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || r.get("deceasedDateTime").is_some();
    let mrn = r
        .get("identifier")
        .and_then(Value::as_array)
        .and_then(|ids| ids.iter().find(|i| i.get("value").is_some()))
        .and_then(|i| str_at(i, &["value"]));
    let phone = r
        .get("telecom")
        .and_then(Value::as_array)
        .and_then(|t| {
            t.iter()
                .find(|c| c.get("system").and_then(Value::as_str) == Some("phone"))
        })
        .and_then(|c| str_at(c, &["value"]));
    let linked = r
        .get("link")
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter()
                .find(|x| x.get("type").and_then(Value::as_str) == Some("replaced-by"))
        })
        .and_then(|l| l.get("other"))
        .and_then(reference_id);
    insert(
        "patient",
        &[
            ("rk", rk.into()),
            ("res_id", id.into()),
            (
                "active",
                r.get("active")
                    .and_then(Value::as_bool)
                    .map(i64::from)
                    .into(),
            ),
            ("family", name.and_then(|n| str_at(n, &["family"])).into()),
            ("given", given.into()),
            ("gender", str_at(r, &["gender"]).into()),
            (
                "birth_date",
                str_at(r, &["birthDate"]).and_then(|d| date_part(&d)).into(),
            ),
            ("deceased", i64::from(deceased).into()),
            (
                "deceased_date",
                str_at(r, &["deceasedDateTime"])
                    .and_then(|d| date_part(&d))
                    .into(),
            ),
            ("city", address.and_then(|a| str_at(a, &["city"])).into()),
            ("state", address.and_then(|a| str_at(a, &["state"])).into()),
            (
                "postal_code",
                address.and_then(|a| str_at(a, &["postalCode"])).into(),
            ),
            (
                "country",
                address.and_then(|a| str_at(a, &["country"])).into(),
            ),
            ("mrn", mrn.into()),
            ("phone", phone.into()),
            (
                "managing_org",
                r.get("managingOrganization").and_then(reference_id).into(),
            ),
            ("linked_to", linked.into()),
            ("security", security.into()),
        ],
    )
}

fn official_name(r: &Value) -> Option<&Value> {
    let names = r.get("name")?.as_array()?;
    names
        .iter()
        .find(|n| n.get("use").and_then(Value::as_str) == Some("official"))
        .or_else(|| names.first())
}

fn encounter(rk: i64, id: &str, r: &Value, security: Option<String>) -> Vec<Row> {
    let start = str_at(r, &["period", "start"]);
    let end = str_at(r, &["period", "end"]);
    let attending = r
        .get("participant")
        .and_then(Value::as_array)
        .and_then(|ps| {
            ps.iter()
                .find(|p| {
                    p.get("type").and_then(Value::as_array).is_some_and(|ts| {
                        ts.iter()
                            .any(|t| codeable_first(t, None).is_some_and(|(_, c, _)| c == "ATND"))
                    })
                })
                .or_else(|| ps.first())
        })
        .and_then(|p| p.get("individual"))
        .and_then(reference_id);
    let mut out = vec![insert(
        "encounter",
        &[
            ("rk", rk.into()),
            ("res_id", id.into()),
            ("patient_id", r.get("subject").and_then(reference_id).into()),
            ("status", str_at(r, &["status"]).into()),
            ("class_code", str_at(r, &["class", "code"]).into()),
            (
                "type_code",
                r.get("type")
                    .and_then(|t| t.get(0))
                    .and_then(|t| codeable_first(t, None))
                    .map(|c| c.1)
                    .into(),
            ),
            ("period_start", start.as_deref().and_then(epoch_ms).into()),
            ("period_end", end.as_deref().and_then(epoch_ms).into()),
            ("admit_date", start.as_deref().and_then(date_part).into()),
            ("discharge_date", end.as_deref().and_then(date_part).into()),
            ("attending_id", attending.into()),
            (
                "service_provider_id",
                r.get("serviceProvider").and_then(reference_id).into(),
            ),
            (
                "discharge_disposition",
                r.pointer("/hospitalization/dischargeDisposition")
                    .and_then(|d| codeable_first(d, None))
                    .map(|c| c.1)
                    .into(),
            ),
            ("security", security.into()),
        ],
    )];
    if let Some(diagnoses) = r.get("diagnosis").and_then(Value::as_array) {
        for (i, d) in diagnoses.iter().enumerate() {
            out.push(insert(
                "encounter_diagnosis",
                &[
                    ("enc_rk", rk.into()),
                    ("ordinal", (i as i64).into()),
                    (
                        "condition_id",
                        d.get("condition").and_then(reference_id).into(),
                    ),
                    ("rank", d.get("rank").and_then(Value::as_i64).into()),
                    (
                        "use_code",
                        d.get("use")
                            .and_then(|u| codeable_first(u, None))
                            .map(|c| c.1)
                            .into(),
                    ),
                    ("poa", crate::fhir::json::poa_indicator(d).into()),
                ],
            ));
        }
    }
    out
}

fn condition(rk: i64, id: &str, r: &Value, security: Option<String>) -> Row {
    let code = r.get("code").and_then(|c| codeable_first(c, Some(ICD10CM)));
    let onset = str_at(r, &["onsetDateTime"]).or_else(|| str_at(r, &["onsetPeriod", "start"]));
    let abatement =
        str_at(r, &["abatementDateTime"]).or_else(|| str_at(r, &["abatementPeriod", "start"]));
    insert(
        "condition",
        &[
            ("rk", rk.into()),
            ("res_id", id.into()),
            ("patient_id", r.get("subject").and_then(reference_id).into()),
            (
                "encounter_id",
                r.get("encounter").and_then(reference_id).into(),
            ),
            ("code_system", code.as_ref().map(|c| c.0.clone()).into()),
            ("code", code.as_ref().map(|c| c.1.clone()).into()),
            ("display", code.and_then(|c| c.2).into()),
            (
                "clinical_status",
                r.get("clinicalStatus")
                    .and_then(|c| codeable_first(c, None))
                    .map(|c| c.1)
                    .into(),
            ),
            (
                "verification_status",
                r.get("verificationStatus")
                    .and_then(|c| codeable_first(c, None))
                    .map(|c| c.1)
                    .into(),
            ),
            (
                "category",
                r.get("category")
                    .and_then(|c| c.get(0))
                    .and_then(|c| codeable_first(c, None))
                    .map(|c| c.1)
                    .into(),
            ),
            ("onset_date", onset.as_deref().and_then(date_part).into()),
            (
                "abatement_date",
                abatement.as_deref().and_then(date_part).into(),
            ),
            (
                "recorded_date",
                str_at(r, &["recordedDate"])
                    .as_deref()
                    .and_then(date_part)
                    .into(),
            ),
            ("security", security.into()),
        ],
    )
}

fn procedure(rk: i64, id: &str, r: &Value, security: Option<String>) -> Row {
    let code = r
        .get("code")
        .and_then(|c| codeable_first(c, Some(ICD10PCS)));
    let start =
        str_at(r, &["performedDateTime"]).or_else(|| str_at(r, &["performedPeriod", "start"]));
    let end = str_at(r, &["performedPeriod", "end"]).or_else(|| start.clone());
    let performer = r.pointer("/performer/0/actor").and_then(reference_id);
    insert(
        "procedure_",
        &[
            ("rk", rk.into()),
            ("res_id", id.into()),
            ("patient_id", r.get("subject").and_then(reference_id).into()),
            (
                "encounter_id",
                r.get("encounter").and_then(reference_id).into(),
            ),
            ("code_system", code.as_ref().map(|c| c.0.clone()).into()),
            ("code", code.as_ref().map(|c| c.1.clone()).into()),
            ("display", code.and_then(|c| c.2).into()),
            ("status", str_at(r, &["status"]).into()),
            (
                "performed_start",
                start.as_deref().and_then(epoch_ms).into(),
            ),
            ("performed_end", end.as_deref().and_then(epoch_ms).into()),
            (
                "performed_date",
                start.as_deref().and_then(date_part).into(),
            ),
            ("performer_id", performer.into()),
            ("security", security.into()),
        ],
    )
}

/// One row for the observation's own value and one per component with a quantity value.
fn observation(rk: i64, id: &str, r: &Value) -> Vec<Row> {
    let effective = str_at(r, &["effectiveDateTime"])
        .or_else(|| str_at(r, &["effectivePeriod", "start"]))
        .or_else(|| str_at(r, &["issued"]));
    let patient = r.get("subject").and_then(reference_id);
    let encounter = r.get("encounter").and_then(reference_id);
    let status = str_at(r, &["status"]);
    let mut parts: Vec<&Value> = vec![r];
    if let Some(components) = r.get("component").and_then(Value::as_array) {
        parts.extend(components.iter());
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let code = part
                .get("code")
                .and_then(|c| codeable_first(c, Some("http://loinc.org")));
            let value = part.get("valueQuantity");
            insert(
                "observation",
                &[
                    ("rk", rk.into()),
                    ("ordinal", (i as i64).into()),
                    ("res_id", id.into()),
                    ("patient_id", patient.clone().into()),
                    ("encounter_id", encounter.clone().into()),
                    ("status", status.clone().into()),
                    ("code_system", code.as_ref().map(|c| c.0.clone()).into()),
                    ("code", code.map(|c| c.1).into()),
                    (
                        "value_num",
                        value
                            .and_then(|v| v.get("value"))
                            .and_then(Value::as_f64)
                            .into(),
                    ),
                    (
                        "value_unit",
                        value
                            .and_then(|v| str_at(v, &["code"]).or_else(|| str_at(v, &["unit"])))
                            .into(),
                    ),
                    ("effective", effective.as_deref().and_then(epoch_ms).into()),
                    (
                        "effective_date",
                        effective.as_deref().and_then(date_part).into(),
                    ),
                ],
            )
        })
        .collect()
}

fn medication_request(rk: i64, id: &str, r: &Value) -> Row {
    let med = r
        .get("medicationCodeableConcept")
        .and_then(|c| codeable_first(c, None));
    insert(
        "medication_request",
        &[
            ("rk", rk.into()),
            ("res_id", id.into()),
            ("patient_id", r.get("subject").and_then(reference_id).into()),
            (
                "encounter_id",
                r.get("encounter").and_then(reference_id).into(),
            ),
            ("status", str_at(r, &["status"]).into()),
            ("intent", str_at(r, &["intent"]).into()),
            ("med_system", med.as_ref().map(|c| c.0.clone()).into()),
            ("med_code", med.as_ref().map(|c| c.1.clone()).into()),
            ("med_display", med.and_then(|c| c.2).into()),
            (
                "authored_date",
                str_at(r, &["authoredOn"])
                    .as_deref()
                    .and_then(date_part)
                    .into(),
            ),
        ],
    )
}
