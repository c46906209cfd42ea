//! `chartroom import FILE|DIR`: transaction/batch Bundles (`.json`) and NDJSON files
//! (`.ndjson`, one resource per line) written through the same services as the HTTP
//! API. Progress is recorded per file in `import_progress`, in the same database
//! transaction as the resources, so a rerun skips finished files and resumes NDJSON
//! files after the last committed batch without writing anything twice.

mod bundle_file;
mod ndjson;

use crate::db::import_progress::{self, Progress};
use crate::db::{Backend, GroupPolicy};
use crate::store::Store;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Settings of one import run.
pub struct ImportOptions {
    /// NDJSON lines per transaction.
    pub batch_size: usize,
    /// Patient Bundles loaded at once. With more than one, every other file (NDJSON,
    /// Bundles of shared records such as Synthea's hospital and practitioner files) loads
    /// first in file order, then the patient Bundles side by side; 1 keeps strict file order.
    pub jobs: usize,
}

/// On PostgreSQL twice the CPUs: a job prepares its Bundle while another writes. On
/// SQLite many more: the single writer commits the Bundles of half of them together
/// (fewer, larger commits) while the other half prepare theirs.
pub fn default_jobs(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => {
            2 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }
        Backend::Sqlite => 64,
    }
}

/// What an import run did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub files: usize,
    /// Files skipped because an earlier run finished them.
    pub skipped: usize,
    pub loaded: u64,
    /// (where, why) for every resource or file that failed.
    pub failed: Vec<(String, String)>,
    pub elapsed: Duration,
}

impl ImportSummary {
    /// Resources written per second.
    pub fn rate(&self) -> f64 {
        self.loaded as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Reports progress lines to the caller (the CLI prints them on stderr).
pub type Report<'a> = &'a mut (dyn FnMut(&str) + Send);

/// The files `path` names: itself, or the `.json`/`.ndjson` files of a directory in
/// lexical order (an export's `manifest.json` left out).
pub fn sources(path: &Path) -> Result<Vec<PathBuf>, String> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && kind(p).is_some())
        // the Bulk Data manifest `chartroom export` writes beside its NDJSON files
        .filter(|p| p.file_name().is_none_or(|n| n != "manifest.json"))
        .collect();
    files.sort();
    Ok(files)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bundle,
    Ndjson,
}

fn kind(path: &Path) -> Option<Kind> {
    match path.extension()?.to_str()? {
        "json" => Some(Kind::Bundle),
        "ndjson" => Some(Kind::Ndjson),
        _ => None,
    }
}

/// Imports every file `path` names.
pub fn run(
    store: &Store,
    path: &Path,
    options: &ImportOptions,
    report: Report<'_>,
) -> Result<ImportSummary, String> {
    let started = Instant::now();
    let mut summary = ImportSummary::default();
    let files = sources(path)?;
    let mut tally = Tally {
        summary: &mut summary,
        started,
        report: &mut *report,
        name: String::new(),
        bytes_total: files
            .iter()
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .sum(),
        bytes_done: 0,
    };
    let mut patient_bundles = Vec::new();
    for file in files {
        tally.summary.files += 1;
        let Some((source, progress)) = unfinished(store, &file, &mut tally)? else {
            continue;
        };
        let file_end = tally.bytes_done - progress.byte_offset as u64 + source.size as u64;
        tally.name = file.display().to_string();
        let result = match kind(&file) {
            // advances the bar batch by batch
            Some(Kind::Ndjson) => {
                ndjson::load(store, &file, &source, progress, options, &mut tally)
            }
            _ if options.jobs > 1 && bundle_file::holds_patient(&file) => {
                patient_bundles.push((file, source));
                continue;
            }
            _ => bundle_file::read(&file).and_then(|bundle| {
                // the bar shows the file as read when the load reports
                tally.bytes_done = file_end;
                bundle_file::load(store, &file, bundle, &source).map(|loaded| tally.add(loaded))
            }),
        };
        tally.bytes_done = file_end;
        if let Err(reason) = result {
            tally.failed(file.display().to_string(), reason);
        }
    }
    // on PostgreSQL a job holds a pooled connection for its whole transaction: no more jobs
    // than connections, or one waiting on the pool could time out (SQLite's jobs share the
    // one writer and hold a read connection only briefly)
    let jobs = match store.db.backend() {
        Backend::Postgres => options.jobs.min(store.config.pool_size.max(1) as usize),
        Backend::Sqlite => options.jobs,
    };
    load_side_by_side(store, &patient_bundles, jobs, &mut tally);
    if summary.loaded > 0 {
        // fresh planner statistics, so searches after a bulk load use the indexes well
        if let Err(e) = store.db.analyze() {
            report(&format!("ANALYZE after the import failed: {e}"));
        }
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// The file's key and progress, or None (counted as skipped) when an earlier run finished it.
fn unfinished(
    store: &Store,
    file: &Path,
    tally: &mut Tally<'_, '_>,
) -> Result<Option<(Source, Progress)>, String> {
    let key = std::fs::canonicalize(file)
        .unwrap_or_else(|_| file.to_path_buf())
        .display()
        .to_string();
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .len() as i64;
    let progress = store
        .db
        .read()
        .and_then(|mut conn| import_progress::get(&mut conn, &key, size))
        .map_err(|e| format!("cannot read import progress: {e}"))?
        .unwrap_or_default();
    if progress.done != 0 {
        tally.bytes_done += size as u64;
        tally.summary.skipped += 1;
        (tally.report)(&format!("{}: already imported, skipped", file.display()));
        return Ok(None);
    }
    tally.bytes_done += progress.byte_offset as u64;
    Ok(Some((Source { key, size }, progress)))
}

/// Loads Bundles on `jobs` threads, each taking the next file in order. SQLite's writer
/// commits the Bundles of up to half of them together (group commit, waiting a little for
/// the next Bundle rather than committing each); each stays its own transaction.
fn load_side_by_side(
    store: &Store,
    files: &[(PathBuf, Source)],
    jobs: usize,
    tally: &mut Tally<'_, '_>,
) {
    store
        .db
        .set_group_policy(GroupPolicy::bulk(jobs.div_ceil(2)));
    let _restore = RestorePolicy(&store.db);
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(tally);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, files.len().max(1)) {
            scope.spawn(|| {
                while let Some((file, source)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = bundle_file::read(file)
                        .and_then(|bundle| bundle_file::load(store, file, bundle, source));
                    let mut tally = tally
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    tally.name = file.display().to_string();
                    tally.bytes_done += source.size as u64;
                    match result {
                        Ok(loaded) => tally.add(loaded),
                        Err(reason) => tally.failed(file.display().to_string(), reason),
                    }
                }
            });
        }
    });
}

/// Puts the server's group policy back, however the load ended.
struct RestorePolicy<'a>(&'a crate::db::Db);

impl Drop for RestorePolicy<'_> {
    fn drop(&mut self) {
        self.0.set_group_policy(GroupPolicy::default());
    }
}

/// The key a file's progress is recorded under.
struct Source {
    key: String,
    size: i64,
}

impl Source {
    fn save(&self, conn: &mut crate::db::Conn, progress: &Progress) -> crate::error::AppResult<()> {
        import_progress::save(conn, &self.key, self.size, progress)
    }
}

/// Running counts shared by the file loaders.
struct Tally<'s, 'r> {
    summary: &'s mut ImportSummary,
    started: Instant,
    report: Report<'r>,
    name: String,
    /// Sizes of every file named, and of what is loaded, skipped or failed so far.
    bytes_total: u64,
    bytes_done: u64,
}

impl Tally<'_, '_> {
    /// Counts `n` more resources and redraws the progress bar (by bytes of the files).
    fn loaded(&mut self, n: u64) {
        crate::telemetry::metrics::resources_imported(n);
        self.summary.loaded += n;
        let rate = self.summary.loaded as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let done = (self.bytes_done as f64 / self.bytes_total.max(1) as f64).min(1.0);
        let filled = (done * 20.0).round() as usize;
        let line = format!(
            "[{}{}] {:3.0} % {}: {} resources loaded, {} failed, {rate:.0}/s",
            "#".repeat(filled),
            "-".repeat(20 - filled),
            done * 100.0,
            self.name,
            self.summary.loaded,
            self.summary.failed.len()
        );
        (self.report)(&line);
    }

    fn add(&mut self, loaded: bundle_file::Loaded) {
        for (place, reason) in loaded.failed {
            self.failed(place, reason);
        }
        self.loaded(loaded.resources);
    }

    fn failed(&mut self, place: String, reason: String) {
        crate::telemetry::metrics::import_failures(1);
        self.summary.failed.push((place, reason));
    }
}

/// The text of the first issue of an error.
fn reason(err: &crate::error::AppError) -> String {
    let issues = err.issues();
    let mut text = issues
        .first()
        .map(|i| i.diagnostics.clone())
        .unwrap_or_else(|| err.to_string());
    if issues.len() > 1 {
        text.push_str(&format!(" (and {} more issues)", issues.len() - 1));
    }
    text
}
