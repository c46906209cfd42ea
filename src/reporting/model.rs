//! The shape every report takes before rendering: groups of cells (a total, one
//! stratifier per stratify key, and their cross-classification), each cell a row of
//! values, counts among them subject to suppression.

use super::params::{Key, ReportKind, ReportParams};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// One value of a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    Num(f64),
    /// Hidden by small-cell suppression.
    Suppressed,
    /// Not defined (no denominator, no data).
    Missing,
}

impl Val {
    pub fn num(self) -> Option<f64> {
        match self {
            Val::Num(v) => Some(v),
            _ => None,
        }
    }
}

/// What a column is.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// A count of a population (`numerator`, `denominator`, or a chartroom code such as
    /// `encounters`): additive over strata and subject to suppression.
    Population(&'static str),
    /// The group's measure score (per 1,000, a percentage, a mean ...).
    Score,
    /// Another derived statistic (median, confidence limits ...).
    Extra,
}

/// A column of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    pub role: Role,
}

impl Column {
    pub fn count(name: &'static str) -> Column {
        Column {
            name,
            role: Role::Population(name),
        }
    }
    pub fn score(name: &'static str) -> Column {
        Column {
            name,
            role: Role::Score,
        }
    }
    pub fn extra(name: &'static str) -> Column {
        Column {
            name,
            role: Role::Extra,
        }
    }
}

/// One stratum: its key values (in the stratifier's key order) and cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Stratum {
    pub values: Vec<String>,
    pub cells: Vec<Val>,
}

/// The strata of one key, or of a combination of keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Stratifier {
    pub keys: Vec<Key>,
    pub strata: Vec<Stratum>,
}

/// One group of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Machine id (`period-prevalence`, a code ...).
    pub id: String,
    pub label: String,
    /// Unit of the score (`per 1,000 patients`, `%`, `days`).
    pub unit: &'static str,
    pub columns: Vec<Column>,
    pub total: Vec<Val>,
    pub stratifiers: Vec<Stratifier>,
    /// False when the strata do not add up to the total (each month of a prevalence trend
    /// is its own population): suppression then protects each cell on its own.
    pub additive: bool,
}

impl Group {
    /// Index of a column by name.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Index of the score column.
    pub fn score_col(&self) -> Option<usize> {
        self.columns.iter().position(|c| c.role == Role::Score)
    }

    /// Hides the statistics (every non-count column) of the cells whose first count is hidden.
    pub fn hide_with_first_count(&mut self) {
        let dependent: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| !matches!(c.role, Role::Population(_)))
            .map(|(i, _)| i)
            .collect();
        let hide = |cells: &mut Vec<Val>| {
            if cells[0] == Val::Suppressed {
                for i in &dependent {
                    cells[*i] = Val::Suppressed;
                }
            }
        };
        hide(&mut self.total);
        for s in &mut self.stratifiers {
            for st in &mut s.strata {
                hide(&mut st.cells);
            }
        }
    }

    /// Adds derived columns computed from each cell's values (after suppression).
    pub fn derive(&mut self, columns: Vec<Column>, f: impl Fn(&[Val]) -> Vec<Val>) {
        self.columns.extend(columns);
        let extend = |cells: &mut Vec<Val>| {
            let extra = f(cells);
            cells.extend(extra);
        };
        extend(&mut self.total);
        for s in &mut self.stratifiers {
            for stratum in &mut s.strata {
                extend(&mut stratum.cells);
            }
        }
    }
}

/// A computed report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub kind: ReportKind,
    pub title: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The request parameters as understood (for the record).
    pub params: Vec<(String, String)>,
    /// Definitions the figures rest on.
    pub notes: Vec<String>,
    /// The suppression threshold applied, if any.
    pub suppression: Option<i64>,
    pub groups: Vec<Group>,
}

/// `rate per scale` of two counts; Missing when the denominator is zero.
pub fn rate(num: Val, den: Val, scale: f64) -> Val {
    match (num, den) {
        (Val::Num(n), Val::Num(d)) if d > 0.0 => Val::Num(n / d * scale),
        (Val::Suppressed, _) | (_, Val::Suppressed) => Val::Suppressed,
        _ => Val::Missing,
    }
}

/// Rows of counts by key values.
pub type KeyedCounts = Vec<(Vec<String>, Vec<i64>)>;

/// Aggregated rows of one query: (group id, key values, counts).
pub type CountRows = Vec<(String, Vec<String>, Vec<i64>)>;

/// Sort order of strata values: age bands in band order, others by text, `unknown` last.
fn order_key(key: Key, value: &str, p: &ReportParams) -> (usize, String) {
    let rank = match key {
        Key::AgeBand => p
            .age_bands
            .labels()
            .iter()
            .position(|l| l == value)
            .unwrap_or(usize::MAX - 1),
        _ => 0,
    };
    let rank = if value == "unknown" || value == "other" {
        usize::MAX
    } else {
        rank
    };
    (rank, value.to_string())
}

/// Sorts strata by their key values (age bands in band order, `unknown` last).
pub fn sort_strata(strata: &mut [Stratum], keys: &[Key], p: &ReportParams) {
    strata.sort_by_key(|s| {
        keys.iter()
            .zip(&s.values)
            .map(|(k, v)| order_key(*k, v, p))
            .collect::<Vec<_>>()
    });
}

fn add(into: &mut [i64], from: &[i64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

fn vals(counts: &[i64]) -> Vec<Val> {
    counts.iter().map(|n| Val::Num(*n as f64)).collect()
}

/// Builds the total, one stratifier per key and (for two or more keys) the
/// cross-classification from rows of additive counts over the full combination of keys.
/// Exact because every counted unit falls in exactly one stratum of each key.
pub fn rollup(
    keys: &[Key],
    rows: &[(Vec<String>, Vec<i64>)],
    width: usize,
    p: &ReportParams,
) -> (Vec<Val>, Vec<Stratifier>) {
    let mut total = vec![0i64; width];
    let mut marginals: Vec<BTreeMap<String, Vec<i64>>> = vec![BTreeMap::new(); keys.len()];
    for (values, counts) in rows {
        add(&mut total, counts);
        for (i, value) in values.iter().enumerate().take(keys.len()) {
            add(
                marginals[i]
                    .entry(value.clone())
                    .or_insert_with(|| vec![0; width]),
                counts,
            );
        }
    }
    let mut stratifiers = Vec::new();
    for (key, marginal) in keys.iter().zip(marginals) {
        let mut strata: Vec<Stratum> = marginal
            .into_iter()
            .map(|(value, counts)| Stratum {
                values: vec![value],
                cells: vals(&counts),
            })
            .collect();
        sort_strata(&mut strata, &[*key], p);
        stratifiers.push(Stratifier {
            keys: vec![*key],
            strata,
        });
    }
    if keys.len() >= 2 {
        let mut combined: BTreeMap<Vec<String>, Vec<i64>> = BTreeMap::new();
        for (values, counts) in rows {
            add(
                combined
                    .entry(values.clone())
                    .or_insert_with(|| vec![0; width]),
                counts,
            );
        }
        let mut strata: Vec<Stratum> = combined
            .into_iter()
            .map(|(values, counts)| Stratum {
                values,
                cells: vals(&counts),
            })
            .collect();
        sort_strata(&mut strata, keys, p);
        stratifiers.push(Stratifier {
            keys: keys.to_vec(),
            strata,
        });
    }
    (vals(&total), stratifiers)
}

/// Splits a stratum text (`female|45-64`) into its key values.
pub fn split_stratum(text: &str, keys: usize) -> Vec<String> {
    if keys == 0 {
        return Vec::new();
    }
    text.split('|').map(str::to_string).collect()
}

/// Groups count rows by group id, each rolled up (group ids in first-seen order).
pub fn rollup_groups(
    keys: &[Key],
    rows: CountRows,
    width: usize,
    p: &ReportParams,
) -> Vec<(String, Vec<Val>, Vec<Stratifier>)> {
    let mut order: Vec<String> = Vec::new();
    let mut by_group: BTreeMap<String, KeyedCounts> = BTreeMap::new();
    for (group, values, counts) in rows {
        if !by_group.contains_key(&group) {
            order.push(group.clone());
        }
        by_group.entry(group).or_default().push((values, counts));
    }
    order
        .into_iter()
        .map(|g| {
            let rows = by_group.remove(&g).unwrap_or_default();
            let (total, stratifiers) = rollup(keys, &rows, width, p);
            (g, total, stratifiers)
        })
        .collect()
}

/// A group of count columns taken (by index) from rolled-up rows.
pub fn pick(
    id: &str,
    label: &str,
    unit: &'static str,
    columns: Vec<(Column, usize)>,
    total: &[Val],
    stratifiers: &[Stratifier],
) -> Group {
    let take = |cells: &[Val]| columns.iter().map(|(_, i)| cells[*i]).collect::<Vec<_>>();
    Group {
        id: id.to_string(),
        label: label.to_string(),
        unit,
        columns: columns.iter().map(|(c, _)| c.clone()).collect(),
        total: take(total),
        stratifiers: stratifiers
            .iter()
            .map(|s| Stratifier {
                keys: s.keys.clone(),
                strata: s
                    .strata
                    .iter()
                    .map(|st| Stratum {
                        values: st.values.clone(),
                        cells: take(&st.cells),
                    })
                    .collect(),
            })
            .collect(),
        additive: true,
    }
}

/// The groupings a non-additive statistic is computed for: none (the total), each key,
/// and the combination of all keys when there are two or more.
pub fn groupings(keys: &[Key]) -> Vec<Vec<Key>> {
    let mut out = vec![Vec::new()];
    out.extend(keys.iter().map(|k| vec![*k]));
    if keys.len() >= 2 {
        out.push(keys.to_vec());
    }
    out
}
