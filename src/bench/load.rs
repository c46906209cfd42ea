//! The load driver: closed-loop workers, one thread and one keep-alive connection each,
//! issuing requests back to back for a fixed time (or until a work list is done), and the
//! latency statistics they produce.

use super::client::{Client, Reply};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Figures of one workload run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub connections: usize,
    pub seconds: f64,
    /// Calls completed (a call is one request unless the workload says otherwise).
    pub requests: u64,
    pub errors: u64,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
    pub req_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Workload-defined units (resources returned or written, bytes ...).
    pub items: u64,
    pub items_per_s: f64,
}

/// A per-connection step: issues one call on the client and returns how many items it
/// moved, or an error message.
pub type Step<'a> = Box<dyn FnMut(&mut Client) -> Result<u64, String> + 'a>;

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    requests: u64,
    errors: u64,
    items: u64,
    first_error: Option<String>,
}

impl Tally {
    fn record(&mut self, started: Instant, outcome: Result<u64, String>) {
        let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        self.latencies_us.push(us);
        self.requests += 1;
        match outcome {
            Ok(items) => self.items += items,
            Err(message) => {
                self.errors += 1;
                self.first_error.get_or_insert(message);
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.requests += other.requests;
        self.errors += other.errors;
        self.items += other.items;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn stats(mut self, connections: usize, elapsed: Duration) -> Stats {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| -> f64 {
            if self.latencies_us.is_empty() {
                return 0.0;
            }
            let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
            self.latencies_us[i] as f64 / 1000.0
        };
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Stats {
            connections,
            seconds,
            requests: self.requests,
            errors: self.errors,
            first_error: self.first_error.take(),
            req_per_s: self.requests as f64 / seconds,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: self
                .latencies_us
                .last()
                .map_or(0.0, |&us| us as f64 / 1000.0),
            items: self.items,
            items_per_s: self.items as f64 / seconds,
        }
    }
}

/// Runs `connections` workers for `duration`; `make(worker)` builds each worker's step.
pub fn run_for<'a, F>(addr: SocketAddr, connections: usize, duration: Duration, make: F) -> Stats
where
    F: Fn(usize) -> Step<'a> + Sync,
{
    let total = Mutex::new(Tally::default());
    let started = Instant::now();
    let deadline = started + duration;
    std::thread::scope(|scope| {
        for worker in 0..connections {
            let total = &total;
            let make = &make;
            scope.spawn(move || {
                let mut step = make(worker);
                let mut client = Client::new(addr);
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    let outcome = step(&mut client);
                    tally.record(t0, outcome);
                }
                if let Ok(mut total) = total.lock() {
                    total.merge(tally);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    total
        .into_inner()
        .unwrap_or_default()
        .stats(connections, elapsed)
}

/// Sends every request of `work` once over `connections` workers (shared queue); items are
/// request body bytes.
pub fn run_all(addr: SocketAddr, connections: usize, work: &[(String, &[u8])]) -> Stats {
    let next = AtomicUsize::new(0);
    let total = Mutex::new(Tally::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..connections {
            let (next, total) = (&next, &total);
            scope.spawn(move || {
                let mut client = Client::new(addr);
                let mut tally = Tally::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, body)) = work.get(i) else {
                        break;
                    };
                    let t0 = Instant::now();
                    let outcome = expect_ok(client.send("PUT", path, Some(body)), path)
                        .map(|_| body.len() as u64);
                    tally.record(t0, outcome);
                }
                if let Ok(mut total) = total.lock() {
                    total.merge(tally);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    total
        .into_inner()
        .unwrap_or_default()
        .stats(connections, elapsed)
}

/// A reply with a 2xx status, or a message naming the request.
pub fn expect_ok(reply: std::io::Result<Reply>, what: &str) -> Result<Reply, String> {
    match reply {
        Ok(r) if (200..300).contains(&r.status) => Ok(r),
        Ok(r) => Err(format!(
            "{what}: HTTP {} {}",
            r.status,
            String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
        )),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// A small deterministic generator so each worker picks its own sequence of ids.
pub struct Pick(u64);

impl Pick {
    pub fn new(seed: usize) -> Pick {
        Pick(0x9E37_79B9_7F4A_7C15 ^ (seed as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9))
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Times `call` back to back on this thread for `duration` (work that needs no HTTP).
pub fn measure(
    connections: usize,
    duration: Duration,
    mut call: impl FnMut() -> Result<u64, String>,
) -> Stats {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let t0 = Instant::now();
        let outcome = call();
        tally.record(t0, outcome);
    }
    tally.stats(connections, started.elapsed())
}
