//! Extract parameters from name/value pairs (the HTTP query and the CLI share this):
//! `registry`, `period-start`, `period-end`, `_format`, `deidentify`, `recipient`.

use super::{ExtractParams, Format, Period};
use crate::error::{AppError, AppResult};
use crate::fhir::index::date_range;
use crate::reporting::deid::Mode;

fn calendar_day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

impl ExtractParams {
    /// Parses and checks the pairs; unknown names are ignored (FHIR `_pretty` and the like).
    pub fn from_pairs(
        pairs: &[(String, String)],
        base_url: Option<String>,
    ) -> AppResult<ExtractParams> {
        let mut params = ExtractParams {
            registry: String::new(),
            period: Period::default(),
            format: Format::Bundle,
            deidentify: None,
            recipient: None,
            base_url,
            page_size: super::PAGE,
        };
        for (name, value) in pairs {
            let range = || {
                date_range(value).ok_or_else(|| {
                    AppError::invalid(format!(
                        "{name}={value} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"
                    ))
                })
            };
            match name.as_str() {
                "registry" => params.registry = value.clone(),
                "period-start" => params.period.start = Some(calendar_day(range()?.0)),
                "period-end" => params.period.end = Some(calendar_day(range()?.1)),
                "_format" => {
                    params.format = Format::parse(value).ok_or_else(|| {
                        AppError::invalid(format!(
                            "_format={value}: use bundle, ndjson, csv or naaccr-xml"
                        ))
                    })?
                }
                "deidentify" => {
                    params.deidentify = Some(Mode::parse(value).ok_or_else(|| {
                        AppError::invalid(format!(
                            "deidentify={value}: use safe-harbor, limited or none"
                        ))
                    })?)
                }
                "recipient" if !value.trim().is_empty() => {
                    params.recipient = Some(value.trim().to_string())
                }
                _ => {}
            }
        }
        if params.registry.is_empty() {
            return Err(AppError::invalid(format!(
                "the registry parameter is required: {}",
                super::definitions()
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if let (Some(start), Some(end)) = (&params.period.start, &params.period.end) {
            if start > end {
                return Err(AppError::invalid("period-start is after period-end"));
            }
        }
        Ok(params)
    }
}
