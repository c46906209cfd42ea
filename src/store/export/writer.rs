//! The streaming exporter: for each type, the matching rows in row-key order (keyset pages
//! of keys with their stored sizes, then their content in batches of at most a few MB), one
//! NDJSON line each (cut to `_elements`; in the `includeAssociatedData` pass only the
//! Provenance `associated` picks), into files closed before they would pass the byte limit.
//! Memory holds one page of keys and one batch of resources (or one resource larger than a
//! batch), whatever the store's size.

use super::associated::ProvenanceFilter;
use super::grant::Grant;
use super::spec::ExportSpec;
use crate::auth::Access;
use crate::db::export_jobs::{FileRow, Position};
use crate::db::resources::{content_sizes, read_many};
use crate::db::search_page;
use crate::error::{AppError, AppResult};
use crate::search::elements::subset;
use crate::search::parse::{SearchRequest, Summary};
use crate::store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Row keys read per keyset page.
const KEY_PAGE: usize = 500;
/// At most this many bytes of resource content are loaded at once (one larger resource alone).
const BATCH_BYTES: i64 = 4 * 1024 * 1024;
const MAX_BATCH: usize = 200;

/// Where finished files and positions go: the job table (server) or nowhere (CLI).
pub trait Progress {
    /// A file is finished (renamed into place) and the job stands at `position`.
    /// False stops the export (cancelled, or the job was taken over).
    fn file_done(&mut self, file: &FileRow, position: &Position) -> AppResult<bool>;
    /// A type ended without a file still open.
    fn moved(&mut self, position: &Position) -> AppResult<bool>;
    /// Asked between pages; false stops the export.
    fn keep_going(&mut self) -> AppResult<bool>;
}

/// How an export run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Done,
    Stopped,
}

/// The file being written.
struct OpenFile {
    part: i64,
    res_type: String,
    name: String,
    temp: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    resources: i64,
    bytes: u64,
    last_rk: i64,
}

/// Runs (or resumes, from `start`) the export `spec` with `grant`'s access into `dir`,
/// closing files before they pass `file_bytes`.
pub fn run(
    store: &Store,
    spec: &ExportSpec,
    grant: &Grant,
    dir: &Path,
    file_bytes: u64,
    start: Position,
    progress: &mut dyn Progress,
) -> AppResult<Ended> {
    std::fs::create_dir_all(dir).map_err(io)?;
    remove_partial(dir)?;
    let mut position = start;
    while (position.type_index as usize) < spec.types.len() {
        let res_type = spec.types[position.type_index as usize].clone();
        let access = grant.access(&res_type);
        let mut search = prepare(store, spec.search(&res_type, &access, &[])?, &access)?;
        let elements = spec.elements_for(&res_type);
        let provenance =
            spec.associated_pass(&res_type)
                .then_some(ProvenanceFilter { store, spec, grant });
        let mut after = position.after_rk;
        let mut file: Option<OpenFile> = None;
        loop {
            search.cursor = (after > 0).then(|| format!("[[],{after}]"));
            let sized: Vec<(i64, i64)> = {
                let mut conn = store.db.read()?;
                let keys: Vec<i64> = search_page::page(&mut conn, &search, KEY_PAGE)?
                    .into_iter()
                    .map(|r| r.rk)
                    .collect();
                content_sizes(&mut conn, &keys)?
            };
            let Some(&(last, _)) = sized.last() else {
                break;
            };
            for chunk in batches(&sized) {
                let mut rows = {
                    let mut conn = store.db.read()?;
                    read_many(&mut conn, &chunk)?
                };
                rows.sort_by_key(|(rk, _)| *rk);
                for (rk, row) in rows {
                    let Some(content) = row.content else { continue };
                    let line = match (&elements, &provenance) {
                        (None, None) => one_line(content)?,
                        _ => {
                            let resource: serde_json::Value =
                                serde_json::from_str(&content).map_err(AppError::internal)?;
                            if let Some(filter) = &provenance {
                                if !filter.keep(&resource, rk)? {
                                    continue;
                                }
                            }
                            let resource = match &elements {
                                Some(names) => subset(resource, Summary::False, names),
                                None => resource,
                            };
                            serde_json::to_string(&resource).map_err(AppError::internal)?
                        }
                    };
                    if let Some(open) = &file {
                        if open.resources > 0 && open.bytes + line.len() as u64 + 1 > file_bytes {
                            let done = file.take().expect("open file");
                            position.after_rk = done.last_rk;
                            if !close(done, dir, &mut position, progress)? {
                                return Ok(Ended::Stopped);
                            }
                        }
                    }
                    let open = match &mut file {
                        Some(open) => open,
                        None => file.insert(open_file(dir, &res_type, position.next_part)?),
                    };
                    open.out.write_all(line.as_bytes()).map_err(io)?;
                    open.out.write_all(b"\n").map_err(io)?;
                    open.resources += 1;
                    open.bytes += line.len() as u64 + 1;
                    open.last_rk = rk;
                }
            }
            after = last;
            if !progress.keep_going()? {
                return Ok(Ended::Stopped);
            }
        }
        position.type_index += 1;
        position.after_rk = 0;
        let going = match file.take() {
            Some(done) => close(done, dir, &mut position, progress)?,
            None => progress.moved(&position)?,
        };
        if !going {
            return Ok(Ended::Stopped);
        }
    }
    Ok(Ended::Done)
}

/// `search` with the requester's patient-privacy Consents applied and the value sets of
/// `:in`/`:not-in` resolved, as for any search by this requester.
pub(super) fn prepare(
    store: &Store,
    mut search: SearchRequest,
    access: &Access,
) -> AppResult<SearchRequest> {
    store.restrict_by_consent(&mut search, access)?;
    let mut conn = store.db.read()?;
    Ok(crate::search::value_set::resolve(&mut conn, &search)?.into_owned())
}

/// Row keys grouped so each group's stored content stays within [`BATCH_BYTES`] (a larger
/// resource goes alone).
fn batches(sized: &[(i64, i64)]) -> Vec<Vec<i64>> {
    let mut out: Vec<Vec<i64>> = Vec::new();
    let mut bytes = 0;
    for &(rk, size) in sized {
        match out.last_mut() {
            Some(group) if bytes + size <= BATCH_BYTES && group.len() < MAX_BATCH => {
                group.push(rk);
                bytes += size;
            }
            _ => {
                out.push(vec![rk]);
                bytes = size;
            }
        }
    }
    out
}

/// Stored JSON is one line already; re-serialise the rare document that is not.
fn one_line(content: String) -> AppResult<String> {
    if !content.contains('\n') {
        return Ok(content);
    }
    let value: serde_json::Value = serde_json::from_str(&content).map_err(AppError::internal)?;
    serde_json::to_string(&value).map_err(AppError::internal)
}

fn io(err: std::io::Error) -> AppError {
    AppError::internal(format!("export file: {err}"))
}

/// Removes unfinished (`.part`) files an interrupted run left.
fn remove_partial(dir: &Path) -> AppResult<()> {
    for entry in std::fs::read_dir(dir).map_err(io)?.flatten() {
        if entry.path().extension().is_some_and(|e| e == "part") {
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
    }
    Ok(())
}

fn open_file(dir: &Path, res_type: &str, part: i64) -> AppResult<OpenFile> {
    let name = format!("{res_type}-{part}.ndjson");
    let temp = dir.join(format!("{name}.part"));
    let handle = std::fs::File::create(&temp).map_err(io)?;
    Ok(OpenFile {
        part,
        res_type: res_type.to_string(),
        name,
        temp,
        out: std::io::BufWriter::with_capacity(256 * 1024, handle),
        resources: 0,
        bytes: 0,
        last_rk: 0,
    })
}

/// Flushes and renames a finished file into place, then reports it.
fn close(
    file: OpenFile,
    dir: &Path,
    position: &mut Position,
    progress: &mut dyn Progress,
) -> AppResult<bool> {
    let handle = file.out.into_inner().map_err(|e| io(e.into_error()))?;
    handle.sync_data().map_err(io)?;
    std::fs::rename(&file.temp, dir.join(&file.name)).map_err(io)?;
    position.next_part = file.part + 1;
    position.exported += file.resources;
    let row = FileRow {
        part: file.part,
        res_type: file.res_type,
        name: file.name,
        resources: file.resources,
        bytes: file.bytes as i64,
    };
    progress.file_done(&row, position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_by_bytes() {
        let mb = 1024 * 1024;
        let sized = [
            (1, 10),
            (2, 3 * mb),
            (3, 2 * mb),
            (4, 9 * mb),
            (5, 10),
            (6, 10),
        ];
        assert_eq!(
            batches(&sized),
            vec![vec![1, 2], vec![3], vec![4], vec![5, 6]]
        );
        let many: Vec<(i64, i64)> = (0..450).map(|i| (i, 10)).collect();
        assert_eq!(
            batches(&many).iter().map(Vec::len).collect::<Vec<_>>(),
            vec![200, 200, 50]
        );
    }
}
