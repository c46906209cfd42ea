//! Statements the connection keeps prepared. Diesel prepares raw SQL anew on every
//! execution; the write path's statements (a resource's version, its index rows, audit
//! batches) come from a small fixed set of texts, so they are handed to diesel as a query
//! it may cache, keyed by the text. Only for such texts: the cache lives as long as the
//! connection and never evicts, so search SQL (one text per query shape) stays uncached.

use super::sql::{Sql, SqlValue};
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Double, HasSqlType, Nullable, Text, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// A statement for diesel's statement cache: diesel writes each placeholder itself
/// (`?` or `$n`), so the text goes in as the pieces between them.
pub struct Prepared<'a> {
    pieces: Vec<&'a str>,
    binds: &'a [SqlValue],
    /// PostgreSQL: JSON binds are cast to `jsonb`.
    jsonb: bool,
}

impl<'a> Prepared<'a> {
    pub fn of(sql: &'a Sql, backend: super::Backend) -> Self {
        Prepared {
            pieces: sql.pieces(),
            binds: sql.binds(),
            jsonb: backend == super::Backend::Postgres,
        }
    }
}

impl<DB> QueryFragment<DB> for Prepared<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Double>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    String: ToSql<Text, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
    Option<f64>: ToSql<Nullable<Double>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for (i, piece) in self.pieces.iter().enumerate() {
            out.push_sql(piece);
            match self.binds.get(i) {
                None => {}
                Some(SqlValue::Text(v)) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                Some(SqlValue::Int(v)) => out.push_bind_param::<Nullable<BigInt>, _>(v)?,
                Some(SqlValue::Float(v)) => out.push_bind_param::<Nullable<Double>, _>(v)?,
                Some(SqlValue::Json(v)) => {
                    out.push_bind_param::<Text, _>(v)?;
                    if self.jsonb {
                        out.push_sql("::jsonb");
                    }
                }
            }
        }
        Ok(())
    }
}

/// No static id: diesel then keys its cache by the SQL text.
impl QueryId for Prepared<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared<'_> {
    type SqlType = Untyped;
}

impl<C> RunQueryDsl<C> for Prepared<'_> {}
