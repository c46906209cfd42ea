//! The synthetic population the benchmark loads: generated with [`crate::synth`] into a
//! scratch directory, read back from its NDJSON files (references already `Type/id`), and
//! ordered for loading so referenced resources come first.

use crate::synth::{write_population, SynthConfig};
use std::collections::BTreeMap;
use std::path::Path;

/// Types loaded first, in this order; every other type follows, by name.
pub const LOAD_ORDER: &[&str] = &["Organization", "Practitioner", "Patient", "Encounter"];

/// One resource: type, id and its JSON text.
pub struct Item {
    pub res_type: String,
    pub id: String,
    pub body: Vec<u8>,
}

/// The generated resources, in load order.
pub struct Population {
    pub patients: usize,
    pub items: Vec<Item>,
    /// Resources per type.
    pub counts: BTreeMap<String, usize>,
}

impl Population {
    /// Generates `patients` records from `seed` under `dir` and reads them back.
    pub fn generate(patients: usize, seed: u64, dir: &Path) -> Result<Population, String> {
        let cfg = SynthConfig::new(patients, seed);
        write_population(&cfg, dir).map_err(|e| format!("synthetic population: {e}"))?;
        let ndjson = dir.join("ndjson");
        let mut files: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(&ndjson)
            .map_err(|e| format!("{}: {e}", ndjson.display()))?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let path = entry.path();
                let stem = path.file_stem()?.to_str()?.to_string();
                (path.extension()? == "ndjson").then_some((stem, path))
            })
            .collect();
        files.sort_by_key(|(kind, _)| {
            let rank = LOAD_ORDER
                .iter()
                .position(|t| t == kind)
                .unwrap_or(LOAD_ORDER.len());
            (rank, kind.clone())
        });
        let mut items = Vec::new();
        let mut counts = BTreeMap::new();
        for (kind, path) in files {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let value: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| format!("{}: {e}", path.display()))?;
                let id = value["id"]
                    .as_str()
                    .ok_or_else(|| format!("{}: a resource without id", path.display()))?
                    .to_string();
                items.push(Item {
                    res_type: kind.clone(),
                    id,
                    body: line.as_bytes().to_vec(),
                });
                *counts.entry(kind.clone()).or_insert(0) += 1;
            }
        }
        Ok(Population {
            patients,
            items,
            counts,
        })
    }

    /// Ids of the resources of `res_type`.
    pub fn ids(&self, res_type: &str) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| i.res_type == res_type)
            .map(|i| i.id.clone())
            .collect()
    }

    /// Total JSON bytes.
    pub fn bytes(&self) -> usize {
        self.items.iter().map(|i| i.body.len()).sum()
    }

    /// Load phases: one per type of [`LOAD_ORDER`], then the rest together; each is a list
    /// of `PUT` paths with bodies.
    pub fn phases(&self, base: &str) -> Vec<Vec<(String, &[u8])>> {
        let mut phases: Vec<Vec<(String, &[u8])>> = vec![Vec::new(); LOAD_ORDER.len() + 1];
        for item in &self.items {
            let phase = LOAD_ORDER
                .iter()
                .position(|t| *t == item.res_type)
                .unwrap_or(LOAD_ORDER.len());
            phases[phase].push((
                format!("{base}/{}/{}", item.res_type, item.id),
                item.body.as_slice(),
            ));
        }
        phases
    }
}
