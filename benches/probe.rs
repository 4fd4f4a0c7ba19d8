//! `cargo bench --features probe --bench probe`: how fast `idemlab probe` drives a live service
//! on loopback, and what the probe itself costs per request.
//!
//! - operations per second against the reference service (`shop`, `key-in-transaction`, on a
//!   throwaway PostgreSQL): one client, then four, no faults, each operation one request, one
//!   provider call and one transaction;
//! - the probe's own overhead per request: the same workload against a service that answers
//!   `201` at once (a hyper server in this process), minus a bare loop of the same exchanges
//!   (one connection per request, as the probe makes them) against the same server. What is
//!   left is the probe's bookkeeping: the client's state machine, the trace, the tasks.
//!
//! Wall-clock figures, medians of five runs; they drift with the machine's load.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use idemlab::fault::FaultPlan;
use idemlab::probe::{self, Postgres, ProbeConfig};

const SHOP: &str = env!("CARGO_BIN_EXE_shop");

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn workload(ops: u32, clients: u32) -> idemlab::scenario::Scenario {
    let text = format!(
        r#"
name = "probe-bench"
seed = 1
designs = ["key-in-transaction"]
[workload]
ops = {ops}
clients = {clients}
interval = "0ms"
[client.retry]
timeout = "5s"
attempts_max = 1
[network]
latency = "0ms"
[provider]
latency = "0ms"
"#
    );
    idemlab::scenario::parse(&text, "probe-bench").expect("a valid scenario")
}

/// A service that answers every request `201 {"order": 1}` at once, on its own runtime.
fn null_service() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        let mut r = hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from_static(b"{\"order\":1}"),
                        ));
                        *r.status_mut() = hyper::StatusCode::CREATED;
                        Ok::<_, std::convert::Infallible>(r)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// `n` bare exchanges, one after another, each on a new connection, with the probe's own
/// transport (`probe::http::exchange`) in a task as the probe's clients are: seconds per
/// request.
fn bare_loop(addr: SocketAddr, n: u32) -> f64 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        tokio::spawn(async move {
            let started = Instant::now();
            for i in 0..n {
                let request = probe::http::Outgoing {
                    method: "POST".to_string(),
                    path: "/payments".to_string(),
                    headers: vec![("Idempotency-Key".to_string(), format!("k{i}"))],
                    body: format!("{{\"amount\": 100, \"reference\": \"r{i}\"}}"),
                };
                probe::http::exchange(addr, &request, Duration::from_secs(5))
                    .await
                    .expect("the null service answers");
            }
            started.elapsed().as_secs_f64() / f64::from(n)
        })
        .await
        .unwrap()
    })
}

/// Operations per second of a probe of `scenario` against `config`'s service.
fn probe_rate(scenario: &idemlab::scenario::Scenario, config: &ProbeConfig) -> (f64, u64) {
    let live = probe::probe(scenario, &FaultPlan::default(), config).expect("the probe runs");
    // From the first request to the last answer: the service's start is not counted.
    let secs = live.run.end_us as f64 / 1e6;
    let m = idemlab::oracle::measure(&live.run);
    assert_eq!(
        m.succeeded,
        u64::from(scenario.workload.ops),
        "every payment succeeded"
    );
    assert_eq!(m.duplicates, 0);
    (f64::from(scenario.workload.ops) / secs, live.sent)
}

fn main() {
    let quick = std::env::var_os("IDEMLAB_BENCH_QUICK").is_some();
    let ops = if quick { 200 } else { 1_000 };

    // The probe's overhead.
    let null = null_service();
    // A service idemlab does not start is told the provider's address: a fixed port.
    let provider = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let config = ProbeConfig {
        target: Some(format!("http://{null}")),
        provider,
        name: "null".to_string(),
        ..ProbeConfig::default()
    };
    let bare: Vec<f64> = (0..5).map(|_| bare_loop(null, ops)).collect();
    let probed: Vec<f64> = (0..5)
        .map(|_| 1.0 / probe_rate(&workload(ops, 1), &config).0)
        .collect();
    let (bare, probed) = (median(bare), median(probed));
    println!(
        "null service, 1 client, {ops} requests: bare loop {:.1} µs/request, probe {:.1} µs/request, the probe's own overhead {:.1} µs/request",
        bare * 1e6,
        probed * 1e6,
        (probed - bare) * 1e6
    );

    // The reference service on PostgreSQL.
    let pg = Postgres::start().expect("PostgreSQL's initdb and pg_ctl are installed");
    for clients in [1, 4] {
        let config = ProbeConfig {
            serve: Some(format!("{SHOP} --design key-in-transaction")),
            database_url: Some(pg.url()),
            name: "shop".to_string(),
            ..ProbeConfig::default()
        };
        let rates: Vec<f64> = (0..5)
            .map(|_| probe_rate(&workload(ops, clients), &config).0)
            .collect();
        println!(
            "shop key-in-transaction on PostgreSQL, {clients} client{}, {ops} operations: {:.0} operations/s (median of 5, from the first request to the last answer)",
            if clients == 1 { "" } else { "s" },
            median(rates)
        );
    }
    std::thread::sleep(Duration::from_millis(10));
}
