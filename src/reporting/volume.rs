//! Activity: procedure volumes (procedures performed in the period, by code item, month,
//! performer and patient strata; additive, one query) and length of stay (inpatient
//! encounters discharged in the period, by principal-diagnosis code item, month of
//! discharge, attending and patient strata; mean and median per grouping).

use super::caller::Caller;
use super::filters::{
    code_test, day_diff, not_denied, patient_columns, sealed, stratum_expr, unsealed, ICD10CM,
    VOID_STATUSES,
};
use super::model::{groupings, pick, rollup_groups, Column, Group};
use super::params::{Key, ReportParams};
use super::rows::{big, load_counts, StatRow};
use super::treatment::assemble;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;

/// Encounter classes whose stays are measured.
const INPATIENT: &str = "('IMP', 'ACUTE', 'NONAC')";

/// Definition stated in the length-of-stay report.
pub const LOS_DEFINITION: &str = "length of stay: discharge date − admission date in days, for inpatient encounters (class IMP, ACUTE, NONAC) discharged in the period; grouped by the principal diagnosis (rank 1)";

/// Definition stated in the procedure-volume report.
pub const VOLUME_DEFINITION: &str = "procedures performed in the period (not not-done or entered-in-error), by code item, month performed and first performer";

/// `CASE WHEN <column> in item1 THEN 'item1' ... END`, or `'all'` without a code.
fn group_case(sql: &mut Sql, column: &str, p: &ReportParams) {
    let items = &p.code_items;
    if items.is_empty() {
        sql.push("'all'");
        return;
    }
    sql.push("CASE");
    for (label, spec) in items {
        sql.push(" WHEN ");
        code_test(sql, column, spec);
        sql.push(" THEN ").bind(label.as_str());
    }
    sql.push(" END");
}

/// ` LEFT JOIN (<visible patients with strata columns>) pt ON pt.pid = <column>`, and
/// the exclusion of sealed or consent-denied patients' rows.
fn patient_join(sql: &mut Sql, column: &str, p: &ReportParams, caller: &Caller) -> Sql {
    sql.push(&format!(
        " LEFT JOIN (SELECT {} FROM patient p WHERE 1 = 1",
        patient_columns("p", p.end, p.region)
    ));
    unsealed(sql, "p", "Patient", caller);
    sql.push(&format!(") pt ON pt.pid = {column}"));
    let mut filter = Sql::new("");
    if !caller.hidden_labels.is_empty() {
        filter.push(&format!(
            " AND COALESCE({column}, '') NOT IN (SELECT ps.res_id FROM patient ps WHERE 1 = 1"
        ));
        sealed(&mut filter, "ps", "Patient", caller);
        filter.push(")");
    }
    not_denied(&mut filter, column, caller);
    filter
}

/// Procedures by code item × strata.
pub fn procedure_volume(
    conn: &mut Conn,
    p: &ReportParams,
    caller: &Caller,
) -> AppResult<Vec<Group>> {
    let mut sql = Sql::new("SELECT grp, stratum, ");
    sql.push(&format!(
        "{} AS a, {z} AS b, {z} AS c, {z} AS d FROM (SELECT v.grp AS grp, {} AS stratum FROM (SELECT ",
        big("COUNT(*)"),
        stratum_expr(&p.stratify, p),
        z = big("0")
    ));
    group_case(&mut sql, "x.code", p);
    sql.push(
        " AS grp, SUBSTR(x.performed_date, 1, 7) AS month, x.performer_id AS practitioner, \
         pt.sex, pt.age, pt.region FROM procedure_ x",
    );
    let filter = patient_join(&mut sql, "x.patient_id", p, caller);
    sql.push(" WHERE x.performed_date >= ")
        .bind(p.start.to_string())
        .push(" AND x.performed_date <= ")
        .bind(p.end.to_string())
        .push(&format!(
            " AND COALESCE(x.status, '') NOT IN {VOID_STATUSES}"
        ));
    if let Some(spec) = &p.code {
        sql.push(" AND ");
        code_test(&mut sql, "x.code", spec);
    }
    if let Some(practitioner) = &p.practitioner {
        sql.push(" AND x.performer_id = ")
            .bind(practitioner.as_str());
    }
    unsealed(&mut sql, "x", "Procedure", caller);
    sql.append(filter);
    sql.push(") v) w GROUP BY grp, stratum");
    let rows = load_counts(conn, &sql, p.stratify.len(), 1)?;
    Ok(rollup_groups(&p.stratify, rows, 1, p)
        .into_iter()
        .map(|(code, total, strata)| {
            pick(
                &code,
                &format!("Procedures {code}, {} to {}", p.start, p.end),
                "procedures",
                vec![(Column::count("procedures"), 0)],
                &total,
                &strata,
            )
        })
        .collect())
}

fn los_query(conn: &Conn, p: &ReportParams, keys: &[Key], caller: &Caller) -> Sql {
    let mut sql = Sql::new("WITH v AS (SELECT ");
    group_case(&mut sql, "px.code", p);
    sql.push(&format!(
        " AS grp, {} AS los, SUBSTR(e.discharge_date, 1, 7) AS month, e.attending_id AS practitioner, \
         pt.sex, pt.age, pt.region FROM encounter e LEFT JOIN (SELECT d.enc_rk, MIN(c.code) AS code \
         FROM encounter_diagnosis d JOIN condition c ON c.res_id = d.condition_id \
         WHERE d.rank = 1 AND c.code_system = '{ICD10CM}'",
        day_diff(conn.backend(), "e.admit_date", "e.discharge_date")
    ));
    unsealed(&mut sql, "c", "Condition", caller);
    sql.push(" GROUP BY d.enc_rk) px ON px.enc_rk = e.rk");
    let filter = patient_join(&mut sql, "e.patient_id", p, caller);
    sql.push(" WHERE e.discharge_date >= ")
        .bind(p.start.to_string())
        .push(" AND e.discharge_date <= ")
        .bind(p.end.to_string())
        .push(&format!(
            " AND e.admit_date IS NOT NULL AND e.class_code IN {INPATIENT} \
             AND COALESCE(e.status, '') NOT IN {VOID_STATUSES}"
        ));
    if let Some(practitioner) = &p.practitioner {
        sql.push(" AND e.attending_id = ")
            .bind(practitioner.as_str());
    }
    unsealed(&mut sql, "e", "Encounter", caller);
    sql.append(filter);
    sql.push(&format!(
        "), w AS (SELECT grp, {} AS stratum, los FROM v WHERE grp IS NOT NULL), \
         r AS (SELECT grp, stratum, los, ROW_NUMBER() OVER (PARTITION BY grp, stratum ORDER BY los) AS rn, \
         COUNT(*) OVER (PARTITION BY grp, stratum) AS cnt FROM w) \
         SELECT grp, stratum, {} AS n, {} AS hits, CAST(AVG(los) AS DOUBLE PRECISION) AS mean, \
         CAST(AVG(CASE WHEN rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2 THEN los END) AS DOUBLE PRECISION) AS median \
         FROM r GROUP BY grp, stratum",
        stratum_expr(keys, p),
        big("COUNT(*)"),
        big("SUM(los)")
    ));
    sql
}

/// Length of stay by principal-diagnosis code item × strata.
pub fn length_of_stay(conn: &mut Conn, p: &ReportParams, caller: &Caller) -> AppResult<Vec<Group>> {
    let mut runs = Vec::new();
    for grouping in groupings(&p.stratify) {
        let sql = los_query(conn, p, &grouping, caller);
        runs.push((grouping, conn.load::<StatRow>(&sql)?));
    }
    let make = |code: &str| Group {
        id: code.to_string(),
        label: format!(
            "Length of stay, principal diagnosis {code}, discharged {} to {}",
            p.start, p.end
        ),
        unit: "days",
        columns: vec![
            Column::count("encounters"),
            Column::extra("bed-days"),
            Column::score("mean-days"),
            Column::extra("median-days"),
        ],
        total: Vec::new(),
        stratifiers: Vec::new(),
        additive: true,
    };
    Ok(assemble(&p.stratify, runs, p, make, StatRow::cells))
}
