//! One JSON file holding a transaction or batch Bundle.

use super::reason;
use super::Source;
use crate::db::import_progress::Progress;
use crate::fhir::transaction::{self, BundleKind};
use crate::store::Store;
use serde_json::Value;
use std::path::Path;

/// What loading one file did.
#[derive(Default)]
pub(super) struct Loaded {
    pub resources: u64,
    /// (where, why) of each failed batch entry.
    pub failed: Vec<(String, String)>,
}

pub(super) fn read(file: &Path) -> Result<Value, String> {
    let text = std::fs::read(file).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_slice(&text).map_err(|e| format!("not JSON: {e}"))
}

/// True when the file's Bundle carries a Patient: a patient's own records, which need
/// nothing from other patients' files and may load alongside them. Reads only the entries'
/// resource types (the loader parses the file whole later); false for a file that does not
/// parse, whose error the loader reports.
pub(super) fn holds_patient(file: &Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Bundle {
        #[serde(default)]
        entry: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        resource: Option<Typed>,
    }
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "resourceType")]
        resource_type: Option<String>,
    }
    std::fs::read(file)
        .ok()
        .and_then(|text| serde_json::from_slice::<Bundle>(&text).ok())
        .is_some_and(|b| {
            b.entry.iter().any(|e| {
                e.resource.as_ref().and_then(|r| r.resource_type.as_deref()) == Some("Patient")
            })
        })
}

pub(super) fn load(
    store: &Store,
    file: &Path,
    bundle: Value,
    source: &Source,
) -> Result<Loaded, String> {
    let kind = transaction::bundle_kind(&bundle).map_err(|e| reason(&e))?;
    let entries = transaction::entries(bundle, "");
    let finished = Progress {
        byte_offset: source.size,
        line_no: 0,
        done: 1,
    };
    let mut loaded = Loaded::default();
    match kind {
        BundleKind::Transaction => {
            let entries = entries
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| reason(&e))?;
            let out = store
                .run_transaction(&entries, true, &|conn| source.save(conn, &finished))
                .map_err(|e| reason(&e))?;
            loaded.resources = written(out.iter().map(|(_, r)| r.status));
        }
        BundleKind::Batch => {
            for entry in entries {
                let result = entry.and_then(|e| {
                    let index = e.index;
                    store
                        .run_transaction(&[e], true, &|_| Ok(()))
                        .map_err(|err| transaction::at_entry(err, index))
                });
                match result {
                    Ok(out) => loaded.resources += written(out.iter().map(|(_, r)| r.status)),
                    Err(err) => loaded
                        .failed
                        .push((file.display().to_string(), reason(&err))),
                }
            }
            store
                .db
                .transaction(|conn| source.save(conn, &finished))
                .map_err(|e| reason(&e))?;
        }
    }
    Ok(loaded)
}

/// Entries that wrote a version (201/200 writes, not reads of an existing match).
fn written(statuses: impl Iterator<Item = u16>) -> u64 {
    statuses.filter(|s| *s == 201 || *s == 200).count() as u64
}
