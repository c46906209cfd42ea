//! Reports for scheduled jobs (`chartroom report <name> key=value ...`): the same
//! computation as the HTTP operations, rendered to text.

use super::caller::Caller;
use super::params::ReportKind;
use super::run::{parse, run};
use super::{render_csv, render_fhir, render_json, render_svg};
use crate::error::{AppError, AppResult};
use crate::store::Store;

/// Output of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFormat {
    Csv,
    Json,
    Fhir,
    Svg,
}

impl JobFormat {
    pub fn parse(text: &str) -> Option<JobFormat> {
        match text {
            "csv" => Some(JobFormat::Csv),
            "json" => Some(JobFormat::Json),
            "fhir" => Some(JobFormat::Fhir),
            "svg" => Some(JobFormat::Svg),
            _ => None,
        }
    }
}

/// Parses `key=value` arguments into parameter pairs.
pub fn pairs(args: &[String]) -> AppResult<Vec<(String, String)>> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| AppError::invalid(format!("'{a}' is not key=value")))
        })
        .collect()
}

/// Computes `kind` with `args` and renders it. Sealed records are left out and small
/// cells suppressed unless `identified`.
pub fn run_job(
    store: &Store,
    kind: ReportKind,
    args: &[String],
    format: JobFormat,
    identified: bool,
) -> AppResult<String> {
    let params = parse(store, kind, &pairs(args)?)?;
    let report = run(store, &params, &Caller::job(identified))?;
    Ok(match format {
        JobFormat::Csv => render_csv::csv(&report),
        JobFormat::Json => {
            serde_json::to_string_pretty(&render_json::plain_json(&report)).unwrap_or_default()
        }
        JobFormat::Fhir => {
            let now = crate::fhir::json::instant(crate::fhir::json::now_ms());
            serde_json::to_string_pretty(&render_fhir::measure_report(&report, &now))
                .unwrap_or_default()
        }
        JobFormat::Svg => render_svg::svg(&report),
    })
}
