//! Medicare Code Editor table: for every diagnosis (`dx`) and procedure (`sg`) code,
//! the date spans in which it is valid and the MCE flags that apply in each span.
//! Parsing of the TSV and date look-ups only; the edits themselves live in `audit/`.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::CodingError;

/// Which MCE table a code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MceTable {
    /// Diagnosis codes (ICD-10-CM).
    Dx,
    /// Procedure codes (ICD-10-PCS).
    Sg,
}

macro_rules! mce_flags {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// One MCE flag, spelled in the data as its [`MceFlag::name`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum MceFlag { $($variant),* }

        impl MceFlag {
            /// Every flag, in declaration order.
            pub const ALL: &'static [MceFlag] = &[$(MceFlag::$variant),*];

            /// The flag's name as written in the MCE data file.
            pub fn name(self) -> &'static str {
                match self { $(MceFlag::$variant => $name),* }
            }

            /// Parses a flag name from the data file.
            pub fn from_name(name: &str) -> Option<MceFlag> {
                match name { $($name => Some(MceFlag::$variant),)* _ => None }
            }
        }
    };
}

mce_flags! {
    Newborn => "newborn", Pediatric => "pediatric", Maternity => "maternity", Adult => "adult",
    Male => "male", Female => "female", Manifestation => "manifestation",
    Unacceptable => "unacceptable", EcodePdx => "ecodepdx", Qadm => "qadm",
    Unspecified => "unspecified", Noncovered => "noncovered", Lcov => "lcov",
    LcovArtHeartXpA => "lcov_artheartxpa", LcovArtHeartXpB => "lcov_artheartxpb",
    Ncov6 => "ncov6", Ncov7 => "ncov7", Ncov12AgeLe60 => "ncov12agele60", Ncov45 => "ncov45",
    NcovZ302 => "ncov_z302", DiabTypeI => "diabtypeI", Delout => "delout",
    WrngProc => "wrngproc", ReqSdx => "reqsdx", Csect => "csect", VagDel => "vagdel",
    KidneyXp => "kidneyxp", ClinTrial => "clintrial", Los => "los",
}

/// A set of MCE flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MceFlags(u64);

impl MceFlags {
    /// True when `flag` is in the set.
    pub fn contains(self, flag: MceFlag) -> bool {
        self.0 & (1 << flag as u8) != 0
    }

    /// Adds `flag` to the set.
    pub fn insert(&mut self, flag: MceFlag) {
        self.0 |= 1 << flag as u8;
    }

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = MceFlag> {
        MceFlag::ALL
            .iter()
            .copied()
            .filter(move |f| self.contains(*f))
    }

    /// The flag names, in declaration order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(MceFlag::name).collect()
    }
}

/// A date span of one code in the MCE with the flags in force during it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MceSpan {
    /// First day the span applies.
    pub start: NaiveDate,
    /// Last day the span applies; `None` = still in force.
    pub end: Option<NaiveDate>,
    /// Flags in force during the span.
    pub flags: MceFlags,
}

impl MceSpan {
    /// True when `date` falls inside the span.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.start <= date && self.end.is_none_or(|end| date <= end)
    }
}

/// The parsed MCE table, keyed by table and undotted code.
#[derive(Debug, Default)]
pub(crate) struct MceData {
    dx: HashMap<Box<str>, Vec<MceSpan>>,
    sg: HashMap<Box<str>, Vec<MceSpan>>,
    pub(crate) rows: usize,
}

impl MceData {
    /// Parses the MCE TSV (`table code start end flags`, with a header line).
    pub(crate) fn parse(text: &str) -> Result<MceData, CodingError> {
        let mut data = MceData::default();
        for (index, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |what: &str| CodingError::Data(format!("MCE line {}: {what}", index + 1));
            let mut cols = line.split('\t');
            let (table, code, start, end, flags) = (
                cols.next().unwrap_or(""),
                cols.next().unwrap_or(""),
                cols.next().unwrap_or(""),
                cols.next().unwrap_or(""),
                cols.next().unwrap_or(""),
            );
            let start = parse_date(start).ok_or_else(|| bad("bad start date"))?;
            let end = if end.is_empty() {
                None
            } else {
                Some(parse_date(end).ok_or_else(|| bad("bad end date"))?)
            };
            let mut set = MceFlags::default();
            for name in flags.split(',').filter(|n| !n.is_empty()) {
                let flag = MceFlag::from_name(name).ok_or_else(|| bad("unknown flag"))?;
                set.insert(flag);
            }
            let map = match table {
                "dx" => &mut data.dx,
                "sg" => &mut data.sg,
                _ => return Err(bad("unknown table")),
            };
            let span = MceSpan {
                start,
                end,
                flags: set,
            };
            map.entry(code.into()).or_default().push(span);
            data.rows += 1;
        }
        for spans in data.dx.values_mut().chain(data.sg.values_mut()) {
            spans.sort_by_key(|s| s.start);
        }
        Ok(data)
    }

    /// All spans of a code (sorted by start), empty when the MCE never had it.
    pub(crate) fn spans(&self, table: MceTable, key: &str) -> &[MceSpan] {
        let map = match table {
            MceTable::Dx => &self.dx,
            MceTable::Sg => &self.sg,
        };
        map.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The span in force on `date`, if the code is valid then.
    pub(crate) fn span_on(&self, table: MceTable, key: &str, date: NaiveDate) -> Option<&MceSpan> {
        self.spans(table, key).iter().find(|s| s.covers(date))
    }

    /// Number of codes of `table` valid on `date`.
    pub(crate) fn count_valid_on(&self, table: MceTable, date: NaiveDate) -> usize {
        let map = match table {
            MceTable::Dx => &self.dx,
            MceTable::Sg => &self.sg,
        };
        map.values()
            .filter(|spans| spans.iter().any(|s| s.covers(date)))
            .count()
    }
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y%m%d").ok()
}

/// The US federal fiscal year of `date` (FY2026 runs 2025-10-01 to 2026-09-30).
pub fn fiscal_year(date: NaiveDate) -> i32 {
    use chrono::Datelike;
    if date.month() >= 10 {
        date.year() + 1
    } else {
        date.year()
    }
}
