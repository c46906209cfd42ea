//! Group commit on SQLite's single writer. Writers that arrive while another one holds
//! the connection join its open transaction, each inside a savepoint of its own (the
//! first needs none), and one COMMIT (one WAL append and one fsync) makes the whole group
//! durable. Every member returns only after that commit: nothing is acknowledged before it
//! is on disk. A member whose work fails is rolled back to its savepoint alone (the first,
//! with the transaction); a failed commit fails the group.

use super::Conn;
use crate::error::{AppError, AppResult};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A group stops taking members when it has this many...
const MAX_MEMBERS: usize = 32;
/// ...or has been open this long (bounds the wait of its first member).
const MAX_OPEN: Duration = Duration::from_millis(100);

#[derive(Default)]
pub struct WriteGroup {
    slot: Mutex<Slot>,
    finished: Condvar,
    /// Writers waiting for the slot: while there are any, the open group waits for them.
    arriving: AtomicUsize,
}

#[derive(Default)]
struct Slot {
    open: Option<Open>,
    /// Number of the open group (or of the last one).
    generation: u64,
    /// Commit outcomes of finished groups whose members have not all read them.
    outcomes: HashMap<u64, Outcome>,
}

struct Open {
    conn: Conn,
    /// Members whose work succeeded and who wait for the commit (the running one excluded).
    waiting: usize,
    opened: Instant,
}

struct Outcome {
    failure: Option<String>,
    unread: usize,
}

impl WriteGroup {
    /// Runs `work` in the open group's transaction (opening one with a connection from
    /// `connect` when none is open) and returns once its group committed.
    pub fn run<T>(
        &self,
        connect: impl FnOnce() -> AppResult<Conn>,
        work: impl FnOnce(&mut Conn) -> AppResult<T>,
    ) -> AppResult<T> {
        if INSIDE.with(Cell::get) {
            // the slot's lock is not re-entrant: a nested transaction would wait forever
            return Err(AppError::internal(
                "a write transaction was started inside another one",
            ));
        }
        INSIDE.with(|inside| inside.set(true));
        let _leave = Leave;
        self.arriving.fetch_add(1, Ordering::SeqCst);
        let mut slot = lock(&self.slot);
        self.arriving.fetch_sub(1, Ordering::SeqCst);
        if slot.open.is_none() {
            let mut conn = connect()?;
            conn.begin()?;
            slot.generation += 1;
            slot.open = Some(Open {
                conn,
                waiting: 0,
                opened: Instant::now(),
            });
        }
        let generation = slot.generation;
        let open = slot.open.as_mut().expect("opened above");
        // Alone in the transaction (no member's work kept in it), a member needs no
        // savepoint: a failure rolls the whole transaction back. Savepoints are not free on
        // SQLite: every page first changed inside one is copied to the sub-journal.
        let alone = open.waiting == 0;
        let result = if alone {
            let result = open.conn.run_caught(work);
            if result.is_err() {
                slot.open.take().expect("still open").conn.rollback();
                return result;
            }
            result
        } else {
            match open.conn.savepoint(work) {
                Ok(result) => result,
                Err(broken) => {
                    // the transaction itself is gone: the whole group fails
                    let mut open = slot.open.take().expect("still open");
                    open.conn.rollback();
                    self.publish(
                        &mut slot,
                        generation,
                        open.waiting,
                        Some(broken.to_string()),
                    );
                    return Err(broken);
                }
            }
        };
        let keep_open = self.arriving.load(Ordering::SeqCst) > 0
            && open.waiting + 1 < MAX_MEMBERS
            && open.opened.elapsed() < MAX_OPEN;
        if keep_open {
            let value = result?;
            open.waiting += 1;
            return self.wait_for(slot, generation).map(|()| value);
        }
        let mut open = slot.open.take().expect("still open");
        let failure = open.conn.commit().err().map(|e| e.to_string());
        self.publish(&mut slot, generation, open.waiting, failure.clone());
        match (result, failure) {
            (Err(e), _) => Err(e),
            (Ok(_), Some(failure)) => Err(commit_failed(&failure)),
            (Ok(value), None) => Ok(value),
        }
    }

    fn publish(&self, slot: &mut Slot, generation: u64, waiting: usize, failure: Option<String>) {
        if waiting > 0 {
            slot.outcomes.insert(
                generation,
                Outcome {
                    failure,
                    unread: waiting,
                },
            );
            self.finished.notify_all();
        }
    }

    fn wait_for(&self, mut slot: MutexGuard<'_, Slot>, generation: u64) -> AppResult<()> {
        loop {
            slot = self
                .finished
                .wait(slot)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(outcome) = slot.outcomes.get_mut(&generation) {
                outcome.unread -= 1;
                let failure = outcome.failure.clone();
                if outcome.unread == 0 {
                    slot.outcomes.remove(&generation);
                }
                return match failure {
                    None => Ok(()),
                    Some(failure) => Err(commit_failed(&failure)),
                };
            }
        }
    }
}

thread_local! {
    /// Set while this thread is a member of a group.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

struct Leave;

impl Drop for Leave {
    fn drop(&mut self) {
        INSIDE.with(|inside| inside.set(false));
    }
}

fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn commit_failed(failure: &str) -> AppError {
    AppError::ServiceUnavailable(format!(
        "the transaction could not be committed ({failure}); nothing of it was kept, retry"
    ))
}
