//! Group commit on SQLite's single writer. Writers that arrive while another one holds
//! the connection join its open transaction, each inside a savepoint of its own (the
//! first needs none), and one COMMIT (one WAL append and one fsync) makes the whole group
//! durable. Every member returns only after that commit: nothing is acknowledged before it
//! is on disk. A member whose work fails is rolled back to its savepoint alone (the first,
//! with the transaction); a failed commit fails the group.
//!
//! A commit writes every page the group changed, and the search indexes spread a
//! resource's rows over many pages, so fewer, larger groups write far less. A bulk load
//! (`GroupPolicy::bulk`) therefore keeps a group open a little while for the next writer
//! even when none is waiting yet; the server's default commits as soon as nobody waits.

use super::Conn;
use crate::error::{AppError, AppResult};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// When an open group stops taking members and commits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupPolicy {
    /// At most this many members...
    pub max_members: usize,
    /// ...open at most this long (bounds the wait of its first member)...
    pub max_open: Duration,
    /// ...and, when no writer is waiting for the connection, waiting this long for the next
    /// one (zero: commit at once).
    pub linger: Duration,
    /// WAL pages after which a commit also checkpoints (copies the WAL into the database):
    /// larger groups change more pages per commit, and a rarer checkpoint copies a page
    /// changed by several commits once.
    pub checkpoint_pages: u32,
}

impl Default for GroupPolicy {
    /// The server's: a lone writer is not delayed.
    fn default() -> Self {
        GroupPolicy {
            max_members: 32,
            max_open: Duration::from_millis(100),
            linger: Duration::ZERO,
            checkpoint_pages: 8_000,
        }
    }
}

impl GroupPolicy {
    /// For loaders that keep about `writers` writes in preparation: a group waits for them.
    pub fn bulk(writers: usize) -> Self {
        GroupPolicy {
            max_members: writers.clamp(1, 256),
            max_open: Duration::from_secs(2),
            linger: Duration::from_millis(50),
            checkpoint_pages: 40_000,
        }
    }
}

#[derive(Default)]
pub struct WriteGroup {
    slot: Mutex<Slot>,
    finished: Condvar,
    /// Writers waiting for the slot: while there are any, the open group waits for them.
    arriving: AtomicUsize,
}

#[derive(Default)]
struct Slot {
    /// The policy of groups opened from now on.
    policy: GroupPolicy,
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
    /// When the last member joined.
    joined: Instant,
    /// The policy the group was opened under (kept for its life, so that a change of
    /// policy cannot leave its waiting members without a committer).
    policy: GroupPolicy,
}

impl Open {
    /// When a lingering group commits unless another member comes; None when the group
    /// does not linger (a member arriving commits it or keeps it open).
    fn deadline(&self) -> Option<Instant> {
        let policy = &self.policy;
        (!policy.linger.is_zero())
            .then(|| (self.joined + policy.linger).min(self.opened + policy.max_open))
    }
}

struct Outcome {
    failure: Option<String>,
    unread: usize,
}

impl WriteGroup {
    /// Sets when groups opened from now on commit and checkpoint.
    pub fn set_policy(&self, policy: GroupPolicy) {
        lock(&self.slot).policy = policy;
    }

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
            let policy = slot.policy;
            let mut conn = connect()?;
            // per group, not per connection: a connection the pool makes anew follows too
            conn.batch(&format!(
                "PRAGMA wal_autocheckpoint = {}",
                policy.checkpoint_pages
            ))?;
            conn.begin()?;
            slot.generation += 1;
            let now = Instant::now();
            slot.open = Some(Open {
                conn,
                waiting: 0,
                opened: now,
                joined: now,
                policy,
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
                    self.tell(
                        &mut slot,
                        generation,
                        open.waiting,
                        Some(broken.to_string()),
                    );
                    return Err(broken);
                }
            }
        };
        let policy = &open.policy;
        let keep_open = (self.arriving.load(Ordering::SeqCst) > 0 || !policy.linger.is_zero())
            && open.waiting + 1 < policy.max_members
            && open.opened.elapsed() < policy.max_open;
        if keep_open {
            let value = result?;
            open.waiting += 1;
            open.joined = Instant::now();
            return self.wait_for(slot, generation).map(|()| value);
        }
        let failure = self.commit(&mut slot, generation, 0);
        match (result, failure) {
            (Err(e), _) => Err(e),
            (Ok(_), Some(failure)) => Err(commit_failed(&failure)),
            (Ok(value), None) => Ok(value),
        }
    }

    /// Commits the open group and tells its waiting members, but for `own` of them (the
    /// caller, when it is one); the commit's failure, if any.
    fn commit(&self, slot: &mut Slot, generation: u64, own: usize) -> Option<String> {
        let mut open = slot.open.take().expect("still open");
        let failure = open.conn.commit().err().map(|e| e.to_string());
        self.tell(slot, generation, open.waiting - own, failure.clone());
        failure
    }

    /// Leaves the group's outcome for its `waiting` members and wakes them.
    fn tell(&self, slot: &mut Slot, generation: u64, waiting: usize, failure: Option<String>) {
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

    /// Waits until the group `generation` committed; commits it when its policy says the
    /// wait is over and no writer is coming in.
    fn wait_for(&self, mut slot: MutexGuard<'_, Slot>, generation: u64) -> AppResult<()> {
        loop {
            let deadline = match &slot.open {
                Some(open) if slot.generation == generation => open.deadline(),
                _ => None,
            };
            slot = match deadline {
                None => self
                    .finished
                    .wait(slot)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() && self.arriving.load(Ordering::SeqCst) == 0 {
                        return match self.commit(&mut slot, generation, 1) {
                            None => Ok(()),
                            Some(failure) => Err(commit_failed(&failure)),
                        };
                    }
                    // a writer coming in gets the slot first; the deadline is checked again
                    let wait = left.max(Duration::from_millis(1));
                    self.finished
                        .wait_timeout(slot, wait)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
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

#[cfg(test)]
mod tests {
    use super::GroupPolicy;
    use crate::db::sql::Sql;
    use crate::db::{Db, DbOptions};
    use crate::error::AppError;
    use std::sync::{Arc, Barrier};

    fn scratch_db(name: &str) -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("chartroom-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let options = DbOptions {
            pool_size: 2,
            sqlite_synchronous: "FULL".into(),
        };
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.display()), &options).unwrap();
        db.write()
            .unwrap()
            .batch("CREATE TABLE t (n INTEGER)")
            .unwrap();
        (db, dir)
    }

    fn groups_opened(db: &Db) -> u64 {
        match db {
            Db::Sqlite { group, .. } => super::lock(&group.slot).generation,
            Db::Pg { .. } => unreachable!("a SQLite store"),
        }
    }

    fn stored(db: &Db) -> Vec<i64> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: Vec<Row> = db
            .read()
            .unwrap()
            .load(&Sql::new("SELECT n FROM t ORDER BY n"))
            .unwrap();
        rows.into_iter().map(|r| r.n).collect()
    }

    fn checkpoint_pages(db: &Db) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            wal_autocheckpoint: i64,
        }
        let sql = Sql::new("PRAGMA wal_autocheckpoint");
        let row: Option<Row> = db.write().unwrap().first(&sql).unwrap();
        row.unwrap().wal_autocheckpoint
    }

    /// Eight writers coming one after another, 5 ms apart (none waiting when the one before
    /// is done): each inserts its number, the one numbered `failing` then fails.
    fn write_in_turn(db: &Arc<Db>, failing: i64) -> Vec<Result<(), AppError>> {
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|n: i64| {
                let (db, barrier) = (Arc::clone(db), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    std::thread::sleep(std::time::Duration::from_millis(5 * n as u64));
                    db.transaction(|conn| {
                        let mut sql = Sql::new("INSERT INTO t (n) VALUES (");
                        sql.bind(n).push(")");
                        conn.execute(&sql)?;
                        if n == failing {
                            return Err(AppError::invalid("this member fails"));
                        }
                        Ok(())
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn a_bulk_group_waits_for_the_next_writer_and_a_failing_member_fails_alone() {
        let (db, dir) = scratch_db("bulk-group");
        let db = Arc::new(db);
        db.set_group_policy(GroupPolicy::bulk(8));
        let results = write_in_turn(&db, 5);
        for (n, result) in results.iter().enumerate() {
            assert_eq!(result.is_err(), n == 5, "writer {n}: {result:?}");
        }
        assert_eq!(stored(&db), vec![0, 1, 2, 3, 4, 6, 7]);
        // they share one commit (the server's policy commits each: nobody is waiting)
        assert_eq!(groups_opened(&db), 1);

        // a lone writer under the bulk policy is committed once its linger is over
        let before = groups_opened(&db);
        db.transaction(|conn| conn.execute(&Sql::new("INSERT INTO t (n) VALUES (8)")))
            .unwrap();
        assert_eq!(groups_opened(&db), before + 1);
        assert_eq!(stored(&db).last(), Some(&8));

        // the writer checkpoints at the interval of the policy its last group was opened under
        assert_eq!(checkpoint_pages(&db), 40_000);
        db.set_group_policy(GroupPolicy::default());
        assert_eq!(checkpoint_pages(&db), 40_000);
        db.transaction(|conn| conn.execute(&Sql::new("INSERT INTO t (n) VALUES (9)")))
            .unwrap();
        assert_eq!(checkpoint_pages(&db), 8_000);
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }
}
