//! The billing view of a final encounter: `Encounter/{id}/$billing-codes` — the sequenced
//! codes (principal diagnosis first, secondaries in rank order with POA, procedures with
//! dates and performers). Released only once the coding status is `final`.

use diesel::sql_types::Text;
use diesel::QueryableByName;
use serde_json::{json, Value};

use super::coding_status::CodingStatus;
use super::coding_task::{coding_task_id, current, status_of_task};
use crate::coding::{ICD10CM_SYSTEM, ICD10PCS_SYSTEM};
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::json::{patient_of, poa_indicator, reference_id};

/// One billed diagnosis.
#[derive(Debug, Clone)]
pub struct BilledDx {
    /// 1 = principal, then secondaries in rank order.
    pub sequence: usize,
    pub condition_id: String,
    pub code: String,
    pub display: Option<String>,
    /// Present-on-admission indicator (Y, N, U, W, 1).
    pub poa: Option<String>,
}

/// One billed procedure.
#[derive(Debug, Clone)]
pub struct BilledPx {
    pub sequence: usize,
    pub procedure_id: String,
    pub code: String,
    pub display: Option<String>,
    /// `performedDateTime` or the start of `performedPeriod`.
    pub date: Option<String>,
    /// `performer.actor` references.
    pub performers: Vec<Value>,
}

/// The codes of a final encounter, sequenced.
#[derive(Debug, Clone)]
pub struct BillingCodes {
    pub encounter: Value,
    pub patient: Option<String>,
    pub diagnoses: Vec<BilledDx>,
    pub procedures: Vec<BilledPx>,
}

/// A row holding one resource id.
#[derive(QueryableByName)]
pub(super) struct IdRow {
    #[diesel(sql_type = Text)]
    pub res_id: String,
}

fn coding_of(resource: &Value, system: &str) -> Option<(String, Option<String>)> {
    resource["code"]["coding"]
        .as_array()?
        .iter()
        .find(|c| c["system"] == system)
        .and_then(|c| {
            let code = c["code"].as_str()?.to_string();
            Some((code, c["display"].as_str().map(str::to_string)))
        })
}

/// The sequenced codes of Encounter `id`, read on `conn`: 404 for an unknown encounter,
/// 409 unless its coding status is `final`.
pub fn billing_codes_in(conn: &mut Conn, id: &str) -> AppResult<BillingCodes> {
    let encounter = current(conn, "Encounter", id)?
        .ok_or_else(|| AppError::NotFound(format!("Encounter/{id} is not known")))?;
    let status = current(conn, "Task", &coding_task_id(id))?
        .as_ref()
        .and_then(status_of_task)
        .unwrap_or(CodingStatus::Uncoded);
    if status != CodingStatus::Final {
        return Err(AppError::Conflict(format!(
            "Encounter/{id} is {}, not final: its codes are released for billing only once coding is final",
            status.code()
        )));
    }
    let mut entries: Vec<(i64, usize, &Value)> = encounter["diagnosis"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, d)| (d["rank"].as_i64().unwrap_or(i64::MAX), i, d))
        .collect();
    entries.sort_by_key(|(rank, i, _)| (*rank, *i));
    let mut diagnoses = Vec::new();
    for (_, _, d) in entries {
        let Some(condition_id) = reference_id(&d["condition"]) else {
            continue;
        };
        let Some(condition) = current(conn, "Condition", &condition_id)? else {
            continue;
        };
        if let Some((code, display)) = coding_of(&condition, ICD10CM_SYSTEM) {
            diagnoses.push(BilledDx {
                sequence: diagnoses.len() + 1,
                condition_id,
                code,
                display,
                poa: poa_indicator(d),
            });
        }
    }
    let mut sql = Sql::new(
        "SELECT res_id FROM procedure_ WHERE (status IS NULL OR status NOT IN ('not-done', 'entered-in-error')) \
         AND encounter_id = ",
    );
    sql.bind(id).push(" ORDER BY performed_start, res_id");
    let mut procedures = Vec::new();
    for row in conn.load::<IdRow>(&sql)? {
        let Some(procedure) = current(conn, "Procedure", &row.res_id)? else {
            continue;
        };
        let Some((code, display)) = coding_of(&procedure, ICD10PCS_SYSTEM) else {
            continue;
        };
        let date = procedure["performedDateTime"]
            .as_str()
            .or_else(|| procedure["performedPeriod"]["start"].as_str())
            .map(str::to_string);
        let performers = procedure["performer"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["actor"].is_object())
            .map(|p| p["actor"].clone())
            .collect();
        procedures.push(BilledPx {
            sequence: procedures.len() + 1,
            procedure_id: row.res_id,
            code,
            display,
            date,
            performers,
        });
    }
    Ok(BillingCodes {
        patient: patient_of(&encounter),
        encounter,
        diagnoses,
        procedures,
    })
}

/// A Coding with its display when known.
pub(super) fn coding(system: &str, code: &str, display: &Option<String>) -> Value {
    let mut c = json!({"system": system, "code": code});
    if let Some(d) = display {
        c["display"] = json!(d);
    }
    c
}

/// `$billing-codes` as a Parameters: `encounter`, `patient`, `status`, then one
/// `diagnosis` (sequence, type principal|secondary, code, poa, condition) and one
/// `procedure` (sequence, code, date, performer*, procedure) per code.
pub fn to_parameters(codes: &BillingCodes) -> Value {
    let id = codes.encounter["id"].as_str().unwrap_or_default();
    let mut parameter = vec![
        json!({"name": "encounter", "valueReference": {"reference": format!("Encounter/{id}")}}),
        json!({"name": "status", "valueCode": "final"}),
    ];
    if let Some(p) = &codes.patient {
        parameter.push(
            json!({"name": "patient", "valueReference": {"reference": format!("Patient/{p}")}}),
        );
    }
    for d in &codes.diagnoses {
        let kind = if d.sequence == 1 {
            "principal"
        } else {
            "secondary"
        };
        let mut part = vec![
            json!({"name": "sequence", "valueInteger": d.sequence}),
            json!({"name": "type", "valueCode": kind}),
            json!({"name": "code", "valueCoding": coding(ICD10CM_SYSTEM, &d.code, &d.display)}),
        ];
        if let Some(poa) = &d.poa {
            part.push(json!({"name": "poa", "valueCode": poa}));
        }
        part.push(json!({"name": "condition", "valueReference": {"reference": format!("Condition/{}", d.condition_id)}}));
        parameter.push(json!({"name": "diagnosis", "part": part}));
    }
    for p in &codes.procedures {
        let mut part = vec![
            json!({"name": "sequence", "valueInteger": p.sequence}),
            json!({"name": "code", "valueCoding": coding(ICD10PCS_SYSTEM, &p.code, &p.display)}),
        ];
        if let Some(date) = &p.date {
            part.push(json!({"name": "date", "valueDateTime": date}));
        }
        for performer in &p.performers {
            part.push(json!({"name": "performer", "valueReference": performer}));
        }
        part.push(json!({"name": "procedure", "valueReference": {"reference": format!("Procedure/{}", p.procedure_id)}}));
        parameter.push(json!({"name": "procedure", "part": part}));
    }
    json!({"resourceType": "Parameters", "parameter": parameter})
}
