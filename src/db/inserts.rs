//! Rows gathered per table and written as many-row INSERTs: a transaction Bundle's
//! versions, index rows and projections reach the database a statement per table and
//! chunk, not a statement per row. On PostgreSQL a table's rows go as one JSON array
//! bound to one placeholder (`json_populate_recordset` over the table's row type), so any
//! number of rows is one round trip and one statement text per table.

use super::sql::{Sql, SqlValue};
use super::{Backend, Conn};
use crate::error::AppResult;
use std::fmt::Write;

/// SQLite: placeholders per statement, far below its limit of 32,766.
const MAX_BINDS: usize = 4000;
/// PostgreSQL: bytes of JSON per statement (a bound value may hold up to 1 GB).
const MAX_JSON_BYTES: usize = 8 << 20;

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

    /// Writes every queued row, table by table in first-seen order.
    pub fn write(self, conn: &mut Conn) -> AppResult<()> {
        for batch in self.batches {
            match conn.backend() {
                Backend::Sqlite => batch.write_as_values(conn)?,
                Backend::Postgres => batch.write_as_json(conn)?,
            }
        }
        Ok(())
    }
}

impl Batch {
    /// Statements of a power-of-two number of `VALUES` rows, so that few distinct texts
    /// exist and each stays prepared.
    fn write_as_values(self, conn: &mut Conn) -> AppResult<()> {
        let most = prev_power_of_two((MAX_BINDS / self.width.max(1)).max(1));
        let mut rows = self.rows;
        while !rows.is_empty() {
            let n = prev_power_of_two(rows.len()).min(most);
            let mut sql = Sql::new(&format!(
                "{} {} ({}) VALUES ",
                conn.backend().insert_into(),
                self.table,
                self.columns
            ));
            for (i, row) in rows.drain(..n).enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_list(row);
            }
            conn.execute(sql.keep_prepared().ignoring_deferred())?;
        }
        Ok(())
    }

    /// Statements of one JSON array of row objects each (a NULL is a missing key).
    fn write_as_json(self, conn: &mut Conn) -> AppResult<()> {
        let columns: Vec<&str> = self.columns.split(',').map(str::trim).collect();
        let keys: Vec<String> = columns.iter().map(|c| json_string(c)).collect();
        let mut json = String::new();
        for row in &self.rows {
            json.push(if json.is_empty() { '[' } else { ',' });
            json.push('{');
            let mut first = true;
            for (key, value) in keys.iter().zip(row) {
                push_member(&mut json, &mut first, key, value);
            }
            json.push('}');
            if json.len() >= MAX_JSON_BYTES {
                self.insert_json(conn, std::mem::take(&mut json))?;
            }
        }
        if !json.is_empty() {
            self.insert_json(conn, json)?;
        }
        Ok(())
    }

    fn insert_json(&self, conn: &mut Conn, mut json: String) -> AppResult<()> {
        json.push(']');
        let mut sql = Sql::new(&format!(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, ",
            table = self.table,
            columns = self.columns
        ));
        sql.bind(json).push("::json)");
        conn.execute(sql.keep_prepared().ignoring_deferred())?;
        Ok(())
    }
}

/// Appends `"key":value` to a JSON object under construction (a NULL is left out).
fn push_member(json: &mut String, first: &mut bool, key: &str, value: &SqlValue) {
    let start = json.len();
    if !*first {
        json.push(',');
    }
    json.push_str(key);
    json.push(':');
    let written = match value {
        SqlValue::Text(Some(text)) => {
            json.push_str(&json_string(text));
            true
        }
        SqlValue::Int(Some(n)) => write!(json, "{n}").is_ok(),
        // the row type's input function reads the names PostgreSQL gives non-finite values
        SqlValue::Float(Some(x)) if x.is_nan() => push(json, "\"NaN\""),
        SqlValue::Float(Some(x)) if x.is_infinite() => push(
            json,
            if *x > 0.0 {
                "\"Infinity\""
            } else {
                "\"-Infinity\""
            },
        ),
        SqlValue::Float(Some(x)) => write!(json, "{x:?}").is_ok(),
        // stored content is JSON already: it goes in as the member's value
        SqlValue::Json(content) => push(json, content),
        SqlValue::Text(None) | SqlValue::Int(None) | SqlValue::Float(None) => false,
    };
    if written {
        *first = false;
    } else {
        json.truncate(start);
    }
}

fn push(json: &mut String, text: &str) -> bool {
    json.push_str(text);
    true
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
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
