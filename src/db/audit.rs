//! The audit table: append with a SHA-256 hash chain, verify the chain, query by patient and date.
//! Content (a compact record, see `AuditRecord::stored`, rendered as an AuditEvent when
//! read) is kept as TEXT on both stores so the hashed bytes are exactly the stored ones.

use super::inserts::Inserts;
use super::rows::KeyRow;
use super::sql::Sql;
use super::{Backend, Conn};
use crate::auth::audit::AuditRecord;
use crate::error::AppResult;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// Key of the PostgreSQL transaction lock that keeps the chain linear.
const CHAIN_LOCK: i64 = 0x61_7564_6974;
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(QueryableByName)]
struct HashRow {
    #[diesel(sql_type = Text)]
    hash: String,
}

/// One stored event.
#[derive(Debug, Clone, QueryableByName)]
pub struct StoredEvent {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Text)]
    pub content: String,
    #[diesel(sql_type = Text)]
    pub prev_hash: String,
    #[diesel(sql_type = Text)]
    pub hash: String,
}

fn link_hash(prev: &str, content: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(content.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Appends records (inside the caller's transaction), each chained to the previous event.
pub fn append(conn: &mut Conn, records: &[AuditRecord], now: i64) -> AppResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    if conn.backend() == Backend::Postgres {
        conn.batch(&format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK})"))?;
    }
    let last = conn.first::<HashRow>(&Sql::new(
        "SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1",
    ))?;
    let mut prev = last.map(|r| r.hash).unwrap_or_else(|| GENESIS.to_string());
    let mut rows = Inserts::default();
    for record in records {
        // time-ordered: the event_id index grows at its right edge instead of a random page per event
        let id = uuid::Uuid::now_v7().to_string();
        let content = record.stored(&id, now);
        let hash = link_hash(&prev, &content);
        rows.add(
            "audit_event",
            "recorded, patient_id, agent, action, kind, outcome, purpose, content, prev_hash, hash, event_id",
            vec![
            now.into(),
            record.patient.clone().into(),
            record.agent.as_str().into(),
            record.action().into(),
            (if record.disclosure.is_some() {
                "disclosure"
            } else {
                "access"
            })
            .into(),
            record.outcome_code().into(),
            record
                .disclosure
                .as_ref()
                .map(|d| d.purpose.clone())
                .or_else(|| record.purpose.clone())
                .into(),
            content.into(),
            prev.as_str().into(),
            hash.as_str().into(),
            id.as_str().into(),
            ],
        );
        prev = hash;
    }
    rows.write(conn)
}

/// Result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub events: u64,
    /// Sequence number of the first event whose link does not hold.
    pub first_broken: Option<i64>,
}

/// Recomputes every link in order; reports the first one altered, inserted or removed.
pub fn verify(conn: &mut Conn) -> AppResult<ChainReport> {
    let mut prev = GENESIS.to_string();
    let mut after = 0i64;
    let mut events = 0u64;
    loop {
        let mut sql =
            Sql::new("SELECT seq, content, prev_hash, hash FROM audit_event WHERE seq > ");
        sql.bind(after).push(" ORDER BY seq LIMIT 1000");
        let rows = conn.load::<StoredEvent>(&sql)?;
        if rows.is_empty() {
            return Ok(ChainReport {
                events,
                first_broken: None,
            });
        }
        for row in rows {
            if row.prev_hash != prev || link_hash(&prev, &row.content) != row.hash {
                return Ok(ChainReport {
                    events,
                    first_broken: Some(row.seq),
                });
            }
            prev = row.hash;
            after = row.seq;
            events += 1;
        }
    }
}

/// Events about `patient` (all when None) recorded in [since, until], newest first.
pub fn query(
    conn: &mut Conn,
    disclosures_only: bool,
    patient: Option<&str>,
    purpose: Option<&str>,
    since: Option<i64>,
    until: Option<i64>,
    limit: usize,
) -> AppResult<Vec<StoredEvent>> {
    let mut sql = Sql::new("SELECT seq, content, prev_hash, hash FROM audit_event WHERE 1 = 1");
    if let Some(patient) = patient {
        sql.push(" AND patient_id = ").bind(patient);
    }
    if disclosures_only {
        sql.push(" AND kind = 'disclosure'");
    }
    if let Some(purpose) = purpose {
        sql.push(" AND purpose = ").bind(purpose);
    }
    if let Some(since) = since {
        sql.push(" AND recorded >= ").bind(since);
    }
    if let Some(until) = until {
        sql.push(" AND recorded <= ").bind(until);
    }
    sql.push(" ORDER BY seq DESC LIMIT ").bind(limit as i64);
    conn.load(&sql)
}

/// The event whose resource id is `id`, with the patient it is about.
pub fn by_id(conn: &mut Conn, id: &str) -> AppResult<Option<(StoredEvent, Option<String>)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        seq: i64,
        #[diesel(sql_type = Text)]
        content: String,
        #[diesel(sql_type = Text)]
        prev_hash: String,
        #[diesel(sql_type = Text)]
        hash: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        patient_id: Option<String>,
    }
    let mut sql = Sql::new(
        "SELECT seq, content, prev_hash, hash, patient_id FROM audit_event WHERE event_id = ",
    );
    sql.bind(id);
    Ok(conn.first::<Row>(&sql)?.map(|r| {
        (
            StoredEvent {
                seq: r.seq,
                content: r.content,
                prev_hash: r.prev_hash,
                hash: r.hash,
            },
            r.patient_id,
        )
    }))
}

/// Number of events (for tests and the doctor).
pub fn count(conn: &mut Conn) -> AppResult<i64> {
    Ok(conn
        .first::<KeyRow>(&Sql::new("SELECT COUNT(*) AS rk FROM audit_event"))?
        .map(|r| r.rk)
        .unwrap_or(0))
}
