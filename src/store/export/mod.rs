//! FHIR Bulk Data Access v2 export (`$export`) as a service: kick-off stores a job with the
//! requester's access, a worker (`worker`) writes NDJSON files bounded by bytes into the
//! export directory, status requests read the job, and files are served only to the
//! requester until the job expires (`retention`). The same exporter (`writer`) serves
//! `chartroom export`. Nothing here knows HTTP.

pub mod associated;
pub mod grant;
pub mod manifest;
pub mod parameters;
pub mod retention;
pub mod spec;
pub mod worker;
pub mod writer;

use crate::auth::audit::Who;
use crate::auth::{Action, Principal};
use crate::config::Config;
use crate::db::export_jobs::{self, FileRow, JobRow, NewJob, Position};
use crate::error::{AppError, AppResult};
use crate::fhir::json::now_ms;
use crate::store::Store;
use grant::Grant;
use spec::{ExportSpec, Level};
use std::path::{Path, PathBuf};

/// Which kick-off endpoint was called.
#[derive(Debug, Clone)]
pub enum Target {
    System,
    AllPatients,
    Group(String),
}

/// A kick-off request.
pub struct Kickoff {
    pub target: Target,
    /// The query parameters, or those of a POST's Parameters body.
    pub pairs: Vec<(String, String)>,
    /// Kicked off by POST (the only form that may carry `patient`).
    pub post: bool,
    /// `Prefer: handling=lenient`: ignore unsupported parameters.
    pub lenient: bool,
    /// The full kick-off URL (for the manifest's `request`).
    pub request_url: String,
}

/// An accepted kick-off.
pub struct Accepted {
    pub id: String,
    /// Parameters ignored under `Prefer: handling=lenient`.
    pub ignored: Vec<String>,
}

/// What a status request finds.
pub enum Status {
    /// Still working: a progress line for `X-Progress`.
    Working(String),
    /// Finished: the manifest parts.
    Complete {
        transaction_time: i64,
        request_url: String,
        files: Vec<FileRow>,
        /// When the job and its files will be deleted (epoch ms).
        expires: i64,
    },
    /// Ended with an error the client may read.
    Failed(String),
}

/// The directory export jobs write to: the `export_dir` setting, else `chartroom-export`
/// beside the SQLite file, else `./chartroom-export`.
pub fn export_root(config: &Config) -> PathBuf {
    if !config.export_dir.is_empty() {
        return PathBuf::from(&config.export_dir);
    }
    let sqlite = config
        .database_url
        .strip_prefix("sqlite://")
        .or_else(|| config.database_url.strip_prefix("sqlite:"));
    match sqlite.and_then(|p| Path::new(p).parent()) {
        Some(dir) => dir.join("chartroom-export"),
        None => PathBuf::from("chartroom-export"),
    }
}

/// The directory of one job's files.
pub fn job_dir(config: &Config, id: &str) -> PathBuf {
    export_root(config).join(id)
}

/// Number of export jobs per state (`accepted`, `running`, `completed`, `failed`,
/// `cancelled`), for metrics.
pub fn job_counts(store: &Store) -> AppResult<Vec<(String, i64)>> {
    let mut conn = store.db.read()?;
    export_jobs::counts(&mut conn)
}

fn not_found() -> AppError {
    AppError::NotFound("no such export job, or not visible with this token".into())
}

/// Member patients of a Group the caller may read (inactive members left out).
fn group_members(store: &Store, id: &str, principal: &Principal) -> AppResult<Vec<String>> {
    let group = store.read("Group", id)?;
    store.check_visible(
        &crate::auth::Access::for_request(principal, "Group", Action::Read),
        &group,
    )?;
    let resource: serde_json::Value = group
        .content
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(AppError::internal)?
        .unwrap_or_default();
    let mut patients: Vec<String> = resource["member"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["inactive"] != serde_json::Value::Bool(true))
        .filter_map(|m| m["entity"]["reference"].as_str())
        .filter_map(|r| r.strip_prefix("Patient/"))
        .map(str::to_string)
        .collect();
    patients.sort();
    patients.dedup();
    Ok(patients)
}

/// Refuses `patient` ids that are unknown or hidden from `principal`, with one message for
/// both so the answer reveals nothing about patients the caller cannot see.
fn check_patients(store: &Store, ids: &[String], principal: &Principal) -> AppResult<()> {
    let access = crate::auth::Access::for_request(principal, "Patient", Action::Read);
    let mut missing = Vec::new();
    for id in ids {
        let visible = match store.read("Patient", id) {
            Ok(row) => match store.check_visible(&access, &row) {
                Ok(()) => true,
                Err(AppError::NotFound(_) | AppError::Forbidden(_) | AppError::Gone(_)) => false,
                Err(other) => return Err(other),
            },
            Err(AppError::NotFound(_) | AppError::Gone(_)) => false,
            Err(other) => return Err(other),
        };
        if !visible {
            missing.push(format!("Patient/{id}"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(AppError::invalid(format!(
        "patient: {} not known, or not visible with this token",
        missing.join(", ")
    )))
}

impl Store {
    /// Validates a kick-off request and stores its job.
    pub fn export_kickoff(
        &self,
        kickoff: &Kickoff,
        principal: &Principal,
        who: &Who,
    ) -> AppResult<Accepted> {
        if !kickoff.post && kickoff.pairs.iter().any(|(k, _)| k == "patient") {
            return Err(AppError::invalid(
                "the patient parameter is taken only in a POST kick-off's Parameters body",
            ));
        }
        let level = match &kickoff.target {
            Target::System => Level::System,
            Target::AllPatients => Level::Patient,
            Target::Group(id) => Level::Group {
                id: id.clone(),
                patients: group_members(self, id, principal)?,
            },
        };
        let spec = spec::plan(level, &kickoff.pairs, principal, kickoff.lenient)?;
        check_patients(self, &spec.patients, principal)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let job = NewJob {
            id: &id,
            owner: &principal.subject,
            request_url: &kickoff.request_url,
            spec: serde_json::to_string(&spec).map_err(AppError::internal)?,
            access_grant: serde_json::to_string(&Grant::of(principal))
                .map_err(AppError::internal)?,
            audit_who: serde_json::to_string(who).map_err(AppError::internal)?,
            now: now_ms(),
        };
        self.db
            .transaction(|conn| export_jobs::insert(conn, &job))?;
        Ok(Accepted {
            id,
            ignored: spec.ignored,
        })
    }

    /// The job `id` if `principal` started it (or is unrestricted) and it has not expired.
    fn own_job(&self, id: &str, principal: &Principal) -> AppResult<JobRow> {
        let mut conn = self.db.read()?;
        let job = export_jobs::get(&mut conn, id)?.ok_or_else(not_found)?;
        if job.status == export_jobs::CANCELLED
            || retention::expired(self, &job, now_ms())
            || !(principal.unrestricted || principal.subject == job.owner)
        {
            return Err(not_found());
        }
        Ok(job)
    }

    /// Where the job `id` stands.
    pub fn export_status(&self, id: &str, principal: &Principal) -> AppResult<Status> {
        let job = self.own_job(id, principal)?;
        match job.status.as_str() {
            export_jobs::COMPLETED => {
                let mut conn = self.db.read()?;
                Ok(Status::Complete {
                    expires: retention::expires(self, &job).unwrap_or_default(),
                    transaction_time: job.transaction_time,
                    request_url: job.request_url,
                    files: export_jobs::files(&mut conn, id)?,
                })
            }
            export_jobs::FAILED => Ok(Status::Failed(job.error.unwrap_or_default())),
            _ => {
                let spec: ExportSpec =
                    serde_json::from_str(&job.spec).map_err(AppError::internal)?;
                let current = spec
                    .types
                    .get(job.type_index as usize)
                    .map(String::as_str)
                    .unwrap_or("-");
                Ok(Status::Working(format!(
                    "{}: type {} of {} ({current}), {} resources in finished files",
                    job.status,
                    (job.type_index as usize + 1).min(spec.types.len()),
                    spec.types.len(),
                    job.exported
                )))
            }
        }
    }

    /// Cancels the job `id` and deletes its files.
    pub fn export_cancel(&self, id: &str, principal: &Principal) -> AppResult<()> {
        self.own_job(id, principal)?;
        self.db
            .transaction(|conn| export_jobs::cancel(conn, id, now_ms()))?;
        remove_dir(&job_dir(&self.config, id));
        Ok(())
    }

    /// The path of the finished file `name` of job `id`, for its requester.
    pub fn export_file(&self, id: &str, name: &str, principal: &Principal) -> AppResult<PathBuf> {
        let job = self.own_job(id, principal)?;
        let mut conn = self.db.read()?;
        let known = export_jobs::files(&mut conn, &job.id)?
            .into_iter()
            .any(|f| f.name == name);
        if !known {
            return Err(AppError::NotFound(format!(
                "export job {id} has no file {name}"
            )));
        }
        Ok(job_dir(&self.config, id).join(name))
    }
}

/// Removes a job directory (cancelled jobs); a missing one is fine.
pub fn remove_dir(dir: &Path) {
    if let Err(error) = std::fs::remove_dir_all(dir) {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(%error, dir = %dir.display(), "could not remove export files");
        }
    }
}

/// Progress that goes nowhere (the command line keeps its files list itself).
struct Collect {
    files: Vec<FileRow>,
}

impl writer::Progress for Collect {
    fn file_done(&mut self, file: &FileRow, _: &Position) -> AppResult<bool> {
        self.files.push(file.clone());
        Ok(true)
    }
    fn moved(&mut self, _: &Position) -> AppResult<bool> {
        Ok(true)
    }
    fn keep_going(&mut self) -> AppResult<bool> {
        Ok(true)
    }
}

/// What `chartroom export` wrote.
pub struct DirSummary {
    pub files: usize,
    pub resources: i64,
}

/// `chartroom export`: a system-level export with unrestricted access straight into `dir`,
/// with `manifest.json` beside the NDJSON files (file URLs relative to it), recorded in the
/// audit trail like a server export.
pub fn export_to_dir(
    store: &Store,
    pairs: &[(String, String)],
    dir: &Path,
    file_bytes: u64,
) -> AppResult<DirSummary> {
    let principal = Principal::unrestricted();
    let spec = spec::plan(Level::System, pairs, &principal, false)?;
    let transaction_time = now_ms();
    let mut collect = Collect { files: Vec::new() };
    let start = Position {
        type_index: 0,
        after_rk: 0,
        next_part: 1,
        exported: 0,
    };
    writer::run(
        store,
        &spec,
        &Grant::of(&principal),
        dir,
        file_bytes,
        start,
        &mut collect,
    )?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let manifest = manifest::build(
        transaction_time,
        &format!("chartroom export ?{query}"),
        false,
        &collect.files,
        |f| f.name.clone(),
    );
    let text = serde_json::to_string_pretty(&manifest).map_err(AppError::internal)?;
    std::fs::write(dir.join("manifest.json"), text)
        .map_err(|e| AppError::internal(format!("cannot write the manifest: {e}")))?;
    let who = Who {
        agent: "chartroom export (command line)".into(),
        purpose: Some(principal.purpose_of_use.clone()),
        ..Who::default()
    };
    let mut types: Vec<String> = collect.files.iter().map(|f| f.res_type.clone()).collect();
    types.dedup();
    let mut record = who.record(
        crate::auth::audit::AuditKind::Operation,
        crate::auth::audit::AuditOutcome::Success,
        types,
        None,
    );
    record.query = Some(format!("$export?{query}"));
    store
        .db
        .transaction(|conn| crate::db::audit::append(conn, vec![record], now_ms()))?;
    Ok(DirSummary {
        files: collect.files.len(),
        resources: collect.files.iter().map(|f| f.resources).sum(),
    })
}
