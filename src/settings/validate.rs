//! Stage two of the reader: validation of the raw file into a typed [`Scenario`]: ranges,
//! units, names and fault shapes, each failure a [`ScenarioError`] at its span.

use std::collections::BTreeMap;

use toml::Spanned;

use super::error::{Source, plain_types};
use super::faults::validate_fault;
use super::raw::*;
use super::values::{duration, int_in, latency, positive_duration, probability};
use super::*;
use crate::fault::{FaultAtom, FaultPlan};
use crate::sim::Budget;
use crate::suggest::did_you_mean;
use crate::time::{SimDuration, SimTime, parse_duration};
use crate::vocab::METRIC_NAMES;

// ----- stage two: validation -----

/// Reads a scenario from `text`; `origin` names where it came from in error messages.
pub(super) fn parse(
    text: &str,
    origin: &str,
    designs: &dyn DesignNames,
) -> Result<Scenario, ScenarioError> {
    let src = Source {
        text,
        origin,
        designs,
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        // The text at the error, for the messages serde words in Rust's types.
        let found = e
            .span()
            .and_then(|r| text.get(r.start..r.end.min(r.start + 64)))
            .unwrap_or("");
        let message = plain_types(e.message().trim_end(), found);
        src.error(e.span(), message)
    })?;
    validate(&src, raw)
}

/// Reads a scenario from bytes (a file's content): rejects text that is not UTF-8 with the
/// position of the first bad byte.
pub(super) fn parse_bytes(
    bytes: &[u8],
    origin: &str,
    designs: &dyn DesignNames,
) -> Result<Scenario, ScenarioError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, origin, designs),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let text = String::from_utf8_lossy(good);
            let src = Source {
                text: &text,
                origin,
                designs,
            };
            let bad = bytes[e.valid_up_to()];
            Err(src.error(
                Some(text.len()..text.len()),
                format!(
                    "byte 0x{bad:02x} is not UTF-8: this is not a text file; expected a TOML scenario"
                ),
            ))
        }
    }
}

/// The `[[workload.op]]` tables: one per operation at most, each naming it.
fn validate_payloads(
    src: &Source<'_>,
    raw: &[Spanned<RawPayload>],
    ops: u32,
) -> Result<BTreeMap<u32, Payload>, ScenarioError> {
    let mut out = BTreeMap::new();
    for entry in raw {
        let p = entry.get_ref();
        let Some(op_v) = &p.op else {
            return Err(src.at(
                entry,
                "a [[workload.op]] table needs `op = N`: the operation whose payload it sets",
            ));
        };
        let op = int_in(src, op_v, 1, i64::from(ops), "op")? as u32;
        if out.contains_key(&op) {
            return Err(src.at(
                op_v,
                format!("operation {op} already has a [[workload.op]] table; give each one once"),
            ));
        }
        let num = |v: &Option<Spanned<i64>>, lo: i64, hi: i64, what: &str| {
            v.as_ref().map(|v| int_in(src, v, lo, hi, what)).transpose()
        };
        let payload = Payload {
            item: num(&p.item, 1, i64::from(u32::MAX), "item")?.map(|i| i as u32),
            amount: num(&p.amount, 0, i64::MAX, "amount")?.map(|a| a as u64),
            version: num(&p.version, 0, i64::from(u32::MAX - 1), "version")?.map(|v| v as u64),
            key_of: num(&p.key_of, 1, i64::from(ops), "key_of")?.map(|k| k as u32),
            fields: p
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
        };
        out.insert(op, payload);
    }
    Ok(out)
}

/// Refuses amounts whose totals would overflow: every operation charged on every attempt and
/// copy (and once more after a redrive) must still fit in the 64 bits the totals are kept in,
/// so that `charged` never wraps.
fn check_totals(
    src: &Source<'_>,
    raw: &RawWorkload,
    workload: &Workload,
    retry: &RetryPolicy,
    broker: Option<&Broker>,
) -> Result<(), ScenarioError> {
    let rounds: u64 = if broker.is_some_and(|b| b.redrive_after.is_some()) {
        2
    } else {
        1
    };
    // Each attempt's request may be copied once by the network.
    let deliveries = u64::from(retry.attempts_max) * 2 * rounds;
    let total = (1..=workload.ops).try_fold(0u64, |acc, op| {
        acc.checked_add(workload.amount_of(op).checked_mul(deliveries)?)
    });
    if total.is_some() {
        return Ok(());
    }
    let message = format!(
        "these amounts overflow the totals: {} operation(s), each charged up to {deliveries} times (every attempt and its network copy), add up to more than {}; use smaller amounts",
        workload.ops,
        u64::MAX
    );
    let span = raw
        .amount
        .as_ref()
        .map(Spanned::span)
        .or_else(|| raw.amounts.as_ref().map(Spanned::span))
        .or_else(|| raw.op.first().map(Spanned::span));
    Err(src.error(span, message))
}

fn validate(src: &Source<'_>, raw: RawScenario) -> Result<Scenario, ScenarioError> {
    let Some(w) = raw.workload else {
        return Err(src.error(
            None,
            "missing table [workload]: a scenario needs at least `[workload]` with `ops = N`",
        ));
    };
    let ops = int_in(src, &w.ops, 1, i64::from(MAX_OPS), "workload.ops")? as u32;
    let clients = match &w.clients {
        Some(c) => int_in(src, c, 1, i64::from(MAX_CLIENTS), "workload.clients")? as u16,
        None => 1,
    };
    let workload = Workload {
        ops,
        clients: clients.min(ops as u16).max(1),
        interval: w
            .interval
            .as_ref()
            .map(|v| duration(src, v))
            .transpose()?
            .unwrap_or(SimDuration::ZERO),
        amount: match &w.amount {
            Some(a) => int_in(src, a, 0, i64::MAX, "workload.amount")? as u64,
            None => 100,
        },
        amounts: match &w.amounts {
            None => Vec::new(),
            Some(list) if list.get_ref().is_empty() => {
                return Err(src.at(
                    list,
                    "`amounts` is empty: give at least one amount, or leave it out",
                ));
            }
            Some(list) => list
                .get_ref()
                .iter()
                .map(|a| int_in(src, a, 0, i64::MAX, "an amount").map(|a| a as u64))
                .collect::<Result<_, _>>()?,
        },
        resources: match &w.resources {
            Some(r) => int_in(src, r, 1, i64::from(MAX_OPS), "workload.resources")? as u32,
            None => 0,
        },
        item: match &w.item {
            Some(i) => int_in(src, i, 1, i64::from(u32::MAX), "workload.item")? as u32,
            None => 0,
        },
        payloads: validate_payloads(src, &w.op, ops)?,
    };
    let broker = raw
        .broker
        .as_ref()
        .map(|b| validate_broker(src, b))
        .transpose()?;
    let retry = match (&broker, raw.client.and_then(|c| c.retry)) {
        (Some(b), None) => b.retry_policy(),
        (Some(_), Some(_)) => {
            let span = raw.broker.as_ref().map(Spanned::span);
            return Err(src.error(
                span,
                "a scenario with [broker] has no [client.retry]: the broker redelivers by `visibility_timeout` and `max_receives`; remove one of the two",
            ));
        }
        (None, r) => validate_retry(src, r.unwrap_or_default())?,
    };
    check_totals(src, &w, &workload, &retry, broker.as_ref())?;
    let (network, partitions) = validate_network(src, raw.network.unwrap_or_default())?;
    let server = validate_server(src, raw.server.unwrap_or_default())?;
    let provider = raw.provider.unwrap_or_default();
    let external = Provider {
        latency: provider
            .latency
            .as_ref()
            .map(|v| latency(src, v))
            .transpose()?
            .unwrap_or(LatencyRange::fixed(SimDuration::from_millis(5))),
        unavailable: provider
            .unavailable
            .as_ref()
            .map(|v| probability(src, v))
            .transpose()?
            .unwrap_or(0.0),
    };
    let limits = validate_limits(src, raw.limits.unwrap_or_default())?;
    let own_designs = validate_own_designs(src, raw.own_designs)?;
    let designs = validate_designs(src, raw.designs, &own_designs)?;
    let mut atoms = partitions;
    for fault in &raw.faults {
        atoms.push(validate_fault(src, fault, &workload, &retry, &server)?);
    }
    let expect = validate_expect(src, raw.expect, &designs)?;
    let design_options = validate_design_options(src, raw.design, &designs)?;
    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| {
            let stem = src.origin.rsplit(['/', '\\']).next().unwrap_or(src.origin);
            stem.trim_end_matches(".toml").to_string()
        }),
        description: raw.description.unwrap_or_default(),
        seed: raw.seed.unwrap_or(1),
        designs,
        workload,
        retry,
        network,
        server,
        external,
        limits,
        faults: FaultPlan::new(atoms),
        broker,
        design_options,
        expect,
        oracle: validate_oracle(src, raw.oracle)?,
        own_designs,
    })
}

fn validate_oracle(src: &Source<'_>, raw: Option<RawOracle>) -> Result<OracleSpec, ScenarioError> {
    let Some(raw) = raw else {
        return Ok(OracleSpec::default());
    };
    let texts = |list: Vec<Spanned<String>>, what: &str| -> Result<Vec<String>, ScenarioError> {
        list.into_iter()
            .map(|k| {
                if k.get_ref().is_empty() {
                    Err(src.at(
                        &k,
                        format!("an empty key in `{what}`: give the key, or its first characters"),
                    ))
                } else {
                    Ok(k.into_inner())
                }
            })
            .collect()
    };
    Ok(OracleSpec {
        effect_keys: texts(raw.effect_keys, "effect_keys")?,
        exists: texts(raw.exists, "exists")?,
    })
}

fn validate_broker(src: &Source<'_>, b: &Spanned<RawBroker>) -> Result<Broker, ScenarioError> {
    let raw = b.get_ref();
    let visibility_timeout = match &raw.visibility_timeout {
        Some(v) => positive_duration(src, v, "broker.visibility_timeout")?,
        None => SimDuration::from_millis(100),
    };
    let max_receives = match &raw.max_receives {
        Some(m) => int_in(src, m, 1, i64::from(MAX_ATTEMPTS), "broker.max_receives")? as u32,
        None => 5,
    };
    let redrive_after = raw
        .redrive_after
        .as_ref()
        .map(|v| positive_duration(src, v, "broker.redrive_after"))
        .transpose()?;
    Ok(Broker {
        visibility_timeout,
        max_receives,
        redrive_after,
        fifo_dedup: raw.fifo_dedup.unwrap_or(false),
    })
}

type RawDesignOptions = BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>;

fn validate_design_options(
    src: &Source<'_>,
    raw: RawDesignOptions,
    designs: &[String],
) -> Result<BTreeMap<String, Options>, ScenarioError> {
    let mut out = BTreeMap::new();
    for (design, table) in raw {
        let specs = src
            .designs
            .options_of(design.get_ref())
            .map_err(|e| src.at(&design, e.to_string()))?;
        if !designs.contains(design.get_ref()) {
            return Err(src.at(
                &design,
                format!(
                    "[design.{}] gives options to a design this scenario does not run; it runs: {}",
                    design.get_ref(),
                    designs.join(", ")
                ),
            ));
        }
        let mut options = Options::new();
        for (name, value) in table {
            let Some(spec) = specs.iter().find(|o| o.name == name.get_ref()) else {
                let takes = if specs.is_empty() {
                    "it takes no options".to_string()
                } else {
                    let names: Vec<&str> = specs.iter().map(|o| o.name).collect();
                    format!("it takes: {}", names.join(", "))
                };
                let hint = did_you_mean(name.get_ref(), specs.iter().map(|o| o.name));
                return Err(src.at(
                    &name,
                    format!(
                        "design `{}` does not take the option `{}`{hint}; {takes}",
                        design.get_ref(),
                        name.get_ref()
                    ),
                ));
            };
            options.insert(name.get_ref().clone(), option_value(src, spec, &value)?);
        }
        out.insert(design.get_ref().clone(), options);
    }
    Ok(out)
}

fn option_value(
    src: &Source<'_>,
    spec: &OptionSpec,
    value: &Spanned<toml::Value>,
) -> Result<OptionValue, ScenarioError> {
    let wrong = |what: &str| {
        src.at(
            value,
            format!("option `{}` takes {what}: {}", spec.name, spec.help),
        )
    };
    match (spec.kind, value.get_ref()) {
        (OptionKind::Duration, toml::Value::String(text)) => parse_duration(text)
            .map(OptionValue::Duration)
            .map_err(|e| src.at(value, format!("option `{}`: {e}", spec.name))),
        (OptionKind::Duration, _) => Err(wrong("a duration with a unit, such as \"50ms\"")),
        (OptionKind::Bool, toml::Value::Boolean(b)) => Ok(OptionValue::Bool(*b)),
        (OptionKind::Bool, _) => Err(wrong("true or false")),
        (OptionKind::Choice(choices), toml::Value::String(text)) => {
            if choices.contains(&text.as_str()) {
                Ok(OptionValue::Text(text.clone()))
            } else {
                Err(wrong(&format!("one of {}", choices.join(", "))))
            }
        }
        (OptionKind::Choice(choices), _) => Err(wrong(&format!("one of {}", choices.join(", ")))),
        (OptionKind::Design, toml::Value::String(text)) => {
            if text == "middleware" {
                return Err(src.at(value, "the middleware cannot wrap itself"));
            }
            src.designs
                .options_of(text)
                .map(|_| OptionValue::Text(text.clone()))
                .map_err(|e| src.at(value, e.to_string()))
        }
        (OptionKind::Design, _) => Err(wrong("a design name")),
    }
}

fn validate_retry(src: &Source<'_>, r: RawRetry) -> Result<RetryPolicy, ScenarioError> {
    let backoff_base = r
        .backoff_base
        .as_ref()
        .map(|v| duration(src, v))
        .transpose()?
        .unwrap_or(SimDuration::from_millis(10));
    // The default cap is 1s, or the base when that is larger: a cap below the base would make
    // every backoff shorter than its own starting value.
    let backoff_cap = r
        .backoff_cap
        .as_ref()
        .map(|v| duration(src, v))
        .transpose()?
        .unwrap_or(SimDuration::from_secs(1).max(backoff_base));
    if let Some(cap) = &r.backoff_cap
        && backoff_cap < backoff_base
    {
        return Err(src.at(
            cap,
            format!("backoff_cap ({backoff_cap}) must be at least backoff_base ({backoff_base})"),
        ));
    }
    Ok(RetryPolicy {
        timeout: r
            .timeout
            .as_ref()
            .map(|v| positive_duration(src, v, "timeout"))
            .transpose()?
            .unwrap_or(SimDuration::from_millis(100)),
        attempts_max: match &r.attempts_max {
            Some(a) => int_in(src, a, 1, i64::from(MAX_ATTEMPTS), "attempts_max")? as u32,
            None => 3,
        },
        backoff: r.backoff.unwrap_or(Backoff::Exponential),
        backoff_base,
        backoff_cap,
        jitter: r.jitter.unwrap_or(Jitter::Full),
        key: r.key.unwrap_or(KeyPolicy::PerOperation),
    })
}

fn validate_network(
    src: &Source<'_>,
    n: RawNetwork,
) -> Result<(Network, Vec<FaultAtom>), ScenarioError> {
    let (loss_request, loss_response) = match &n.loss {
        None => (0.0, 0.0),
        Some(l) => {
            let check = |p: Option<f64>| match p {
                None => Ok(0.0),
                Some(p) => probability(src, &Spanned::new(l.span(), p)),
            };
            (check(l.get_ref().request)?, check(l.get_ref().response)?)
        }
    };
    let mut partitions = Vec::new();
    for p in &n.partitions {
        let from = duration(src, &p.get_ref().from)?;
        let until = duration(src, &p.get_ref().until)?;
        if until <= from {
            return Err(src.at(&p.get_ref().until, "a partition must end after it starts"));
        }
        partitions.push(FaultAtom::Partition {
            from: SimTime(from.0),
            until: SimTime(until.0),
        });
    }
    let network = Network {
        latency: n
            .latency
            .as_ref()
            .map(|v| latency(src, v))
            .transpose()?
            .unwrap_or(LatencyRange {
                min: SimDuration::from_millis(1),
                max: SimDuration::from_millis(5),
            }),
        loss_request,
        loss_response,
        duplicate: n
            .duplicate
            .as_ref()
            .map(|v| probability(src, v))
            .transpose()?
            .unwrap_or(0.0),
    };
    Ok((network, partitions))
}

fn validate_server(src: &Source<'_>, s: RawServer) -> Result<Server, ScenarioError> {
    Ok(Server {
        count: match &s.count {
            Some(c) => int_in(src, c, 1, i64::from(MAX_SERVERS), "server.count")? as u16,
            None => 1,
        },
        processing: s
            .processing
            .as_ref()
            .map(|v| latency(src, v))
            .transpose()?
            .unwrap_or(LatencyRange::fixed(SimDuration::ZERO)),
        store_latency: s
            .store_latency
            .as_ref()
            .map(|v| latency(src, v))
            .transpose()?
            .unwrap_or(LatencyRange::fixed(SimDuration::from_millis(1))),
        restart_delay: s
            .restart_delay
            .as_ref()
            .map(|v| duration(src, v))
            .transpose()?
            .unwrap_or(SimDuration::from_millis(100)),
        key_ttl: s
            .key_ttl
            .as_ref()
            .map(|v| positive_duration(src, v, "server.key_ttl"))
            .transpose()?,
    })
}

fn validate_limits(src: &Source<'_>, l: RawLimits) -> Result<Budget, ScenarioError> {
    let default = Budget::default();
    Ok(Budget {
        max_events: match &l.max_events {
            Some(m) => int_in(src, m, 1, i64::MAX, "limits.max_events")? as u64,
            None => default.max_events,
        },
        max_time: l
            .max_time
            .as_ref()
            .map(|v| positive_duration(src, v, "limits.max_time"))
            .transpose()?
            .unwrap_or(default.max_time),
        max_trace_events: match &l.max_trace_events {
            Some(m) => {
                let n = int_in(src, m, 1, i64::MAX, "limits.max_trace_events")? as u64;
                let memory = machine_memory();
                let most = memory / 2 / crate::trace::Trace::BYTES_PER_EVENT as u64;
                if n > most {
                    return Err(src.at(
                        m,
                        format!(
                            "limits.max_trace_events = {n} would let one run's trace take {} GB, more than half of this machine's {} GB of memory: at most {most} here",
                            u128::from(n) * crate::trace::Trace::BYTES_PER_EVENT as u128
                                / 1_000_000_000,
                            memory / 1_000_000_000
                        ),
                    ));
                }
                n
            }
            None => default.max_trace_events,
        },
    })
}

/// The machine's memory in bytes (`MemTotal` in `/proc/meminfo`; 8 GB where that cannot be
/// read): what a limit a user raises is bounded by, so that a run ends with the limit's clear
/// message instead of the allocator's abort.
fn machine_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            kb.checked_mul(1024)
        })
        .unwrap_or(8_000_000_000)
}

/// `own_designs`: names of designs written outside idemlab, which `designs` may then list.
fn validate_own_designs(
    src: &Source<'_>,
    own: Vec<Spanned<String>>,
) -> Result<Vec<String>, ScenarioError> {
    let mut out: Vec<String> = Vec::new();
    for d in own {
        if src.designs.is_builtin(d.get_ref()) {
            return Err(src.at(
                &d,
                format!(
                    "`{}` is a design of idemlab's own catalog: list it in `designs` only",
                    d.get_ref()
                ),
            ));
        }
        if d.get_ref().is_empty() || out.contains(d.get_ref()) {
            return Err(src.at(&d, "an empty or repeated name in `own_designs`"));
        }
        out.push(d.into_inner());
    }
    Ok(out)
}

fn validate_designs(
    src: &Source<'_>,
    designs: Option<Spanned<Vec<Spanned<String>>>>,
    own: &[String],
) -> Result<Vec<String>, ScenarioError> {
    let Some(list) = designs else {
        return Ok(DEFAULT_DESIGNS.iter().map(|s| s.to_string()).collect());
    };
    if list.get_ref().is_empty() {
        return Err(src.at(&list, "`designs` is empty: name at least one design"));
    }
    let mut out = Vec::new();
    for d in list.get_ref() {
        if own.contains(d.get_ref()) {
            // A design of the user's own, declared so: nothing to check it against here.
        } else if let Err(e) = src.designs.options_of(d.get_ref()) {
            // A near miss is a typo; a name like no other may be the user's own design.
            let own = if e.suggestion.is_none() {
                format!(
                    "; a design of your own goes in `own_designs` too (`own_designs = [\"{}\"]`) and is run by your own binary (`idemlab::cli::main_with`) or from Rust",
                    d.get_ref()
                )
            } else {
                String::new()
            };
            return Err(src.at(d, format!("{e}{own}")));
        }
        if out.contains(d.get_ref()) {
            return Err(src.at(d, format!("design `{}` is listed twice", d.get_ref())));
        }
        out.push(d.get_ref().clone());
    }
    Ok(out)
}

fn validate_expect(
    src: &Source<'_>,
    expect: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<Comparison>>>,
    designs: &[String],
) -> Result<BTreeMap<String, Vec<Expectation>>, ScenarioError> {
    let mut out = BTreeMap::new();
    for (design, table) in expect {
        if !designs.contains(design.get_ref()) {
            let hint = did_you_mean(design.get_ref(), designs.iter().map(String::as_str));
            return Err(src.at(
                &design,
                format!(
                    "[expect.{}] names a design this scenario does not run{hint}; it runs: {}",
                    design.get_ref(),
                    designs.join(", ")
                ),
            ));
        }
        let mut list = Vec::new();
        for (metric, comparison) in table {
            if !METRIC_NAMES.contains(&metric.get_ref().as_str())
                && !crate::vocab::EXPECT_ONLY_METRICS.contains(&metric.get_ref().as_str())
            {
                let hint = did_you_mean(metric.get_ref(), METRIC_NAMES);
                return Err(src.at(
                    &metric,
                    format!(
                        "unknown metric `{}`{hint}; expected one of: {}",
                        metric.get_ref(),
                        METRIC_NAMES.join(", ")
                    ),
                ));
            }
            list.push(Expectation {
                metric: metric.get_ref().clone(),
                comparison: *comparison.get_ref(),
            });
        }
        out.insert(design.get_ref().clone(), list);
    }
    Ok(out)
}
