//! One entry point for every report: compute the groups, suppress small cells for callers
//! without the identified-data permission, then derive scores from what is published.

use super::caller::Caller;
use super::clinical::{self, per_thousand, POPULATION_SEEN, PRESENT};
use super::codes;
use super::model::{rate, Column, Group, Report};
use super::operational;
use super::params::{AgeBands, Defaults, ReportKind, ReportParams};
use super::suppress::suppress;
use super::{treatment, volume};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::store::Store;

/// The parser defaults from the configuration (age bands) and today's date.
pub fn defaults(config: &Config) -> AppResult<Defaults> {
    Ok(Defaults {
        age_bands: AgeBands::parse(&config.report_age_bands)
            .map_err(|e| AppError::internal(format!("setting report_age_bands: {e}")))?,
        today: chrono::Utc::now().date_naive(),
    })
}

/// Validates the parameters of `kind`, evaluating ValueSet URLs against the store.
pub fn parse(
    store: &Store,
    kind: ReportKind,
    pairs: &[(String, String)],
) -> AppResult<ReportParams> {
    let mut conn = store.db.read()?;
    ReportParams::parse(
        kind,
        pairs,
        &defaults(&store.config)?,
        &mut |url, system| codes::value_set(&mut conn, url, system),
    )
}

fn title(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Prevalence => "Prevalence",
        ReportKind::Incidence => "Incidence",
        ReportKind::Predisposition => "Predisposition (prevalence ratio)",
        ReportKind::Prescriptions => "Prescriptions for patients with a condition",
        ReportKind::TreatmentResponse => "Treatment response",
        ReportKind::ProcedureVolume => "Procedure volumes",
        ReportKind::LengthOfStay => "Length of stay",
        ReportKind::Completion => "Record completion and delinquency",
        ReportKind::CodingThroughput => "Coding throughput and DNFB",
        ReportKind::CodingAuditRates => "Coding-audit error rates",
    }
}

fn notes(p: &ReportParams) -> Vec<String> {
    let mut notes: Vec<&str> = match p.kind {
        ReportKind::Prevalence | ReportKind::Predisposition | ReportKind::Prescriptions => {
            vec![POPULATION_SEEN, PRESENT]
        }
        ReportKind::Incidence => vec![
            POPULATION_SEEN,
            "incidence: patients whose first diagnosis in the code set (onset, else recorded date) falls in the period, over the population seen without such a diagnosis before the period",
        ],
        ReportKind::TreatmentResponse => vec![POPULATION_SEEN, treatment::DEFINITION],
        ReportKind::ProcedureVolume => vec![volume::VOLUME_DEFINITION],
        ReportKind::LengthOfStay => vec![volume::LOS_DEFINITION],
        ReportKind::Completion => vec![operational::COMPLETION_DEFINITION],
        ReportKind::CodingThroughput => vec![operational::THROUGHPUT_DEFINITION],
        ReportKind::CodingAuditRates => vec![operational::AUDIT_DEFINITION],
    };
    if p.kind == ReportKind::Predisposition {
        notes.push("prevalence ratio with a 95 % confidence interval by the Katz log method");
    }
    notes.push("sealed records (security labels the caller is not cleared for) and patients whose Consent denies the caller never count");
    notes.into_iter().map(str::to_string).collect()
}

/// The parameters as understood, for the record.
fn echo(p: &ReportParams) -> Vec<(String, String)> {
    let mut out = vec![
        ("period-start".to_string(), p.start.to_string()),
        ("period-end".to_string(), p.end.to_string()),
    ];
    let mut add = |name: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push((name.to_string(), v));
        }
    };
    add("code", p.code_text.clone());
    add("comorbidity", p.comorbidity_text.clone());
    add(
        "stratify",
        Some(
            p.stratify
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(","),
        ),
    );
    add("age-bands", Some(p.age_bands.labels().join(",")));
    add("medication", Some(p.medication.join(",")));
    add("observation", p.observation.clone());
    add("practitioner", p.practitioner.clone());
    if p.kind == ReportKind::Prevalence {
        add("point", Some(p.point.to_string()));
        add("trend", p.monthly.then(|| "month".to_string()));
    }
    out
}

fn percent(group: &mut Group) {
    let (n, d) = (group.col("numerator"), group.col("denominator"));
    if let (Some(n), Some(d)) = (n, d) {
        group.derive(vec![Column::score("percent")], |c| {
            vec![rate(c[n], c[d], 100.0)]
        });
    }
}

/// Computes one report for `caller`.
pub fn run(store: &Store, p: &ReportParams, caller: &Caller) -> AppResult<Report> {
    let mut conn = store.db.read()?;
    let conn = &mut conn;
    let mut groups = match p.kind {
        ReportKind::Prevalence => clinical::prevalence(conn, p, caller)?,
        ReportKind::Incidence => clinical::incidence(conn, p, caller)?,
        ReportKind::Predisposition => clinical::predisposition(conn, p, caller)?,
        ReportKind::Prescriptions => clinical::prescriptions(conn, p, caller)?,
        ReportKind::TreatmentResponse => treatment::treatment_response(conn, p, caller)?,
        ReportKind::ProcedureVolume => volume::procedure_volume(conn, p, caller)?,
        ReportKind::LengthOfStay => volume::length_of_stay(conn, p, caller)?,
        ReportKind::Completion => operational::completion(conn, p, caller)?,
        ReportKind::CodingThroughput => operational::coding_throughput(conn, p, caller)?,
        ReportKind::CodingAuditRates => operational::coding_audit_rates(store, p, caller)?,
    };
    let threshold = store.config.report_min_cell as i64;
    let suppression = (!caller.identified && threshold > 1).then_some(threshold);
    if let Some(k) = suppression {
        for g in &mut groups {
            suppress(g, k);
        }
    }
    match p.kind {
        ReportKind::Prevalence | ReportKind::Incidence | ReportKind::Prescriptions => {
            groups.iter_mut().for_each(per_thousand)
        }
        ReportKind::Predisposition => {
            groups.iter_mut().for_each(per_thousand);
            let ratio = clinical::ratio_group(&groups[0], &groups[1]);
            groups.push(ratio);
        }
        ReportKind::TreatmentResponse => {
            for g in &mut groups {
                treatment::finish(g, p.target.is_some());
            }
        }
        ReportKind::LengthOfStay => groups.iter_mut().for_each(Group::hide_with_first_count),
        ReportKind::ProcedureVolume => {}
        ReportKind::Completion | ReportKind::CodingThroughput | ReportKind::CodingAuditRates => {
            for g in &mut groups {
                if g.id == "deficiencies" {
                    g.derive(vec![Column::score("percent-closed")], |c| {
                        vec![rate(c[1], c[0], 100.0)]
                    });
                } else {
                    percent(g);
                }
            }
        }
    }
    Ok(Report {
        kind: p.kind,
        title: title(p.kind).to_string(),
        start: p.start,
        end: p.end,
        params: echo(p),
        notes: notes(p),
        suppression,
        groups,
    })
}
