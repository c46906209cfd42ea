//! Writes a population to disk: `bundles/` (provider bundle first, then one transaction
//! bundle per patient, named so that lexical order is load order), `ndjson/<Type>.ndjson`
//! (bulk-data style, references rewritten to `Type/id`) and `ground-truth.json`.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::Value;

use super::providers::Providers;
use super::truth::{GroundTruth, Tally};
use super::{build_patients, PatientBundle, SynthConfig};

/// File name of the provider bundle (sorts before every `pt…` patient file).
pub const PROVIDER_FILE: &str = "00-providers.json";

/// Writes the population under `out_dir` and returns its ground truth.
pub fn write_population(cfg: &SynthConfig, out_dir: &Path) -> io::Result<GroundTruth> {
    let bundles = out_dir.join("bundles");
    let ndjson = out_dir.join("ndjson");
    fs::create_dir_all(&bundles)?;
    fs::create_dir_all(&ndjson)?;
    let providers = Providers::new(cfg.seed);
    let provider_bundle = providers.bundle();
    write_json(&bundles.join(PROVIDER_FILE), &provider_bundle)?;
    let mut tally = Tally::new(cfg);
    tally.add_providers(&provider_bundle);
    let mut sinks = NdjsonSinks {
        dir: ndjson.as_path(),
        files: BTreeMap::new(),
    };
    let mut conditional: HashMap<String, String> = HashMap::new();
    for entry in provider_bundle["entry"].as_array().into_iter().flatten() {
        if let (Some(url), Some(kind), Some(id)) = (
            entry["request"]["url"].as_str(),
            entry["resource"]["resourceType"].as_str(),
            entry["resource"]["id"].as_str(),
        ) {
            conditional.insert(url.to_string(), format!("{kind}/{id}"));
        }
        sinks.write(&entry["resource"])?;
    }
    // Generation and writing overlap: a producer thread builds bundles in order while
    // this thread writes them; the bounded channel keeps memory flat.
    std::thread::scope(|scope| -> io::Result<()> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<PatientBundle>(32);
        let providers = &providers;
        scope.spawn(move || {
            for pb in build_patients(cfg, providers) {
                if sender.send(pb).is_err() {
                    break;
                }
            }
        });
        for mut pb in receiver {
            write_json(
                &bundles.join(format!("{}.json", pb.patient_key)),
                &pb.bundle,
            )?;
            tally.add(&pb);
            let mut local: HashMap<String, String> = HashMap::new();
            for entry in pb.bundle["entry"].as_array().into_iter().flatten() {
                if let (Some(url), Some(kind), Some(id)) = (
                    entry["fullUrl"].as_str(),
                    entry["resource"]["resourceType"].as_str(),
                    entry["resource"]["id"].as_str(),
                ) {
                    local.insert(url.to_string(), format!("{kind}/{id}"));
                }
            }
            for entry in pb.bundle["entry"].as_array_mut().into_iter().flatten() {
                let resource = &mut entry["resource"];
                rewrite_references(resource, &local, &conditional);
                sinks.write(resource)?;
            }
        }
        Ok(())
    })?;
    sinks.flush()?;
    let truth = tally.finish();
    let file = BufWriter::new(File::create(out_dir.join("ground-truth.json"))?);
    serde_json::to_writer_pretty(file, &truth).map_err(io::Error::other)?;
    Ok(truth)
}

fn write_json(path: &Path, value: &Value) -> io::Result<()> {
    let mut file = BufWriter::new(File::create(path)?);
    serde_json::to_writer(&mut file, value).map_err(io::Error::other)?;
    file.write_all(b"\n")?;
    file.flush()
}

/// Replaces bundle-local and conditional references with literal `Type/id` references.
pub fn rewrite_references(
    value: &mut Value,
    local: &HashMap<String, String>,
    conditional: &HashMap<String, String>,
) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "reference" {
                    if let Some(target) = child
                        .as_str()
                        .and_then(|r| local.get(r).or_else(|| conditional.get(r)))
                    {
                        *child = Value::String(target.clone());
                    }
                } else {
                    rewrite_references(child, local, conditional);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| rewrite_references(item, local, conditional)),
        _ => {}
    }
}

struct NdjsonSinks<'a> {
    dir: &'a Path,
    files: BTreeMap<String, BufWriter<File>>,
}

impl NdjsonSinks<'_> {
    fn write(&mut self, resource: &Value) -> io::Result<()> {
        let kind = resource["resourceType"]
            .as_str()
            .unwrap_or("Unknown")
            .to_string();
        if !self.files.contains_key(&kind) {
            let file = File::create(self.dir.join(format!("{kind}.ndjson")))?;
            self.files.insert(kind.clone(), BufWriter::new(file));
        }
        if let Some(file) = self.files.get_mut(&kind) {
            serde_json::to_writer(&mut *file, resource).map_err(io::Error::other)?;
            file.write_all(b"\n")?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.files.values_mut().try_for_each(Write::flush)
    }
}
