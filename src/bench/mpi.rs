//! `chartroom-bench --mpi`: precision and recall of the master patient index over the
//! synthetic population's seeded duplicate registrations (ground truth from
//! [`crate::synth`]). Loads only the Patient records into a scratch store, runs the
//! duplicate report and `$match` for every record, compares with the true pairs, and
//! writes `bench/results/mpi.md`. Measures, never asserts.

use super::{scratch_database, Options, StoreKind};
use crate::auth::audit::Who;
use crate::auth::Access;
use crate::config::Config;
use crate::records::mpi::demographics::Demographics;
use crate::records::mpi::duplicates::{all_pairs, DuplicatesRequest};
use crate::records::mpi::matching::find_candidates;
use crate::records::mpi::score::Grade;
use crate::synth::{patients, SynthConfig};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

type PairKey = (String, String);

fn key(a: &str, b: &str) -> PairKey {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// Precision and recall at one grade.
#[derive(Debug, Default, Clone)]
struct Counts {
    true_pos: usize,
    false_pos: usize,
    false_neg: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_pos)
    }
    fn recall(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_neg)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

const GRADES: [Grade; 3] = [Grade::Possible, Grade::Probable, Grade::Certain];

/// What one store run measured.
struct StoreFigures {
    store: StoreKind,
    load_seconds: f64,
    report_seconds: f64,
    pairs_listed: usize,
    report: Vec<(Grade, Counts)>,
    matches: Vec<(Grade, Counts)>,
    top1: usize,
    /// Records that belong to some true pair.
    in_pairs: usize,
    match_ms: f64,
    /// Recall at probable per seeded variation: (found, all).
    by_variation: BTreeMap<String, (usize, usize)>,
    /// Listed pairs that are not true duplicates: displays, grade, reasons.
    false_pairs: Vec<String>,
}

/// Runs the MPI benchmark on each store in `opts`; returns the result file.
pub fn run(opts: &Options) -> Result<PathBuf, String> {
    let scratch = std::env::temp_dir().join(format!(
        "chartroom-mpi-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let result = run_in(opts, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run_in(opts: &Options, dir: &Path) -> Result<PathBuf, String> {
    let cfg = SynthConfig::new(opts.patients, opts.seed);
    let mut records = Vec::new();
    let mut truth: HashMap<PairKey, Vec<String>> = HashMap::new();
    for bundle in patients(&cfg) {
        let patient = bundle.bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == "Patient")
            .cloned()
            .ok_or("a patient bundle without a Patient")?;
        if let Some(pair) = &bundle.annotations.duplicate_of {
            let strip = |u: &str| u.trim_start_matches("urn:uuid:").to_string();
            truth.insert(
                key(&strip(&pair.original), &strip(&pair.duplicate)),
                pair.variations.clone(),
            );
        }
        records.push(patient);
    }
    add_implied_pairs(&mut truth);
    eprintln!(
        "{} patients, {} seeded duplicate pairs",
        records.len(),
        truth.len()
    );
    let mut figures = Vec::new();
    for &kind in &opts.stores {
        figures.push(run_store(opts, kind, dir, &records, &truth)?);
    }
    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| format!("{}: {e}", opts.out_dir.display()))?;
    let path = opts.out_dir.join("mpi.md");
    std::fs::write(&path, render(opts, records.len(), truth.len(), &figures))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Two duplicates of the same original are the same person too: adds every pair within
/// each group of records registered for one person (variations: `same-original`).
fn add_implied_pairs(truth: &mut HashMap<PairKey, Vec<String>>) {
    let mut by_original: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (a, b) in truth.keys() {
        // the original is the earlier record; both keys list it once per duplicate
        by_original.entry(a.clone()).or_default().push(b.clone());
        by_original.entry(b.clone()).or_default().push(a.clone());
    }
    let mut implied = Vec::new();
    for partners in by_original.values().filter(|p| p.len() > 1) {
        for (i, x) in partners.iter().enumerate() {
            for y in &partners[i + 1..] {
                let k = key(x, y);
                if !truth.contains_key(&k) {
                    implied.push(k);
                }
            }
        }
    }
    for k in implied {
        truth.insert(k, vec!["same-original".to_string()]);
    }
}

fn run_store(
    opts: &Options,
    kind: StoreKind,
    dir: &Path,
    records: &[serde_json::Value],
    truth: &HashMap<PairKey, Vec<String>>,
) -> Result<StoreFigures, String> {
    eprintln!("== {}", kind.name());
    let scratch = scratch_database(opts, kind, dir, "mpi")?;
    let store = crate::open_store(Config {
        database_url: scratch.url.clone(),
        auth: "off".into(),
        log: "error".into(),
        sqlite_synchronous: "NORMAL".into(),
        ..Config::default()
    })?;
    let who = Who {
        agent: "mpi-bench".into(),
        purpose: None,
        address: None,
        user_agent: None,
        request_id: None,
        break_glass_reason: None,
    };
    let started = Instant::now();
    for record in records {
        let mut body = record.clone();
        // the provider references point into the bundle; this run loads patients only
        if let Some(map) = body.as_object_mut() {
            map.remove("generalPractitioner");
            map.remove("managingOrganization");
        }
        let id = body["id"].as_str().unwrap_or_default().to_string();
        store
            .update(&who, &Access::default(), "Patient", &id, body, None)
            .map_err(|e| format!("load Patient/{id}: {e}"))?;
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let access = Access::default();
    let started = Instant::now();
    let listed = all_pairs(
        &store,
        &access,
        &DuplicatesRequest {
            threshold: 0.0,
            grade: Grade::Possible,
            count: usize::MAX,
            offset: 0,
        },
    )
    .map_err(|e| e.to_string())?;
    let report_seconds = started.elapsed().as_secs_f64();
    let found: Vec<(PairKey, Grade)> = listed
        .iter()
        .map(|p| (key(&p.a.id, &p.b.id), p.score.grade))
        .collect();
    let report = GRADES
        .iter()
        .map(|g| (*g, count(&found, truth, *g)))
        .collect();
    let false_pairs = listed
        .iter()
        .filter(|p| !truth.contains_key(&key(&p.a.id, &p.b.id)))
        .map(|p| {
            format!(
                "{} / {}: {} ({:.3}; {})",
                p.a.display,
                p.b.display,
                p.score.grade.code(),
                p.score.score,
                p.score.reasons.join(", ")
            )
        })
        .collect();
    // $match for every record: each candidate is a (query, candidate) pair
    let mut matched: Vec<(PairKey, Grade)> = Vec::new();
    let mut top1 = 0;
    let started = Instant::now();
    for record in records {
        let query = Demographics::of(record);
        let candidates = find_candidates(&store, &access, &query).map_err(|e| e.to_string())?;
        let id = query.id.clone().unwrap_or_default();
        if let Some(best) = candidates.first() {
            if truth.contains_key(&key(&id, &best.row.res_id)) {
                top1 += 1;
            }
        }
        for c in candidates {
            matched.push((key(&id, &c.row.res_id), c.score.grade));
        }
    }
    let match_ms = started.elapsed().as_secs_f64() * 1000.0 / records.len().max(1) as f64;
    // each true pair is found twice (once from either side); count it once
    let mut seen = HashSet::new();
    let mut best: HashMap<PairKey, Grade> = HashMap::new();
    for (k, g) in matched {
        seen.insert(k.clone());
        let entry = best.entry(k).or_insert(g);
        *entry = (*entry).max(g);
    }
    let matched: Vec<(PairKey, Grade)> = best.into_iter().collect();
    let matches = GRADES
        .iter()
        .map(|g| (*g, count(&matched, truth, *g)))
        .collect();
    let mut by_variation: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let probable: HashSet<&PairKey> = found
        .iter()
        .filter(|(_, g)| *g >= Grade::Probable)
        .map(|(k, _)| k)
        .collect();
    for (pair, variations) in truth {
        for v in variations {
            let e = by_variation.entry(v.clone()).or_default();
            e.1 += 1;
            if probable.contains(pair) {
                e.0 += 1;
            }
        }
    }
    Ok(StoreFigures {
        store: kind,
        load_seconds,
        report_seconds,
        pairs_listed: listed.len(),
        report,
        matches,
        top1,
        in_pairs: truth
            .keys()
            .flat_map(|(a, b)| [a, b])
            .collect::<HashSet<_>>()
            .len(),
        match_ms,
        by_variation,
        false_pairs,
    })
}

fn count(found: &[(PairKey, Grade)], truth: &HashMap<PairKey, Vec<String>>, at: Grade) -> Counts {
    let hits: HashSet<&PairKey> = found
        .iter()
        .filter(|(_, g)| *g >= at)
        .map(|(k, _)| k)
        .collect();
    let true_pos = hits.iter().filter(|k| truth.contains_key(**k)).count();
    Counts {
        true_pos,
        false_pos: hits.len() - true_pos,
        false_neg: truth.len() - true_pos,
    }
}

fn render(opts: &Options, patients: usize, pairs: usize, figures: &[StoreFigures]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Master patient index: precision and recall\n");
    let _ = writeln!(
        out,
        "Synthetic population of {patients} patient records (seed {}), {pairs} seeded duplicate \
         registrations with ground truth (variations: typo in family or given name, swapped \
         names, nickname, moved address, SSN missing); two duplicates of the same original count \
         as a true pair too (`same-original`). Only the Patient records are loaded. \
         A pair counts as found at a grade when it is listed at that grade or better. Dev build \
         (dependencies at opt-level 2), 2 shared cores; timings are indicative only.\n",
        opts.seed
    );
    let _ = writeln!(
        out,
        "Reproduce: `cargo run --bin chartroom-bench -- --mpi --patients {patients} --seed {} --stores {}`\n",
        opts.seed,
        opts.stores.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")
    );
    for f in figures {
        let _ = writeln!(out, "## {}, {patients} patients\n", f.store.name());
        let _ = writeln!(
            out,
            "Load {:.1} s; duplicate report over the whole index {:.2} s ({} pairs listed at possible or better); \
             `$match` {:.1} ms per query (in-process, one query per record, {} queries). For {} of the {} \
             queries made by a member of a true pair, the best candidate is its true partner.\n",
            f.load_seconds, f.report_seconds, f.pairs_listed, f.match_ms, patients, f.top1, f.in_pairs
        );
        for (title, rows) in [
            ("Duplicate report (`Patient/$duplicates`)", &f.report),
            ("`Patient/$match` for every record", &f.matches),
        ] {
            let _ = writeln!(out, "### {title}\n");
            let _ = writeln!(
                out,
                "| grade at least | true pos | false pos | false neg | precision | recall |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|");
            for (grade, c) in rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.3} | {:.3} |",
                    grade.code(),
                    c.true_pos,
                    c.false_pos,
                    c.false_neg,
                    c.precision(),
                    c.recall()
                );
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "### Recall at probable by seeded variation (report)\n");
        let _ = writeln!(out, "| variation | found | pairs | recall |");
        let _ = writeln!(out, "|---|---|---|---|");
        for (v, (found, all)) in &f.by_variation {
            let _ = writeln!(
                out,
                "| {v} | {found} | {all} | {:.3} |",
                ratio(*found, *all)
            );
        }
        let _ = writeln!(out);
        if !f.false_pairs.is_empty() {
            let _ = writeln!(out, "### Listed pairs that are not seeded duplicates\n");
            for pair in &f.false_pairs {
                let _ = writeln!(out, "- {pair}");
            }
            let _ = writeln!(out);
        }
    }
    out
}
