//! Rendering an index page: a searchset Bundle whose `match` entries are the listed
//! Conditions, Procedures and Encounters (in index order) and whose `include` entries
//! are their Patients and Encounters; or CSV with one line per row.

use super::{IndexPage, IndexRow};
use crate::db::resources::read_many;
use crate::db::rows::KeyRow;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::bundle::BundleBuilder;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

fn keys_of(conn: &mut Conn, res_type: &str, ids: &[&str]) -> AppResult<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT rk FROM resources WHERE deleted = 0 AND res_type = ");
    sql.bind(res_type)
        .push(" AND res_id IN ")
        .bind_list(ids.iter().copied());
    Ok(conn
        .load::<KeyRow>(&sql)?
        .into_iter()
        .map(|k| k.rk)
        .collect())
}

fn link(base: &str, page: &IndexPage, offset: usize) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in &page.request.query {
        query.append_pair(name, value);
    }
    query.append_pair("_offset", &offset.to_string());
    format!(
        "{base}/{}?{}",
        page.request.kind.operation(),
        query.finish()
    )
}

/// The page as a searchset Bundle with `self`/`next`/`previous` links.
pub fn bundle(conn: &mut Conn, page: &IndexPage, base: &str) -> AppResult<Value> {
    let mut matches: Vec<i64> = Vec::new();
    let mut seen = HashSet::new();
    for row in &page.rows {
        if seen.insert(row.rk) {
            matches.push(row.rk);
        }
    }
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for row in &page.rows {
        if let Some(p) = &row.patient_id {
            wanted.push(("Patient", p));
        }
        if let Some(e) = row
            .encounter_id
            .as_deref()
            .filter(|_| row.res_type != "Encounter")
        {
            wanted.push(("Encounter", e));
        }
    }
    let mut include_keys = Vec::new();
    for res_type in ["Patient", "Encounter"] {
        let mut ids: Vec<&str> = wanted
            .iter()
            .filter(|(t, _)| *t == res_type)
            .map(|(_, i)| *i)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        include_keys.extend(keys_of(conn, res_type, &ids)?);
    }
    include_keys.retain(|k| !seen.contains(k));
    include_keys.sort_unstable();
    include_keys.dedup();
    let mut all = matches.clone();
    all.extend(&include_keys);
    let mut rows: HashMap<i64, crate::db::rows::VersionRow> =
        read_many(conn, &all)?.into_iter().collect();
    let mut out = BundleBuilder::new("searchset");
    out.total(page.total);
    let request = &page.request;
    out.link("self", link(base, page, request.offset));
    if request.offset + page.rows.len() < page.total as usize && !page.rows.is_empty() {
        out.link("next", link(base, page, request.offset + page.rows.len()));
    }
    if request.offset > 0 {
        out.link(
            "previous",
            link(base, page, request.offset.saturating_sub(request.count)),
        );
    }
    for (keys, mode) in [(&matches, "match"), (&include_keys, "include")] {
        for rk in keys {
            let Some(row) = rows.remove(rk) else { continue };
            let Some(content) = row.content.as_deref() else {
                continue;
            };
            let resource: Value = serde_json::from_str(content).unwrap_or(Value::Null);
            out.entry(json!({
                "fullUrl": format!("{base}/{}/{}", row.res_type, row.res_id),
                "resource": resource,
                "search": {"mode": mode}
            }));
        }
    }
    Ok(out.build())
}

/// Column names of the CSV export.
pub const CSV_COLUMNS: &[&str] = &[
    "kind",
    "code",
    "display",
    "date",
    "patient",
    "family",
    "given",
    "birth_date",
    "gender",
    "encounter",
    "admit_date",
    "discharge_date",
    "practitioner",
    "rank",
    "resource",
];

/// The rows as CSV.
pub fn csv(rows: &[IndexRow]) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    crate::records::csv::render(
        CSV_COLUMNS,
        rows.iter().map(|r| {
            vec![
                r.kind.clone(),
                text(&r.code),
                text(&r.display),
                text(&r.event_date),
                text(&r.patient_id),
                text(&r.family),
                text(&r.given),
                text(&r.birth_date),
                text(&r.gender),
                text(&r.encounter_id),
                text(&r.admit_date),
                text(&r.discharge_date),
                text(&r.practitioner_id),
                r.dx_rank.map(|n| n.to_string()).unwrap_or_default(),
                format!("{}/{}", r.res_type, r.res_id),
            ]
        }),
    )
}
