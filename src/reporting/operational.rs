//! Records-room operational reports from the work-item Tasks (see the Task contract):
//! record completion and delinquency from deficiency Tasks, coding throughput (coding
//! Tasks reaching `final`) and DNFB (discharged, not final coded), and coding-audit error
//! rates per ICD-10-CM chapter of the principal diagnosis. Tasks are read through their
//! search-index rows, so only current, non-deleted versions count.

use super::caller::Caller;
use super::filters::{day_ms, month_of_ms, stratum_expr, unsealed, ICD10CM, VOID_STATUSES};
use super::model::{pick, rollup, Column, Group};
use super::params::{Key, ReportParams};
use super::rows::{big, load_keyed};
use crate::coding::shared::terminology;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::store::Store;
use diesel::sql_types::{Nullable, Text};
use diesel::QueryableByName;
use std::collections::BTreeMap;

/// Task.code system of deficiency Tasks.
pub const DEFICIENCY: &str = "http://chartroom.dev/fhir/CodeSystem/deficiency";
/// Task.code system of records-room work items (`coding`, `coding-review`).
pub const RECORDS_TASK: &str = "http://chartroom.dev/fhir/CodeSystem/records-task";
/// Task.businessStatus system of the coding workflow.
pub const CODING_STATUS: &str = "http://chartroom.dev/fhir/CodeSystem/coding-status";

/// Definitions stated in the reports.
pub const COMPLETION_DEFINITION: &str = "records: encounters discharged in the period; complete: no open (requested or in-progress) deficiency Task for the encounter now; delinquent: open deficiency and discharged more than delinquent-days before as-of; deficiency Tasks counted by authoredOn in the period";
pub const THROUGHPUT_DEFINITION: &str = "coded-final: coding Tasks whose businessStatus is final and lastModified falls in the period; DNFB: encounters discharged in the period, on or before as-of, without a final coding Task";
pub const AUDIT_DEFINITION: &str = "the coding audit ($audit-coding) over encounters discharged in the period, by ICD-10-CM chapter of the principal diagnosis (rank 1); an encounter counts as in error when any finding is an error; encounters the audit cannot run on (no birth date, no dates) are counted as skipped";

/// `SELECT rk` of Tasks with `Task.code` in `system` (and `code`).
fn task_code(system: &str, code: Option<&str>) -> Sql {
    let mut sql = Sql::new(
        "SELECT tc.rk FROM idx_token tc WHERE tc.res_type = 'Task' AND tc.param = 'code' AND tc.system = ",
    );
    sql.bind(system);
    if let Some(code) = code {
        sql.push(" AND tc.code = ").bind(code);
    }
    sql
}

/// `SELECT DISTINCT target_id` of Encounters named by Tasks whose row keys `tasks` select.
fn task_encounters(tasks: Sql, extra: Sql) -> Sql {
    let mut sql = Sql::new(
        "(SELECT DISTINCT r.target_id AS enc FROM idx_reference r WHERE r.res_type = 'Task' \
         AND r.param = 'encounter' AND r.target_type = 'Encounter' AND r.rk IN (",
    );
    sql.append(tasks).push(")").append(extra).push(")");
    sql
}

fn discharged(sql: &mut Sql, p: &ReportParams, caller: &Caller) {
    sql.push(" FROM encounter e WHERE e.discharge_date >= ")
        .bind(p.start.to_string())
        .push(" AND e.discharge_date <= ")
        .bind(p.end.to_string())
        .push(&format!(
            " AND COALESCE(e.status, '') NOT IN {VOID_STATUSES}"
        ));
    unsealed(sql, "e", "Encounter", caller);
}

fn percent_groups(
    specs: &[(&str, &str, usize, usize)],
    conn: &mut Conn,
    sql: &Sql,
    keys: &[Key],
    p: &ReportParams,
) -> AppResult<Vec<Group>> {
    let rows = load_keyed(conn, sql, keys.len(), 4)?;
    let (total, strata) = rollup(keys, &rows, 4, p);
    Ok(specs
        .iter()
        .map(|(id, label, num, den)| {
            pick(
                id,
                label,
                "%",
                vec![
                    (Column::count("numerator"), *num),
                    (Column::count("denominator"), *den),
                ],
                &total,
                &strata,
            )
        })
        .collect())
}

/// Record completion and delinquency by month of discharge / attending, and deficiency
/// Tasks by kind.
pub fn completion(conn: &mut Conn, p: &ReportParams, caller: &Caller) -> AppResult<Vec<Group>> {
    let cutoff = p.as_of - chrono::Duration::days(p.delinquent_days);
    let mut sql = Sql::new(&format!(
        "SELECT '' AS grp, w.stratum AS stratum, {} AS a, {} AS b, ",
        big("COUNT(*)"),
        big("SUM(CASE WHEN op.enc IS NULL THEN 1 ELSE 0 END)")
    ));
    sql.push("CAST(SUM(CASE WHEN op.enc IS NOT NULL AND w.discharge_date < ")
        .bind(cutoff.to_string())
        .push(&format!(
            " THEN 1 ELSE 0 END) AS BIGINT) AS c, {} AS d FROM (SELECT v.res_id, v.discharge_date, {} AS stratum FROM \
             (SELECT e.res_id, e.discharge_date, SUBSTR(e.discharge_date, 1, 7) AS month, e.attending_id AS practitioner",
            big("0"),
            stratum_expr(&p.stratify, p)
        ));
    discharged(&mut sql, p, caller);
    sql.push(") v) w LEFT JOIN ");
    let open = Sql::new(
        " AND r.rk IN (SELECT ts.rk FROM idx_token ts WHERE ts.res_type = 'Task' AND ts.param = 'status' \
         AND ts.code IN ('requested', 'in-progress'))",
    );
    sql.append(task_encounters(task_code(DEFICIENCY, None), open))
        .push(" op ON op.enc = w.res_id GROUP BY w.stratum");
    let mut groups = percent_groups(
        &[
            (
                "record-completion",
                "Records complete (no open deficiency)",
                1,
                0,
            ),
            ("delinquency", "Records delinquent", 2, 0),
        ],
        conn,
        &sql,
        &p.stratify,
        p,
    )?;
    let mut kinds = Sql::new(&format!(
        "SELECT '' AS grp, tc.code AS stratum, {} AS a, {} AS b, {} AS c, {} AS d \
         FROM idx_token tc JOIN idx_token ts ON ts.rk = tc.rk AND ts.res_type = 'Task' AND ts.param = 'status' \
         WHERE tc.res_type = 'Task' AND tc.param = 'code' AND tc.system = ",
        big("COUNT(*)"),
        big("SUM(CASE WHEN ts.code = 'completed' THEN 1 ELSE 0 END)"),
        big("SUM(CASE WHEN ts.code IN ('requested', 'in-progress') THEN 1 ELSE 0 END)"),
        big("SUM(CASE WHEN ts.code = 'cancelled' THEN 1 ELSE 0 END)")
    ));
    kinds
        .bind(DEFICIENCY)
        .push(
            " AND tc.rk IN (SELECT ta.rk FROM idx_date ta WHERE ta.res_type = 'Task' \
             AND ta.param = 'authored-on' AND ta.low >= ",
        )
        .bind(day_ms(p.start))
        .push(" AND ta.low < ")
        .bind(day_ms(p.end + chrono::Duration::days(1)))
        .push(") GROUP BY tc.code");
    let rows = load_keyed(conn, &kinds, 1, 4)?;
    let (total, strata) = rollup(&[Key::Kind], &rows, 4, p);
    groups.push(pick(
        "deficiencies",
        "Deficiency Tasks opened in the period, by kind",
        "% closed",
        vec![
            (Column::count("opened"), 0),
            (Column::count("closed"), 1),
            (Column::count("open"), 2),
            (Column::count("cancelled"), 3),
        ],
        &total,
        &strata,
    ));
    Ok(groups)
}

/// Coding Tasks reaching final in the period (by month) and DNFB.
pub fn coding_throughput(
    conn: &mut Conn,
    p: &ReportParams,
    caller: &Caller,
) -> AppResult<Vec<Group>> {
    let finals = || {
        let mut s = task_code(RECORDS_TASK, Some("coding"));
        s.push(
            " AND tc.rk IN (SELECT tb.rk FROM idx_token tb WHERE tb.res_type = 'Task' \
             AND tb.param = 'business-status' AND tb.code = 'final' AND tb.system = ",
        )
        .bind(CODING_STATUS)
        .push(")");
        s
    };
    // the stratum is formed one level up so GROUP BY names a plain column
    let mut sql = Sql::new(&format!(
        "SELECT '' AS grp, v.stratum AS stratum, {} AS a, {z} AS b, {z} AS c, {z} AS d FROM \
         (SELECT {} AS stratum FROM (SELECT {} AS month FROM idx_date tm WHERE tm.res_type = 'Task' \
         AND tm.param = 'modified' AND tm.low >= ",
        big("COUNT(*)"),
        stratum_expr(&p.stratify, p),
        month_of_ms(conn.backend(), "tm.low"),
        z = big("0")
    ));
    sql.bind(day_ms(p.start))
        .push(" AND tm.low < ")
        .bind(day_ms(p.end + chrono::Duration::days(1)))
        .push(" AND tm.rk IN (")
        .append(finals())
        .push(")) u) v GROUP BY v.stratum");
    let rows = load_keyed(conn, &sql, p.stratify.len(), 1)?;
    let (total, strata) = rollup(&p.stratify, &rows, 1, p);
    let mut groups = vec![pick(
        "coded-final",
        "Coding Tasks reaching final",
        "encounters",
        vec![(Column::count("coded"), 0)],
        &total,
        &strata,
    )];
    let last = p.end.min(p.as_of);
    let mut dnfb = Sql::new(&format!(
        "SELECT '' AS grp, w.stratum AS stratum, {} AS a, {} AS b, {z} AS c, {z} AS d FROM \
         (SELECT v.res_id, {} AS stratum FROM (SELECT e.res_id, SUBSTR(e.discharge_date, 1, 7) AS month",
        big("COUNT(*)"),
        big("SUM(CASE WHEN f.enc IS NULL THEN 1 ELSE 0 END)"),
        stratum_expr(&p.stratify, p),
        z = big("0")
    ));
    let bounded = ReportParams {
        end: last,
        ..p.clone()
    };
    discharged(&mut dnfb, &bounded, caller);
    dnfb.push(") v) w LEFT JOIN ")
        .append(task_encounters(finals(), Sql::new("")))
        .push(" f ON f.enc = w.res_id GROUP BY w.stratum");
    groups.extend(percent_groups(
        &[("dnfb", "Discharged, not final coded (DNFB)", 1, 0)],
        conn,
        &dnfb,
        &p.stratify,
        p,
    )?);
    Ok(groups)
}

#[derive(QueryableByName)]
struct PrincipalRow {
    #[diesel(sql_type = Text)]
    res_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    code: Option<String>,
}

/// Coding-audit error rates per ICD-10-CM chapter (runs the audit on each encounter).
pub fn coding_audit_rates(
    store: &Store,
    p: &ReportParams,
    caller: &Caller,
) -> AppResult<Vec<Group>> {
    let terms = terminology()?;
    let mut sql = Sql::new(&format!(
        "SELECT e.res_id AS res_id, (SELECT MIN(c.code) FROM encounter_diagnosis d JOIN condition c \
         ON c.res_id = d.condition_id WHERE d.enc_rk = e.rk AND d.rank = 1 AND c.code_system = '{ICD10CM}') AS code"
    ));
    discharged(&mut sql, p, caller);
    sql.push(" ORDER BY e.res_id");
    let encounters = store.db.read()?.load::<PrincipalRow>(&sql)?;
    let mut by_chapter: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for enc in encounters {
        let chapter = enc
            .code
            .as_deref()
            .and_then(|c| terms.cm_lookup(c))
            .map(|c| format!("{} {}", c.chapter.number, c.chapter.title))
            .unwrap_or_else(|| "unknown".into());
        let counts = by_chapter.entry(chapter).or_insert_with(|| vec![0; 4]);
        match crate::coding::encounter::audit_encounter(store, &terms, &enc.res_id) {
            Ok(outcome) => {
                let errors = outcome["issue"]
                    .as_array()
                    .map(|issues| {
                        issues
                            .iter()
                            .filter(|i| i["severity"] == "error" || i["severity"] == "fatal")
                            .count() as i64
                    })
                    .unwrap_or_default();
                counts[0] += 1;
                counts[1] += i64::from(errors > 0);
                counts[2] += errors;
            }
            Err(AppError::NotFound(_)) => {}
            Err(AppError::Internal(e)) => return Err(AppError::Internal(e)),
            Err(_) => counts[3] += 1,
        }
    }
    let rows: super::model::KeyedCounts =
        by_chapter.into_iter().map(|(k, v)| (vec![k], v)).collect();
    let (total, strata) = rollup(&[Key::Chapter], &rows, 4, p);
    Ok(vec![pick(
        "coding-audit",
        "Encounters with coding-audit errors, by chapter of the principal diagnosis",
        "%",
        vec![
            (Column::count("numerator"), 1),
            (Column::count("denominator"), 0),
            (Column::count("errors"), 2),
            (Column::count("skipped"), 3),
        ],
        &total,
        &strata,
    )])
}
