//! The loaded coding tables and how they are loaded: from the files embedded in the
//! binary or from a directory holding the same file names (`chartroom codes load DIR`).

use std::io::Read;
use std::path::Path;

use chrono::NaiveDate;
use flate2::read::GzDecoder;

use super::cm_parse::parse_tabular;
use super::cm_table::CmData;
use super::mce::{MceData, MceTable};
use super::pcs::PcsData;
use super::{CodingError, Result};

/// File names read by [`Terminology::load_dir`], in the order tabular, PCS tables, MCE.
pub const DATA_FILES: [&str; 3] = [
    "icd10cm-tabular-2026-04-01.xml.gz",
    "icd10pcs-tables-2026.xml.gz",
    "mce-v43.1-edits.tsv.gz",
];

static EMBEDDED_CM: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/coding/icd10cm-tabular-2026-04-01.xml.gz"
));
static EMBEDDED_PCS: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/coding/icd10pcs-tables-2026.xml.gz"
));
static EMBEDDED_MCE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/coding/mce-v43.1-edits.tsv.gz"
));

/// ICD-10-CM, ICD-10-PCS and MCE tables, immutable once loaded. Share it as `Arc<Terminology>`.
#[derive(Debug)]
pub struct Terminology {
    pub(crate) cm: CmData,
    pub(crate) pcs: PcsData,
    pub(crate) mce: MceData,
}

/// Sizes of the loaded tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminologyStats {
    /// ICD-10-CM chapters.
    pub cm_chapters: usize,
    /// ICD-10-CM sections (blocks).
    pub cm_sections: usize,
    /// `<diag>` elements of the tabular.
    pub cm_diags: usize,
    /// All ICD-10-CM codes held (tabular codes plus 7th-character expansions).
    pub cm_codes: usize,
    /// Billable (valid for HIPAA) ICD-10-CM codes.
    pub cm_billable: usize,
    /// ICD-10-PCS tables.
    pub pcs_tables: usize,
    /// Valid ICD-10-PCS codes expanded from the tables.
    pub pcs_codes: usize,
    /// Rows of the MCE file.
    pub mce_rows: usize,
}

impl Terminology {
    /// Loads the tables embedded in the binary (the files under `data/coding/`).
    pub fn embedded() -> Result<Terminology> {
        Self::from_gzipped(EMBEDDED_CM, EMBEDDED_PCS, EMBEDDED_MCE)
    }

    /// Loads the tables from a directory holding the [`DATA_FILES`].
    pub fn load_dir(dir: &Path) -> Result<Terminology> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| CodingError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        let [cm, pcs, mce] = DATA_FILES;
        Self::from_gzipped(&read(cm)?, &read(pcs)?, &read(mce)?)
    }

    /// Parses the three gzip-compressed files, the two XML parses on their own threads.
    pub fn from_gzipped(cm: &[u8], pcs: &[u8], mce: &[u8]) -> Result<Terminology> {
        let (cm, pcs, mce) = std::thread::scope(|scope| {
            let cm = scope.spawn(|| parse_tabular(&gunzip(cm, "ICD-10-CM tabular")?));
            let pcs = scope.spawn(|| PcsData::parse(&gunzip(pcs, "ICD-10-PCS tables")?));
            let mce = gunzip(mce, "MCE").and_then(|text| MceData::parse(&text));
            (joined(cm.join()), joined(pcs.join()), mce)
        });
        let (mut cm, mce) = (cm?, mce?);
        // An expansion is kept when the MCE has it in force in the tabular's fiscal year or later.
        let fy_start = NaiveDate::from_ymd_opt(cm.fiscal_year - 1, 10, 1).unwrap_or(NaiveDate::MIN);
        cm.retain_expansions(|key| {
            mce.spans(MceTable::Dx, key)
                .iter()
                .any(|s| s.end.is_none_or(|end| end >= fy_start))
        });
        Ok(Terminology { cm, pcs: pcs?, mce })
    }

    /// Sizes of the loaded tables.
    pub fn stats(&self) -> TerminologyStats {
        TerminologyStats {
            cm_chapters: self.cm.chapters.len(),
            cm_sections: self.cm.sections.len(),
            cm_diags: self.cm.diag_count,
            cm_codes: self.cm.nodes.len(),
            cm_billable: self.cm.billable_count(),
            pcs_tables: self.pcs.table_count(),
            pcs_codes: self.pcs.code_count(),
            mce_rows: self.mce.rows,
        }
    }

    /// Number of codes of an MCE table valid on `date` (the code set in force then).
    pub fn mce_valid_count(&self, table: MceTable, date: NaiveDate) -> usize {
        self.mce.count_valid_on(table, date)
    }
}

fn joined<T>(outcome: std::thread::Result<Result<T>>) -> Result<T> {
    outcome.unwrap_or_else(|_| Err(CodingError::Data("a loader thread panicked".into())))
}

fn gunzip(bytes: &[u8], what: &str) -> Result<String> {
    let mut text = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| CodingError::Data(format!("{what}: not gzip-compressed UTF-8 ({e})")))?;
    Ok(text)
}
