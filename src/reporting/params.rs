//! The report filter grammar shared by every report: `code`, `period-start`, `period-end`,
//! `stratify`, `age-bands`, `region`, plus what each report needs. Parsed strictly: an
//! unknown, repeated or malformed parameter is a 400, never silently ignored.

use super::codes::is_value_set;
pub use super::codes::CodeSet;
use crate::coding::ops::CodeSystem;
use crate::error::{AppError, AppResult};
use chrono::NaiveDate;

/// The reports chartroom computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Prevalence,
    Incidence,
    Predisposition,
    Prescriptions,
    TreatmentResponse,
    ProcedureVolume,
    LengthOfStay,
    Completion,
    CodingThroughput,
    CodingAuditRates,
}

impl ReportKind {
    /// Every kind, in documentation order.
    pub const ALL: &'static [ReportKind] = &[
        ReportKind::Prevalence,
        ReportKind::Incidence,
        ReportKind::Predisposition,
        ReportKind::Prescriptions,
        ReportKind::TreatmentResponse,
        ReportKind::ProcedureVolume,
        ReportKind::LengthOfStay,
        ReportKind::Completion,
        ReportKind::CodingThroughput,
        ReportKind::CodingAuditRates,
    ];

    /// The operation name (`$prevalence` without the `$`).
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Prevalence => "prevalence",
            ReportKind::Incidence => "incidence",
            ReportKind::Predisposition => "predisposition",
            ReportKind::Prescriptions => "prescriptions",
            ReportKind::TreatmentResponse => "treatment-response",
            ReportKind::ProcedureVolume => "procedure-volume",
            ReportKind::LengthOfStay => "length-of-stay",
            ReportKind::Completion => "completion-report",
            ReportKind::CodingThroughput => "coding-throughput",
            ReportKind::CodingAuditRates => "coding-audit-rates",
        }
    }

    /// Parameters this report takes besides the common ones.
    fn extra_params(self) -> &'static [&'static str] {
        match self {
            ReportKind::Prevalence => &["point", "trend"],
            ReportKind::Incidence => &[],
            ReportKind::Predisposition => &["comorbidity"],
            ReportKind::Prescriptions => &["medication"],
            ReportKind::TreatmentResponse => &["medication", "observation", "target"],
            ReportKind::ProcedureVolume | ReportKind::LengthOfStay => &["practitioner"],
            ReportKind::Completion => &["as-of", "delinquent-days"],
            ReportKind::CodingThroughput => &["as-of"],
            ReportKind::CodingAuditRates => &[],
        }
    }

    /// Stratification keys this report accepts.
    pub fn keys(self) -> &'static [Key] {
        match self {
            ReportKind::ProcedureVolume | ReportKind::LengthOfStay => &[
                Key::Sex,
                Key::AgeBand,
                Key::Region,
                Key::Month,
                Key::Practitioner,
            ],
            ReportKind::Completion => &[Key::Month, Key::Practitioner],
            ReportKind::CodingThroughput => &[Key::Month],
            ReportKind::CodingAuditRates => &[],
            _ => &[Key::Sex, Key::AgeBand, Key::Region],
        }
    }

    /// True when the report needs `code`.
    fn needs_code(self) -> bool {
        matches!(
            self,
            ReportKind::Prevalence
                | ReportKind::Incidence
                | ReportKind::Predisposition
                | ReportKind::Prescriptions
        )
    }
}

/// A stratification key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Sex,
    AgeBand,
    Region,
    Month,
    Practitioner,
    /// Deficiency kind (completion report).
    Kind,
    /// ICD-10-CM chapter of the principal diagnosis (coding-audit rates).
    Chapter,
}

impl Key {
    pub fn name(self) -> &'static str {
        match self {
            Key::Sex => "sex",
            Key::AgeBand => "age-band",
            Key::Region => "region",
            Key::Month => "month",
            Key::Practitioner => "practitioner",
            Key::Kind => "kind",
            Key::Chapter => "chapter",
        }
    }

    fn parse(name: &str) -> Option<Key> {
        [
            Key::Sex,
            Key::AgeBand,
            Key::Region,
            Key::Month,
            Key::Practitioner,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// Age bands in completed years: `(low, high)` inclusive, `None` = open-ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeBands(pub Vec<(u32, Option<u32>)>);

impl AgeBands {
    /// Parses `0-17,18-44,45-64,65-`: ascending, non-overlapping bands.
    pub fn parse(text: &str) -> Result<AgeBands, String> {
        let mut bands = Vec::new();
        let mut next_low = 0u32;
        for item in text.split(',').map(str::trim) {
            let (lo, hi) = item
                .split_once('-')
                .ok_or_else(|| format!("age band '{item}' is not like 18-44 or 65-"))?;
            let lo: u32 = lo
                .trim()
                .parse()
                .map_err(|_| format!("age band '{item}': '{lo}' is not a whole number"))?;
            let hi: Option<u32> = match hi.trim() {
                "" => None,
                h => Some(
                    h.parse()
                        .map_err(|_| format!("age band '{item}': '{h}' is not a whole number"))?,
                ),
            };
            if hi.is_some_and(|h| h < lo) {
                return Err(format!("age band '{item}' ends before it starts"));
            }
            if (!bands.is_empty() && lo < next_low)
                || bands
                    .last()
                    .is_some_and(|b: &(u32, Option<u32>)| b.1.is_none())
            {
                return Err(format!(
                    "age band '{item}' overlaps or is out of order: bands must ascend"
                ));
            }
            next_low = hi.map_or(u32::MAX, |h| h + 1);
            bands.push((lo, hi));
        }
        if bands.is_empty() {
            return Err("age-bands is empty".into());
        }
        Ok(AgeBands(bands))
    }

    /// The label of each band (`18-44`, `65-`).
    pub fn labels(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(lo, hi)| match hi {
                Some(hi) => format!("{lo}-{hi}"),
                None => format!("{lo}-"),
            })
            .collect()
    }
}

/// A comparison against a target value (`lt7`, `le140`, `gt`, `ge`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// SQL operator.
    pub op: &'static str,
    pub value: f64,
}

impl Target {
    fn parse(text: &str) -> Option<Target> {
        let (op, rest) = [("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">=")]
            .iter()
            .find_map(|(p, op)| text.strip_prefix(p).map(|r| (*op, r)))?;
        let value: f64 = rest.parse().ok()?;
        value.is_finite().then_some(Target { op, value })
    }
}

/// How `region` strata are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionLevel {
    /// Address state.
    State,
    /// First three characters of the postal code.
    Zip3,
}

/// One validated report request.
#[derive(Debug, Clone)]
pub struct ReportParams {
    pub kind: ReportKind,
    /// The `code` parameter as given, and parsed (ICD-10-CM; ICD-10-PCS prefixes for
    /// procedure volumes): all of it, and each comma item (one item for a value set).
    pub code_text: Option<String>,
    pub code: Option<CodeSet>,
    pub code_items: Vec<(String, CodeSet)>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Point prevalence date (default: `period-end`).
    pub point: NaiveDate,
    /// Prevalence: also compute it month by month (`trend=month`).
    pub monthly: bool,
    pub stratify: Vec<Key>,
    pub age_bands: AgeBands,
    pub region: RegionLevel,
    pub comorbidity_text: Option<String>,
    pub comorbidity: Option<CodeSet>,
    /// Medication codes (any system).
    pub medication: Vec<String>,
    /// LOINC code of the observation (treatment response).
    pub observation: Option<String>,
    pub target: Option<Target>,
    /// Practitioner id (volumes: performer; length of stay and completion: attending).
    pub practitioner: Option<String>,
    /// Reference day of the operational reports (default: today).
    pub as_of: NaiveDate,
    pub delinquent_days: i64,
}

/// Settings the parser falls back on.
pub struct Defaults {
    pub age_bands: AgeBands,
    pub today: NaiveDate,
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::invalid(message)
}

fn date(name: &str, value: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| bad(format!("{name}={value} is not a date like 2024-01-31")))
}

/// Evaluates a ValueSet canonical into the codes of one system (in the service:
/// `codes::value_set` on a read connection).
pub type ValueSets<'a> = dyn FnMut(&str, CodeSystem) -> AppResult<CodeSet> + 'a;

/// A parsed `code` / `comorbidity`: the whole set and its comma items.
type Codes = (CodeSet, Vec<(String, CodeSet)>);

/// One ValueSet canonical (the whole value, commas included), else a comma list of codes
/// and ranges of `system`.
fn code_param(
    name: &str,
    value: &str,
    system: CodeSystem,
    value_sets: &mut ValueSets,
) -> AppResult<Codes> {
    if is_value_set(value) {
        // `\,` is how a search escapes a comma; here the whole value is the URL anyway
        let url = value.replace("\\,", ",");
        let set = value_sets(&url, system)?;
        return Ok((set.clone(), vec![(value.to_string(), set)]));
    }
    let parse = |text: &str| match system {
        CodeSystem::Cm => CodeSet::icd10cm(text),
        CodeSystem::Pcs => CodeSet::pcs(text),
    };
    let whole = parse(value).ok_or_else(|| {
        bad(match system {
            CodeSystem::Cm => format!(
                "{name}={value} is not a code, range, comma list or ValueSet URL like E11, C00-C96, E10,E11 or http://hl7.org/fhir/sid/icd-10-cm?fhir_vs=isa/E11"
            ),
            CodeSystem::Pcs => format!(
                "{name}={value} is not an ICD-10-PCS code, prefix, range, comma list or ValueSet URL like 0DT,0SR9-0SRB"
            ),
        })
    })?;
    let items = value
        .split(',')
        .map(str::trim)
        .filter_map(|item| parse(item).map(|set| (item.to_string(), set)))
        .collect();
    Ok((whole, items))
}

/// Strips a `system|` prefix from a token.
fn bare_code(value: &str) -> &str {
    value.rsplit_once('|').map_or(value, |(_, c)| c).trim()
}

fn plain_token(name: &str, value: &str) -> AppResult<String> {
    let code = bare_code(value);
    if code.is_empty()
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(bad(format!("{name}={value} is not a code")));
    }
    Ok(code.to_string())
}

impl ReportParams {
    /// Validates the query parameters of `kind` (`_format` and `_pretty` are the caller's).
    /// ValueSet URLs in `code` / `comorbidity` are evaluated through `value_sets`.
    pub fn parse(
        kind: ReportKind,
        pairs: &[(String, String)],
        defaults: &Defaults,
        value_sets: &mut ValueSets,
    ) -> AppResult<ReportParams> {
        const COMMON: &[&str] = &[
            "code",
            "period-start",
            "period-end",
            "stratify",
            "age-bands",
            "region",
        ];
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in pairs {
            let name = name.as_str();
            if name == "_format" || name == "_pretty" {
                continue;
            }
            if !COMMON.contains(&name) && !kind.extra_params().contains(&name) {
                return Err(bad(format!(
                    "${} does not take the parameter '{name}' (it takes {})",
                    kind.name(),
                    COMMON
                        .iter()
                        .chain(kind.extra_params())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if seen.contains(&name) {
                return Err(bad(format!("parameter '{name}' is given twice")));
            }
            seen.push(name);
        }
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let start = date(
            "period-start",
            get("period-start").ok_or_else(|| bad("period-start is required (YYYY-MM-DD)"))?,
        )?;
        let end = date(
            "period-end",
            get("period-end").ok_or_else(|| bad("period-end is required (YYYY-MM-DD)"))?,
        )?;
        if end < start {
            return Err(bad(format!(
                "period-end {end} is before period-start {start}"
            )));
        }
        let code_text = get("code").map(str::to_string);
        let system = match kind {
            ReportKind::ProcedureVolume => CodeSystem::Pcs,
            _ => CodeSystem::Cm,
        };
        let (code, code_items) = match code_text.as_deref() {
            Some(c) => {
                let (whole, items) = code_param("code", c, system, value_sets)?;
                (Some(whole), items)
            }
            None => (None, Vec::new()),
        };
        if kind.needs_code() && code.is_none() {
            return Err(bad(format!(
                "${} needs a code (e.g. code=E11)",
                kind.name()
            )));
        }
        let mut stratify = Vec::new();
        for item in get("stratify").unwrap_or("").split(',').map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let key = Key::parse(item)
                .filter(|k| kind.keys().contains(k))
                .ok_or_else(|| {
                    bad(format!(
                        "${} cannot stratify by '{item}' (it can by {})",
                        kind.name(),
                        kind.keys()
                            .iter()
                            .map(|k| k.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            if stratify.contains(&key) {
                return Err(bad(format!("stratify names '{item}' twice")));
            }
            stratify.push(key);
        }
        let age_bands = match get("age-bands") {
            Some(text) => AgeBands::parse(text).map_err(bad)?,
            None => defaults.age_bands.clone(),
        };
        let region = match get("region").unwrap_or("state") {
            "state" => RegionLevel::State,
            "zip3" => RegionLevel::Zip3,
            other => return Err(bad(format!("region={other}: use state or zip3"))),
        };
        let comorbidity_text = get("comorbidity").map(str::to_string);
        let comorbidity = comorbidity_text
            .as_deref()
            .map(|c| code_param("comorbidity", c, CodeSystem::Cm, value_sets).map(|(set, _)| set))
            .transpose()?;
        if kind == ReportKind::Predisposition && comorbidity.is_none() {
            return Err(bad(
                "$predisposition needs comorbidity (the condition whose prevalence is compared)",
            ));
        }
        let medication = get("medication")
            .map(|m| {
                m.split(',')
                    .map(|c| plain_token("medication", c))
                    .collect::<AppResult<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let observation = get("observation")
            .map(|o| plain_token("observation", o))
            .transpose()?;
        if kind == ReportKind::TreatmentResponse && observation.is_none() {
            return Err(bad(
                "$treatment-response needs observation (a LOINC code, e.g. 4548-4)",
            ));
        }
        let target = get("target")
            .map(|t| {
                Target::parse(t).ok_or_else(|| {
                    bad(format!(
                        "target={t} is not like lt7 (lt, le, gt, ge and a number)"
                    ))
                })
            })
            .transpose()?;
        let practitioner = get("practitioner")
            .map(|p| plain_token("practitioner", p.trim_start_matches("Practitioner/")))
            .transpose()?;
        let point = get("point")
            .map(|p| date("point", p))
            .transpose()?
            .unwrap_or(end);
        let monthly = match get("trend") {
            None => false,
            Some("month") => true,
            Some(other) => return Err(bad(format!("trend={other}: the only trend is month"))),
        };
        if monthly && (end - start).num_days() > 3660 {
            return Err(bad("trend=month covers at most ten years"));
        }
        let as_of = get("as-of")
            .map(|d| date("as-of", d))
            .transpose()?
            .unwrap_or(defaults.today);
        let delinquent_days = match get("delinquent-days") {
            Some(d) => d
                .parse::<i64>()
                .ok()
                .filter(|d| (0..=3650).contains(d))
                .ok_or_else(|| bad(format!("delinquent-days={d} is not a number of days")))?,
            None => 30,
        };
        Ok(ReportParams {
            kind,
            code_text,
            code,
            code_items,
            start,
            end,
            point,
            monthly,
            stratify,
            age_bands,
            region,
            comorbidity_text,
            comorbidity,
            medication,
            observation,
            target,
            practitioner,
            as_of,
            delinquent_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            age_bands: AgeBands::parse("0-17,18-44,45-64,65-").unwrap(),
            today: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        }
    }

    fn parse(kind: ReportKind, query: &str) -> AppResult<ReportParams> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        ReportParams::parse(kind, &pairs, &defaults(), &mut |url, _| {
            Err(AppError::invalid(format!("no value sets here: {url}")))
        })
    }

    #[test]
    fn age_bands_parse_and_refuse_overlaps() {
        let bands = AgeBands::parse("0-17,18-44,45-64,65-").unwrap();
        assert_eq!(bands.labels(), ["0-17", "18-44", "45-64", "65-"]);
        assert!(AgeBands::parse("0-20,18-44").is_err());
        assert!(AgeBands::parse("65-,70-80").is_err());
        assert!(AgeBands::parse("10-5").is_err());
        assert!(AgeBands::parse("a-b").is_err());
    }

    #[test]
    fn grammar_is_strict() {
        let ok = parse(
            ReportKind::Prevalence,
            "code=E11,C00-C96&period-start=2024-01-01&period-end=2024-12-31&stratify=sex,age-band",
        )
        .unwrap();
        assert_eq!(ok.stratify, [Key::Sex, Key::AgeBand]);
        assert_eq!(ok.point, ok.end);
        for bad in [
            "code=E11&period-start=2024-01-01",
            "code=E11&period-start=2024-02-01&period-end=2024-01-01",
            "code=XYZZY1234&period-start=2024-01-01&period-end=2024-12-31",
            "code=E11&period-start=2024-01-01&period-end=2024-12-31&stratify=shoe",
            "code=E11&period-start=2024-01-01&period-end=2024-12-31&stratify=month",
            "code=E11&period-start=2024-01-01&period-end=2024-12-31&colour=red",
            "code=E11&code=E10&period-start=2024-01-01&period-end=2024-12-31",
            "period-start=2024-01-01&period-end=2024-12-31",
        ] {
            assert!(parse(ReportKind::Prevalence, bad).is_err(), "{bad}");
        }
        assert!(parse(
            ReportKind::TreatmentResponse,
            "period-start=2024-01-01&period-end=2024-12-31&observation=4548-4&target=lt7"
        )
        .is_ok());
        assert!(parse(
            ReportKind::TreatmentResponse,
            "period-start=2024-01-01&period-end=2024-12-31&observation=4548-4&target=seven"
        )
        .is_err());
    }
}
