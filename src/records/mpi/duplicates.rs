//! The duplicate-candidate report across the whole index (`Patient/$duplicates`): every
//! pair of patients sharing a blocking key is scored; pairs at or above the threshold
//! are listed best first. Keys shared by more than [`MAX_KEY_GROUP`] patients (a very
//! common phone or name) are skipped as non-selective.

use super::demographics::Demographics;
use super::score::{compare, Grade, MatchScore};
use super::visible_patients;
use crate::auth::Access;
use crate::db::resources::read_many;
use crate::db::sql::Sql;
use crate::error::{AppError, AppResult};
use crate::store::Store;
use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Keys shared by more patients than this do not make pairs.
pub const MAX_KEY_GROUP: i64 = 200;

/// What to list.
#[derive(Debug, Clone)]
pub struct DuplicatesRequest {
    /// Lowest score (0..1) listed.
    pub threshold: f64,
    /// Lowest grade listed.
    pub grade: Grade,
    pub count: usize,
    pub offset: usize,
}

/// One side of a pair.
#[derive(Debug, Clone)]
pub struct PairSide {
    pub id: String,
    /// `Family, Given (birth date)` for the reviewer.
    pub display: String,
}

/// One candidate pair.
#[derive(Debug, Clone)]
pub struct Pair {
    pub a: PairSide,
    pub b: PairSide,
    pub score: MatchScore,
}

/// A page of the report.
pub struct DuplicatesPage {
    pub total: usize,
    pub pairs: Vec<Pair>,
    pub offset: usize,
    pub count: usize,
}

#[derive(QueryableByName)]
struct PairRow {
    #[diesel(sql_type = BigInt)]
    a_rk: i64,
    #[diesel(sql_type = BigInt)]
    b_rk: i64,
}

fn display(resource: &Value) -> String {
    let name = &resource["name"][0];
    let given: Vec<&str> = name["given"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    format!(
        "{}, {} ({})",
        name["family"].as_str().unwrap_or(""),
        given.join(" "),
        resource["birthDate"].as_str().unwrap_or("?")
    )
}

/// Every scored pair at or above the request's threshold and grade, best first.
pub fn all_pairs(
    store: &Store,
    access: &Access,
    request: &DuplicatesRequest,
) -> AppResult<Vec<Pair>> {
    let mut conn = store.db.read()?;
    let mut sql = Sql::new(
        "SELECT DISTINCT a.rk AS a_rk, b.rk AS b_rk FROM mpi_key a \
         JOIN mpi_key b ON b.match_key = a.match_key AND b.rk > a.rk \
         WHERE a.match_key NOT IN (SELECT match_key FROM mpi_key GROUP BY match_key HAVING COUNT(*) > ",
    );
    sql.bind(MAX_KEY_GROUP).push(")");
    let pairs = conn.load::<PairRow>(&sql)?;
    let mut rks: Vec<i64> = pairs.iter().flat_map(|p| [p.a_rk, p.b_rk]).collect();
    rks.sort_unstable();
    rks.dedup();
    let rows = read_many(&mut conn, &rks)?;
    drop(conn);
    let id_of: HashMap<String, i64> = rows.iter().map(|(rk, r)| (r.res_id.clone(), *rk)).collect();
    let people: HashMap<i64, (PairSide, Demographics)> =
        visible_patients(store, access, rows.into_iter().map(|(_, r)| r).collect())?
            .into_iter()
            .filter_map(|(row, resource)| {
                let rk = *id_of.get(&row.res_id)?;
                let side = PairSide {
                    id: row.res_id,
                    display: display(&resource),
                };
                Some((rk, (side, Demographics::of(&resource))))
            })
            .collect();
    let mut out: Vec<Pair> = pairs
        .iter()
        .filter_map(|p| {
            let (a, da) = people.get(&p.a_rk)?;
            let (b, db) = people.get(&p.b_rk)?;
            let score = compare(da, db);
            (score.grade >= request.grade.max(Grade::Possible) && score.score >= request.threshold)
                .then(|| Pair {
                    a: a.clone(),
                    b: b.clone(),
                    score,
                })
        })
        .collect();
    out.sort_by(|x, y| {
        (x.score.better_first(&y.score)).then_with(|| (&x.a.id, &x.b.id).cmp(&(&y.a.id, &y.b.id)))
    });
    Ok(out)
}

/// One page of the report.
pub fn report(
    store: &Store,
    access: &Access,
    request: &DuplicatesRequest,
) -> AppResult<DuplicatesPage> {
    if !(0.0..=1.0).contains(&request.threshold) {
        return Err(AppError::invalid(
            "threshold must be a score between 0 and 1",
        ));
    }
    let all = all_pairs(store, access, request)?;
    let total = all.len();
    let pairs = all
        .into_iter()
        .skip(request.offset)
        .take(request.count)
        .collect();
    Ok(DuplicatesPage {
        total,
        pairs,
        offset: request.offset,
        count: request.count,
    })
}

impl DuplicatesPage {
    /// The page as a `Parameters` resource: `total`, one `pair` per candidate pair
    /// (two `patient` references, `score`, `grade`, `reason`s) and `next` when more follow.
    pub fn to_parameters(&self, next_url: Option<String>) -> Value {
        let mut parameter = vec![json!({"name": "total", "valueInteger": self.total})];
        for pair in &self.pairs {
            let mut part = vec![
                json!({"name": "patient", "valueReference": {"reference": format!("Patient/{}", pair.a.id), "display": pair.a.display}}),
                json!({"name": "patient", "valueReference": {"reference": format!("Patient/{}", pair.b.id), "display": pair.b.display}}),
                json!({"name": "score", "valueDecimal": pair.score.score}),
                json!({"name": "grade", "valueCode": pair.score.grade.code()}),
            ];
            part.extend(
                pair.score
                    .reasons
                    .iter()
                    .map(|r| json!({"name": "reason", "valueCode": r})),
            );
            parameter.push(json!({"name": "pair", "part": part}));
        }
        if let Some(next) = next_url {
            parameter.push(json!({"name": "next", "valueUri": next}));
        }
        json!({"resourceType": "Parameters", "parameter": parameter})
    }

    /// True when pages follow this one.
    pub fn has_next(&self) -> bool {
        self.offset + self.pairs.len() < self.total
    }

    /// The page as CSV.
    pub fn to_csv(&self) -> String {
        crate::records::csv::render(
            &[
                "patient_a",
                "name_a",
                "patient_b",
                "name_b",
                "score",
                "grade",
                "reasons",
            ],
            self.pairs.iter().map(|p| {
                vec![
                    p.a.id.clone(),
                    p.a.display.clone(),
                    p.b.id.clone(),
                    p.b.display.clone(),
                    format!("{:.3}", p.score.score),
                    p.score.grade.code().to_string(),
                    p.score.reasons.join(" "),
                ]
            }),
        )
    }
}
