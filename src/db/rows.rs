//! Row shapes read back with `sql_query`.

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;

/// The current-version row of a logical resource.
#[derive(Debug, Clone, QueryableByName)]
pub struct CurrentRow {
    #[diesel(sql_type = BigInt)]
    pub rk: i64,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    #[diesel(sql_type = BigInt)]
    pub last_updated: i64,
    #[diesel(sql_type = BigInt)]
    pub deleted: i64,
}

/// One stored version with its content (None when it records a deletion).
#[derive(Debug, Clone, QueryableByName)]
pub struct VersionRow {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Text)]
    pub res_type: String,
    #[diesel(sql_type = Text)]
    pub res_id: String,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    #[diesel(sql_type = BigInt)]
    pub last_updated: i64,
    #[diesel(sql_type = Text)]
    pub method: String,
    #[diesel(sql_type = BigInt)]
    pub deleted: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub content: Option<String>,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct CountRow {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct KeyRow {
    #[diesel(sql_type = BigInt)]
    pub rk: i64,
}
