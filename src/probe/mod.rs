//! `idemlab probe`: the same faults and the same oracle against a live HTTP service.
//!
//! idemlab is the client and the payment provider. The client plays the scenario's workload
//! (operations, clients, key policy, retry policy) against the service over real HTTP on
//! loopback, in real time, and applies the fault plan on its own side of the wire, keyed by
//! identity as in the simulator: a lost request is never sent; a lost response is read and
//! thrown away (the service applied it, the client never heard: the fault no proxy models); a
//! duplicate is sent twice; a delay waits. The provider is a small HTTP server the service
//! calls (`POST /charge`); every charge is an effect in the ledger, attributed to its operation
//! by the reference the service passes along, and the plan can stall a call (the way a race is
//! made on a real service), answer 503, or crash the service just before or after the charge.
//! With `--serve`, idemlab starts the service itself and crashes it with SIGKILL, then starts it
//! again after the scenario's restart delay: its database survives, its memory does not.
//!
//! The run becomes a [`Run`] like a simulated one, and [`crate::oracle::measure`] judges it: the
//! same code. Real time is not deterministic; the plan is, and the report prints it.
//!
//! Behind the `probe` feature: it needs tokio, hyper and (for the reference service)
//! tokio-postgres, which a learner's first build should not pay for.

mod charges;
mod client;
mod conformance;
mod crash;
pub mod http;
mod live;
mod matrix;
pub mod postgres;
mod provider;
pub mod service;
mod stripe;
mod stripe_state;
mod wire;

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fate::Fates;
use crate::fault::{FaultAtom, FaultPlan};
use crate::settings::Scenario;
use crate::trace::{Detail, EventKind, Node, Outcome, Trace};
use crate::vocab::{EffectKind, StepKind};
use crate::world::{LedgerEntry, OpRecord, Responses, Run};

pub use conformance::{Rule, RuleResult, Verdict, conformance};
pub use live::RawAnswer;
pub use matrix::{Timings, live_matrix};
pub use postgres::Postgres;

/// Why a probe could not run. All are the user's to fix (exit 2), but an interruption.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Bad input: a target that cannot be reached or does not speak HTTP, a body template that
    /// is not JSON, a fault the live side cannot inject, a port in use.
    #[error("{0}")]
    Input(String),
    /// Something of the probe's own could not be set up (a port, PostgreSQL, the runtime).
    #[error("{0}")]
    Setup(String),
    /// The service did not behave: it died on its own, or did not do the workload right
    /// without any fault (the baseline). Never a verdict: the report says what was seen.
    #[error("{0}")]
    Service(String),
    /// A signal stopped it; everything it started was stopped too.
    #[error("interrupted: the live run was stopped and everything it started with it")]
    Interrupted,
}

/// The shape of the service's API and how to reach it.
#[derive(Clone, Debug)]
pub struct ProbeConfig {
    /// The service's address, `http://127.0.0.1:8080`; with `serve`, taken from the port the
    /// probe gives it.
    pub target: Option<String>,
    /// A command that starts the service (`PORT`, `PROVIDER_URL`, `DATABASE_URL` and
    /// `KEY_TTL_MS` in its environment); the probe crashes and restarts it.
    pub serve: Option<String>,
    /// Where the fake provider listens (`127.0.0.1:0`: a free port).
    pub provider: String,
    /// The database the service is given as `DATABASE_URL`.
    pub database_url: Option<String>,
    /// The request's method.
    pub method: String,
    /// The request's path.
    pub path: String,
    /// The idempotency key's header.
    pub header: String,
    /// The JSON body, with `{amount}`, `{reference}`, `{op}`, `{item}`, `{version}`, `{key}`.
    pub body: String,
    /// The field of the provider call that carries the operation's reference.
    pub reference_field: String,
    /// A URL that lists the effects the service keeps itself (`[{reference, kind, amount}]`),
    /// read when the run ends; a path alone (`/effects`) is on the service.
    pub effects: Option<String>,
    /// The name the report gives the service.
    pub name: String,
    /// Where the service's output goes with `serve` (default: a file in the temporary
    /// directory, named in the report).
    pub service_log: Option<std::path::PathBuf>,
    /// A query over the service's database (`database_url`) that lists its effects when the
    /// run ends: `SELECT reference, amount FROM orders`, an optional third column the kind.
    pub effects_sql: Option<String>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            target: None,
            serve: None,
            provider: "127.0.0.1:0".to_string(),
            database_url: None,
            method: "POST".to_string(),
            path: "/payments".to_string(),
            header: "Idempotency-Key".to_string(),
            body: r#"{"amount": {amount}, "reference": "{reference}"}"#.to_string(),
            reference_field: "reference".to_string(),
            effects: None,
            name: "service".to_string(),
            service_log: None,
            effects_sql: None,
        }
    }
}

/// A live run: measured like a simulated one.
pub struct LiveRun {
    /// The run, for [`crate::oracle::measure`], with the trace of what the probe saw.
    pub run: Run,
    /// The plan it applied (the scenario's faults and the extra ones).
    pub plan: FaultPlan,
    /// The prefix of this run's keys and references, so that runs never share them.
    pub run_id: String,
    /// How many times the service was started (1 + its crashes), with `--serve`.
    pub starts: u32,
    /// Wall-clock time the run took.
    pub wall: Duration,
    /// Every answer of the service, per operation, byte for byte.
    pub answers: Vec<Vec<RawAnswer>>,
    /// Requests sent (copies included).
    pub sent: u64,
    /// Requests the service answered.
    pub answered: u64,
    /// Calls the fake provider refused, by reason (a reference that names no operation, an
    /// amount that is not a whole number, ...): none is an effect.
    pub rejected: BTreeMap<String, u64>,
    /// Where the service's output went, with `serve`.
    pub service_log: Option<std::path::PathBuf>,
    /// How long the service took to accept connections when it was started, with `serve`.
    pub ready_after: Option<Duration>,
}

/// A short id, different for every run of this process and every process.
pub(crate) fn run_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "r{:x}{:x}{n}",
        std::process::id() % 0x10000,
        nanos % 0x100000
    )
}

/// The body template with sample values must be JSON: checked before anything starts.
fn check_template(config: &ProbeConfig) -> Result<(), ProbeError> {
    let sample = config
        .body
        .replace("{amount}", "100")
        .replace("{reference}", "ref")
        .replace("{op}", "1")
        .replace("{item}", "1")
        .replace("{version}", "1")
        .replace("{key}", "key");
    serde_json::from_str::<serde_json::Value>(&sample)
        .map(|_| ())
        .map_err(|e| {
            ProbeError::Input(format!(
                "--body is not JSON once its fields are filled in ({e}): {sample}"
            ))
        })
}

/// Which faults the live side can inject: on the wire (drop, duplicate, delay, partition),
/// at the provider (stall, 503) and around its calls (crash before or after the charge, or at
/// a time). A step inside the service cannot be seen from outside.
fn check_plan(plan: &FaultPlan, serving: bool) -> Result<(), ProbeError> {
    for atom in &plan.atoms {
        let crash = match atom {
            FaultAtom::CrashAtStep { step, .. } if *step != StepKind::Charge => {
                return Err(ProbeError::Input(format!(
                    "`{atom}`: a live service can be crashed only around its calls to the provider (before or after `charge`), or at a time"
                )));
            }
            FaultAtom::Slow { step, .. } if *step != StepKind::Charge => {
                return Err(ProbeError::Input(format!(
                    "`{atom}`: a live service can be stalled only in its calls to the provider (`charge`)"
                )));
            }
            FaultAtom::CrashAtStep { .. } | FaultAtom::CrashAt { .. } => true,
            _ => false,
        };
        if crash && !serving {
            return Err(ProbeError::Input(format!(
                "`{atom}`: crashing the service needs --serve, so that idemlab can kill it and start it again"
            )));
        }
    }
    Ok(())
}

fn resolve(target: &str) -> Result<SocketAddr, ProbeError> {
    let rest = target.strip_prefix("http://").ok_or_else(|| {
        ProbeError::Input(format!("--target {target}: expected http://HOST:PORT"))
    })?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ProbeError::Input(format!("--target {target}: cannot resolve {hostport}")))
}

/// Checks everything about a probe that can be checked before anything starts: the body
/// template, the request's shape, how the service reaches the provider, the faults the live
/// side can inject. The plan to apply (the scenario's faults and `extra`) when all is well.
pub fn check(
    scenario: &Scenario,
    extra: &FaultPlan,
    config: &ProbeConfig,
) -> Result<FaultPlan, ProbeError> {
    check_template(config)?;
    http::check_shape(&config.method, &config.path, &config.header).map_err(ProbeError::Input)?;
    if config.target.is_some() && config.serve.is_none() && config.provider.ends_with(":0") {
        return Err(ProbeError::Input(format!(
            "--target without --serve: the service at {} must call idemlab's fake provider, whose \
             address it cannot learn by itself. Give the provider a fixed address, \
             `--provider 127.0.0.1:PORT`, and start the service with PROVIDER_URL=http://127.0.0.1:PORT; \
             or let idemlab start the service with --serve \"CMD\" (it gets PROVIDER_URL)",
            config.target.as_deref().unwrap_or_default()
        )));
    }
    let mut plan = scenario.faults.clone();
    plan.atoms.extend(extra.atoms.iter().copied());
    check_plan(&plan, config.serve.is_some())?;
    Ok(plan)
}

/// Plays `scenario` (its faults plus `extra`) against the live service described by `config`.
pub fn probe(
    scenario: &Scenario,
    extra: &FaultPlan,
    config: &ProbeConfig,
) -> Result<LiveRun, ProbeError> {
    let plan = check(scenario, extra, config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ProbeError::Setup(format!("cannot start the runtime: {e}")))?;
    let started = Instant::now();
    let result = runtime.block_on(probe_async(scenario, plan, config));
    // Exchanges still waiting on a silent service end with the runtime.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result.map(|mut r| {
        r.wall = started.elapsed();
        r
    })
}

async fn probe_async(
    scenario: &Scenario,
    plan: FaultPlan,
    config: &ProbeConfig,
) -> Result<LiveRun, ProbeError> {
    let listener = tokio::net::TcpListener::bind(config.provider.as_str())
        .await
        .map_err(|e| {
            ProbeError::Input(format!(
                "--provider {}: cannot listen: {e}",
                config.provider
            ))
        })?;
    let provider_addr = listener
        .local_addr()
        .map_err(|e| ProbeError::Setup(e.to_string()))?;
    let run_id = run_id();
    let served = match &config.serve {
        Some(cmd) => {
            let mut env = vec![(
                "PROVIDER_URL".to_string(),
                format!("http://{provider_addr}"),
            )];
            if let Some(db) = &config.database_url {
                env.push(("DATABASE_URL".to_string(), db.clone()));
            }
            if let Some(ttl) = scenario.server.key_ttl {
                env.push(("KEY_TTL_MS".to_string(), (ttl.0 / 1_000).max(1).to_string()));
            }
            let cmd = cmd.clone();
            let log = config.service_log.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("idemlab-service-{run_id}.log"))
            });
            let served =
                tokio::task::spawn_blocking(move || service::Served::start(&cmd, None, env, log))
                    .await
                    .map_err(|e| ProbeError::Setup(e.to_string()))??;
            Some(Arc::new(served))
        }
        None => None,
    };
    let target = match (&config.target, &served) {
        (Some(t), _) => resolve(t)?,
        (None, Some(s)) => SocketAddr::from(([127, 0, 0, 1], s.port)),
        (None, None) => {
            return Err(ProbeError::Input(
                "give --target http://HOST:PORT, or --serve \"CMD\" to start the service"
                    .to_string(),
            ));
        }
    };
    if tokio::net::TcpStream::connect(target).await.is_err() {
        return Err(ProbeError::Input(format!(
            "cannot reach the service at {target}: nothing accepts connections there"
        )));
    }
    let ops: Vec<live::LiveOp> = (1..=scenario.workload.ops)
        .map(|op| live::LiveOp {
            op,
            client: ((op - 1) % u32::from(scenario.workload.clients)) as u16,
            amount: scenario.workload.amount_of(op),
            start_us: 0,
            end_us: None,
            attempts: crate::world::client::Attempts::new(&scenario.retry),
            received: Vec::new(),
            open: Vec::new(),
            pending: None,
            wake: Arc::new(tokio::sync::Notify::new()),
            raw: Vec::new(),
        })
        .collect();
    let shared = Arc::new(live::Shared {
        live: Mutex::new(live::Live {
            t0: Instant::now(),
            ops,
            trace: Vec::new(),
            ledger: Vec::new(),
            timeouts: 0,
            delivered: 0,
            provider_calls: 0,
            provider_keys: BTreeMap::new(),
            receipts: 0,
            calls: BTreeMap::new(),
            garbage: None,
            answered: 0,
            sent: 0,
            fired: vec![false; plan.atoms.len()],
            rejected: BTreeMap::new(),
            died: None,
        }),
        plan: plan.clone(),
        scenario: scenario.clone(),
        config: config.clone(),
        fates: Fates::new(scenario.seed),
        target,
        served: served.clone(),
        run_id: run_id.clone(),
        key_policy: scenario.retry.key,
        stripe: Mutex::new(stripe_state::State::default()),
    });
    let provider = tokio::spawn(provider::provider(Arc::clone(&shared), listener));
    // A service that ends on its own is a death, not a verdict: watched for the whole run.
    let watcher = served.as_ref().map(|s| {
        let served = Arc::clone(s);
        let task = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(25)).await;
                if let Some(status) = served.exited() {
                    let mut live = task.lock();
                    let at = live.now_us();
                    live.died = Some(format!(
                        "the service died on its own ({status}) {} into the run, after {} request(s): a death, not a verdict{}",
                        crate::time::SimDuration(at),
                        live.sent,
                        served.tail()
                    ));
                    return;
                }
            }
        })
    });
    // Crashes at a time.
    for atom in &plan.atoms {
        if let FaultAtom::CrashAt { at, .. } = *atom {
            let task = Arc::clone(&shared);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_micros(at.0)).await;
                task.lock().trace.push(crate::trace::TraceEvent {
                    time_us: at.0,
                    op: crate::trace::NO_OP,
                    attempt: 0,
                    copy: 0,
                    kind: EventKind::Crash,
                    node: Node::Server(0),
                    key: None,
                    detail: Detail::Crash(crate::trace::CrashCause::At),
                });
                crash::crash_and_restart(&task);
            });
        }
    }
    // Each client runs its operations one after another.
    let clients = usize::from(scenario.workload.clients);
    let mut handles = Vec::new();
    for c in 0..clients {
        let task = Arc::clone(&shared);
        let interval = scenario.workload.interval;
        let total = scenario.workload.ops;
        handles.push(tokio::spawn(async move {
            let mut op = c as u32 + 1;
            while op <= total {
                client::run_op(Arc::clone(&task), op).await;
                op += clients as u32;
                if interval.0 > 0 {
                    tokio::time::sleep(Duration::from_micros(interval.0)).await;
                }
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    // Late answers and charges still on their way: wait for the open exchanges a moment.
    let grace_until = Instant::now() + Duration::from_millis(1_000);
    while Instant::now() < grace_until
        && !client::stopping(&shared)
        && shared.lock().ops.iter().any(|o| !o.open.is_empty())
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let interrupted = crate::signals::watch().raised();
    let mut ledger_extra = Vec::new();
    if let (Some(url), false) = (&config.effects, interrupted) {
        ledger_extra = read_effects(&shared, url).await?;
    }
    if let (Some(sql), false) = (&config.effects_sql, interrupted) {
        ledger_extra.extend(read_effects_sql(&shared, sql).await?);
    }
    provider.abort();
    if let Some(w) = watcher {
        w.abort();
    }
    let starts = served.as_ref().map_or(0, |s| s.starts());
    let service_log = served.as_ref().map(|s| s.log().to_path_buf());
    let ready_after = served.as_ref().map(|s| s.ready_after());
    if let Some(s) = &served {
        s.close();
    }
    drop(served);
    if interrupted {
        return Err(ProbeError::Interrupted);
    }
    let live = shared.lock();
    if let Some(death) = &live.died {
        return Err(ProbeError::Service(death.clone()));
    }
    if let Some(what) = &live.garbage {
        return Err(ProbeError::Input(format!(
            "the service at {target} does not answer HTTP/1.1: {what}"
        )));
    }
    if live.sent > 0 && live.answered == 0 && live.provider_calls == 0 {
        return Err(ProbeError::Input(format!(
            "the service at {target} accepted {} request(s) and answered none: is it hanging?",
            live.sent
        )));
    }
    let mut ledger = live.ledger.clone();
    ledger.extend(ledger_extra);
    ledger.sort_by_key(|e| e.time_us);
    let mut trace = Trace::default();
    for e in &live.trace {
        trace.push(*e);
    }
    let end_us = live.trace.last().map_or(0, |e| e.time_us);
    let ops = live
        .ops
        .iter()
        .map(|o| {
            let finals: Vec<_> = o
                .received
                .iter()
                .filter(|r| !r.response.is_retryable())
                .map(|r| r.response)
                .collect();
            OpRecord {
                op: o.op,
                amount: o.amount,
                start_us: o.start_us,
                end_us: o.end_us,
                outcome: o.attempts.outcome.unwrap_or(Outcome::Unfinished),
                attempts: o.attempts.attempt,
                received: o.received.iter().copied().collect::<Responses>(),
                server_first_answer: finals.first().copied(),
                answers_differ: finals.windows(2).any(|w| w[0] != w[1]),
            }
        })
        .collect();
    let logged = live.trace.len() as u64;
    let run = Run {
        design: config.name.clone(),
        seed: scenario.seed,
        trace,
        logged,
        timeouts: live.timeouts,
        ledger,
        ops,
        delivered: live.delivered,
        durable: BTreeMap::new(),
        stopped: None,
        end_us,
        events: logged,
        safe: false,
        exploration: None,
        final_missing: Vec::new(),
        provider_calls: live.provider_calls,
    };
    let answers = live.ops.iter().map(|o| o.raw.clone()).collect();
    Ok(LiveRun {
        run,
        plan,
        run_id,
        starts,
        wall: Duration::ZERO,
        answers,
        sent: live.sent,
        answered: live.answered,
        rejected: live.rejected.clone(),
        service_log,
        ready_after,
    })
}

/// The service's own effects, read from its database (`--effects-sql`): each row's first column
/// the reference, its second the amount (any integer type, or text), an optional third the
/// kind (`order`, `charge`, `write`, `increment`, `delete`; `order` when absent). Rows of other
/// runs' references are not this run's, and are left out.
async fn read_effects_sql(
    shared: &live::Shared,
    sql: &str,
) -> Result<Vec<LedgerEntry>, ProbeError> {
    let url = shared.config.database_url.as_deref().ok_or_else(|| {
        ProbeError::Input(
            "--effects-sql reads the service's database: give --postgres or --database-url"
                .to_string(),
        )
    })?;
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| ProbeError::Setup(format!("--effects-sql: cannot connect to {url}: {e}")))?;
    let driver = tokio::spawn(connection);
    let rows = client
        .simple_query(sql)
        .await
        .map_err(|e| ProbeError::Input(format!("--effects-sql {sql:?}: {e}")))?;
    driver.abort();
    let prefix = format!("{}-op", shared.run_id);
    let ops = shared.scenario.workload.ops;
    let now = shared.lock().now_us();
    let mut out = Vec::new();
    for row in rows {
        let tokio_postgres::SimpleQueryMessage::Row(row) = row else {
            continue;
        };
        if row.len() < 2 {
            return Err(ProbeError::Input(format!(
                "--effects-sql {sql:?}: a row needs the reference and the amount, got {} column(s)",
                row.len()
            )));
        }
        // `try_get`: `get` panics on a column the row does not have.
        let column = |i: usize| row.try_get(i).ok().flatten();
        let Some(op) = column(0)
            .and_then(|r| r.strip_prefix(&prefix))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|op| (1..=ops).contains(op))
        else {
            continue;
        };
        let amount = column(1).unwrap_or("0");
        let amount: u64 = amount.trim().parse().map_err(|_| {
            ProbeError::Input(format!(
                "--effects-sql {sql:?}: the amount {amount:?} is not a whole number"
            ))
        })?;
        let kind = match column(2) {
            Some("charge") => EffectKind::Charge,
            Some("write") => EffectKind::Write,
            Some("increment") => EffectKind::Increment,
            Some("delete") => EffectKind::Delete,
            _ => EffectKind::Order,
        };
        out.push(LedgerEntry {
            time_us: now,
            op,
            kind,
            amount,
        });
    }
    Ok(out)
}

/// The service's own effects (`--effects URL`): `[{"reference": …, "kind": "order", "amount":
/// …}]`, the ones of this run's operations.
async fn read_effects(shared: &live::Shared, url: &str) -> Result<Vec<LedgerEntry>, ProbeError> {
    // A path alone is on the service itself.
    let (addr, path) = if url.starts_with('/') {
        (shared.target, url.to_string())
    } else {
        let path = url
            .strip_prefix("http://")
            .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
            .unwrap_or_else(|| "/".to_string());
        (resolve(url)?, path)
    };
    let request = http::Outgoing {
        method: "GET".to_string(),
        path,
        headers: Vec::new(),
        body: String::new(),
    };
    // A service that restarted after a crash may need a moment.
    let mut answer = None;
    for _ in 0..50 {
        if let Ok(a) = http::exchange(addr, &request, Duration::from_secs(5)).await {
            answer = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) =
        answer.ok_or_else(|| ProbeError::Input(format!("--effects {url}: no answer")))?;
    if status != 200 {
        return Err(ProbeError::Input(format!(
            "--effects {url}: answered {status}"
        )));
    }
    let list: Vec<serde_json::Value> = serde_json::from_slice(&body)
        .map_err(|e| ProbeError::Input(format!("--effects {url}: not a JSON list: {e}")))?;
    let prefix = format!("{}-op", shared.run_id);
    let now = shared.lock().now_us();
    Ok(list
        .iter()
        .filter_map(|e| {
            let op: u32 = e
                .get("reference")?
                .as_str()?
                .strip_prefix(&prefix)?
                .parse()
                .ok()?;
            let kind = match e.get("kind").and_then(|k| k.as_str()) {
                Some("charge") => EffectKind::Charge,
                Some("write") => EffectKind::Write,
                Some("increment") => EffectKind::Increment,
                Some("delete") => EffectKind::Delete,
                _ => EffectKind::Order,
            };
            Some(LedgerEntry {
                time_us: now,
                op,
                kind,
                amount: e.get("amount").and_then(|a| a.as_u64()).unwrap_or(0),
            })
        })
        .collect())
}

/// What the service did with the workload and no fault at all, before any verdict: the check
/// that it does the work (a service that answers 400 to everything must not score "exactly
/// once"), and the warm-up whose timings the matrix scales its classes by.
#[derive(Clone, Debug)]
pub struct Baseline {
    /// The slowest answer of the warm run (its 99th percentile), from send to answer.
    pub latency_p99: Duration,
    /// How long the service took to accept connections when it was started (`--serve`).
    pub ready_after: Option<Duration>,
    /// Operations in the whole clean run.
    pub ops: u32,
}

/// `scenario`'s workload with no fault at all: no plan, no random loss, duplicate or 503, and a
/// key of its own for every operation (a workload that reuses keys on purpose is not clean).
pub fn clean(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    s.faults = FaultPlan::default();
    s.expect.clear();
    s.network.loss_request = 0.0;
    s.network.loss_response = 0.0;
    s.network.duplicate = 0.0;
    s.external.unavailable = 0.0;
    s.retry.key = crate::settings::KeyPolicy::PerOperation;
    for p in s.workload.payloads.values_mut() {
        p.key_of = None;
    }
    // Whether the service does the work, not how fast: a generous timeout, so that a slow
    // answer is not retried (and duplicated by a service without a key) before it comes.
    s.retry.timeout = s.retry.timeout.max(BASELINE_TIMEOUT);
    s
}

/// The client's timeout in the baseline's runs.
const BASELINE_TIMEOUT: crate::time::SimDuration = crate::time::SimDuration(10_000_000);

/// The timeout of the baseline's first, cold operation.
const BASELINE_COLD_TIMEOUT: crate::time::SimDuration = crate::time::SimDuration(5_000_000);

/// Runs one operation of `scenario`'s clean workload (see [`clean`]) against the freshly
/// started service, then the whole clean workload, and checks that each is the ideal: every operation told success, applied once, no
/// provider call refused. Anything else is the service's failure to behave, said in full
/// (statuses, refused calls and why, the effects seen), never a verdict.
pub fn baseline(scenario: &Scenario, config: &ProbeConfig) -> Result<Baseline, ProbeError> {
    let clean = clean(scenario);
    // First one operation, one attempt, against the freshly started service: a service that
    // hangs or refuses is told in seconds, not after the whole workload's timeouts.
    let mut cold = clean.clone();
    cold.workload.ops = 1;
    cold.workload.clients = 1;
    cold.retry.attempts_max = 1;
    cold.retry.timeout = BASELINE_COLD_TIMEOUT;
    let mut ready_after = None;
    let mut warm = Duration::ZERO;
    for (round, clean) in [&cold, &clean].into_iter().enumerate() {
        let live = probe(clean, &FaultPlan::default(), config)?;
        if round == 0 {
            ready_after = live.ready_after;
        }
        let m = crate::oracle::measure(&live.run);
        let ops = u64::from(clean.workload.ops);
        let ideal = m.succeeded == ops
            && m.effects == ops
            && m.duplicates == 0
            && m.lost == 0
            && live.rejected.is_empty();
        if !ideal {
            return Err(ProbeError::Service(baseline_failure(clean, &live, &m)));
        }
        let mut latencies: Vec<u64> = live
            .run
            .ops
            .iter()
            .filter_map(|o| o.end_us.map(|e| e.saturating_sub(o.start_us)))
            .collect();
        latencies.sort_unstable();
        let p99 = latencies
            .get((latencies.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or(0);
        warm = Duration::from_micros(p99);
    }
    Ok(Baseline {
        latency_p99: warm,
        ready_after,
        ops: clean.workload.ops,
    })
}

/// What a clean run that was not the ideal showed, in words.
fn baseline_failure(clean: &Scenario, live: &LiveRun, m: &crate::oracle::Metrics) -> String {
    use std::fmt::Write as _;
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for answers in &live.answers {
        for a in answers {
            *statuses.entry(a.status).or_insert(0) += 1;
        }
    }
    let statuses = if statuses.is_empty() {
        "no answer at all".to_string()
    } else {
        statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = format!(
        "the service does not do the workload right without any fault, so no verdict on it would mean anything (exit 2, before any fault):\n  {} operation(s), a key each, no fault, a {} timeout: {} told success, {} in doubt; {} application(s) of them ({} beyond one each); answers: {statuses}",
        clean.workload.ops, clean.retry.timeout, m.succeeded, m.in_doubt, m.effects, m.duplicates,
    );
    if let Some(example) = live
        .answers
        .iter()
        .flatten()
        .find(|a| !(200..300).contains(&a.status))
    {
        let body = String::from_utf8_lossy(&example.body);
        let body: String = body.chars().take(160).collect();
        let _ = write!(text, "\n  e.g. {} {}", example.status, body.trim());
    }
    let _ = write!(
        text,
        "\n  provider calls: {} received, {} refused",
        live.run.provider_calls,
        live.rejected.values().sum::<u64>()
    );
    for (why, n) in &live.rejected {
        let _ = write!(text, "\n    {n}× {why}");
    }
    if live.run.provider_calls == 0 && live.run.ledger.is_empty() {
        let _ = write!(
            text,
            "\n  no call reached the provider and no effect was listed: does the service call PROVIDER_URL/charge with `amount` and the reference, or list its effects (--effects)?"
        );
    }
    if let Some(log) = &live.service_log {
        let _ = write!(text, "\n  the service's output: {}", log.display());
    }
    text
}

/// The scenario whose clean workload is the baseline of `--matrix` and `--conformance`: their
/// classes' base (one client, a key per operation), with `template`'s seed, three operations.
pub fn matrix_template(template: &Scenario) -> Scenario {
    let mut s = matrix::base(template, &Timings::SIMULATED);
    s.workload.ops = 3;
    s
}
