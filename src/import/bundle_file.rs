//! One JSON file holding a transaction or batch Bundle.

use super::{reason, Source, Tally};
use crate::db::import_progress::Progress;
use crate::fhir::transaction::{self, BundleKind};
use crate::store::Store;
use std::path::Path;

pub(super) fn load(
    store: &Store,
    file: &Path,
    source: &Source,
    tally: &mut Tally<'_, '_>,
) -> Result<(), String> {
    let text = std::fs::read(file).map_err(|e| format!("cannot read: {e}"))?;
    let bundle: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("not JSON: {e}"))?;
    let kind = transaction::bundle_kind(&bundle).map_err(|e| reason(&e))?;
    let entries = transaction::entries(bundle, "");
    let finished = Progress {
        byte_offset: source.size,
        line_no: 0,
        done: 1,
    };
    let name = file.display().to_string();
    match kind {
        BundleKind::Transaction => {
            let entries = entries
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| reason(&e))?;
            let out = store
                .run_transaction(&entries, true, &|conn| source.save(conn, &finished))
                .map_err(|e| reason(&e))?;
            tally.loaded(written(out.iter().map(|(_, r)| r.status)));
        }
        BundleKind::Batch => {
            let mut n = 0;
            for entry in entries {
                let result = entry.and_then(|e| {
                    let index = e.index;
                    store
                        .run_transaction(&[e], true, &|_| Ok(()))
                        .map_err(|err| transaction::at_entry(err, index))
                });
                match result {
                    Ok(out) => n += written(out.iter().map(|(_, r)| r.status)),
                    Err(err) => tally.failed(name.clone(), reason(&err)),
                }
            }
            store
                .db
                .transaction(|conn| source.save(conn, &finished))
                .map_err(|e| reason(&e))?;
            tally.loaded(n);
        }
    }
    Ok(())
}

/// Entries that wrote a version (201/200 writes, not reads of an existing match).
fn written(statuses: impl Iterator<Item = u16>) -> u64 {
    statuses.filter(|s| *s == 201 || *s == 200).count() as u64
}
