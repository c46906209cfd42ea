//! The audit sink: records of reads, searches and refused requests are queued and written
//! by one background thread in batches (one transaction each, gathered for 100 ms),
//! so reads do not wait for a write. Writes record their event inside their own transaction instead (`store::write`).

use crate::auth::audit::AuditRecord;
use crate::db::{audit, Backend, Db};
use crate::fhir::json::now_ms;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

enum Message {
    Record(Box<AuditRecord>),
    Flush(Sender<()>),
}

/// Handle to the background audit writer.
#[derive(Clone)]
pub struct AuditSink {
    tx: Sender<Message>,
}

/// Records per transaction at most: a backlog is written in batches of this size. Large
/// enough that one gather of reads at full load (~3,000 on two cores) is one commit:
/// batches of 500 cost the writer 8.6 µs per record, 5,000 cost 6 µs (each commit rewrites
/// the pages the batch shares). A request write waits at most one batch (~30 ms at that load).
const BATCH: usize = 5000;
/// Pause between the batches of a backlog: the writer shares SQLite's one write
/// connection with request writes, and the pool hands it back to whoever asks first, so
/// without the pause back-to-back batches kept creates waiting (p99 600 ms measured).
const BACKLOG_PAUSE: Duration = Duration::from_millis(2);
/// How long the writer keeps gathering after the first record of a batch. Every batch
/// dirties about one B-tree page per patient it mentions, writes them to the WAL and
/// later checkpoints them; gathering longer lets a batch's records share those pages
/// (measured on SQLite at one connection: 20 ms cost reads 12-16 %, 100 ms 5 %). A
/// crash can lose at most this window of read records; writes audit in their own
/// transaction.
const GATHER: Duration = Duration::from_millis(100);

impl AuditSink {
    /// Starts the writer thread for `db`; `synchronous` is the SQLite setting its batches
    /// return the write connection to.
    pub fn start(db: Db, synchronous: String) -> AuditSink {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(db, &synchronous, rx))
            .expect("spawn the audit writer thread");
        AuditSink { tx }
    }

    /// Queues a record.
    pub fn record(&self, record: AuditRecord) {
        if self.tx.send(Message::Record(Box::new(record))).is_err() {
            tracing::error!("audit writer stopped: an audit record was not written");
        }
    }

    /// Waits until every record queued before this call is written.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(30));
        }
    }
}

/// Blocks for the next record, then sleeps `GATHER` and takes whatever else was queued
/// meanwhile, up to a batch. Sleeping rather than waiting on the channel means a read's
/// send wakes nobody. No sleep while a flush waits or a backlog remains from the last batch.
fn run(db: Db, synchronous: &str, rx: Receiver<Message>) {
    let mut pending: Vec<AuditRecord> = Vec::new();
    let mut waiting: Vec<Sender<()>> = Vec::new();
    let mut backlog = false;
    let take = |message: Message, pending: &mut Vec<AuditRecord>, waiting: &mut Vec<Sender<()>>| {
        match message {
            Message::Record(record) => pending.push(*record),
            Message::Flush(done) => waiting.push(done),
        }
    };
    loop {
        if !backlog {
            match rx.recv() {
                Ok(first) => take(first, &mut pending, &mut waiting),
                Err(_) => break,
            }
            if waiting.is_empty() {
                std::thread::sleep(GATHER);
            }
        }
        while pending.len() < BATCH {
            match rx.try_recv() {
                Ok(message) => take(message, &mut pending, &mut waiting),
                Err(_) => break,
            }
        }
        backlog = pending.len() >= BATCH;
        write(&db, synchronous, &mut pending);
        if backlog {
            std::thread::sleep(BACKLOG_PAUSE);
        } else {
            for done in waiting.drain(..) {
                let _ = done.send(());
            }
        }
    }
}

/// Writes one batch. Its commit does not wait for the disk (SQLite `synchronous = NORMAL`
/// for the batch, PostgreSQL `synchronous_commit = off`): a commit that waits for an fsync
/// stalls the concurrent reads on SQLite, and these records are the ones a crash may lose
/// anyway; writes' own records stay in their fully synchronous transactions.
fn write(db: &Db, synchronous: &str, pending: &mut Vec<AuditRecord>) {
    if pending.is_empty() {
        return;
    }
    let records = std::mem::take(pending);
    let count = records.len();
    let result = db.write().and_then(|mut conn| {
        let sqlite = conn.backend() == Backend::Sqlite;
        if sqlite {
            conn.batch("PRAGMA synchronous = NORMAL")?;
        }
        let written = conn.transaction(|c| {
            if !sqlite {
                c.batch("SET LOCAL synchronous_commit = off")?;
            }
            audit::append(c, records, now_ms())
        });
        if sqlite {
            conn.batch(&format!("PRAGMA synchronous = {synchronous}"))?;
        }
        written
    });
    if let Err(error) = result {
        tracing::error!(%error, lost = count, "audit records could not be written");
    }
}
