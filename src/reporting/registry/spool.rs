//! Temporary spools: anonymous files (unlinked as soon as they are created, so nothing is
//! left behind even if the process dies) for the extract body and its disclosure list.

use crate::error::{AppError, AppResult};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(format!("extract spool: {e}"))
}

/// A read-write temporary file with no name.
pub fn anonymous_file() -> AppResult<File> {
    let path = std::env::temp_dir().join(format!(
        "chartroom-extract-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io)?;
    // where the platform cannot unlink an open file the name stays until the handle closes
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

/// The (patient, resources) pairs to record, one tab-separated line each.
pub struct DisclosureSpool {
    out: BufWriter<File>,
}

impl DisclosureSpool {
    pub fn new() -> AppResult<DisclosureSpool> {
        Ok(DisclosureSpool {
            out: BufWriter::new(anonymous_file()?),
        })
    }

    pub fn push(&mut self, patient: &str, entities: &[String]) -> AppResult<()> {
        writeln!(self.out, "{patient}\t{}", entities.join(" ")).map_err(io)
    }

    /// Reads the spool back in batches.
    pub fn batches(self, size: usize) -> AppResult<Batches> {
        let mut file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(Batches {
            lines: BufReader::new(file),
            size,
        })
    }
}

/// One patient sent and the `Type/id` of the resources sent about them.
pub type Sent = (String, Vec<String>);

/// Batches of a read-back spool.
pub struct Batches {
    lines: BufReader<File>,
    size: usize,
}

impl Batches {
    pub fn next_batch(&mut self) -> AppResult<Option<Vec<Sent>>> {
        let mut batch = Vec::new();
        let mut line = String::new();
        while batch.len() < self.size {
            line.clear();
            if self.lines.read_line(&mut line).map_err(io)? == 0 {
                break;
            }
            let (patient, entities) = line
                .trim_end()
                .split_once('\t')
                .unwrap_or((line.trim_end(), ""));
            batch.push((
                patient.to_string(),
                entities
                    .split(' ')
                    .filter(|e| !e.is_empty())
                    .map(str::to_string)
                    .collect(),
            ));
        }
        Ok((!batch.is_empty()).then_some(batch))
    }
}
