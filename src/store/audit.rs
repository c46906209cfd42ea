//! The audit sink: records of reads, searches and refused requests are queued and written
//! by one background thread in batches (one transaction each), so reads do not wait for
//! a write. Writes record their event inside their own transaction instead (`store::write`).

use crate::auth::audit::AuditRecord;
use crate::db::{audit, Db};
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

const BATCH: usize = 500;

impl AuditSink {
    /// Starts the writer thread for `db`.
    pub fn start(db: Db) -> AuditSink {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(db, rx))
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

/// Blocks for the next record, then takes whatever else is queued (up to a batch): the
/// records that arrive while a batch is being written form the next batch.
fn run(db: Db, rx: Receiver<Message>) {
    let mut pending: Vec<AuditRecord> = Vec::new();
    let mut waiting: Vec<Sender<()>> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Record(record) => pending.push(*record),
                Message::Flush(done) => waiting.push(done),
            }
            if pending.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        write(&db, &mut pending);
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
    write(&db, &mut pending);
}

fn write(db: &Db, pending: &mut Vec<AuditRecord>) {
    if pending.is_empty() {
        return;
    }
    let records = std::mem::take(pending);
    let result = db.transaction(|conn| audit::append(conn, &records, now_ms()));
    if let Err(error) = result {
        tracing::error!(%error, lost = records.len(), "audit records could not be written");
    }
}
