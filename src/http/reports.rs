//! Reporting operations at the system level (`GET [base]/$prevalence` ...): parse the
//! filter grammar, compute the report on the blocking pool for the caller's data limits,
//! render it as a MeasureReport (default), plain JSON, CSV or SVG.

use super::auth::{access, principal};
use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, header, query_pairs};
use super::response::{fhir, format_of, Format};
use super::AppState;
use crate::auth::Action;
use crate::error::{AppError, AppResult};
use crate::reporting::caller::Caller;
use crate::reporting::params::ReportKind;
use crate::reporting::run::{parse, run};
use crate::reporting::{render_csv, render_fhir, render_json, render_svg};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The resource type whose search scope a report needs (also in `SYSTEM_OPERATIONS`).
pub fn resource_type(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Prevalence | ReportKind::Incidence | ReportKind::Predisposition => "Condition",
        ReportKind::Prescriptions => "MedicationRequest",
        ReportKind::TreatmentResponse => "Observation",
        ReportKind::ProcedureVolume => "Procedure",
        ReportKind::LengthOfStay | ReportKind::CodingAuditRates => "Encounter",
        ReportKind::Completion | ReportKind::CodingThroughput => "Task",
    }
}

/// The output a request asks for.
#[derive(Debug, Clone, Copy)]
enum Output {
    MeasureReport(Format),
    Json(Format),
    Csv,
    Svg,
}

fn output_of(req: &HttpRequest) -> AppResult<Output> {
    let pairs = query_pairs(req);
    let pretty = Format {
        pretty: pairs.iter().any(|(n, v)| n == "_pretty" && v == "true"),
    };
    let asked = pairs
        .iter()
        .find(|(n, _)| n == "_format")
        .map(|(_, v)| v.clone());
    let Some(asked) = asked else {
        let accept = header(req, "Accept").unwrap_or("");
        return Ok(if accept.contains("text/csv") {
            Output::Csv
        } else if accept.contains("image/svg+xml") {
            Output::Svg
        } else {
            Output::MeasureReport(format_of(req)?)
        });
    };
    match asked.trim() {
        "csv" | "text/csv" => Ok(Output::Csv),
        "svg" | "image/svg+xml" => Ok(Output::Svg),
        "json" => Ok(Output::Json(pretty)),
        "fhir" | "application/fhir+json" | "application/json+fhir" => {
            Ok(Output::MeasureReport(pretty))
        }
        other => Err(AppError::invalid(format!(
            "_format={other}: reports come as application/fhir+json (MeasureReport), json, csv or svg"
        ))),
    }
}

async fn report(
    req: HttpRequest,
    state: web::Data<AppState>,
    kind: ReportKind,
) -> AppResult<HttpResponse> {
    let output = output_of(&req)?;
    let limits = access(&req, resource_type(kind), Action::Search);
    if limits.patient.is_some() {
        return Err(AppError::Forbidden(
            "reports aggregate over all patients: a patient-scoped token cannot run them".into(),
        ));
    }
    let store = state.store.clone();
    let pairs = query_pairs(&req);
    let who = principal(&req);
    let counted = resource_type(kind);
    let report = blocking(move || {
        let params = parse(&store, kind, &pairs)?;
        let denied = store.denied_patients(&limits, &[counted, "Patient"])?;
        run(&store, &params, &Caller::of(&who, &limits, denied))
    })
    .await?;
    Ok(match output {
        Output::MeasureReport(format) => {
            let now = crate::fhir::json::instant(crate::fhir::json::now_ms());
            fhir(
                StatusCode::OK,
                &render_fhir::measure_report(&report, &now),
                format,
            )
        }
        Output::Json(format) => {
            HttpResponse::Ok()
                .content_type("application/json")
                .body(super::response::json_body(
                    &render_json::plain_json(&report),
                    format,
                ))
        }
        Output::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(render_csv::csv(&report)),
        Output::Svg => HttpResponse::Ok()
            .content_type("image/svg+xml")
            .body(render_svg::svg(&report)),
    })
}

/// Registers one route per report kind (before the generic `/{type}` routes).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    ReportKind::ALL.iter().fold(scope, |scope, &kind| {
        scope.service(
            super::resource(&format!("/${}", kind.name())).route(
                web::get().to(move |req: HttpRequest, state: web::Data<AppState>| {
                    report(req, state, kind)
                }),
            ),
        )
    })
}

const fn q(name: &'static str, kind: &'static str, description: &'static str) -> ParamDoc {
    ParamDoc {
        name,
        location: ParamIn::Query,
        required: false,
        kind,
        description,
    }
}

const fn required(name: &'static str, kind: &'static str, description: &'static str) -> ParamDoc {
    ParamDoc {
        name,
        location: ParamIn::Query,
        required: true,
        kind,
        description,
    }
}

const START: ParamDoc = required(
    "period-start",
    "date",
    "First day of the period (YYYY-MM-DD).",
);
const END: ParamDoc = required("period-end", "date", "Last day of the period (YYYY-MM-DD).");
const CODE: ParamDoc = required(
    "code",
    "code-range",
    "ICD-10-CM code with its hierarchy (E11 includes E11.9), range (C00-C96), comma list, or one ValueSet canonical URL taken whole (a value with ':'; url or url|version; percent-encoded): an implicit ICD-10-CM value set (http://hl7.org/fhir/sid/icd-10-cm?fhir_vs=isa/E11) or a stored ValueSet by url. A value set that cannot be evaluated is a 400.",
);
const CODE_OPTIONAL: ParamDoc = q(
    "code",
    "code-range",
    "Code, range or comma list (each comma item is its own group), or one ValueSet canonical URL (one group); ICD-10-PCS for procedure volumes, ICD-10-CM otherwise.",
);
const STRATIFY: ParamDoc = q(
    "stratify",
    "string",
    "Comma list of sex, age-band, region (volumes and length of stay also month, practitioner).",
);
const AGE_BANDS: ParamDoc = q(
    "age-bands",
    "string",
    "Age bands in completed years on period-end, e.g. 0-17,18-44,45-64,65- (setting report_age_bands).",
);
const REGION: ParamDoc = q(
    "region",
    "string",
    "state (default) or zip3 (postal-code prefix).",
);
const FORMAT: ParamDoc = q(
    "_format",
    "string",
    "application/fhir+json (MeasureReport, default), json (plain), csv or svg (chart).",
);
const PRACTITIONER: ParamDoc = q(
    "practitioner",
    "reference",
    "Practitioner id: performer (procedures) or attending (stays, records).",
);
const AS_OF: ParamDoc = q("as-of", "date", "Reference day (default today).");

const RESPONSES: &[ResponseDoc] = &[
    ResponseDoc {
        status: 200,
        body: "MeasureReport",
        description:
            "The report (type summary); suppressed counts carry data-absent-reason masked.",
    },
    ResponseDoc {
        status: 200,
        body: "text/csv",
        description: "With _format=csv: one row per total and stratum.",
    },
    ResponseDoc {
        status: 200,
        body: "image/svg+xml",
        description: "With _format=svg: a bar chart.",
    },
];

const SCOPES_CONDITION: &[&str] = &["user/Condition.s", "system/Condition.s"];

const fn op(
    path: &'static str,
    summary: &'static str,
    description: &'static str,
    scopes: &'static [&'static str],
    params: &'static [ParamDoc],
) -> OperationDoc {
    OperationDoc {
        method: "get",
        path,
        summary,
        description,
        tag: "reporting",
        scopes,
        params,
        body: None,
        responses: RESPONSES,
    }
}

/// The reporting endpoints, for the OpenAPI document.
pub const OPERATIONS: &[OperationDoc] = &[
    op(
        "/fhir/$prevalence",
        "Period and point prevalence per 1,000 patients seen",
        "Patients of the population seen (an encounter overlapping the period) with the condition present in the period (group period-prevalence, with the encounters carrying the diagnosis) and on the point date (group point-prevalence). Small cells are suppressed below report_min_cell unless the token has the identified-data clearance.",
        SCOPES_CONDITION,
        &[CODE, START, END, STRATIFY, AGE_BANDS, REGION, q("point", "date", "Point-prevalence day (default period-end)."), q("trend", "string", "month: also prevalence month by month (group monthly-prevalence; the chart then shows the trend)."), FORMAT],
    ),
    op(
        "/fhir/$incidence",
        "Incidence per 1,000 patients at risk",
        "Patients whose first diagnosis in the code set falls in the period, over the population seen without an earlier diagnosis.",
        SCOPES_CONDITION,
        &[CODE, START, END, STRATIFY, AGE_BANDS, REGION, FORMAT],
    ),
    op(
        "/fhir/$predisposition",
        "Prevalence of a comorbidity with and without a condition, ratio and 95 % CI",
        "Groups with-condition and without-condition (per 1,000) and prevalence-ratio with its 95 % confidence interval (Katz log method).",
        SCOPES_CONDITION,
        &[CODE, required("comorbidity", "code-range", "The comorbidity (B) whose prevalence is compared: ICD-10-CM code, range, comma list or ValueSet URL, as code."), START, END, STRATIFY, AGE_BANDS, REGION, FORMAT],
    ),
    op(
        "/fhir/$prescriptions",
        "MedicationRequests by medication for patients with a condition",
        "Per medication code: patients of the cohort with a request authored in the period, the cohort, and the requests.",
        &["user/MedicationRequest.s", "system/MedicationRequest.s"],
        &[CODE, START, END, q("medication", "token", "Comma list of medication codes to keep."), STRATIFY, AGE_BANDS, REGION, FORMAT],
    ),
    op(
        "/fhir/$treatment-response",
        "Change of an Observation from before to after treatment start",
        "Per medication: patients with a baseline and a follow-up value, mean and median change, share reaching the target.",
        &["user/Observation.s", "system/Observation.s"],
        &[CODE_OPTIONAL, required("observation", "token", "LOINC code (4548-4 HbA1c, 8480-6 systolic BP)."), q("medication", "token", "Comma list of medication codes."), q("target", "string", "Target of the follow-up value: lt7, le140, gt, ge."), START, END, STRATIFY, AGE_BANDS, REGION, FORMAT],
    ),
    op(
        "/fhir/$procedure-volume",
        "Procedures performed by code, month and performer",
        "Procedures performed in the period, one group per code item (ICD-10-PCS prefixes or ranges).",
        &["user/Procedure.s", "system/Procedure.s"],
        &[CODE_OPTIONAL, START, END, PRACTITIONER, STRATIFY, AGE_BANDS, REGION, FORMAT],
    ),
    op(
        "/fhir/$length-of-stay",
        "Length of stay by principal diagnosis, month and attending",
        "Inpatient encounters discharged in the period: encounters, bed-days, mean and median stay.",
        &["user/Encounter.s", "system/Encounter.s"],
        &[CODE_OPTIONAL, START, END, PRACTITIONER, STRATIFY, AGE_BANDS, REGION, FORMAT],
    ),
    op(
        "/fhir/$completion-report",
        "Record completion and delinquency rates",
        "Encounters discharged in the period without an open deficiency Task (record-completion), with one open past delinquent-days (delinquency), and deficiency Tasks by kind.",
        &["user/Task.s", "system/Task.s"],
        &[START, END, AS_OF, q("delinquent-days", "integer", "Days after discharge before an incomplete record is delinquent (default 30)."), STRATIFY, FORMAT],
    ),
    op(
        "/fhir/$coding-throughput",
        "Coding Tasks reaching final, and DNFB",
        "Coding Tasks whose businessStatus became final in the period (stratify=month for the trend) and encounters discharged but not final coded.",
        &["user/Task.s", "system/Task.s"],
        &[START, END, AS_OF, STRATIFY, FORMAT],
    ),
    op(
        "/fhir/$coding-audit-rates",
        "Coding-audit error rates per ICD-10-CM chapter",
        "Runs the coding audit over encounters discharged in the period; encounters with errors per chapter of the principal diagnosis.",
        &["user/Encounter.s", "system/Encounter.s"],
        &[START, END, FORMAT],
    ),
];
