//! `idemlab probe`: the scenario's workload and faults against a live HTTP service, judged by
//! the same oracle; `--matrix` for the seven fault classes, `--conformance` for the
//! Idempotency-Key draft. Behind the `probe` feature.

use super::*;

/// What `probe` was asked to do: its arguments.
#[derive(clap::Args, Debug)]
#[cfg_attr(not(feature = "probe"), allow(dead_code))]
pub struct ProbeArgs {
    /// A scenario file, or the name of a bundled scenario (default: the built-in default):
    /// its workload, retry policy and faults.
    pub scenario: Option<String>,
    /// The running service, `http://127.0.0.1:8080`.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Start the service with this command (PORT, PROVIDER_URL, DATABASE_URL and
    /// KEY_TTL_MS in its environment), so that idemlab can crash it and start it again.
    #[arg(long, value_name = "CMD")]
    pub serve: Option<String>,
    /// Start a throwaway PostgreSQL (initdb and pg_ctl in a temporary directory) for the
    /// service, stopped and removed when the probe ends.
    #[arg(long)]
    pub postgres: bool,
    /// The database to hand the service as DATABASE_URL.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Where the fake payment provider listens (port 0: a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub provider: String,
    /// Add the faults of this scenario file (what `check` and `--save` write).
    #[arg(long, value_name = "FILE.toml")]
    pub plan: Option<PathBuf>,
    /// Run the seven fault classes of `idemlab matrix` against the service.
    #[arg(long, conflicts_with = "conformance")]
    pub matrix: bool,
    /// Check the service against the rules of the Idempotency-Key header draft. Exit 1
    /// if it fails one.
    #[arg(long)]
    pub conformance: bool,
    /// Also run this catalog design in the simulator (same scenario, seed and plan) and
    /// show it beside the live service.
    #[arg(long, value_name = "DESIGN")]
    pub design: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    pub format: CompareFormat,
    /// Write the live run's trace as CSV to this file.
    #[arg(long, value_name = "FILE.csv")]
    pub trace: Option<PathBuf>,
    /// Write the scenario with the plan that ran, a file `--plan` and `idemlab run` replay.
    #[arg(long, value_name = "FILE.toml")]
    pub save: Option<PathBuf>,
    /// The request's method.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// The request's path.
    #[arg(long, default_value = "/payments")]
    pub path: String,
    /// The idempotency key's header.
    #[arg(long, default_value = "Idempotency-Key")]
    pub header: String,
    /// The JSON body, with {amount}, {reference}, {op}, {item}, {version} and {key}
    /// (default `{"amount": {amount}, "reference": "{reference}"}`).
    #[arg(long, value_name = "JSON")]
    pub body: Option<String>,
    /// The field of the service's call to the provider that carries the reference.
    #[arg(long, default_value = "reference", value_name = "FIELD")]
    pub reference_field: String,
    /// Also count the effects the service lists here when the run ends
    /// (`[{"reference", "kind", "amount"}]`); a path alone is on the service.
    #[arg(long, value_name = "URL")]
    pub effects: Option<String>,
    /// Also count the effects this query lists from the service's database when the run ends
    /// (`SELECT reference, amount FROM orders`; a third column, the kind); needs --postgres
    /// or --database-url. For a service whose effect is a row and that has no --effects URL.
    #[arg(long, value_name = "SQL")]
    pub effects_sql: Option<String>,
    /// The service's name in the report.
    #[arg(long)]
    pub name: Option<String>,
    /// With --serve: where the service's stdout and stderr go, kept and named in the report
    /// (default: a file in the temporary directory, removed when the probe ends well, kept and
    /// named in the error when it does not).
    #[arg(long, value_name = "FILE")]
    pub service_log: Option<PathBuf>,
    /// With --matrix: the client's timeout per attempt (`200ms`); the stall, backoff and key
    /// TTL of the classes follow from it. Default: scaled from the service's measured latency.
    #[arg(long, value_name = "DURATION")]
    pub client_timeout: Option<String>,
}

#[cfg(not(feature = "probe"))]
pub(super) fn cmd_probe(_args: ProbeArgs, _out: &mut String) -> Result<(), CliError> {
    Err(CliError::Input(
        "this idemlab was built without the `probe` feature (tokio, hyper, tokio-postgres): build it with `cargo run --release --features probe -- probe ...`".to_string(),
    ))
}

#[cfg(feature = "probe")]
pub(super) use live::cmd_probe;

#[cfg(feature = "probe")]
mod live {
    use super::*;
    use std::collections::BTreeMap;

    use crate::fault::FaultClass;
    use crate::probe::{self, ProbeConfig, ProbeError, Verdict};

    fn probe_error(e: ProbeError) -> CliError {
        match e {
            ProbeError::Input(m) | ProbeError::Setup(m) | ProbeError::Service(m) => {
                CliError::Input(m)
            }
            ProbeError::Interrupted => stopped_by_signal(ProbeError::Interrupted.to_string()),
        }
    }

    /// The service's name in the report: `--name`, the design its command names, or
    /// `service`.
    fn service_name(args: &ProbeArgs) -> String {
        if let Some(n) = &args.name {
            return n.clone();
        }
        if let Some(cmd) = &args.serve
            && let Ok(words) = probe::service::words(cmd)
            && let Some(i) = words.iter().position(|w| w == "--design")
            && let Some(d) = words.get(i + 1)
        {
            return format!("live {d}");
        }
        "service".to_string()
    }

    pub(in crate::cli) fn cmd_probe(args: ProbeArgs, out: &mut String) -> Result<(), CliError> {
        watch_ctrl_c();
        if args.target.is_none() && args.serve.is_none() {
            return Err(CliError::Input(
                "give --target http://HOST:PORT (a running service), or --serve \"CMD\" (idemlab starts it, and can crash it)".to_string(),
            ));
        }
        if args.postgres && args.serve.is_none() {
            return Err(CliError::Input(
                "--postgres starts a database for a service idemlab starts: it needs --serve"
                    .to_string(),
            ));
        }
        if args.effects_sql.is_some() && !args.postgres && args.database_url.is_none() {
            return Err(CliError::Input(
                "--effects-sql reads the service's database: give --postgres or --database-url"
                    .to_string(),
            ));
        }
        if args.postgres && args.database_url.is_some() {
            return Err(CliError::Input(
                "give --postgres (a throwaway database) or --database-url, not both".to_string(),
            ));
        }
        let scenario = match &args.scenario {
            Some(name) => load_scenario(name)?,
            None => scenario::default_scenario(),
        };
        let extra = match &args.plan {
            Some(path) => load_scenario(&path.display().to_string())?.faults,
            None => FaultPlan::default(),
        };
        let simulated = match &args.design {
            Some(name) => Some(scenario_design(&scenario, name)?),
            None => None,
        };
        // Started before the service and stopped after it, whatever happens in between.
        let pg = if args.postgres {
            Some(probe::Postgres::start().map_err(probe_error)?)
        } else {
            None
        };
        if watch_ctrl_c().raised() {
            return Err(probe_error(ProbeError::Interrupted));
        }
        let mut config = ProbeConfig {
            target: args.target.clone(),
            serve: args.serve.clone(),
            provider: args.provider.clone(),
            database_url: pg.as_ref().map(|p| p.url()).or(args.database_url.clone()),
            method: args.method.clone(),
            path: args.path.clone(),
            header: args.header.clone(),
            reference_field: args.reference_field.clone(),
            effects: args.effects.clone(),
            effects_sql: args.effects_sql.clone(),
            name: service_name(&args),
            // One log for every run of this command (the baseline's, each class's): each start
            // of the service is headed in it.
            service_log: args.serve.as_ref().map(|_| {
                args.service_log.clone().unwrap_or_else(|| {
                    std::env::temp_dir().join(format!("idemlab-service-{}.log", std::process::id()))
                })
            }),
            ..ProbeConfig::default()
        };
        if let Some(body) = &args.body {
            config.body = body.clone();
        }
        let client_timeout = match &args.client_timeout {
            Some(text) => Some(
                crate::time::parse_duration(text)
                    .map_err(|e| CliError::Input(format!("--client-timeout {text}: {e}")))?,
            ),
            None => None,
        };
        // Before any fault: does the service do the workload at all? (A service that
        // rejects everything must not score "exactly once".) Also the warm-up whose
        // timings the matrix scales by.
        probe::check(&scenario, &extra, &config).map_err(probe_error)?;
        let template = probe::matrix_template(&scenario);
        let baseline = probe::baseline(
            if args.matrix || args.conformance {
                &template
            } else {
                &scenario
            },
            &config,
        );
        let result = baseline.map_err(probe_error).and_then(|baseline| {
            if args.conformance {
                conformance(&scenario, &config, args.format, out)
            } else if args.matrix {
                let timings = probe::Timings::scaled(
                    baseline.latency_p99,
                    baseline.ready_after.unwrap_or_default(),
                    client_timeout,
                );
                matrix(
                    &scenario,
                    &config,
                    simulated.as_deref(),
                    (&baseline, &timings),
                    args.format,
                    out,
                )
            } else {
                one_run(&scenario, &extra, &config, simulated.as_deref(), &args, out)
            }
        });
        drop(pg);
        // The default log is kept only when the service or the probe failed (the errors name
        // it); a verdict, even a failed expectation, does not need it. One given with
        // --service-log is the user's.
        let went_well = matches!(result, Ok(()) | Err(CliError::Expectation(_)));
        if let (true, None, Some(log)) = (went_well, &args.service_log, &config.service_log) {
            let _ = std::fs::remove_file(log);
        }
        result
    }

    /// The baseline and the timings it gave, in words.
    fn measured(out: &mut String, baseline: &probe::Baseline, timings: &probe::Timings) {
        let _ = writeln!(
            out,
            "baseline: one operation, then {} operation(s), without faults: every one told success and applied once; p99 {}{}",
            baseline.ops,
            SimDuration(u64::try_from(baseline.latency_p99.as_micros()).unwrap_or(u64::MAX)),
            baseline.ready_after.map_or(String::new(), |d| format!(
                "; the service accepted connections {} after it was started",
                SimDuration(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            ))
        );
        let _ = writeln!(
            out,
            "timings scaled to the service (--client-timeout sets them): client timeout {}, {} between attempts, stall {}, restart {} after a crash, key TTL {} and the late retry {} after",
            timings.timeout,
            timings.backoff,
            timings.stall,
            timings.restart_delay,
            timings.ttl,
            timings.late_retry
        );
        let _ = writeln!(
            out,
            "each plan runs until two runs agree (at most three); ? marks a cell whose runs never agreed"
        );
    }

    fn banner(out: &mut String, what: &str, config: &ProbeConfig) {
        let at = match (&config.target, &config.serve) {
            (Some(t), _) => t.clone(),
            (None, Some(cmd)) => format!("`{cmd}` (started by idemlab)"),
            (None, None) => String::new(),
        };
        let _ = writeln!(out, "{what} · {} at {at}", config.name);
        let _ = writeln!(
            out,
            "real time is not deterministic: timings differ run to run; the fault plan does not"
        );
    }

    fn one_run(
        scenario: &Scenario,
        extra: &FaultPlan,
        config: &ProbeConfig,
        simulated: Option<&dyn Design>,
        args: &ProbeArgs,
        out: &mut String,
    ) -> Result<(), CliError> {
        let live = probe::probe(scenario, extra, config).map_err(probe_error)?;
        let mut metrics = vec![oracle::measure(&live.run)];
        let mut runs = vec![live.run];
        if let Some(design) = simulated {
            let run = world::run(scenario, design, scenario.seed, extra);
            metrics.insert(0, oracle::measure(&run));
            runs.insert(0, run);
        }
        let result = Comparison {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            ideal: oracle::ideal(scenario),
            runs,
            metrics,
        };
        if let Some(path) = &args.trace {
            let trace = &result.runs[result.runs.len() - 1].trace;
            write_atomically(path, |w| {
                trace::write_csv(trace, w).map_err(|e| io::Error::other(e.to_string()))
            })?;
        }
        if let Some(path) = &args.save {
            let mut replay = scenario.clone();
            replay.faults = live.plan.clone();
            let header = format!(
                "The fault plan of a live run of `idemlab probe` against {}.\nReplay it live with `idemlab probe {} --plan FILE ...`, or in the simulator with `idemlab run FILE --design DESIGN`.",
                config.name, scenario.name
            );
            let text = crate::scenario::to_toml(&replay, &header);
            write_atomically(path, |w| w.write_all(text.as_bytes()))?;
        }
        match args.format {
            CompareFormat::Text => {
                banner(out, &format!("probe {}", scenario.name), config);
                if live.plan.atoms.is_empty() {
                    let _ = writeln!(out, "fault plan: none (only the scenario's own rates)");
                } else {
                    let atoms: Vec<String> =
                        live.plan.atoms.iter().map(|a| a.to_string()).collect();
                    let _ = writeln!(out, "fault plan: {}", atoms.join("; "));
                }
                out.push('\n');
                render_comparison_with(out, scenario, &result, true);
                let refused: u64 = live.rejected.values().sum();
                let mut footer = format!(
                    "\n{} requests sent, {} answered, {} provider calls ({refused} refused)",
                    live.sent,
                    live.answered,
                    result.metrics[result.metrics.len() - 1].provider_calls
                );
                if config.serve.is_some() {
                    let _ = write!(
                        footer,
                        " · service started {} time{}",
                        live.starts,
                        if live.starts == 1 { "" } else { "s" }
                    );
                }
                let _ = writeln!(out, "{footer}");
                for (why, n) in &live.rejected {
                    let _ = writeln!(out, "  provider refused {n}×: {why}");
                }
                // A log the user asked for is named; the default one goes when all went well.
                if let (Some(log), Some(_)) = (&live.service_log, &args.service_log) {
                    let _ = writeln!(out, "the service's output: {}", log.display());
                }
                if let Some(path) = &args.save {
                    let _ = writeln!(out, "plan written to {}", path.display());
                }
            }
            CompareFormat::Json => {
                #[derive(serde::Serialize)]
                struct Report<'a> {
                    #[serde(flatten)]
                    comparison: crate::compare::ComparisonReport<'a>,
                    live: Live<'a>,
                }
                #[derive(serde::Serialize)]
                struct Live<'a> {
                    service: &'a str,
                    deterministic: bool,
                    plan: Vec<String>,
                    sent: u64,
                    answered: u64,
                    starts: u32,
                    wall_ms: u128,
                    provider_refused: &'a BTreeMap<String, u64>,
                    service_log: Option<String>,
                }
                let report = Report {
                    comparison: result.report(),
                    live: Live {
                        service: &config.name,
                        deterministic: false,
                        plan: live.plan.atoms.iter().map(|a| a.to_string()).collect(),
                        sent: live.sent,
                        answered: live.answered,
                        starts: live.starts,
                        wall_ms: live.wall.as_millis(),
                        provider_refused: &live.rejected,
                        service_log: live.service_log.as_ref().map(|p| p.display().to_string()),
                    },
                };
                out.push_str(&to_json(&report)?);
                out.push('\n');
            }
            CompareFormat::Csv => render_csv(out, &result)?,
        }
        // The live service answers to the expectations of the design it implements.
        let mut judged = result.metrics[result.metrics.len() - 1].clone();
        if let Some(name) = &args.design {
            judged.design = name.clone();
        }
        expectations(oracle::check_expectations(scenario, &judged))
    }

    fn matrix(
        scenario: &Scenario,
        config: &ProbeConfig,
        simulated: Option<&dyn Design>,
        (baseline, timings): (&probe::Baseline, &probe::Timings),
        format: CompareFormat,
        out: &mut String,
    ) -> Result<(), CliError> {
        let live = probe::live_matrix(scenario, config, timings).map_err(probe_error)?;
        let mut rows = Vec::new();
        if let Some(design) = simulated {
            let entry =
                handlers::entry(design.name()).map_err(|e| CliError::Input(e.to_string()))?;
            let mut row = crate::matrix::run(&[entry]).rows.remove(0);
            row.design = format!("simulated {}", row.design);
            rows.push(row);
        }
        rows.push(live.clone());
        let table = crate::matrix::Matrix { rows };
        match format {
            CompareFormat::Text => {
                banner(out, "probe --matrix", config);
                measured(out, baseline, timings);
                out.push('\n');
                out.push_str(&table.to_text());
                for c in live
                    .cells
                    .iter()
                    .filter(|c| c.cell == crate::matrix::Cell::NotApplicable)
                {
                    let _ = writeln!(out, "— {} × {}: {}", live.design, c.class.name(), c.why);
                }
                if table.rows.len() == 2 {
                    let differ: Vec<&str> = FaultClass::ALL
                        .iter()
                        .filter(|&&c| table.rows[0].cell(c).cell != table.rows[1].cell(c).cell)
                        .map(|c| c.numeral())
                        .collect();
                    let _ = if differ.is_empty() {
                        writeln!(out, "\nthe live row equals the simulated one, cell by cell")
                    } else {
                        writeln!(
                            out,
                            "\nthe live row differs from the simulated one in {}",
                            differ.join(", ")
                        )
                    };
                }
            }
            CompareFormat::Csv => out.push_str(&table.to_csv()),
            CompareFormat::Json => out.push_str(&table.to_json()),
        }
        Ok(())
    }

    fn conformance(
        scenario: &Scenario,
        config: &ProbeConfig,
        format: CompareFormat,
        out: &mut String,
    ) -> Result<(), CliError> {
        let results = probe::conformance(scenario, config).map_err(probe_error)?;
        match format {
            CompareFormat::Text => {
                banner(
                    out,
                    "probe --conformance (the Idempotency-Key header draft)",
                    config,
                );
                out.push('\n');
                for r in &results {
                    let _ = writeln!(
                        out,
                        "{:<4}  {}: {}",
                        r.verdict.name(),
                        r.rule.text(),
                        r.verdict.detail()
                    );
                }
                let count =
                    |name: &str| results.iter().filter(|r| r.verdict.name() == name).count();
                let _ = writeln!(
                    out,
                    "\n{} pass · {} fail · {} n/a",
                    count("pass"),
                    count("fail"),
                    count("n/a")
                );
            }
            CompareFormat::Json => {
                let list: Vec<serde_json::Value> = results
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "rule": r.rule.name(),
                            "text": r.rule.text(),
                            "verdict": r.verdict.name(),
                            "detail": r.verdict.detail(),
                        })
                    })
                    .collect();
                out.push_str(&to_json(
                    &serde_json::json!({ "service": config.name, "rules": list }),
                )?);
                out.push('\n');
            }
            CompareFormat::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                let err = |e: csv::Error| CliError::Io(format!("cannot encode CSV: {e}"));
                w.write_record(["rule", "verdict", "detail"]).map_err(err)?;
                for r in &results {
                    w.write_record([r.rule.name(), r.verdict.name(), r.verdict.detail()])
                        .map_err(err)?;
                }
                let bytes = w
                    .into_inner()
                    .map_err(|e| CliError::Io(format!("cannot encode CSV: {e}")))?;
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        let failed: Vec<&str> = results
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail(_)))
            .map(|r| r.rule.name())
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(CliError::Expectation(format!(
                "{} does not conform to the Idempotency-Key draft: {}",
                config.name,
                failed.join(", ")
            )))
        }
    }
}
