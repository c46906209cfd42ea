//! One NDJSON file: a resource per line, written with its id (update-as-create) in
//! transactions of `batch_size` lines; a failing batch is retried line by line so only
//! the bad lines fail.

use super::{reason, ImportOptions, Source, Tally};
use crate::db::import_progress::Progress;
use crate::error::{AppError, AppResult};
use crate::fhir::transaction::{EntryRequest, Method};
use crate::store::Store;
use serde_json::Value;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

pub(super) fn load(
    store: &Store,
    file: &Path,
    source: &Source,
    mut progress: Progress,
    options: &ImportOptions,
    tally: &mut Tally<'_, '_>,
) -> Result<(), String> {
    let mut reader = std::fs::File::open(file)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(progress.byte_offset as u64))?;
            Ok(BufReader::new(f))
        })
        .map_err(|e| format!("cannot read: {e}"))?;
    let name = file.display().to_string();
    let mut counted = progress.byte_offset;
    loop {
        let mut batch = Vec::with_capacity(options.batch_size);
        let mut line = String::new();
        while batch.len() < options.batch_size.max(1) {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("read failed at line {}: {e}", progress.line_no + 1))?;
            if n == 0 {
                break;
            }
            progress.byte_offset += n as i64;
            progress.line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            match entry(progress.line_no as usize, &line) {
                Ok(e) => batch.push(e),
                Err(err) => tally.failed(format!("{name}:{}", progress.line_no), reason(&err)),
            }
        }
        let at_end = batch.len() < options.batch_size.max(1);
        if at_end {
            progress.done = 1;
        }
        // the bar counts the batch's bytes whatever its lines' outcome
        tally.bytes_done += (progress.byte_offset - counted) as u64;
        counted = progress.byte_offset;
        let lines: Vec<usize> = batch.iter().map(|e| e.index).collect();
        let committed = store.run_transaction(&batch, true, &|conn| source.save(conn, &progress));
        match committed {
            Ok(out) => tally.loaded(out.len() as u64),
            Err(_) => {
                let mut n = 0;
                for (e, line_no) in batch.into_iter().zip(lines) {
                    match store.run_transaction(&[e], true, &|_| Ok(())) {
                        Ok(_) => n += 1,
                        Err(err) => tally.failed(format!("{name}:{line_no}"), reason(&err)),
                    }
                }
                store
                    .db
                    .transaction(|conn| source.save(conn, &progress))
                    .map_err(|e| reason(&e))?;
                tally.loaded(n);
            }
        }
        if at_end {
            return Ok(());
        }
    }
}

/// The write one line asks for: PUT `Type/id` when it has an id, else POST.
fn entry(line_no: usize, line: &str) -> AppResult<EntryRequest> {
    let resource: Value =
        serde_json::from_str(line).map_err(|e| AppError::invalid(format!("not JSON: {e}")))?;
    let res_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .filter(|t| crate::fhir::validate::is_resource_type(t))
        .ok_or_else(|| AppError::invalid("no known resourceType"))?
        .to_string();
    let id = resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(EntryRequest {
        index: line_no,
        method: if id.is_some() {
            Method::Put
        } else {
            Method::Post
        },
        full_url: None,
        res_type,
        id,
        version: None,
        criteria: None,
        resource: Some(resource),
        if_none_exist: None,
        if_match: None,
    })
}
