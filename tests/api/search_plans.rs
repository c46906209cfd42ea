//! Plan shapes of the searches the benchmark found slow on PostgreSQL: on a store of bench
//! size (written by SQL, then ANALYZEd) the page queries of a sort on an indexed parameter
//! and of selective searches start from the index tables, never scan `resources` in full
//! and read about a page of its rows; the pages they return are the right ones.
//! `CHARTROOM_PRINT_PLANS=1` prints the `EXPLAIN ANALYZE` output.

use crate::both;
use crate::helpers::TestApp;
use chartroom::bench::explain::explain_analyze;
use chartroom::db::search_page::page;
use chartroom::db::{Conn, Db, DbOptions};
use chartroom::search::parse::{parse, Limits};
use diesel::sql_types::BigInt;
use diesel::QueryableByName;

const SEED: &str = include_str!("search_plans_seed.sql");

fn seeded(app: &TestApp) -> Db {
    app.execute_sql(SEED);
    let db = Db::connect(
        &app.database_url,
        &DbOptions {
            pool_size: 1,
            sqlite_synchronous: "NORMAL".into(),
        },
    )
    .expect("connect");
    db.analyze().expect("analyze");
    db
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = BigInt)]
    rk: i64,
}

/// Row keys of the first `n` pages of `query` (`_count` per page), following the cursors.
fn pages(conn: &mut Conn, query: &str, n: usize) -> Vec<i64> {
    let (res_type, params) = query.split_once('?').unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(params.as_bytes())
        .into_owned()
        .collect();
    let mut req = parse(&[res_type.to_string()], &pairs, &Limits::default()).unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        let mut rows = page(conn, &req, req.count + 1).unwrap();
        let more = rows.len() > req.count;
        rows.truncate(req.count);
        out.extend(rows.iter().map(|r| r.rk));
        match rows.last() {
            Some(last) if more => req.cursor = Some(last.cursor(req.sort.len())),
            _ => break,
        }
    }
    out
}

fn keys(conn: &mut Conn, sql: &str) -> Vec<i64> {
    conn.load::<Key>(&chartroom::db::sql::Sql::new(sql))
        .unwrap()
        .into_iter()
        .map(|k| k.rk)
        .collect()
}

/// `Execution Time: N ms` of an `EXPLAIN ANALYZE` (0 on SQLite).
fn execution_ms(lines: &[String]) -> f64 {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("Execution Time: "))
        .and_then(|t| t.trim_end_matches(" ms").parse().ok())
        .unwrap_or(0.0)
}

const SEARCHES: [&str; 12] = [
    "Observation?_sort=-date&_count=100",
    "Observation?code=http://loinc.org%7C4548-4",
    "Observation?date=ge2023-01-01&date=lt2023-07-01",
    "Condition?subject:Patient.birthdate=ge1980-01-01",
    "Observation?status=final",
    "Observation?code=http://loinc.org%7C4548-4&_sort=-date",
    "Observation?date=2020-03-05",
    "Patient?name=smi&_sort=birthdate",
    "Observation?subject=Patient/r59941&_sort=-date",
    // the count query of selective searches is driven by the index rows too
    "Observation?code=http://loinc.org%7C4548-4&_summary=count",
    "Observation?date=ge2023-01-01&date=lt2023-07-01&_summary=count",
    "Condition?subject:Patient.birthdate=ge1980-01-01&_summary=count",
];

both!(page_queries_start_from_the_index_tables, |app| {
    let db = seeded(&app);
    let mut conn = db.read().unwrap();
    let mut faults = Vec::new();
    for query in SEARCHES {
        let plan = explain_analyze(&mut conn, query).unwrap();
        let text = plan.lines.join("\n");
        if std::env::var_os("CHARTROOM_PRINT_PLANS").is_some() {
            let mut times: Vec<f64> = (0..7)
                .map(|_| execution_ms(&explain_analyze(&mut conn, query).unwrap().lines))
                .collect();
            times.sort_by(f64::total_cmp);
            let mut walls: Vec<f64> = (0..7)
                .map(|_| {
                    let start = std::time::Instant::now();
                    pages(&mut conn, query, 1);
                    start.elapsed().as_secs_f64() * 1000.0
                })
                .collect();
            walls.sort_by(f64::total_cmp);
            eprintln!(
                "{query} ({:?}, median of 7: EXPLAIN ANALYZE {:.3} ms, page() {:.3} ms):\n{text}\n",
                app.backend, times[3], walls[3]
            );
        }
        if !plan.full_scans.is_empty() {
            faults.push(format!("{query}: full scan of resources:\n{text}"));
        }
        // a page stops early; a count reads every match, so only its scan shape is checked
        match plan.resource_rows_read {
            Some(read) if read > 1_000 && !query.contains("_summary=count") => {
                faults.push(format!("{query}: read {read} resource rows:\n{text}"))
            }
            _ => {}
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n\n"));
});

/// A few Observations beyond the seed: two without a date, one with its date on two index
/// rows at the top, one with the same top date and a lower one.
const EDGES: &str = "
INSERT INTO resources (rk, res_type, res_id, version, last_updated, deleted) VALUES
  (60001, 'Observation', 'nodate1', 1, 0, 0),
  (60002, 'Observation', 'nodate2', 1, 0, 0),
  (60003, 'Observation', 'twice', 1, 0, 0),
  (60004, 'Observation', 'tied', 1, 0, 0);
INSERT INTO idx_date (rk, res_type, param, low, high) VALUES
  (60003, 'Observation', 'date', 1893456000000, 1893456000000),
  (60003, 'Observation', 'date', 1893456000000, 1893456000000),
  (60004, 'Observation', 'date', 1893456000000, 1893456000000),
  (60004, 'Observation', 'date', 1500000000000, 1500000000000);
";

both!(index_walk_pages_are_the_sorted_matches, |app| {
    let db = seeded(&app);
    app.execute_sql(EDGES);
    let mut conn = db.read().unwrap();
    let walked = pages(&mut conn, "Observation?_sort=-date&_count=1000", 100);
    let expected = keys(
        &mut conn,
        "SELECT rk FROM (SELECT r.rk AS rk, (SELECT MAX(o.high) FROM idx_date o WHERE o.rk = r.rk AND o.param = 'date') AS m FROM resources r WHERE r.res_type = 'Observation') s ORDER BY (m IS NULL), m DESC, rk",
    );
    assert_eq!(walked.len(), 29_004, "every Observation once");
    assert_eq!(&walked[..2], &[60003, 60004], "ties by row key, each once");
    assert_eq!(&walked[29_002..], &[60001, 60002], "no date: last");
    assert!(walked == expected, "the order of the per-row sort values");

    let ascending = pages(&mut conn, "Observation?_sort=date&_count=700", 100);
    assert_eq!(ascending.len(), 29_004);
    assert_eq!(
        &ascending[29_002..],
        &[60001, 60002],
        "no date: last either way"
    );

    for (query, oracle) in [
        (
            "Observation?code=http://loinc.org%7C4548-4&_count=40",
            "SELECT DISTINCT rk FROM idx_token WHERE param = 'code' AND code = '4548-4' ORDER BY rk",
        ),
        (
            "Observation?date=ge2023-01-01&date=lt2023-07-01&_count=200",
            "SELECT DISTINCT rk FROM idx_date WHERE res_type = 'Observation' AND param = 'date' AND high >= 1672531200000 AND rk IN (SELECT rk FROM idx_date WHERE param = 'date' AND low < 1688169600000) ORDER BY rk",
        ),
    ] {
        let found = pages(&mut conn, query, 100);
        assert!(found.len() > 100, "{query}: {} matches", found.len());
        let expected = keys(&mut conn, oracle);
        assert!(
            found == expected,
            "{query}: the matches in row-key order ({} found, {} expected, first {:?} / {:?})",
            found.len(),
            expected.len(),
            &found[..3],
            &expected[..3.min(expected.len())]
        );
    }
});
