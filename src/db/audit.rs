//! The audit table: append with a SHA-256 hash chain, verify the chain, query by patient and date.
//! Content (a compact record, see `AuditRecord::stored`, rendered as an AuditEvent when
//! read) is kept as TEXT on both stores so the hashed bytes are exactly the stored ones.
//! An event's id is its sequence number, written into its content so the chain covers it
//! (events stored before that keep the UUID in `event_id`). The records of one append that
//! share a row's columns (patient, kind, purpose, agent, action, outcome) share one row: a
//! burst of reads of one chart costs one row and one index entry per column, not one per read;
//! its events are numbered `<seq>-<n>`.

use super::inserts::Inserts;
use super::rows::KeyRow;
use super::sql::Sql;
use super::{Backend, Conn};
use crate::auth::audit::{stored_group, AuditRecord};
use crate::error::AppResult;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use sha2::{Digest, Sha256};

/// Key of the PostgreSQL transaction lock that keeps the chain linear.
const CHAIN_LOCK: i64 = 0x61_7564_6974;
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(QueryableByName)]
struct HeadRow {
    #[diesel(sql_type = BigInt)]
    seq: i64,
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
    pub hash: String,
    /// Events the row holds.
    #[diesel(sql_type = BigInt)]
    pub events: i64,
}

fn link_hash(prev: &str, content: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(content.as_bytes());
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        hex.push(DIGITS[usize::from(byte >> 4)] as char);
        hex.push(DIGITS[usize::from(byte & 15)] as char);
    }
    hex
}

/// Appends records, each chained to the previous event. Inside a transaction they are
/// chained just before its commit (see [`Conn::audit_at_commit`]): on PostgreSQL the
/// chain's lock, which serializes every writer, is then held only for that last step.
pub fn append(conn: &mut Conn, records: Vec<AuditRecord>, now: i64) -> AppResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    if conn.in_transaction() {
        conn.audit_at_commit(records, now);
        return Ok(());
    }
    chain_batches(conn, &[(records, now)])
}

/// Appends batches of records, each recorded at its own time, inside the caller's
/// transaction: one take of the chain's lock and head, one insert, however many batches
/// the transaction queued.
pub(super) fn chain_batches(conn: &mut Conn, batches: &[(Vec<AuditRecord>, i64)]) -> AppResult<()> {
    if batches.iter().all(|(records, _)| records.is_empty()) {
        return Ok(());
    }
    if conn.backend() == Backend::Postgres {
        conn.batch(&format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK})"))?;
    }
    let head = conn.first::<HeadRow>(&Sql::new(
        "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1",
    ))?;
    // appends are serialized (SQLite's one writer, the lock above), so the next numbers are free
    let (mut seq, mut prev) = head
        .map(|h| (h.seq, h.hash))
        .unwrap_or_else(|| (0, GENESIS.to_string()));
    let mut rows = Inserts::default();
    for (records, now) in batches {
        let now = *now;
        for group in shared_rows(records) {
            seq += 1;
            let first = group[0];
            let content = match group.as_slice() {
                [one] => one.stored(&seq.to_string(), now),
                many => stored_group(many, seq, now),
            };
            let hash = link_hash(&prev, &content);
            rows.add(
                "audit_event",
                "seq, recorded, patient_id, agent, action, kind, outcome, purpose, content, hash, events",
                vec![
                    seq.into(),
                    now.into(),
                    first.patient.clone().into(),
                    first.agent.as_str().into(),
                    first.action().into(),
                    kind_of(first).into(),
                    first.outcome_code().into(),
                    purpose_of(first).map(str::to_string).into(),
                    content.into(),
                    hash.as_str().into(),
                    (group.len() as i64).into(),
                ],
            );
            prev = hash;
        }
    }
    rows.write(conn)
}

fn kind_of(record: &AuditRecord) -> &'static str {
    if record.disclosure.is_some() {
        "disclosure"
    } else {
        "access"
    }
}

fn purpose_of(record: &AuditRecord) -> Option<&str> {
    record
        .disclosure
        .as_ref()
        .map(|d| d.purpose.as_str())
        .or(record.purpose.as_deref())
}

/// `records` grouped by the columns of their row, groups in first-seen order.
fn shared_rows(records: &[AuditRecord]) -> Vec<Vec<&AuditRecord>> {
    let mut index = std::collections::HashMap::new();
    let mut groups: Vec<Vec<&AuditRecord>> = Vec::new();
    for record in records {
        let key = (
            record.patient.as_deref(),
            kind_of(record),
            purpose_of(record),
            record.agent.as_str(),
            record.action(),
            record.outcome_code(),
        );
        let at = *index.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[at].push(record);
    }
    groups
}

/// Result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub events: u64,
    /// Sequence number of the first event whose link does not hold.
    pub first_broken: Option<i64>,
}

/// The row number in a numbered event id (`<seq>` or `<seq>-<n>`); None for the UUIDs of
/// events stored before ids were numbered.
fn row_number(id: &str) -> Option<&str> {
    let mut parts = id.split('-');
    let row = parts.next()?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (digits(row) && parts.next().is_none_or(digits) && parts.next().is_none()).then_some(row)
}

/// Whether `content` names the event(s) at `seq`: numbered events say so first
/// (`{"id":"<seq>"` or `[{"id":"<seq>-0"`), so a row moved to another number breaks;
/// UUID-named older events have nothing to check.
fn numbered_as(seq: i64, content: &str) -> bool {
    let Some(rest) = content
        .strip_prefix('[')
        .unwrap_or(content)
        .strip_prefix("{\"id\":\"")
    else {
        return true;
    };
    let id = rest.split('"').next().unwrap_or_default();
    row_number(id).is_none_or(|row| row == seq.to_string())
}

/// Recomputes every link in order; reports the first one altered, inserted, removed or renumbered.
pub fn verify(conn: &mut Conn) -> AppResult<ChainReport> {
    let mut prev = GENESIS.to_string();
    let mut after = 0i64;
    let mut events = 0u64;
    loop {
        let mut sql = Sql::new("SELECT seq, content, hash, events FROM audit_event WHERE seq > ");
        sql.bind(after).push(" ORDER BY seq LIMIT 1000");
        let rows = conn.load::<StoredEvent>(&sql)?;
        if rows.is_empty() {
            return Ok(ChainReport {
                events,
                first_broken: None,
            });
        }
        for row in rows {
            if link_hash(&prev, &row.content) != row.hash || !numbered_as(row.seq, &row.content) {
                return Ok(ChainReport {
                    events,
                    first_broken: Some(row.seq),
                });
            }
            prev = row.hash;
            after = row.seq;
            events += row.events as u64;
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
    let mut sql = Sql::new("SELECT seq, content, hash, events FROM audit_event WHERE 1 = 1");
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

/// The row holding the event whose resource id is `id`, with the patient it is about.
pub fn by_id(conn: &mut Conn, id: &str) -> AppResult<Option<(StoredEvent, Option<String>)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        seq: i64,
        #[diesel(sql_type = Text)]
        content: String,
        #[diesel(sql_type = Text)]
        hash: String,
        #[diesel(sql_type = BigInt)]
        events: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        patient_id: Option<String>,
    }
    let mut sql = Sql::new("SELECT seq, content, hash, events, patient_id FROM audit_event WHERE ");
    let seq =
        row_number(id).and_then(|row| row.parse::<i64>().ok().filter(|s| s.to_string() == row));
    match seq {
        Some(seq) => sql.push("event_id IS NULL AND seq = ").bind(seq),
        None => sql.push("event_id = ").bind(id),
    };
    Ok(conn.first::<Row>(&sql)?.map(|r| {
        (
            StoredEvent {
                seq: r.seq,
                content: r.content,
                hash: r.hash,
                events: r.events,
            },
            r.patient_id,
        )
    }))
}

/// Number of events (for tests and the doctor).
pub fn count(conn: &mut Conn) -> AppResult<i64> {
    Ok(conn
        .first::<KeyRow>(&Sql::new(
            "SELECT CAST(COALESCE(SUM(events), 0) AS BIGINT) AS rk FROM audit_event",
        ))?
        .map(|r| r.rk)
        .unwrap_or(0))
}
