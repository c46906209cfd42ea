//! Rows gathered per table and written as many-row INSERTs: a transaction Bundle's
//! versions, index rows and projections reach the database a statement per table and
//! chunk, not a statement per row (each statement is parsed and planned anew).

use super::sql::{Sql, SqlValue};
use super::Conn;
use crate::error::AppResult;

/// Placeholders per statement: far below SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_BINDS: usize = 4000;

/// Rows waiting to be inserted, grouped by table and column list in first-seen order.
#[derive(Default)]
pub struct Inserts {
    batches: Vec<Batch>,
}

struct Batch {
    table: String,
    columns: String,
    width: usize,
    rows: Vec<Vec<SqlValue>>,
}

impl Inserts {
    /// Queues one row of `table`; `columns` is the comma-separated column list.
    pub fn add(&mut self, table: &str, columns: &str, values: Vec<SqlValue>) {
        let position = self
            .batches
            .iter()
            .position(|b| b.table == table && b.columns == columns);
        let batch = match position {
            Some(i) => &mut self.batches[i],
            None => {
                self.batches.push(Batch {
                    table: table.to_string(),
                    columns: columns.to_string(),
                    width: values.len(),
                    rows: Vec::new(),
                });
                self.batches.last_mut().expect("just pushed")
            }
        };
        batch.rows.push(values);
    }

    /// Moves every row of `other` into this queue.
    pub fn extend(&mut self, other: Inserts) {
        if self.batches.is_empty() {
            *self = other;
            return;
        }
        for batch in other.batches {
            match self
                .batches
                .iter_mut()
                .find(|b| b.table == batch.table && b.columns == batch.columns)
            {
                Some(mine) => mine.rows.extend(batch.rows),
                None => self.batches.push(batch),
            }
        }
    }

    /// Removes and returns the rows queued for `table`.
    pub fn take_table(&mut self, table: &str) -> Inserts {
        let (taken, kept) = std::mem::take(&mut self.batches)
            .into_iter()
            .partition(|b| b.table == table);
        self.batches = kept;
        Inserts { batches: taken }
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Queues one row given as (column, value) pairs.
    pub fn add_named(&mut self, table: &str, row: Vec<(&str, SqlValue)>) {
        let columns: Vec<&str> = row.iter().map(|(c, _)| *c).collect();
        let values = row.into_iter().map(|(_, v)| v).collect();
        self.add(table, &columns.join(", "), values);
    }

    /// Writes every queued row, table by table in first-seen order. Statements carry a
    /// power-of-two number of rows so that few distinct texts exist and each stays prepared.
    pub fn write(self, conn: &mut Conn) -> AppResult<()> {
        let insert_into = conn.backend().insert_into();
        for batch in self.batches {
            let most = prev_power_of_two((MAX_BINDS / batch.width.max(1)).max(1));
            let mut rows = batch.rows;
            while !rows.is_empty() {
                let n = prev_power_of_two(rows.len()).min(most);
                let mut sql = Sql::new(&format!(
                    "{insert_into} {} ({}) VALUES ",
                    batch.table, batch.columns
                ));
                for (i, row) in rows.drain(..n).enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind_list(row);
                }
                conn.execute(sql.keep_prepared().ignoring_deferred())?;
            }
        }
        Ok(())
    }
}

/// The largest power of two not above `n` (n ≥ 1).
pub(super) fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::prev_power_of_two;

    #[test]
    fn chunk_sizes_are_powers_of_two() {
        assert_eq!(
            [1, 2, 3, 19, 64, 363].map(prev_power_of_two),
            [1, 2, 2, 16, 64, 256]
        );
    }
}
