//! `Patient/$merge` (the shape of the R5 operation: `source-patient`, `target-patient`,
//! `preview`) and `Patient/$unmerge`. A merge repoints, in ONE transaction, every current
//! resource that references the source (found through `idx_reference`) to the target,
//! deactivates the source with a `replaced-by` link and gives the target a `replaces`
//! link; each write is a new version through the store's write path, audited. The merge
//! is recorded in `mpi_merge`/`mpi_merge_item` (versions before and after), so `$unmerge`
//! can restore every touched resource to its pre-merge content as new versions — refused
//! (409) when any of them changed since, because restoring would lose that change.

use crate::auth::audit::{AuditKind, Who};
use crate::auth::{Access, Action, Principal};
use crate::coding::on_write::CodingValidation;
use crate::db::resources::{lock_current, read_current, read_version};
use crate::db::sql::{Sql, SqlValue};
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::json::{now_ms, reference_parts, security_codes};
use crate::fhir::outcome::{operation_outcome, Issue, Severity};
use crate::store::write::{audit_write, prepare, put_in};
use crate::store::{Saved, Store};
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use serde_json::{json, Value};

/// Which patients a merge or unmerge concerns.
#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub source: String,
    pub target: String,
    /// Report what would change without changing anything.
    pub preview: bool,
}

fn patient_id(p: &Value, name: &str) -> AppResult<Option<String>> {
    let text = p["valueReference"]["reference"]
        .as_str()
        .or_else(|| p["valueString"].as_str());
    let Some(text) = text else {
        return Ok(None);
    };
    match reference_parts(text) {
        Some((t, id)) if t == "Patient" => Ok(Some(id)),
        _ => Err(AppError::invalid_at(
            format!("{name} must reference a Patient (Patient/id), not '{text}'"),
            format!("Parameters.parameter.where(name='{name}')"),
        )),
    }
}

impl MergeRequest {
    /// Reads the Parameters body. Each patient is named by `source-patient` /
    /// `target-patient` (a reference) or `source-patient-identifier` /
    /// `target-patient-identifier` (an Identifier, looked up with `resolve`); both must agree.
    pub fn from_parameters(
        body: &Value,
        resolve: impl Fn(&str, &str) -> AppResult<String>,
    ) -> AppResult<MergeRequest> {
        if body["resourceType"] != "Parameters" {
            return Err(AppError::invalid_at(
                "this operation takes a Parameters resource",
                "resourceType",
            ));
        }
        let params = body["parameter"].as_array().cloned().unwrap_or_default();
        let named = |name: &str| params.iter().find(|p| p["name"] == name);
        let required = |name: &str| -> AppResult<String> {
            let by_reference = named(name)
                .map(|p| patient_id(p, name))
                .transpose()?
                .flatten();
            let identifier_name = format!("{name}-identifier");
            let by_identifier = match named(&identifier_name).map(|p| &p["valueIdentifier"]) {
                None => None,
                Some(i) => match (i["system"].as_str(), i["value"].as_str()) {
                    (Some(system), Some(value)) => Some(resolve(system, value)?),
                    _ => {
                        return Err(AppError::invalid_at(
                            format!(
                                "{identifier_name} needs a valueIdentifier with system and value"
                            ),
                            format!("Parameters.parameter.where(name='{identifier_name}')"),
                        ))
                    }
                },
            };
            match (by_reference, by_identifier) {
                (Some(a), Some(b)) if a != b => Err(AppError::invalid(format!(
                    "{name} (Patient/{a}) and {identifier_name} (Patient/{b}) name different patients"
                ))),
                (Some(id), _) | (None, Some(id)) => Ok(id),
                (None, None) => Err(AppError::invalid_at(
                    format!("{name} (a Patient reference) or {identifier_name} is required"),
                    format!("Parameters.parameter.where(name='{name}')"),
                )),
            }
        };
        let source = required("source-patient")?;
        let target = required("target-patient")?;
        if source == target {
            return Err(AppError::invalid(format!(
                "a patient cannot be merged into itself (Patient/{source})"
            )));
        }
        let preview = match named("preview").map(|p| &p["valueBoolean"]) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(AppError::invalid_at(
                    "preview must be a valueBoolean",
                    "Parameters.parameter.where(name='preview')",
                ))
            }
        };
        Ok(MergeRequest {
            source,
            target,
            preview,
        })
    }
}

/// The one current Patient carrying the identifier `system|value` (404 none, 422 several).
pub fn patient_by_identifier(store: &Store, system: &str, value: &str) -> AppResult<String> {
    let mut sql = Sql::new(
        "SELECT DISTINCT r.res_id AS res_id FROM idx_token t JOIN resources r ON r.rk = t.rk \
         WHERE t.res_type = 'Patient' AND t.param = 'identifier' AND r.deleted = 0 AND t.system = ",
    );
    sql.bind(system).push(" AND t.code = ").bind(value);
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        res_id: String,
    }
    let mut conn = store.db.read()?;
    let mut found = conn.load::<Row>(&sql)?;
    match found.len() {
        0 => Err(AppError::NotFound(format!(
            "no Patient has the identifier {system}|{value}"
        ))),
        1 => Ok(found.remove(0).res_id),
        n => Err(business_rule(format!(
            "{n} patients have the identifier {system}|{value}; name the patient by reference"
        ))),
    }
}

/// One resource a merge or unmerge changed (or, in a preview, would change).
#[derive(Debug, Clone)]
pub struct Changed {
    pub res_type: String,
    pub id: String,
    pub version_before: i64,
    /// None in a preview.
    pub version_after: Option<i64>,
}

/// What a merge or unmerge did.
#[derive(Debug, Clone)]
pub struct MergeSummary {
    pub merge_id: String,
    pub request: MergeRequest,
    pub undo: bool,
    pub changed: Vec<Changed>,
    /// The target Patient after the operation.
    pub result: Option<Value>,
}

/// The caller's rights for the whole operation.
struct Rights<'a> {
    principal: &'a Principal,
    access: Access,
}

impl Rights<'_> {
    fn new(principal: &Principal) -> AppResult<Rights<'_>> {
        if principal.confined_to_patient("Patient", Action::Update) {
            return Err(AppError::Forbidden(
                "merging patients needs a user- or system-level Patient write scope".into(),
            ));
        }
        Ok(Rights {
            principal,
            access: Access::for_request(principal, "Patient", Action::Update),
        })
    }

    /// Refuses a resource this caller may not change; checked per resource inside the
    /// transaction, so a refusal part-way rolls back everything written before it.
    fn check(&self, res_type: &str, id: &str, resource: &Value) -> AppResult<()> {
        if !self.principal.may(res_type, Action::Update) {
            return Err(AppError::Forbidden(format!(
                "the token may not update {res_type}, and {res_type}/{id} references the patient"
            )));
        }
        if !self.access.label_allows(&security_codes(resource)) {
            return Err(AppError::Forbidden(format!(
                "{res_type}/{id} is a sealed record this token may not change; nothing was merged"
            )));
        }
        Ok(())
    }
}

/// The current content and version of a resource (locked for the transaction).
fn current(conn: &mut Conn, res_type: &str, id: &str) -> AppResult<Option<(i64, Value)>> {
    if lock_current(conn, res_type, id)?.is_none() {
        return Ok(None);
    }
    let Some(row) = read_current(conn, res_type, id)? else {
        return Ok(None);
    };
    if row.deleted != 0 {
        return Ok(None);
    }
    let value = row
        .content
        .as_deref()
        .map(serde_json::from_str::<Value>)
        .transpose()
        .map_err(AppError::internal)?
        .unwrap_or(Value::Null);
    Ok(Some((row.version, value)))
}

fn patient(conn: &mut Conn, rights: &Rights, id: &str) -> AppResult<(i64, Value)> {
    let found = current(conn, "Patient", id)?
        .filter(|(_, p)| rights.access.label_allows(&security_codes(p)));
    found.ok_or_else(|| AppError::NotFound(format!("Patient/{id} is not known")))
}

fn business_rule(message: String) -> AppError {
    AppError::Unprocessable(vec![Issue::error("business-rule", message)])
}

fn merged_into(patient: &Value) -> Option<String> {
    patient["link"]
        .as_array()?
        .iter()
        .find(|l| l["type"] == "replaced-by")
        .and_then(|l| l["other"]["reference"].as_str())
        .map(str::to_string)
}

#[derive(QueryableByName)]
struct RefRow {
    #[diesel(sql_type = Text)]
    res_type: String,
    #[diesel(sql_type = Text)]
    res_id: String,
}

/// Current resources (other than the two patients) with an indexed reference to the source.
fn referencing(conn: &mut Conn, request: &MergeRequest) -> AppResult<Vec<RefRow>> {
    let mut sql = Sql::new(
        "SELECT DISTINCT r.rk AS rk, r.res_type AS res_type, r.res_id AS res_id FROM idx_reference f \
         JOIN resources r ON r.rk = f.rk WHERE f.target_type = 'Patient' AND f.target_id = ",
    );
    sql.bind(request.source.as_str())
        .push(" AND r.deleted = 0 AND NOT (r.res_type = 'Patient' AND r.res_id IN ")
        .bind_list([request.source.as_str(), request.target.as_str()])
        .push(") ORDER BY r.rk");
    #[derive(QueryableByName)]
    struct Keyed {
        #[diesel(sql_type = BigInt)]
        #[allow(dead_code)]
        rk: i64,
        #[diesel(embed)]
        row: RefRow,
    }
    Ok(conn
        .load::<Keyed>(&sql)?
        .into_iter()
        .map(|k| k.row)
        .collect())
}

/// Rewrites every `reference` naming `Patient/from` to `Patient/to`; true when any changed.
fn repoint(value: &mut Value, from: &str, to: &str) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            if let Some(Value::String(text)) = map.get("reference") {
                if reference_parts(text).is_some_and(|(t, id)| t == "Patient" && id == from) {
                    map.insert("reference".into(), Value::String(format!("Patient/{to}")));
                    changed = true;
                }
            }
            for (key, child) in map.iter_mut() {
                if key != "reference" {
                    changed |= repoint(child, from, to);
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |acc, item| repoint(item, from, to) | acc),
        _ => false,
    }
}

/// Writes `value` as the next version of `res_type/id` (expected at `version`), audited.
fn rewrite(
    conn: &mut Conn,
    who: &Who,
    res_type: &str,
    id: &str,
    version: i64,
    value: Value,
) -> AppResult<Saved> {
    // the content was valid when stored; only references change, so codes are not rechecked
    let prepared = prepare(res_type, Some(id), value, CodingValidation::Off)?;
    let saved = put_in(conn, prepared, id, Some(version), "PUT")?;
    audit_write(conn, who, AuditKind::Update, &saved)?;
    Ok(saved)
}

fn add_link(patient: &mut Value, other: &str, kind: &str) {
    let link = json!({"other": {"reference": format!("Patient/{other}")}, "type": kind});
    match patient["link"].as_array_mut() {
        Some(links) => links.push(link),
        None => patient["link"] = json!([link]),
    }
}

fn open_merge(conn: &mut Conn, source: &str, target: Option<&str>) -> AppResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        merge_id: String,
    }
    let mut sql =
        Sql::new("SELECT merge_id FROM mpi_merge WHERE reverted_at IS NULL AND source_id = ");
    sql.bind(source);
    if let Some(target) = target {
        sql.push(" AND target_id = ").bind(target);
    }
    sql.push(" ORDER BY merged_at DESC LIMIT 1");
    Ok(conn.first::<Row>(&sql)?.map(|r| r.merge_id))
}

/// Merges (or previews merging) the source patient into the target.
pub fn merge(
    store: &Store,
    who: &Who,
    principal: &Principal,
    request: &MergeRequest,
) -> AppResult<MergeSummary> {
    let rights = Rights::new(principal)?;
    let work = |conn: &mut Conn| -> AppResult<MergeSummary> {
        let (source_version, mut source) = patient(conn, &rights, &request.source)?;
        let (target_version, mut target) = patient(conn, &rights, &request.target)?;
        if let Some(other) = merged_into(&source) {
            return Err(business_rule(format!(
                "Patient/{} was already merged (replaced by {other})",
                request.source
            )));
        }
        if open_merge(conn, &request.source, None)?.is_some() {
            return Err(business_rule(format!(
                "Patient/{} was already merged",
                request.source
            )));
        }
        if let Some(other) = merged_into(&target) {
            return Err(business_rule(format!(
                "the target Patient/{} was itself merged into {other}; merge into that one",
                request.target
            )));
        }
        let merge_id = uuid::Uuid::new_v4().to_string();
        let mut changed = Vec::new();
        for r in referencing(conn, request)? {
            let Some((version, mut value)) = current(conn, &r.res_type, &r.res_id)? else {
                continue;
            };
            rights.check(&r.res_type, &r.res_id, &value)?;
            if !repoint(&mut value, &request.source, &request.target) {
                continue;
            }
            let after = if request.preview {
                None
            } else {
                Some(rewrite(conn, who, &r.res_type, &r.res_id, version, value)?.version)
            };
            changed.push(Changed {
                res_type: r.res_type,
                id: r.res_id,
                version_before: version,
                version_after: after,
            });
        }
        source["active"] = json!(false);
        add_link(&mut source, &request.target, "replaced-by");
        add_link(&mut target, &request.source, "replaces");
        let mut result = None;
        let mut patients = vec![
            (request.source.as_str(), source_version, source),
            (request.target.as_str(), target_version, target),
        ];
        for (id, version, value) in patients.drain(..) {
            let after = if request.preview {
                None
            } else {
                let saved = rewrite(conn, who, "Patient", id, version, value)?;
                if id == request.target {
                    result = saved
                        .content
                        .as_deref()
                        .and_then(|c| serde_json::from_str(c).ok());
                }
                Some(saved.version)
            };
            changed.push(Changed {
                res_type: "Patient".into(),
                id: id.to_string(),
                version_before: version,
                version_after: after,
            });
        }
        if !request.preview {
            record_merge(conn, &merge_id, request, who, &changed)?;
        }
        Ok(MergeSummary {
            merge_id,
            request: request.clone(),
            undo: false,
            changed,
            result,
        })
    };
    if request.preview {
        let mut conn = store.db.read()?;
        work(&mut conn)
    } else {
        store.db.transaction(work)
    }
}

fn record_merge(
    conn: &mut Conn,
    merge_id: &str,
    request: &MergeRequest,
    who: &Who,
    changed: &[Changed],
) -> AppResult<()> {
    let insert = |conn: &mut Conn, table: &str, values: Vec<SqlValue>| -> AppResult<()> {
        let mut sql = Sql::new(&format!("INSERT INTO {table} VALUES "));
        sql.bind_list(values);
        conn.execute(&sql).map(|_| ())
    };
    insert(
        conn,
        "mpi_merge (merge_id, source_id, target_id, merged_at, merged_by)",
        vec![
            merge_id.into(),
            request.source.as_str().into(),
            request.target.as_str().into(),
            now_ms().into(),
            who.agent.as_str().into(),
        ],
    )?;
    for c in changed {
        insert(
            conn,
            "mpi_merge_item (merge_id, res_type, res_id, version_before, version_after)",
            vec![
                merge_id.into(),
                c.res_type.as_str().into(),
                c.id.as_str().into(),
                c.version_before.into(),
                c.version_after.unwrap_or(c.version_before).into(),
            ],
        )?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct ItemRow {
    #[diesel(sql_type = Text)]
    res_type: String,
    #[diesel(sql_type = Text)]
    res_id: String,
    #[diesel(sql_type = BigInt)]
    version_before: i64,
    #[diesel(sql_type = BigInt)]
    version_after: i64,
}

/// Undoes the latest merge of the source into the target: every resource it changed
/// gets its pre-merge content back as a new version, in one transaction.
pub fn unmerge(
    store: &Store,
    who: &Who,
    principal: &Principal,
    request: &MergeRequest,
) -> AppResult<MergeSummary> {
    let rights = Rights::new(principal)?;
    store.db.transaction(|conn| {
        patient(conn, &rights, &request.source)?;
        patient(conn, &rights, &request.target)?;
        let merge_id = open_merge(conn, &request.source, Some(&request.target))?.ok_or_else(|| {
            business_rule(format!(
                "there is no merge of Patient/{} into Patient/{} to undo",
                request.source, request.target
            ))
        })?;
        let mut sql = Sql::new(
            "SELECT res_type, res_id, version_before, version_after FROM mpi_merge_item WHERE merge_id = ",
        );
        sql.bind(merge_id.as_str()).push(" ORDER BY res_type, res_id");
        let items = conn.load::<ItemRow>(&sql)?;
        let mut stale = Vec::new();
        let mut restore = Vec::new();
        for item in &items {
            let now = current(conn, &item.res_type, &item.res_id)?;
            match now {
                Some((version, value)) if version == item.version_after => {
                    rights.check(&item.res_type, &item.res_id, &value)?;
                    restore.push(item);
                }
                _ => stale.push(format!("{}/{}", item.res_type, item.res_id)),
            }
        }
        if !stale.is_empty() {
            return Err(AppError::Conflict(format!(
                "changed since the merge, so the merge cannot be undone without losing those changes: {}",
                stale.join(", ")
            )));
        }
        let mut changed = Vec::new();
        let mut result = None;
        for item in restore {
            let before = read_version(conn, &item.res_type, &item.res_id, item.version_before)?
                .and_then(|r| r.content)
                .ok_or_else(|| {
                    AppError::internal(format!(
                        "{}/{} version {} is missing from history",
                        item.res_type, item.res_id, item.version_before
                    ))
                })?;
            let value: Value = serde_json::from_str(&before).map_err(AppError::internal)?;
            let saved = rewrite(conn, who, &item.res_type, &item.res_id, item.version_after, value)?;
            if item.res_type == "Patient" && item.res_id == request.target {
                result = saved.content.as_deref().and_then(|c| serde_json::from_str(c).ok());
            }
            changed.push(Changed {
                res_type: item.res_type.clone(),
                id: item.res_id.clone(),
                version_before: item.version_after,
                version_after: Some(saved.version),
            });
        }
        let mut sql = Sql::new("UPDATE mpi_merge SET reverted_at = ");
        sql.bind(now_ms()).push(" WHERE merge_id = ").bind(merge_id.as_str());
        conn.execute(&sql)?;
        Ok(MergeSummary {
            merge_id,
            request: request.clone(),
            undo: true,
            changed,
            result,
        })
    })
}

impl MergeSummary {
    /// The outcome as `Parameters`: `outcome` (OperationOutcome), `result` (the target
    /// Patient), `merge-id`, `preview`, and one `changed` part per resource.
    pub fn to_parameters(&self) -> Value {
        let r = &self.request;
        let verb = match (self.undo, r.preview) {
            (true, _) => "unmerged",
            (false, true) => "preview: would merge",
            (false, false) => "merged",
        };
        let repointed = self
            .changed
            .iter()
            .filter(|c| c.res_type != "Patient" || (c.id != r.source && c.id != r.target))
            .count();
        let message = format!(
            "{verb} Patient/{} {} Patient/{}: {repointed} referencing resource(s), {} version(s) in all",
            r.source,
            if self.undo { "from" } else { "into" },
            r.target,
            self.changed.len()
        );
        let outcome =
            operation_outcome(&[Issue::new(Severity::Information, "informational", message)]);
        let mut parameter = vec![
            json!({"name": "outcome", "resource": outcome}),
            json!({"name": "merge-id", "valueString": self.merge_id}),
            json!({"name": "preview", "valueBoolean": r.preview}),
        ];
        if let Some(result) = &self.result {
            parameter.push(json!({"name": "result", "resource": result}));
        }
        for c in &self.changed {
            let mut part = vec![
                json!({"name": "resource", "valueReference": {"reference": format!("{}/{}", c.res_type, c.id)}}),
                json!({"name": "version-before", "valueInteger": c.version_before}),
            ];
            if let Some(after) = c.version_after {
                part.push(json!({"name": "version-after", "valueInteger": after}));
            }
            parameter.push(json!({"name": "changed", "part": part}));
        }
        json!({"resourceType": "Parameters", "parameter": parameter})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repoints_every_reference_form_to_the_source_only() {
        let mut v = json!({
            "subject": {"reference": "Patient/a"},
            "performer": [{"reference": "http://x/fhir/Patient/a"}, {"reference": "Patient/ab"}],
            "basedOn": [{"reference": "Patient/a/_history/2"}]
        });
        assert!(repoint(&mut v, "a", "b"));
        assert_eq!(v["subject"]["reference"], "Patient/b");
        assert_eq!(v["performer"][0]["reference"], "Patient/b");
        assert_eq!(v["performer"][1]["reference"], "Patient/ab");
        assert_eq!(v["basedOn"][0]["reference"], "Patient/b");
        assert!(!repoint(&mut v, "a", "b"));
    }
}
