//! Disease statistics over the population seen: period and point prevalence, incidence,
//! predisposition (prevalence of B with and without A) and prescriptions for patients with
//! a condition. One aggregate query per report over the full cross-classification of the
//! stratify keys; totals and per-key strata are summed from it (patients are additive).

use super::caller::Caller;
use super::filters::{code_in, pop_cte, seen_cte, stratum_expr, unsealed, ICD10CM, VOID_STATUSES};
use super::model::{pick, rate, rollup, rollup_groups, Column, Group, Val};
use super::params::{CodeSet, ReportParams};
use super::rows::{big, load_counts, load_keyed};
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use chrono::{Datelike, NaiveDate};

/// Definition of the denominator, stated in every report.
pub const POPULATION_SEEN: &str = "population seen: patients with at least one encounter (not cancelled or entered in error) overlapping the period; age in completed years on period-end";
/// Definition of a condition being present.
pub const PRESENT: &str = "a condition is present from its onset date (recorded date when no onset) until its abatement date inclusive; refuted and entered-in-error conditions never count; codes match with the ICD-10-CM hierarchy";

/// `name AS (...)`: patients with a visible condition in `spec` present at some time
/// from `from` to `to`.
fn present_cte(
    sql: &mut Sql,
    name: &str,
    spec: &CodeSet,
    from: NaiveDate,
    to: NaiveDate,
    caller: &Caller,
) {
    sql.push(&format!(
        ", {name} AS (SELECT DISTINCT c.patient_id AS pid FROM condition c WHERE c.code_system = '{ICD10CM}'"
    ));
    code_in(sql, "c.code", spec);
    sql.push(" AND COALESCE(c.onset_date, c.recorded_date) <= ")
        .bind(to.to_string())
        .push(" AND (c.abatement_date IS NULL OR c.abatement_date >= ")
        .bind(from.to_string())
        .push(")");
    valid_condition(sql, caller);
    sql.push(")");
}

fn valid_condition(sql: &mut Sql, caller: &Caller) {
    sql.push(" AND COALESCE(c.verification_status, '') NOT IN ('refuted', 'entered-in-error')");
    unsealed(sql, "c", "Condition", caller);
}

/// `WITH seen AS (...), pop AS (...)`.
pub fn base(p: &ReportParams, caller: &Caller) -> Sql {
    let mut sql = Sql::new("WITH ");
    seen_cte(&mut sql, p, caller);
    sql.push(", ");
    pop_cte(&mut sql, p, caller);
    sql
}

fn strata_from_pop(p: &ReportParams) -> String {
    format!(
        "(SELECT pop.pid, {} AS stratum FROM pop) q",
        stratum_expr(&p.stratify, p)
    )
}

fn spec(p: &ReportParams) -> &CodeSet {
    p.code.as_ref().expect("code is required by the parser")
}

fn counted(
    conn: &mut Conn,
    sql: &Sql,
    p: &ReportParams,
    width: usize,
) -> AppResult<(Vec<Val>, Vec<super::model::Stratifier>)> {
    let rows = load_keyed(conn, sql, p.stratify.len(), width)?;
    Ok(rollup(&p.stratify, &rows, width, p))
}

/// Adds the per-1,000 score of `numerator` over `denominator`.
pub fn per_thousand(group: &mut Group) {
    let (n, d) = (group.col("numerator"), group.col("denominator"));
    if let (Some(n), Some(d)) = (n, d) {
        group.derive(vec![Column::score("score")], |c| {
            vec![rate(c[n], c[d], 1000.0)]
        });
    }
}

/// Period prevalence (present at any time in the period), point prevalence (present on
/// `point`) and encounters with the diagnosis in the period.
pub fn prevalence(conn: &mut Conn, p: &ReportParams, caller: &Caller) -> AppResult<Vec<Group>> {
    let spec = spec(p);
    let mut sql = base(p, caller);
    present_cte(&mut sql, "cases", spec, p.start, p.end, caller);
    present_cte(&mut sql, "pointc", spec, p.point, p.point, caller);
    sql.push(
        ", encs AS (SELECT e.patient_id AS pid, COUNT(DISTINCT e.rk) AS n FROM encounter e \
         JOIN encounter_diagnosis d ON d.enc_rk = e.rk JOIN condition c ON c.res_id = d.condition_id \
         WHERE e.admit_date <= ",
    )
    .bind(p.end.to_string())
    .push(" AND COALESCE(e.discharge_date, e.admit_date) >= ")
    .bind(p.start.to_string())
    .push(&format!(
        " AND COALESCE(e.status, '') NOT IN {VOID_STATUSES} AND c.code_system = '{ICD10CM}'"
    ));
    code_in(&mut sql, "c.code", spec);
    unsealed(&mut sql, "e", "Encounter", caller);
    valid_condition(&mut sql, caller);
    sql.push(" GROUP BY e.patient_id)");
    sql.push(&format!(
        " SELECT '' AS grp, q.stratum AS stratum, {} AS a, {} AS b, {} AS c, {} AS d FROM {} \
         LEFT JOIN cases cs ON cs.pid = q.pid LEFT JOIN pointc pc ON pc.pid = q.pid \
         LEFT JOIN encs en ON en.pid = q.pid GROUP BY q.stratum",
        big("SUM(CASE WHEN cs.pid IS NOT NULL THEN 1 ELSE 0 END)"),
        big("SUM(CASE WHEN pc.pid IS NOT NULL THEN 1 ELSE 0 END)"),
        big("SUM(COALESCE(en.n, 0))"),
        big("COUNT(*)"),
        strata_from_pop(p)
    ));
    let (total, strata) = counted(conn, &sql, p, 4)?;
    let code = p.code_text.as_deref().unwrap_or_default();
    let mut groups = vec![
        pick(
            "period-prevalence",
            &format!("Period prevalence of {code}, {} to {}", p.start, p.end),
            "per 1,000 patients",
            vec![
                (Column::count("numerator"), 0),
                (Column::count("denominator"), 3),
                (Column::count("encounters"), 2),
            ],
            &total,
            &strata,
        ),
        pick(
            "point-prevalence",
            &format!("Point prevalence of {code} on {}", p.point),
            "per 1,000 patients",
            vec![
                (Column::count("numerator"), 1),
                (Column::count("denominator"), 3),
            ],
            &total,
            &strata,
        ),
    ];
    if p.monthly {
        let monthly = monthly_prevalence(conn, p, caller, &groups[0])?;
        groups.push(monthly);
    }
    Ok(groups)
}

/// The months of the period: (`YYYY-MM`, first day, last day), clipped to the period.
fn months(p: &ReportParams) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut first = p.start;
    while first <= p.end {
        let next = first
            .with_day(1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .unwrap_or(p.end.succ_opt().unwrap_or(p.end));
        let last = next.pred_opt().unwrap_or(next).min(p.end);
        out.push((first.format("%Y-%m").to_string(), first, last));
        first = next;
    }
    out
}

/// Prevalence month by month: for each month, patients seen in that month with the
/// condition present in it, over the patients seen in it. The group total is the period
/// figure (`period`), not a sum over months.
pub fn monthly_prevalence(
    conn: &mut Conn,
    p: &ReportParams,
    caller: &Caller,
    period: &Group,
) -> AppResult<Group> {
    let mut sql = Sql::new("WITH months (m, ms, me) AS (VALUES ");
    for (i, (m, first, last)) in months(p).into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_list([m, first.to_string(), last.to_string()]);
    }
    sql.push(&format!(
        "), seenm AS (SELECT DISTINCT mo.m AS m, e.patient_id AS pid FROM months mo JOIN encounter e          ON e.admit_date <= mo.me AND COALESCE(e.discharge_date, e.admit_date) >= mo.ms          WHERE e.patient_id IS NOT NULL AND COALESCE(e.status, '') NOT IN {VOID_STATUSES}"
    ));
    unsealed(&mut sql, "e", "Encounter", caller);
    sql.push("), popm AS (SELECT s.m, s.pid FROM seenm s WHERE s.pid IN (SELECT p.res_id FROM patient p WHERE 1 = 1");
    unsealed(&mut sql, "p", "Patient", caller);
    super::filters::not_denied(&mut sql, "p.res_id", caller);
    sql.push(&format!(
        ")), casem AS (SELECT DISTINCT mo.m AS m, c.patient_id AS pid FROM months mo JOIN condition c          ON COALESCE(c.onset_date, c.recorded_date) <= mo.me AND (c.abatement_date IS NULL OR c.abatement_date >= mo.ms)          WHERE c.code_system = '{ICD10CM}'"
    ));
    code_in(&mut sql, "c.code", spec(p));
    valid_condition(&mut sql, caller);
    sql.push(&format!(
        ") SELECT '' AS grp, popm.m AS stratum, {} AS a, {} AS b, {z} AS c, {z} AS d FROM popm          LEFT JOIN casem ON casem.m = popm.m AND casem.pid = popm.pid GROUP BY popm.m",
        big("SUM(CASE WHEN casem.pid IS NOT NULL THEN 1 ELSE 0 END)"),
        big("COUNT(*)"),
        z = big("0")
    ));
    let rows = load_keyed(conn, &sql, 1, 2)?;
    let (_, strata) = rollup(&[super::params::Key::Month], &rows, 2, p);
    let mut group = pick(
        "monthly-prevalence",
        &format!(
            "Prevalence of {} by month",
            p.code_text.as_deref().unwrap_or_default()
        ),
        "per 1,000 patients",
        vec![
            (Column::count("numerator"), 0),
            (Column::count("denominator"), 1),
        ],
        &period.total[..2],
        &strata,
    );
    group.total = period.total[..2].to_vec();
    group.additive = false;
    Ok(group)
}

/// New cases: patients whose first (visible) diagnosis in the code set falls in the
/// period, over the population seen still at risk (no diagnosis before the period).
pub fn incidence(conn: &mut Conn, p: &ReportParams, caller: &Caller) -> AppResult<Vec<Group>> {
    let mut sql = base(p, caller);
    sql.push(&format!(
        ", firsts AS (SELECT c.patient_id AS pid, MIN(COALESCE(c.onset_date, c.recorded_date)) AS first_day \
         FROM condition c WHERE c.code_system = '{ICD10CM}'"
    ));
    code_in(&mut sql, "c.code", spec(p));
    valid_condition(&mut sql, caller);
    sql.push(" GROUP BY c.patient_id)");
    let start = p.start.to_string();
    let end = p.end.to_string();
    sql.push(" SELECT '' AS grp, q.stratum AS stratum, CAST(SUM(CASE WHEN f.first_day >= ")
        .bind(start.clone())
        .push(" AND f.first_day <= ")
        .bind(end)
        .push(" THEN 1 ELSE 0 END) AS BIGINT) AS a, CAST(SUM(CASE WHEN f.first_day IS NULL OR f.first_day >= ")
        .bind(start)
        .push(&format!(
            " THEN 1 ELSE 0 END) AS BIGINT) AS b, CAST(0 AS BIGINT) AS c, CAST(0 AS BIGINT) AS d FROM {} \
             LEFT JOIN firsts f ON f.pid = q.pid GROUP BY q.stratum",
            strata_from_pop(p)
        ));
    let (total, strata) = counted(conn, &sql, p, 2)?;
    Ok(vec![pick(
        "incidence",
        &format!(
            "Incidence of {}, {} to {}",
            p.code_text.as_deref().unwrap_or_default(),
            p.start,
            p.end
        ),
        "per 1,000 patients at risk",
        vec![
            (Column::count("numerator"), 0),
            (Column::count("denominator"), 1),
        ],
        &total,
        &strata,
    )])
}

/// Prevalence of the comorbidity among patients with the condition (`code`) and among
/// those without it, both over the population seen in the period.
pub fn predisposition(conn: &mut Conn, p: &ReportParams, caller: &Caller) -> AppResult<Vec<Group>> {
    let b = p
        .comorbidity
        .as_ref()
        .expect("comorbidity is required by the parser");
    let mut sql = base(p, caller);
    present_cte(&mut sql, "ca", spec(p), p.start, p.end, caller);
    present_cte(&mut sql, "cb", b, p.start, p.end, caller);
    sql.push(&format!(
        " SELECT '' AS grp, q.stratum AS stratum, {} AS a, {} AS b, {} AS c, {} AS d FROM {} \
         LEFT JOIN ca ON ca.pid = q.pid LEFT JOIN cb ON cb.pid = q.pid GROUP BY q.stratum",
        big("SUM(CASE WHEN ca.pid IS NOT NULL AND cb.pid IS NOT NULL THEN 1 ELSE 0 END)"),
        big("SUM(CASE WHEN ca.pid IS NOT NULL THEN 1 ELSE 0 END)"),
        big("SUM(CASE WHEN ca.pid IS NULL AND cb.pid IS NOT NULL THEN 1 ELSE 0 END)"),
        big("SUM(CASE WHEN ca.pid IS NULL THEN 1 ELSE 0 END)"),
        strata_from_pop(p)
    ));
    let (total, strata) = counted(conn, &sql, p, 4)?;
    let a = p.code_text.as_deref().unwrap_or_default();
    let bt = p.comorbidity_text.as_deref().unwrap_or_default();
    Ok(vec![
        pick(
            "with-condition",
            &format!("Prevalence of {bt} among patients with {a}"),
            "per 1,000 patients",
            vec![
                (Column::count("numerator"), 0),
                (Column::count("denominator"), 1),
            ],
            &total,
            &strata,
        ),
        pick(
            "without-condition",
            &format!("Prevalence of {bt} among patients without {a}"),
            "per 1,000 patients",
            vec![
                (Column::count("numerator"), 2),
                (Column::count("denominator"), 3),
            ],
            &total,
            &strata,
        ),
    ])
}

/// The prevalence ratio of two (suppressed, scored) predisposition groups with its 95 %
/// confidence interval (Katz log method: exp(ln RR ± 1.96·√(1/a − 1/n₁ + 1/c − 1/n₀))).
pub fn ratio_group(with: &Group, without: &Group) -> Group {
    let cells = |x: &[Val], y: &[Val]| ratio_cells(x[0], x[1], y[0], y[1]);
    let mut group = Group {
        id: "prevalence-ratio".into(),
        label: format!("{} ÷ {}", with.label, without.label),
        unit: "ratio",
        columns: vec![
            Column::score("ratio"),
            Column::extra("ci95-low"),
            Column::extra("ci95-high"),
        ],
        total: cells(&with.total, &without.total),
        stratifiers: with.stratifiers.clone(),
        additive: true,
    };
    for (s, stratifier) in group.stratifiers.iter_mut().enumerate() {
        for (j, stratum) in stratifier.strata.iter_mut().enumerate() {
            stratum.cells = cells(
                &with.stratifiers[s].strata[j].cells,
                &without.stratifiers[s].strata[j].cells,
            );
        }
    }
    group
}

/// Ratio and 95 % CI of a/n1 over c/n0.
pub fn ratio_cells(a: Val, n1: Val, c: Val, n0: Val) -> Vec<Val> {
    let all = [a, n1, c, n0];
    if all.contains(&Val::Suppressed) {
        return vec![Val::Suppressed; 3];
    }
    let [Some(a), Some(n1), Some(c), Some(n0)] = all.map(Val::num) else {
        return vec![Val::Missing; 3];
    };
    if a == 0.0 || c == 0.0 || n1 == 0.0 || n0 == 0.0 {
        return vec![Val::Missing; 3];
    }
    let ratio = (a / n1) / (c / n0);
    let se = (1.0 / a - 1.0 / n1 + 1.0 / c - 1.0 / n0).max(0.0).sqrt();
    vec![
        Val::Num(ratio),
        Val::Num((ratio.ln() - 1.96 * se).exp()),
        Val::Num((ratio.ln() + 1.96 * se).exp()),
    ]
}

/// MedicationRequests (authored in the period) by medication code for the patients of
/// the population seen with the condition present in the period: per medication, the
/// patients with at least one request, the cohort, and the requests.
pub fn prescriptions(conn: &mut Conn, p: &ReportParams, caller: &Caller) -> AppResult<Vec<Group>> {
    let mut sql = base(p, caller);
    present_cte(&mut sql, "cases", spec(p), p.start, p.end, caller);
    sql.push(&format!(
        ", cohort AS (SELECT q.pid, q.stratum FROM {} WHERE q.pid IN (SELECT pid FROM cases))",
        strata_from_pop(p)
    ));
    sql.push(
        ", meds AS (SELECT m.patient_id AS pid, COALESCE(m.med_code, 'unknown') AS med, COUNT(*) AS n \
         FROM medication_request m WHERE m.authored_date >= ",
    )
    .bind(p.start.to_string())
    .push(" AND m.authored_date <= ")
    .bind(p.end.to_string())
    .push(&format!(" AND COALESCE(m.status, '') NOT IN {VOID_STATUSES}"));
    if !p.medication.is_empty() {
        sql.push(" AND m.med_code IN ")
            .bind_list(p.medication.iter().map(String::as_str));
    }
    unsealed(&mut sql, "m", "MedicationRequest", caller);
    sql.push(" GROUP BY m.patient_id, m.med_code)");
    sql.push(&format!(
        " SELECT meds.med AS grp, cohort.stratum AS stratum, {} AS a, {} AS b, {z} AS c, {z} AS d \
         FROM cohort JOIN meds ON meds.pid = cohort.pid GROUP BY meds.med, cohort.stratum \
         UNION ALL SELECT '*' AS grp, cohort.stratum AS stratum, {} AS a, {z} AS b, {z} AS c, {z} AS d \
         FROM cohort GROUP BY cohort.stratum",
        big("COUNT(*)"),
        big("SUM(meds.n)"),
        big("COUNT(*)"),
        z = big("0"),
    ));
    let rows = load_counts(conn, &sql, p.stratify.len(), 2)?;
    let cohort: Vec<(Vec<String>, i64)> = rows
        .iter()
        .filter(|(g, _, _)| g == "*")
        .map(|(_, v, c)| (v.clone(), c[0]))
        .collect();
    // every medication group gets every cohort stratum, so each has its full denominator
    let mut merged = Vec::new();
    for (med, _, _) in rows.iter().filter(|(g, _, _)| g != "*") {
        if merged
            .iter()
            .any(|(m, _, _): &(String, Vec<String>, Vec<i64>)| m == med)
        {
            continue;
        }
        for (values, n) in &cohort {
            let found = rows
                .iter()
                .find(|(g, v, _)| g == med && v == values)
                .map(|(_, _, c)| (c[0], c[1]))
                .unwrap_or((0, 0));
            merged.push((med.clone(), values.clone(), vec![found.0, *n, found.1]));
        }
    }
    let code = p.code_text.as_deref().unwrap_or_default();
    let mut groups: Vec<Group> = rollup_groups(&p.stratify, merged, 3, p)
        .into_iter()
        .map(|(med, total, strata)| {
            pick(
                &med,
                &format!("Patients with {code} prescribed {med}"),
                "per 1,000 patients with the condition",
                vec![
                    (Column::count("numerator"), 0),
                    (Column::count("denominator"), 1),
                    (Column::count("requests"), 2),
                ],
                &total,
                &strata,
            )
        })
        .collect();
    groups.sort_by(|x, y| {
        let n = |g: &Group| g.total[0].num().unwrap_or_default();
        n(y).partial_cmp(&n(x))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| x.id.cmp(&y.id))
    });
    Ok(groups)
}
