//! A small SQL text builder with typed binds, rendered per backend (`?` for SQLite,
//! `$n` for PostgreSQL). Search and writes build their statements with it so one
//! statement text serves both stores.

use super::Backend;

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    /// JSON document text: stored as JSONB on PostgreSQL, TEXT on SQLite.
    Json(String),
}

impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(Some(v.to_string()))
    }
}
impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(Some(v))
    }
}
impl From<Option<String>> for SqlValue {
    fn from(v: Option<String>) -> Self {
        SqlValue::Text(v)
    }
}
impl From<Option<&str>> for SqlValue {
    fn from(v: Option<&str>) -> Self {
        SqlValue::Text(v.map(str::to_string))
    }
}
impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(Some(v))
    }
}
impl From<Option<i64>> for SqlValue {
    fn from(v: Option<i64>) -> Self {
        SqlValue::Int(v)
    }
}
impl From<f64> for SqlValue {
    fn from(v: f64) -> Self {
        SqlValue::Float(Some(v))
    }
}
impl From<Option<f64>> for SqlValue {
    fn from(v: Option<f64>) -> Self {
        SqlValue::Float(v)
    }
}

const PLACEHOLDER: char = '\u{1}';

/// Which rows queued on the connection (`Conn::insert_later`) a statement may see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reads {
    /// Any of them (the default): the whole queue is written first.
    #[default]
    Queued,
    /// Queued versions only.
    Versions,
    /// None.
    Nothing,
}

/// SQL text with placeholders and the values bound to them, in order.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    binds: Vec<SqlValue>,
    /// Kept prepared on the connection (see `db::prepared`).
    prepared: bool,
    /// Which queued rows must be written before it runs.
    reads: Reads,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            binds: Vec::new(),
            prepared: false,
            reads: Reads::Queued,
        }
    }

    /// Marks a statement that neither reads nor changes the tables rows are queued for
    /// (`Conn::insert_later`: versions, search index and projection rows), so the queue
    /// need not be written before it. Only for the write path's own statements on
    /// `resources`.
    pub fn ignoring_deferred(&mut self) -> &mut Sql {
        self.reads = Reads::Nothing;
        self
    }

    /// Marks a statement that reads `resource_versions` but no index or projection rows:
    /// only the queued versions are written before it.
    pub fn reading_versions(&mut self) -> &mut Sql {
        self.reads = Reads::Versions;
        self
    }

    pub fn reads(&self) -> Reads {
        self.reads
    }

    /// Asks the connection to keep this statement prepared. Only for texts from a small
    /// fixed set (the write path's): each distinct text stays cached for the connection's life.
    pub fn keep_prepared(&mut self) -> &mut Sql {
        self.prepared = true;
        self
    }

    pub fn is_kept_prepared(&self) -> bool {
        self.prepared
    }

    /// The statement's first word (`SELECT`, `INSERT` ...), for traces.
    pub fn verb(&self) -> &str {
        self.text.split_whitespace().next().unwrap_or("")
    }

    /// The text between placeholders (one more piece than binds).
    pub fn pieces(&self) -> Vec<&str> {
        self.text.split(PLACEHOLDER).collect()
    }

    /// Appends literal SQL (never client input).
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<SqlValue>) -> &mut Sql {
        self.text.push(PLACEHOLDER);
        self.binds.push(value.into());
        self
    }

    /// Appends `(?, ?, ...)` for a list of values.
    pub fn bind_list<V: Into<SqlValue>>(
        &mut self,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Sql {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")")
    }

    /// `bind_list` for an `IN` list of a statement kept prepared: the list is padded to a
    /// power of two by repeating its last value (which `IN` ignores), so lists of any length
    /// share a few statement texts.
    pub fn bind_padded_list<V: Into<SqlValue> + Clone>(&mut self, values: &[V]) -> &mut Sql {
        let padded = values.len().max(1).next_power_of_two();
        let last = values.last().cloned();
        self.bind_list(
            values
                .iter()
                .cloned()
                .chain(std::iter::repeat_n(last, padded - values.len()).flatten()),
        )
    }

    /// `(k in range OR ...)` where `k` is `column` upper-cased without dots (an ICD key) and
    /// each inclusive range compares each end on its own length (`coding::codes::key_in_range`):
    /// a range `(E11, E11)` is E11 and everything below it. Callers handle an empty list.
    pub fn key_in_ranges(&mut self, column: &str, ranges: &[(String, String)]) -> &mut Sql {
        let key = format!("UPPER(REPLACE({column}, '.', ''))");
        self.push("(");
        for (i, (first, last)) in ranges.iter().enumerate() {
            if i > 0 {
                self.push(" OR ");
            }
            self.push(&format!("(SUBSTR({key}, 1, {}) >= ", first.len()))
                .bind(first.as_str())
                .push(&format!(" AND SUBSTR({key}, 1, {}) <= ", last.len()))
                .bind(last.as_str())
                .push(")");
        }
        self.push(")")
    }

    /// Appends another statement fragment with its binds.
    pub fn append(&mut self, other: Sql) -> &mut Sql {
        self.text.push_str(&other.text);
        self.binds.extend(other.binds);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn binds(&self) -> &[SqlValue] {
        &self.binds
    }

    /// The statement text for `backend`.
    pub fn render(&self, backend: Backend) -> String {
        let mut out = String::with_capacity(self.text.len() + self.binds.len() * 3);
        let mut n = 0;
        for ch in self.text.chars() {
            if ch != PLACEHOLDER {
                out.push(ch);
                continue;
            }
            match backend {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                    if matches!(self.binds[n - 1], SqlValue::Json(_)) {
                        out.push_str("::jsonb");
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_placeholders_per_backend() {
        let mut sql = Sql::new("INSERT INTO t (a, b, c) VALUES (");
        sql.bind("x")
            .push(", ")
            .bind(2i64)
            .push(", ")
            .bind(SqlValue::Json("{}".into()))
            .push(")");
        assert_eq!(
            sql.render(Backend::Sqlite),
            "INSERT INTO t (a, b, c) VALUES (?, ?, ?)"
        );
        assert_eq!(
            sql.render(Backend::Postgres),
            "INSERT INTO t (a, b, c) VALUES ($1, $2, $3::jsonb)"
        );
    }
}
