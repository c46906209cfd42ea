//! PostgreSQL planner statistics refreshed while a new store fills (the server's own
//! ANALYZE, before autovacuum's): the first once a thousand versions are written, the next once
//! the resources table has grown fourfold. PostgreSQL only: SQLite keeps no generic plans
//! made from statistics, and chartroom runs no ANALYZE of its own there during writes.

use crate::helpers::{spawn_without_rules, Backend, TestApp};
use diesel::pg::PgConnection;
use diesel::sql_types::BigInt;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(QueryableByName)]
struct Analyzed {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many times `resources` was analyzed by hand (not by autovacuum).
fn analyze_count(app: &TestApp) -> i64 {
    let mut conn = PgConnection::establish(&app.database_url).expect("open postgres");
    diesel::sql_query(
        "SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relid = 'resources'::regclass",
    )
    .get_result::<Analyzed>(&mut conn)
    .expect("statistics of resources")
    .n
}

/// Waits up to 30 s for `resources` to have been analyzed `n` times by hand.
fn wait_for_analyzes(app: &TestApp, n: i64) -> i64 {
    let started = Instant::now();
    loop {
        let count = analyze_count(app);
        if count >= n || started.elapsed() > Duration::from_secs(30) {
            return count;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn post_basics(app: &TestApp, n: usize) {
    let entries: Vec<Value> = (0..n)
        .map(|i| {
            json!({"resource": {"resourceType": "Basic", "code": {"text": format!("item {i}")}},
                   "request": {"method": "POST", "url": "Basic"}})
        })
        .collect();
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let response = app.post("", &bundle).send().expect("send");
    assert_eq!(
        response.status().as_u16(),
        200,
        "{}",
        response.text().unwrap()
    );
}

#[test]
fn postgres_statistics_refreshed_as_the_store_grows() {
    let app = spawn_without_rules(Backend::Postgres);
    // autovacuum's own ANALYZE would move the baseline of the fourfold rule mid-test
    app.execute_sql("ALTER TABLE resources SET (autovacuum_enabled = false)");
    // fewer versions than the check interval: not even looked at
    post_basics(&app, 300);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(analyze_count(&app), 0, "analyzed a store of 300 resources");
    // a thousand more: the never-analyzed table is refreshed in the background
    post_basics(&app, 1_000);
    assert_eq!(
        wait_for_analyzes(&app, 1),
        1,
        "no ANALYZE at 1,300 resources"
    );
    // grown by less than fourfold since: no second refresh
    post_basics(&app, 1_000);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(analyze_count(&app), 1, "analyzed again at 2,300 resources");
    // fourfold (and more): refreshed again
    for _ in 0..5 {
        post_basics(&app, 1_000);
    }
    assert_eq!(
        wait_for_analyzes(&app, 2),
        2,
        "no second ANALYZE at 7,300 resources"
    );
}
