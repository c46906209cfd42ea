//! Treatment response: the change of an Observation (e.g. HbA1c 4548-4, systolic blood
//! pressure 8480-6) from before to after the start of a treatment, by medication. The
//! start is a patient's first MedicationRequest of the medication authored in the period;
//! the baseline is the latest value on or before that day, the follow-up the latest value
//! after it up to period-end. Mean and median (window functions) are computed in the
//! database, once per grouping, since medians do not add up over strata.

use super::caller::Caller;
use super::clinical::base;
use super::filters::{code_in, stratum_expr, unsealed, ICD10CM, VOID_STATUSES};
use super::model::{
    groupings, rate, sort_strata, split_stratum, Column, Group, Role, Stratifier, Stratum, Val,
};
use super::params::{Key, ReportParams};
use super::rows::StatRow;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use std::collections::BTreeMap;

/// Definition stated in the report.
pub const DEFINITION: &str = "treatment start: a patient's first MedicationRequest of the medication authored in the period; baseline: the latest observation value on or before that day; follow-up: the latest value after it up to period-end; change = follow-up − baseline; patients need both values";

fn observation_value(sql: &mut Sql, obs: &str, after: bool, p: &ReportParams, caller: &Caller) {
    sql.push("(SELECT o.value_num FROM observation o WHERE o.patient_id = s.pid AND o.code = ")
        .bind(obs)
        .push(&format!(
            " AND o.value_num IS NOT NULL AND COALESCE(o.status, '') NOT IN {VOID_STATUSES}"
        ));
    if after {
        sql.push(" AND o.effective_date > s.start AND o.effective_date <= ")
            .bind(p.end.to_string());
    } else {
        sql.push(" AND o.effective_date <= s.start");
    }
    unsealed(sql, "o", "Observation", caller);
    sql.push(" ORDER BY o.effective DESC, o.rk DESC LIMIT 1)");
}

fn query(p: &ReportParams, keys: &[Key], caller: &Caller) -> Sql {
    let obs = p.observation.as_deref().unwrap_or_default();
    let mut sql = base(p, caller);
    sql.push(
        ", starts AS (SELECT m.patient_id AS pid, COALESCE(m.med_code, 'unknown') AS med, \
         MIN(m.authored_date) AS start FROM medication_request m WHERE m.authored_date >= ",
    )
    .bind(p.start.to_string())
    .push(" AND m.authored_date <= ")
    .bind(p.end.to_string())
    .push(&format!(
        " AND COALESCE(m.status, '') NOT IN {VOID_STATUSES}"
    ));
    if !p.medication.is_empty() {
        sql.push(" AND m.med_code IN ")
            .bind_list(p.medication.iter().map(String::as_str));
    }
    if let Some(spec) = &p.code {
        sql.push(&format!(
            " AND m.patient_id IN (SELECT c.patient_id FROM condition c WHERE c.code_system = '{ICD10CM}' \
             AND COALESCE(c.verification_status, '') NOT IN ('refuted', 'entered-in-error')"
        ));
        code_in(&mut sql, "c.code", spec);
        unsealed(&mut sql, "c", "Condition", caller);
        sql.push(")");
    }
    unsealed(&mut sql, "m", "MedicationRequest", caller);
    sql.push(" GROUP BY m.patient_id, m.med_code), pairs AS (SELECT s.pid, s.med, ");
    observation_value(&mut sql, obs, false, p, caller);
    sql.push(" AS before_v, ");
    observation_value(&mut sql, obs, true, p, caller);
    sql.push(&format!(
        " AS after_v FROM starts s), d AS (SELECT pairs.med AS grp, q.stratum AS stratum, \
         pairs.after_v - pairs.before_v AS change, pairs.after_v AS after_v FROM pairs \
         JOIN (SELECT pop.pid, {} AS stratum FROM pop) q ON q.pid = pairs.pid \
         WHERE pairs.before_v IS NOT NULL AND pairs.after_v IS NOT NULL), \
         r AS (SELECT grp, stratum, change, after_v, \
         ROW_NUMBER() OVER (PARTITION BY grp, stratum ORDER BY change) AS rn, \
         COUNT(*) OVER (PARTITION BY grp, stratum) AS cnt FROM d) \
         SELECT grp, stratum, CAST(COUNT(*) AS BIGINT) AS n, ",
        stratum_expr(keys, p)
    ));
    match p.target {
        Some(t) => {
            sql.push(&format!("CAST(SUM(CASE WHEN after_v {} ", t.op))
                .bind(t.value)
                .push(" THEN 1 ELSE 0 END) AS BIGINT) AS hits, ");
        }
        None => {
            sql.push("CAST(0 AS BIGINT) AS hits, ");
        }
    }
    sql.push(
        "CAST(AVG(change) AS DOUBLE PRECISION) AS mean, \
         CAST(AVG(CASE WHEN rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2 THEN change END) AS DOUBLE PRECISION) AS median \
         FROM r GROUP BY grp, stratum",
    );
    sql
}

/// Rows of stat queries, one run per grouping, assembled into groups.
pub fn assemble(
    keys: &[Key],
    runs: Vec<(Vec<Key>, Vec<StatRow>)>,
    p: &ReportParams,
    make: impl Fn(&str) -> Group,
    cells: impl Fn(&StatRow) -> Vec<Val>,
) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let empty = |g: &Group| -> Vec<Val> { vec![Val::Num(0.0); g.columns.len()] };
    for (grouping, rows) in &runs {
        for row in rows {
            let group = groups.entry(row.grp.clone()).or_insert_with(|| {
                let mut g = make(&row.grp);
                g.total = empty(&g);
                g.stratifiers = groupings(keys)
                    .into_iter()
                    .skip(1)
                    .map(|k| Stratifier {
                        keys: k,
                        strata: Vec::new(),
                    })
                    .collect();
                g
            });
            if grouping.is_empty() {
                group.total = cells(row);
                continue;
            }
            if let Some(s) = group.stratifiers.iter_mut().find(|s| &s.keys == grouping) {
                s.strata.push(Stratum {
                    values: split_stratum(&row.stratum, grouping.len()),
                    cells: cells(row),
                });
            }
        }
    }
    let mut out: Vec<Group> = groups.into_values().collect();
    for g in &mut out {
        for s in &mut g.stratifiers {
            let keys = s.keys.clone();
            sort_strata(&mut s.strata, &keys, p);
        }
    }
    out
}

/// The treatment-response groups, one per medication.
pub fn treatment_response(
    conn: &mut Conn,
    p: &ReportParams,
    caller: &Caller,
) -> AppResult<Vec<Group>> {
    let mut runs = Vec::new();
    for grouping in groupings(&p.stratify) {
        let rows = conn.load::<StatRow>(&query(p, &grouping, caller))?;
        runs.push((grouping, rows));
    }
    let obs = p.observation.clone().unwrap_or_default();
    let target = p.target.map(|t| format!(" (target {} {})", t.op, t.value));
    let make = |med: &str| Group {
        id: med.to_string(),
        label: format!(
            "Change of {obs} after starting {med}{}",
            target.clone().unwrap_or_default()
        ),
        unit: "% reaching the target",
        columns: vec![
            Column::count("measure-population"),
            Column::count("numerator"),
            Column::extra("mean-change"),
            Column::extra("median-change"),
        ],
        total: Vec::new(),
        stratifiers: Vec::new(),
        additive: true,
    };
    Ok(assemble(&p.stratify, runs, p, make, StatRow::cells))
}

/// After suppression: statistics of a hidden n are hidden; the score is the share
/// reaching the target when one is given, else the mean change.
pub fn finish(group: &mut Group, has_target: bool) {
    group.hide_with_first_count();
    if has_target {
        group.derive(vec![Column::score("share-reaching-target")], |c| {
            vec![rate(c[1], c[0], 100.0)]
        });
    } else {
        group.columns.remove(1);
        group.total.remove(1);
        for s in &mut group.stratifiers {
            for st in &mut s.strata {
                st.cells.remove(1);
            }
        }
        group.columns[1].role = Role::Score;
        group.unit = "change";
    }
}
