//! `idemlab probe` against the reference service (`examples/shop`) on a real PostgreSQL: the
//! simulator's verdicts hold on the live service, cell by cell; the crash-after-charge window
//! shows on `process-payment` and not on `key-in-transaction`; the conformance of each design
//! with the Idempotency-Key draft is pinned; bad input is one line and exit 2; and nothing the
//! probe starts outlives it, Ctrl-C included.
//!
//! PostgreSQL's `initdb` and `pg_ctl` must be installed (`.ci/run` installs the distribution's
//! `postgresql` when they are absent): a test here fails, never skips, without them.
#![cfg(feature = "probe")]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use idemlab::probe::Postgres;

const SHOP: &str = env!("CARGO_BIN_EXE_shop");
const DESIGNS: [&str; 4] = [
    "naive",
    "process-payment",
    "check-then-act",
    "key-in-transaction",
];

fn postgres() -> Postgres {
    Postgres::start().unwrap_or_else(|e| {
        panic!("{e}: the live probe's tests need PostgreSQL (apt-get install postgresql)")
    })
}

fn serve(design: &str) -> String {
    format!("{SHOP} --design {design}")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The cells of `design`'s row in `idemlab matrix --format json` (or the probe's), by class.
fn cells(doc: &serde_json::Value, row: usize) -> BTreeMap<String, String> {
    doc["rows"][row]["cells"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// `idemlab probe --matrix --format json` on the shop's `design` against `pg`, its effects
/// read from `/effects`: (exit code, stdout, stderr).
fn live_matrix(design: &str, pg: &Postgres) -> (i32, String, String) {
    common::idemlab(
        &common::root(),
        &[
            "probe",
            "--matrix",
            "--serve",
            &serve(design),
            "--database-url",
            &pg.url(),
            "--effects",
            "/effects",
            "--format",
            "json",
        ],
    )
}

/// The live matrix row of the shop's `design` against `pg`, by class.
fn live_cells(design: &str, pg: &Postgres) -> BTreeMap<String, String> {
    let (code, live, err) = live_matrix(design, pg);
    assert_eq!(code, 0, "{design}: {err}");
    cells(&json(&live), 0)
}

/// The cells where a live service cannot agree with the simulator, and why. None is a cell
/// where the simulator finds a duplicate charge.
const CANNOT_AGREE: &[(&str, &str, &str)] = &[
    (
        "naive",
        "retry-after-expiry",
        "the simulator marks it n/a because naive has no key to expire; a live service cannot say it has none, so the probe plays the class, which for naive is a lost response again",
    ),
    (
        "naive",
        "payload-mismatch",
        "n/a in the simulator for the same reason; live, two payments with one key that naive ignores are two payments, each charged once",
    ),
];

#[test]
fn the_live_matrix_row_of_each_reference_design_equals_the_simulators() {
    let root = common::root();
    let pg = postgres();
    for design in DESIGNS {
        let (code, sim, err) =
            common::idemlab(&root, &["matrix", "--designs", design, "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let sim = cells(&json(&sim), 0);
        let live = live_cells(design, &pg);
        assert_eq!(sim.len(), 7);
        for (class, want) in &sim {
            let got = &live[class];
            match CANNOT_AGREE
                .iter()
                .find(|(d, c, _)| *d == design && c == class)
            {
                Some((_, _, why)) => {
                    assert_eq!(want, "n/a", "{design} × {class}: {why}");
                    assert_ne!(got, "n/a", "{design} × {class}: the live probe plays it");
                }
                None => assert_eq!(
                    got, want,
                    "{design} × {class}: live {got}, simulated {want}"
                ),
            }
        }
    }
    // The race the issue names: check-then-act applies a payment twice at READ COMMITTED,
    // key-in-transaction never does (409 instead).
    let row = |design: &str| json(&live_matrix(design, &pg).1);
    let cta = row("check-then-act");
    assert_eq!(cta["rows"][0]["cells"]["concurrent-retry"], "broken");
    assert!(
        cta["rows"][0]["broken_by"]["concurrent-retry"]["why"]
            .as_str()
            .unwrap()
            .contains("duplicates 1"),
        "{cta}"
    );
    let kit = row("key-in-transaction");
    assert_eq!(kit["rows"][0]["cells"]["concurrent-retry"], "caution");
}

/// `probe crash-after-charge` against `design`, as JSON.
fn crash_run(pg: &Postgres, design: &str) -> serde_json::Value {
    let (code, out, err) = common::idemlab(
        &common::root(),
        &[
            "probe",
            "crash-after-charge",
            "--serve",
            &serve(design),
            "--database-url",
            &pg.url(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{design}: {err}");
    json(&out)
}

#[test]
fn a_sigkill_after_the_charge_charges_twice_on_process_payment_not_on_key_in_transaction() {
    let pg = postgres();
    let pp = crash_run(&pg, "process-payment");
    let live = &pp["designs"][0];
    assert_eq!(pp["live"]["starts"], 2, "killed once, started again: {pp}");
    assert_eq!(pp["live"]["deterministic"], false);
    assert_eq!(live["duplicates"], 1, "{pp}");
    assert_eq!(
        live["charged"], 400,
        "three payments of 100, one charged twice: {pp}"
    );
    let kit = crash_run(&pg, "key-in-transaction");
    let live = &kit["designs"][0];
    assert_eq!(kit["live"]["starts"], 2, "{kit}");
    assert_eq!(live["duplicates"], 0, "{kit}");
    assert_eq!(
        live["charged"], 300,
        "the provider key makes the retry's charge a replay: {kit}"
    );
    assert_eq!(live["in_doubt"], 0, "{kit}");
}

#[test]
fn the_conformance_of_each_reference_design_is_pinned() {
    let root = common::root();
    let pg = postgres();
    let want: [(&str, [&str; 4], i32); 4] = [
        ("naive", ["n/a", "fail", "fail", "fail"], 1),
        ("process-payment", ["pass", "fail", "fail", "pass"], 1),
        ("check-then-act", ["pass", "fail", "fail", "pass"], 1),
        ("key-in-transaction", ["pass", "pass", "pass", "pass"], 0),
    ];
    for (design, verdicts, exit) in want {
        let (code, out, err) = common::idemlab(
            &root,
            &[
                "probe",
                "--conformance",
                "--serve",
                &serve(design),
                "--database-url",
                &pg.url(),
                "--format",
                "json",
            ],
        );
        assert_eq!(code, exit, "{design}: {err}");
        let doc = json(&out);
        let rules = doc["rules"].as_array().unwrap();
        let names: Vec<&str> = rules.iter().map(|r| r["rule"].as_str().unwrap()).collect();
        assert_eq!(names, ["missing-key", "reused-key", "in-flight", "replay"]);
        let got: Vec<&str> = rules
            .iter()
            .map(|r| r["verdict"].as_str().unwrap())
            .collect();
        assert_eq!(got, verdicts, "{design}: {out}");
        for r in rules {
            assert!(!r["detail"].as_str().unwrap().is_empty(), "{design}: {r}");
        }
    }
}

/// A server on loopback that answers every connection with `reply` (or holds it open, for
/// `None`), for as long as the test runs.
fn fake_service(reply: Option<&'static [u8]>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            match reply {
                Some(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                None => held.push(stream),
            }
        }
    });
    port
}

/// Runs `idemlab ARGS` and checks that it failed with exit 2 and one line that names `what`.
fn one_line_error(args: &[&str], what: &str) {
    let started = Instant::now();
    let (code, out, err) = common::idemlab(&common::root(), args);
    assert_eq!(code, 2, "{args:?}: {out}{err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(what), "{args:?}: `{what}` not in {err}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{args:?} took {:?}",
        started.elapsed()
    );
}

/// A free port's address for the fake provider, for a service idemlab does not start (it
/// must be told where the provider is).
fn provider_addr() -> String {
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    free.local_addr().unwrap().to_string()
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    // Nothing listens on a port that was just free.
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let unreachable = format!("http://127.0.0.1:{port}");
    let provider = provider_addr();
    one_line_error(
        &["probe", "--target", &unreachable, "--provider", &provider],
        "cannot reach the service",
    );
    // Regression (issue 25): --target without a fixed provider silently gave 502×13 and "0
    // provider calls": refused, with what to do.
    one_line_error(
        &["probe", "--target", &unreachable],
        "--provider 127.0.0.1:PORT",
    );
    let garbage = format!(
        "http://127.0.0.1:{}",
        fake_service(Some(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))
    );
    one_line_error(
        &[
            "probe",
            "lost-response",
            "--target",
            &garbage,
            "--provider",
            &provider,
        ],
        "does not answer HTTP",
    );
    let hangs = format!("http://127.0.0.1:{}", fake_service(None));
    one_line_error(
        &[
            "probe",
            "lost-response",
            "--target",
            &hangs,
            "--provider",
            &provider,
        ],
        "answered none: is it hanging?",
    );
    one_line_error(
        &[
            "probe",
            "--target",
            &unreachable,
            "--body",
            r#"{"amount": {amount},}"#,
        ],
        "--body is not JSON",
    );
    // Regression (issue 25): a bad method, path or header was blamed on the service.
    for (flag, value, what) in [
        ("--method", "PO ST", "--method"),
        ("--path", "payments now", "--path"),
        ("--header", "Idempotency Key", "--header"),
    ] {
        one_line_error(&["probe", "--target", &unreachable, flag, value], what);
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let provider = taken.local_addr().unwrap().to_string();
    one_line_error(
        &["probe", "--target", &hangs, "--provider", &provider],
        "cannot listen",
    );
    // A command that cannot start (run by `sh -c`, which says why) and a service that exits
    // at once (the shop without a database): exit 2, the reason and its last lines.
    let (code, _, err) = common::idemlab(
        &common::root(),
        &["probe", "--serve", "/nonexistent/service --design naive"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("exited") && err.contains("not found"), "{err}");
    let (code, _, err) = common::idemlab(
        &common::root(),
        &["probe", "--serve", &format!("{SHOP} --design naive")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("exited") && err.contains("its last lines"),
        "{err}"
    );
    one_line_error(&["probe", "lost-response"], "give --target");
    one_line_error(
        &["probe", "--target", &hangs, "--postgres"],
        "--postgres starts a database for a service idemlab starts",
    );
    // A crash needs the service in idemlab's hands.
    one_line_error(
        &[
            "probe",
            "crash-after-charge",
            "--target",
            &hangs,
            "--provider",
            &provider_addr(),
        ],
        "needs --serve",
    );
}

/// Every process whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let zombie = std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        });
        if cmdline.contains(marker) && !zombie {
            out.push(pid);
        }
    }
    out
}

/// The probe's own service and database, by what their command lines carry: the shop's path
/// and the data directory `idemlab-pg-PID-…` of the probe's process.
fn started_by(probe_pid: u32, shop: &Path) -> (Vec<u32>, Vec<u32>) {
    let services = processes_with(&shop.display().to_string())
        .into_iter()
        .filter(|&p| parent_of(p) == Some(probe_pid))
        .collect();
    let databases = processes_with(&format!("idemlab-pg-{probe_pid}-"));
    (services, databases)
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn pg_dirs(probe_pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with(&format!("idemlab-pg-{probe_pid}-"))
            })
        })
        .collect()
}

#[test]
fn nothing_the_probe_starts_outlives_it_ctrl_c_included() {
    let shop = PathBuf::from(SHOP);
    // A SIGKILL runs no handler: the watchdogs beside the service and the database do the work.
    for (signal, code) in [
        (None, Some(0)),
        (Some("-INT"), Some(130)),
        (Some("-TERM"), Some(143)),
        (Some("-KILL"), None),
    ] {
        // A stopped probe keeps its service's log for the user: here, in the target directory.
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("outlives-{}.log", signal.unwrap_or("none")));
        let _ = std::fs::remove_file(&log);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_idemlab"))
            .args([
                "probe",
                "--matrix",
                "--serve",
                &serve("naive"),
                "--postgres",
                "--service-log",
                log.to_str().unwrap(),
            ])
            .current_dir(common::root())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Wait until both the database and the service are up.
        let started = Instant::now();
        let (mut services, mut databases) = (Vec::new(), Vec::new());
        while started.elapsed() < Duration::from_secs(30) {
            (services, databases) = started_by(pid, &shop);
            if !services.is_empty() && !databases.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !services.is_empty() && !databases.is_empty(),
            "the probe started no service or no database: {services:?} {databases:?}"
        );
        assert!(
            !pg_dirs(pid).is_empty(),
            "the database's directory is in the temp dir"
        );
        if let Some(signal) = signal {
            std::thread::sleep(Duration::from_millis(300));
            let sent = std::process::Command::new("kill")
                .args([signal, &pid.to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
        }
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), code, "{signal:?}: {err}");
        if code.is_some_and(|c| c > 0) {
            assert!(err.contains("interrupted"), "{err}");
        }
        if code.is_none() {
            // The watchdogs poll every 0.2 s; the database's stop takes a moment more.
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline
                && (!started_by(pid, &shop).0.is_empty()
                    || !started_by(pid, &shop).1.is_empty()
                    || !pg_dirs(pid).is_empty())
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let (left, dbs) = started_by(pid, &shop);
        let alive: Vec<u32> = services
            .iter()
            .chain(&databases)
            .copied()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                    !s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
            })
            .collect();
        assert!(
            left.is_empty() && dbs.is_empty() && alive.is_empty(),
            "{signal:?}: still running after the probe exited: services {left:?}, databases {dbs:?}, {alive:?}"
        );
        assert!(
            pg_dirs(pid).is_empty(),
            "{signal:?}: the database's directory was left behind"
        );
    }
}

#[test]
fn a_saved_plan_replays_live_and_in_the_simulator() {
    let root = common::root();
    let pg = postgres();
    let dir = std::env::temp_dir().join(format!("idemlab-probe-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan = dir.join("plan.toml");
    let (code, out, err) = common::idemlab(
        &root,
        &[
            "probe",
            "crash-after-charge",
            "--serve",
            &serve("process-payment"),
            "--database-url",
            &pg.url(),
            "--save",
            plan.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("real time is not deterministic"), "{out}");
    assert!(
        out.contains("fault plan: crash the server of op 1 after its `charge` step"),
        "{out}"
    );
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains("[[faults]]"), "{text}");
    // The simulator reads it and finds what the live run found.
    let (code, out, err) = common::idemlab(
        &root,
        &["run", plan.to_str().unwrap(), "--design", "process-payment"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("charge"), "{out}");
    // And the probe replays it as a plan on top of a scenario without faults.
    let (code, out, err) = common::idemlab(
        &root,
        &[
            "probe",
            "lost-response",
            "--plan",
            plan.to_str().unwrap(),
            "--serve",
            &serve("process-payment"),
            "--database-url",
            &pg.url(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    let atoms: Vec<&str> = doc["live"]["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        atoms.contains(&"crash the server of op 1 after its `charge` step"),
        "{atoms:?}"
    );
    assert_eq!(doc["live"]["starts"], 2, "{doc}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_live_trace_is_written_as_csv() {
    let root = common::root();
    let pg = postgres();
    let dir = std::env::temp_dir().join(format!("idemlab-probe-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.csv");
    // `lost-response` with its 30 ms timeout raised to 1 s: only the lost response times out,
    // however slowly a loaded machine answers the others (at 30 ms a late answer was retried
    // and charged again, and the count below depended on the machine's load).
    let scenario = dir.join("lost-response.toml");
    let text = std::fs::read_to_string(root.join("scenarios/lost-response.toml")).unwrap();
    assert!(text.contains("timeout = \"30ms\""), "{text}");
    std::fs::write(
        &scenario,
        text.replace("timeout = \"30ms\"", "timeout = \"1s\""),
    )
    .unwrap();
    let (code, _, err) = common::idemlab(
        &root,
        &[
            "probe",
            scenario.to_str().unwrap(),
            "--serve",
            &serve("naive"),
            "--database-url",
            &pg.url(),
            "--trace",
            trace.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&trace).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.contains("time_us"), "{header}");
    // The lost response is in the trace, and the provider's charges, one per delivery.
    assert!(text.contains("lost"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.contains("effect")).count(),
        6,
        "five payments, one delivered twice: {text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The misbehaving service of `tests/services/foreign.py` in `mode`, as `--serve` runs it.
fn foreign(mode: &str) -> String {
    let script = common::root().join("tests/services/foreign.py");
    format!("python3 {} {mode}", script.display())
}

/// Asserts that no live process's command line holds `marker`, after 2 s of grace: SIGKILL is
/// delivered, not waited for.
fn assert_none_left(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !processes_with(marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        processes_with(marker).is_empty(),
        "`{marker}`: processes left behind: {:?}",
        processes_with(marker)
    );
}

/// Runs `idemlab ARGS` with a `--service-log` of its own in `dir`: (exit code, stdout, stderr,
/// the service's log); then checks that no process of the service is left.
fn probe_foreign(dir: &Path, mode: &str, args: &[&str]) -> (i32, String, String, String) {
    let log = dir.join(format!("{mode}.log"));
    let serve = foreign(mode);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--serve", &serve, "--service-log", log.to_str().unwrap()]);
    let started = Instant::now();
    let (code, out, err) = common::idemlab(dir, &all);
    let took = started.elapsed();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_none_left(&format!("foreign.py {mode}"));
    eprintln!("{mode}: exit {code} in {took:?}");
    (code, out, err, log_text)
}

/// A port is free only until someone binds it. Seen in CI: a service that takes a second to
/// start left its port free for that second, another probe's provider bound it, the readiness
/// check connected to that provider, and the fault-free check's requests were answered by it
/// ("no operation has the reference …"). A listener of another process on the service's port
/// is never taken for the service, and the ports picked are out of the kernel's ephemeral range
/// (where every socket bound to port 0 lands).
#[test]
fn a_listener_of_another_process_on_the_services_port_is_never_taken_for_the_service() {
    use idemlab::probe::service::{Served, free_port};
    let dir = std::env::temp_dir().join(format!("idemlab-port-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The slow-starting service under a name of this test's own: the test beside it starts
    // `foreign.py slow-start` too, and each checks that no process of its own is left.
    let script = dir.join("port-test.py");
    std::fs::copy(common::root().join("tests/services/foreign.py"), &script).unwrap();
    let slow = format!("python3 {} slow-start", script.display());
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    for _ in 0..20 {
        let port = free_port().unwrap();
        assert!(
            (1_024..low).contains(&port),
            "{port} is in the ephemeral range"
        );
    }
    // The race, made certain: the slow-starting service's port is bound by someone else
    // (this test) while it sleeps.
    let port = free_port().unwrap();
    let thief = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let held = TcpListener::bind(("127.0.0.1", port)).unwrap();
        std::thread::sleep(Duration::from_secs(3));
        drop(held);
    });
    let started = Served::start(&slow, Some(port), Vec::new(), dir.join("taken.log"));
    let err = match started {
        Ok(s) => {
            s.close();
            panic!("the service was taken to listen on {port}, which this test held")
        }
        Err(e) => e.to_string(),
    };
    assert!(err.contains("held by another process"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    thief.join().unwrap();
    // Without a port given, one is picked, and the service is found on it.
    let served = Served::start(&slow, None, Vec::new(), dir.join("ok.log"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(served.port < low, "{}", served.port);
    assert!(served.ready_after() >= Duration::from_millis(900));
    served.close();
    assert_none_left(&script.display().to_string());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 25: services nobody here wrote, misbehaving each in its own way (a Python standard
/// library service, `tests/services/foreign.py`), each get the verdict or the clear error they
/// must get, and leave no process behind.
#[test]
fn foreign_and_misbehaving_services_get_their_verdict_or_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("idemlab-foreign-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Regression: a service that logs every request to stderr (Python's http.server does)
    // died of a closed pipe mid-run and was reported "in doubt". Its output goes to a log
    // now, and it gets the verdict of what it is: a naive POST, charged twice.
    let (code, out, err, log) = probe_foreign(&dir, "naive", &["probe", "lost-response"]);
    assert_ne!(code, 2, "{out}{err}");
    assert!(log.contains("POST /payments"), "its stderr is kept: {log}");
    let row = out
        .lines()
        .find(|l| l.starts_with("service "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains(" 600 "), "charged twice for op 2: {row}");
    assert!(out.contains("the service's output:"), "{out}");

    // Regression: `--serve "cd dir && ./run"` and `--serve "VAR=1 cmd"` failed (split into
    // words, not run by a shell); they run through `sh -c` now, as at a prompt.
    let services = common::root().join("tests/services");
    let serve = format!(
        "cd {} && GREETING=hello python3 foreign.py naive",
        services.display()
    );
    let log = dir.join("sh.log");
    let (code, out, err) = common::idemlab(
        &dir,
        &[
            "probe",
            "lost-response",
            "--serve",
            &serve,
            "--service-log",
            log.to_str().unwrap(),
        ],
    );
    assert_ne!(code, 2, "{out}{err}");
    assert!(out.contains("service started 1 time"), "{out}");

    // Services that must get a clear error (exit 2), never a verdict: (mode, command, what
    // the error must say, and why it is here).
    let refused: &[(&str, &[&str], &[&str])] = &[
        // Regression: a service that answers 400 to everything scored a perfect matrix.
        (
            "rejects",
            &["probe", "--matrix"],
            &["does not do the workload right", "400×"],
        ),
        // A provider call of the wrong shape is refused, counted and said.
        (
            "wrong-shape",
            &["probe", "lost-response"],
            &["not a whole number of cents"],
        ),
        // Regression: a provider call naming operation 0 or 2^32 - 1 panicked (index out of
        // bounds); it is refused, counted and said.
        (
            "bad-reference",
            &["probe", "lost-response"],
            &["no operation has the reference", "-op0"],
        ),
        // Regression: a service whose stderr was one 60 KB line was echoed whole.
        (
            "long-line",
            &["probe", "lost-response"],
            &["60000 characters in all"],
        ),
        // A service that dies mid-run: a death, with its last lines, never a verdict.
        (
            "dies",
            &["probe", "lost-response"],
            &["died on its own", "out of memory (on purpose)"],
        ),
        // A service that never answers.
        ("never", &["probe", "lost-response"], &["answered none"]),
    ];
    for (mode, args, says) in refused {
        let (code, _, err, _) = probe_foreign(&dir, mode, args);
        assert_eq!(code, 2, "{mode}: {err}");
        assert!(err.len() < 2_000, "{mode}: {} bytes of error", err.len());
        for what in *says {
            assert!(err.contains(what), "{mode}: `{what}` not in {err}");
        }
    }
    // A 50 MB answer: read up to its first 64 KiB, and judged.
    let (code, out, err, _) = probe_foreign(&dir, "huge", &["probe", "lost-response"]);
    assert_ne!(code, 2, "{out}{err}");
    // Regression: a service that takes 1 s to start had every retry spent before it was back,
    // so a crash after the charge could never show the second charge. The timings are scaled
    // to its start-up, and the naive service's crash-after-effect cell is ✗.
    let (code, out, err, _) = probe_foreign(
        &dir,
        "slow-start",
        &["probe", "--matrix", "--format", "json"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let doc = json(&out);
    let live = cells(&doc, 0);
    assert_eq!(live["crash-after-effect"], "broken", "{out}");
    assert_eq!(live["lost-response"], "broken", "{out}");
    assert_eq!(live["lost-request"], "ok", "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 25: the live matrix rows hold run after run on a loaded machine. Two threads spin on
/// the two cores for the whole test while each reference design's matrix is run ten times
/// against one PostgreSQL; every row must be the same, and the simulator's (but for the
/// cells that cannot agree, named above). A cell whose runs disagree would be `unstable`, and
/// fail this.
#[test]
fn the_live_matrix_rows_are_the_same_ten_times_in_ten_on_a_loaded_machine() {
    let root = common::root();
    let pg = postgres();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for design in DESIGNS {
        let (code, sim, err) =
            common::idemlab(&root, &["matrix", "--designs", design, "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let sim = cells(&json(&sim), 0);
        for run in 1..=10 {
            let live = live_cells(design, &pg);
            for (class, want) in &sim {
                let cannot = CANNOT_AGREE
                    .iter()
                    .any(|(d, c, _)| *d == design && c == class);
                if !cannot && &live[class] != want {
                    failures.push(format!(
                        "{design} run {run}: {class} live {}, simulated {want}",
                        live[class]
                    ));
                }
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in load {
        let _ = t.join();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Issue 25: a service whose effect is a row is judged from the database idemlab started, with
/// no `/effects` endpoint: `--effects-sql` lists check-then-act's orders, and its concurrent
/// retry shows the second order, as `--effects /effects` does.
#[test]
fn effects_read_from_the_database_show_check_then_acts_second_order() {
    let (code, out, err) = common::idemlab(
        &common::root(),
        &[
            "probe",
            "--matrix",
            "--postgres",
            "--serve",
            &serve("check-then-act"),
            "--effects-sql",
            "SELECT reference, amount FROM orders",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let live = cells(&json(&out), 0);
    assert_eq!(live["concurrent-retry"], "broken", "{out}");
    assert_eq!(live["lost-response"], "ok", "{out}");
    // Without a database to read, the flag is refused up front.
    let (code, _, err) = common::idemlab(
        &common::root(),
        &[
            "probe",
            "--serve",
            &serve("check-then-act"),
            "--effects-sql",
            "SELECT reference, amount FROM orders",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--postgres or --database-url"), "{err}");
}

/// A Python virtual environment with the Stripe SDK (stripe-python and its dependencies, every
/// version pinned in `tests/services/stripe-requirements.txt`, from PyPI), made once under
/// `target/`: the test's own install step, never assumed.
fn stripe_python() -> PathBuf {
    let venv = common::root().join("target/py-stripe");
    let python = venv.join("bin/python");
    let requirements = common::root().join("tests/services/stripe-requirements.txt");
    let stamp = venv.join("installed.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return python;
    }
    let run = |cmd: &mut std::process::Command| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv));
    run(std::process::Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements));
    std::fs::write(&stamp, wanted).unwrap();
    python
}

/// Issue 25: a service written with the official Stripe SDK, pointed at idemlab's provider
/// by `stripe.api_base`, is probed unchanged (the provider speaks Stripe's API, form-encoded,
/// with its idempotency keys). One that relies on the SDK's automatic key (a new one per
/// call) charges twice when it crashes after the charge and the client retries, or when a
/// response is lost; one that passes a key derived from the client's does not.
#[test]
fn a_service_on_the_stripe_sdk_double_charges_with_the_sdks_key_and_not_with_its_own() {
    let python = stripe_python();
    let script = common::root().join("tests/services/stripe_shop.py");
    let row = |mode: &str| {
        let serve = format!("{} {} {mode}", python.display(), script.display());
        let (code, out, err) = common::idemlab(
            &common::root(),
            &["probe", "--matrix", "--serve", &serve, "--format", "json"],
        );
        assert_eq!(code, 0, "{mode}: {err}");
        cells(&json(&out), 0)
    };
    let sdk = row("sdk-key");
    assert_eq!(sdk["crash-after-effect"], "broken", "{sdk:?}");
    assert_eq!(sdk["lost-response"], "broken", "{sdk:?}");
    let own = row("own-key");
    for class in ["crash-after-effect", "lost-response", "duplicate-delivery"] {
        assert_ne!(own[class], "broken", "{class}: {own:?}");
    }
    assert!(processes_with(&script.display().to_string()).is_empty());
}

/// One raw HTTP/1.1 exchange on a connection of its own: (status, headers, body).
fn raw_http(addr: &str, request: &str) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_lowercase(), body.to_string())
}

fn stripe_post(addr: &str, path: &str, key: &str, form: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nIdempotency-Key: {key}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
}

/// Issue 25: the provider's Stripe face honours `Idempotency-Key` as Stripe does. A service
/// written here (a thread behind `--target`) makes the calls by hand while the probe runs:
/// the same key and parameters replay the first answer with `Idempotent-Replayed: true`;
/// another amount under the key is 400 `idempotency_error`; a second call while the first is
/// still running is 409 `idempotency_key_in_use`; an amount that is not a whole number is
/// refused, counted, and named in the report.
#[test]
fn the_stripe_face_replays_refuses_and_conflicts_as_stripe_does() {
    let provider = provider_addr();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = std::sync::Arc::clone(&seen);
    let provider_for_service = provider.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = vec![0u8; 8192];
            let len = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..len]).to_string();
            let reference = request
                .split("\"reference\": \"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string();
            if reference.is_empty() {
                continue; // The probe's check that something listens: no request.
            }
            let p = provider_for_service.as_str();
            let form =
                format!("amount=100&currency=usd&confirm=true&metadata%5Breference%5D={reference}");
            let key = format!("k-{n}");
            let mut out = Vec::new();
            // Two at once with the same key: one runs, one conflicts (the provider takes its
            // scenario's 20ms for the first).
            let (a, b) = std::thread::scope(|s| {
                let one =
                    s.spawn(|| raw_http(p, &stripe_post(p, "/v1/payment_intents", &key, &form)));
                std::thread::sleep(Duration::from_millis(5));
                let two =
                    s.spawn(|| raw_http(p, &stripe_post(p, "/v1/payment_intents", &key, &form)));
                (one.join().unwrap(), two.join().unwrap())
            });
            out.push(format!("first {} {}", a.0, a.2));
            out.push(format!("concurrent {} {}", b.0, b.2));
            let replay = raw_http(p, &stripe_post(p, "/v1/payment_intents", &key, &form));
            out.push(format!(
                "replay {} replayed={} same={}",
                replay.0,
                replay.1.contains("idempotent-replayed: true"),
                replay.2 == a.2
            ));
            let other = form.replace("amount=100", "amount=150");
            let mismatch = raw_http(p, &stripe_post(p, "/v1/payment_intents", &key, &other));
            out.push(format!("mismatch {} {}", mismatch.0, mismatch.2));
            let cents = form.replace("amount=100", "amount=1.00");
            let bad = raw_http(
                p,
                &stripe_post(p, "/v1/charges", &format!("{key}-c"), &cents),
            );
            out.push(format!("bad {} {}", bad.0, bad.2));
            log.lock().unwrap().extend(out);
            let body = "{\"order\": 1}";
            let _ = stream.write_all(
                format!("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes(),
            );
        }
    });
    let scenario =
        std::env::temp_dir().join(format!("idemlab-stripe-face-{}.toml", std::process::id()));
    std::fs::write(
        &scenario,
        "name = \"stripe-face\"\n[workload]\nops = 1\n[client.retry]\ntimeout = \"5s\"\n[provider]\nlatency = \"20ms\"\n",
    )
    .unwrap();
    let (code, out, err) = common::idemlab(
        &common::root(),
        &[
            "probe",
            scenario.to_str().unwrap(),
            "--target",
            &target,
            "--provider",
            &provider,
        ],
    );
    let _ = std::fs::remove_file(&scenario);
    // The baseline's charge was made once per operation, but the hand-made `bad` charge was
    // refused: the baseline stops there and says so, naming the refusal.
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("not a whole number of cents"), "{err}");
    let seen = seen.lock().unwrap().clone();
    let line = |what: &str| {
        seen.iter()
            .find(|l| l.starts_with(what))
            .unwrap_or_else(|| panic!("{what} in {seen:?}"))
            .clone()
    };
    assert!(
        line("first ").starts_with("first 200")
            && line("first ").contains("\"object\":\"payment_intent\""),
        "{seen:?}"
    );
    assert!(
        line("first ").contains("\"status\":\"succeeded\""),
        "{seen:?}"
    );
    assert!(
        line("concurrent ").starts_with("concurrent 409")
            && line("concurrent ").contains("idempotency_key_in_use"),
        "{seen:?}"
    );
    assert_eq!(
        line("replay "),
        "replay 200 replayed=true same=true",
        "{seen:?}"
    );
    assert!(
        line("mismatch ").starts_with("mismatch 400")
            && line("mismatch ").contains("idempotency_error"),
        "{seen:?}"
    );
    assert!(
        line("bad ").starts_with("bad 400") && line("bad ").contains("invalid_request_error"),
        "{seen:?}"
    );
}

/// Issue 26: the live client and the simulated one make their decisions with the same
/// functions (the key each attempt carries, the backoff and its jitter, the wire's losses): the
/// same scenario and plan, through both, give the same decisions event by event: which
/// attempts are sent with which key, which messages are lost, and every backoff's length. The
/// timeout is generous, so that real time decides nothing here.
#[test]
fn the_live_client_and_the_simulated_one_decide_alike() {
    use idemlab::fault::{FaultAtom, FaultPlan, MessageRef};
    use idemlab::trace::{Detail, EventKind};
    let scenario = idemlab::scenario::parse(
        "name = \"decisions\"\nseed = 7\n[workload]\nops = 4\nclients = 2\n[client.retry]\ntimeout = \"600ms\"\nattempts_max = 4\nbackoff = \"exponential\"\nbackoff_base = \"5ms\"\nbackoff_cap = \"40ms\"\njitter = \"full\"\nkey = \"per-client\"\n[network]\nlatency = \"1ms..3ms\"\n",
        "decisions.toml",
    )
    .unwrap();
    let plan = FaultPlan::new(vec![
        FaultAtom::Drop(MessageRef::response(2, 1)),
        FaultAtom::Drop(MessageRef::request(3, 1)),
        FaultAtom::Drop(MessageRef::request(3, 2)),
    ]);
    let pg = postgres();
    let config = idemlab::probe::ProbeConfig {
        serve: Some(serve("naive")),
        database_url: Some(pg.url()),
        service_log: Some(
            std::env::temp_dir().join(format!("idemlab-decisions-{}.log", std::process::id())),
        ),
        ..idemlab::probe::ProbeConfig::default()
    };
    let live = idemlab::probe::probe(&scenario, &plan, &config).expect("the probe runs");
    let _ = std::fs::remove_file(config.service_log.as_ref().unwrap());
    let naive = idemlab::handlers::lookup("naive").unwrap();
    let sim = idemlab::world::run(&scenario, naive.as_ref(), scenario.seed, &plan);
    // The client's decisions, per operation, in order.
    let decisions = |trace: &idemlab::trace::Trace| {
        let mut out: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for e in trace.iter() {
            let what = match (e.kind, e.detail) {
                (EventKind::Send, _) => format!("send {} {:?}", e.attempt, e.key),
                (EventKind::Lost, Detail::Lost { request, .. }) => {
                    format!("lost {} request={request}", e.attempt)
                }
                (EventKind::Retry, Detail::Backoff { delay_us }) => {
                    format!("retry after {} in {delay_us}us", e.attempt)
                }
                (EventKind::Done, Detail::Outcome(o)) => format!("done {o:?}"),
                _ => continue,
            };
            out.entry(e.op).or_default().push(what);
        }
        out
    };
    let (live, sim) = (decisions(&live.run.trace), decisions(&sim.trace));
    assert_eq!(live.len(), 4);
    assert!(
        live.values()
            .flatten()
            .filter(|d| d.starts_with("retry"))
            .count()
            >= 3,
        "{live:?}"
    );
    assert_eq!(live, sim);
}
