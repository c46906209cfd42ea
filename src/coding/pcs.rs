//! ICD-10-PCS: parses the CMS table XML (`pcsTable` → axes 1–3, `pcsRow` → axes 4–7),
//! expands it to the valid codes, and answers look-ups, searches and checks.

use roxmltree::{Document, Node};

use super::CodingError;

/// One axis value of a PCS code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcsAxis {
    /// Position 1–7.
    pub position: u8,
    /// Axis title as the table names it (`Section`, `Body System`, `Operation`, `Body Part`, ...).
    pub title: String,
    /// The character at this position.
    pub code: char,
    /// Its label.
    pub label: String,
}

/// An ICD-10-PCS code with its axes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcsConcept {
    /// The 7-character code.
    pub code: String,
    /// Display: the labels of axes 3–7 joined, omitting "No Device"/"No Qualifier"-style values.
    pub display: String,
    /// The 7 axes in order.
    pub axes: Vec<PcsAxis>,
    /// Definition of the root operation (axis 3), when the table gives one.
    pub operation_definition: Option<String>,
}

#[derive(Debug, Clone)]
struct AxisValues {
    title: Box<str>,
    values: Vec<(char, Box<str>, Box<str>)>,
}

#[derive(Debug)]
struct PcsTable {
    head: [AxisValues; 3],
    definition: Option<String>,
    rows: Vec<[AxisValues; 4]>,
}

/// The parsed PCS tables and the sorted list of valid codes.
#[derive(Debug, Default)]
pub(crate) struct PcsData {
    tables: Vec<PcsTable>,
    /// (code, table index, row index), sorted by code.
    codes: Vec<([u8; 7], u32, u32)>,
}

impl PcsData {
    /// Parses the CMS PCS table XML.
    pub(crate) fn parse(xml: &str) -> Result<PcsData, CodingError> {
        let doc =
            Document::parse(xml).map_err(|e| CodingError::Data(format!("ICD-10-PCS XML: {e}")))?;
        let mut data = PcsData::default();
        for table in doc
            .root_element()
            .children()
            .filter(|n| n.has_tag_name("pcsTable"))
        {
            let head_axes: Vec<Node> = table
                .children()
                .filter(|n| n.has_tag_name("axis"))
                .collect();
            let head = [
                axis_at(&head_axes, 1)?,
                axis_at(&head_axes, 2)?,
                axis_at(&head_axes, 3)?,
            ];
            let definition = head_axes
                .iter()
                .flat_map(|a| a.children())
                .find(|n| n.has_tag_name("definition"))
                .and_then(|n| n.text())
                .map(|t| t.trim().to_string());
            let mut rows = Vec::new();
            for row in table.children().filter(|n| n.has_tag_name("pcsRow")) {
                let axes: Vec<Node> = row.children().filter(|n| n.has_tag_name("axis")).collect();
                rows.push([
                    axis_at(&axes, 4)?,
                    axis_at(&axes, 5)?,
                    axis_at(&axes, 6)?,
                    axis_at(&axes, 7)?,
                ]);
            }
            data.tables.push(PcsTable {
                head,
                definition,
                rows,
            });
        }
        data.expand();
        Ok(data)
    }

    fn expand(&mut self) {
        for (t, table) in self.tables.iter().enumerate() {
            let prefix = [
                table.head[0].values[0].0,
                table.head[1].values[0].0,
                table.head[2].values[0].0,
            ];
            for (r, row) in table.rows.iter().enumerate() {
                for a in &row[0].values {
                    for b in &row[1].values {
                        for c in &row[2].values {
                            for d in &row[3].values {
                                let chars = [prefix[0], prefix[1], prefix[2], a.0, b.0, c.0, d.0];
                                let mut code = [0u8; 7];
                                for (slot, ch) in code.iter_mut().zip(chars) {
                                    *slot = ch as u8;
                                }
                                self.codes.push((code, t as u32, r as u32));
                            }
                        }
                    }
                }
            }
        }
        self.codes.sort_unstable();
        self.codes.dedup_by_key(|entry| entry.0);
    }

    /// Number of valid codes in the tables.
    pub(crate) fn code_count(&self) -> usize {
        self.codes.len()
    }

    /// Number of `pcsTable`s.
    pub(crate) fn table_count(&self) -> usize {
        self.tables.len()
    }

    /// Looks up an undotted, upper-case 7-character key.
    pub(crate) fn lookup(&self, key: &str) -> Option<PcsConcept> {
        let bytes: [u8; 7] = key.as_bytes().try_into().ok()?;
        let at = self
            .codes
            .binary_search_by(|entry| entry.0.cmp(&bytes))
            .ok()?;
        Some(self.concept(at))
    }

    /// True when some valid code starts with `prefix`.
    pub(crate) fn has_prefix(&self, prefix: &str) -> bool {
        let bytes = prefix.as_bytes();
        let at = self
            .codes
            .partition_point(|entry| entry.0.as_slice() < bytes);
        self.codes
            .get(at)
            .is_some_and(|entry| entry.0.starts_with(bytes))
    }

    /// Codes starting with `prefix`, as (code, display), at most `limit`.
    pub(crate) fn with_prefix(&self, prefix: &str, limit: usize) -> Vec<(String, String)> {
        let bytes = prefix.as_bytes();
        let at = self
            .codes
            .partition_point(|entry| entry.0.as_slice() < bytes);
        (at..self.codes.len())
            .take_while(|i| self.codes[*i].0.starts_with(bytes))
            .take(limit)
            .map(|i| {
                let concept = self.concept(i);
                (concept.code, concept.display)
            })
            .collect()
    }

    /// Text search: every whitespace-separated term must occur (case-insensitively)
    /// in the code or in an axis label. Returns (total matches, page of codes).
    pub(crate) fn search(
        &self,
        text: &str,
        limit: usize,
        offset: usize,
    ) -> (usize, Vec<PcsConcept>) {
        let terms: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        let mut total = 0;
        let mut page = Vec::new();
        for (i, (code, t, r)) in self.codes.iter().enumerate() {
            let table = &self.tables[*t as usize];
            let axes = table
                .head
                .iter()
                .chain(self.tables[*t as usize].rows[*r as usize].iter());
            let labels: Vec<&str> = axes
                .zip(code.iter())
                .filter_map(|(axis, ch)| {
                    axis.values
                        .iter()
                        .find(|v| v.0 == *ch as char)
                        .map(|v| &*v.2)
                })
                .collect();
            let matches = terms.iter().all(|term| {
                code.to_ascii_lowercase().starts_with(term.as_bytes())
                    || labels.iter().any(|l| l.contains(term.as_str()))
            });
            if matches {
                if total >= offset && page.len() < limit {
                    page.push(self.concept(i));
                }
                total += 1;
            }
        }
        (total, page)
    }

    /// Indices of the codes starting with `prefix` (all codes for an empty prefix).
    pub(crate) fn prefix_range(&self, prefix: &str) -> std::ops::Range<usize> {
        let bytes = prefix.as_bytes();
        let start = self
            .codes
            .partition_point(|entry| entry.0.as_slice() < bytes);
        let len = self.codes[start..].partition_point(|entry| entry.0.starts_with(bytes));
        start..start + len
    }

    /// The code at an index of [`PcsData::prefix_range`].
    pub(crate) fn concept(&self, at: usize) -> PcsConcept {
        let (code, t, r) = &self.codes[at];
        let table = &self.tables[*t as usize];
        let row = &table.rows[*r as usize];
        let axes: Vec<PcsAxis> = table
            .head
            .iter()
            .chain(row.iter())
            .enumerate()
            .map(|(i, axis)| {
                let ch = code[i] as char;
                let label = axis
                    .values
                    .iter()
                    .find(|v| v.0 == ch)
                    .map(|v| v.1.to_string())
                    .unwrap_or_default();
                PcsAxis {
                    position: i as u8 + 1,
                    title: axis.title.to_string(),
                    code: ch,
                    label,
                }
            })
            .collect();
        let display = axes[2..]
            .iter()
            .map(|a| a.label.as_str())
            .filter(|l| !l.is_empty() && !l.starts_with("No ") && *l != "None")
            .collect::<Vec<_>>()
            .join(", ");
        PcsConcept {
            code: code.iter().map(|b| *b as char).collect(),
            display,
            axes,
            operation_definition: table.definition.clone(),
        }
    }
}

fn axis_at(axes: &[Node], position: u8) -> Result<AxisValues, CodingError> {
    let wanted = position.to_string();
    let axis = axes
        .iter()
        .find(|a| a.attribute("pos") == Some(wanted.as_str()))
        .ok_or_else(|| CodingError::Data(format!("ICD-10-PCS table without axis {position}")))?;
    let title = axis
        .children()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap_or_default()
        .trim()
        .into();
    let values: Vec<(char, Box<str>, Box<str>)> = axis
        .children()
        .filter(|n| n.has_tag_name("label"))
        .filter_map(|n| {
            let ch = n.attribute("code")?.chars().next()?;
            let label = n.text().unwrap_or_default().trim();
            Some((ch, label.into(), label.to_lowercase().into()))
        })
        .collect();
    if values.is_empty() {
        return Err(CodingError::Data(format!(
            "ICD-10-PCS axis {position} without labels"
        )));
    }
    Ok(AxisValues { title, values })
}
