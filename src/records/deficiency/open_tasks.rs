//! Reading deficiency Tasks back through the search indexes (code system, status,
//! encounter), for the reports and the sweep. Client-created Tasks with the deficiency
//! code count like the rules' own.

use super::kind::SYSTEM;
use super::task::OPEN;
use crate::db::resources;
use crate::db::rows::KeyRow;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::json::{epoch_ms, str_at};
use serde_json::Value;

/// The parts of a deficiency Task the reports use.
#[derive(Debug, Clone)]
pub struct TaskFacts {
    pub id: String,
    pub kind: String,
    pub status: String,
    /// `Task.owner` reference text (`Practitioner/1`).
    pub owner: Option<String>,
    pub focus: Option<String>,
    /// `Task.encounter` id.
    pub encounter: Option<String>,
    /// `executionPeriod.start`, else `authoredOn`, in epoch ms.
    pub opened: Option<i64>,
    /// `executionPeriod.end` in epoch ms.
    pub closed: Option<i64>,
}

impl TaskFacts {
    pub fn is_open(&self) -> bool {
        OPEN.contains(&self.status.as_str())
    }

    fn from_json(task: &Value) -> TaskFacts {
        let time = |path: &[&str]| str_at(task, path).as_deref().and_then(epoch_ms);
        TaskFacts {
            id: str_at(task, &["id"]).unwrap_or_default(),
            kind: task
                .pointer("/code/coding/0/code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            status: str_at(task, &["status"]).unwrap_or_default(),
            owner: str_at(task, &["owner", "reference"]),
            focus: str_at(task, &["focus", "reference"]),
            encounter: task
                .get("encounter")
                .and_then(crate::fhir::json::reference_id),
            opened: time(&["executionPeriod", "start"]).or_else(|| time(&["authoredOn"])),
            closed: time(&["executionPeriod", "end"]),
        }
    }
}

fn code_clause(sql: &mut Sql, row: &str) {
    sql.push(&format!(
        " AND EXISTS (SELECT 1 FROM idx_token c WHERE c.rk = {row}.rk AND c.res_type = 'Task' \
         AND c.param = 'code' AND c.system = "
    ))
    .bind(SYSTEM)
    .push(")");
}

fn load(conn: &mut Conn, sql: &Sql) -> AppResult<Vec<TaskFacts>> {
    let rks: Vec<i64> = conn
        .load::<KeyRow>(sql)?
        .into_iter()
        .map(|r| r.rk)
        .collect();
    Ok(resources::read_many(conn, &rks)?
        .into_iter()
        .filter_map(|(_, row)| row.content)
        .filter_map(|c| serde_json::from_str::<Value>(&c).ok())
        .map(|t| TaskFacts::from_json(&t))
        .collect())
}

/// Every open deficiency Task.
pub fn open(conn: &mut Conn) -> AppResult<Vec<TaskFacts>> {
    let mut sql = Sql::new(
        "SELECT r.rk AS rk FROM resources r WHERE r.res_type = 'Task' AND r.deleted = 0 \
         AND r.rk IN (SELECT rk FROM idx_token WHERE res_type = 'Task' AND param = 'status' AND code IN ",
    );
    sql.bind_list(OPEN.iter().copied()).push(")");
    code_clause(&mut sql, "r");
    load(conn, &sql)
}

/// The deficiency Tasks (any status) of the given encounters.
pub fn of_encounters(conn: &mut Conn, encounters: &[String]) -> AppResult<Vec<TaskFacts>> {
    let mut out = Vec::new();
    for chunk in encounters.chunks(500) {
        let mut sql = Sql::new(
            "SELECT x.rk AS rk FROM idx_reference x WHERE x.res_type = 'Task' \
             AND x.param = 'encounter' AND x.target_type = 'Encounter' AND x.target_id IN ",
        );
        sql.bind_list(chunk.iter().map(String::as_str));
        code_clause(&mut sql, "x");
        out.extend(load(conn, &sql)?);
    }
    Ok(out)
}
