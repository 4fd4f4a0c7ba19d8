//! Writing a scenario back as a file that the reader reads to an equal scenario: how a
//! counterexample becomes a replay file.

use super::*;
use crate::fault::{Direction, FaultAtom, MessageRef};

/// Writes `scenario` as a scenario file that [`crate::scenario::parse`] reads back to an equal scenario
/// (`header` becomes its leading comment, one `# ` line per line).
pub fn to_toml(scenario: &Scenario, header: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for line in header.lines() {
        let _ = if line.is_empty() {
            writeln!(out, "#")
        } else {
            writeln!(out, "# {line}")
        };
    }
    if !header.is_empty() {
        out.push('\n');
    }
    let quoted = |s: &str| toml_string(s);
    let s = scenario;
    let _ = writeln!(out, "name = {}", quoted(&s.name));
    let _ = writeln!(out, "description = {}", quoted(&s.description));
    let _ = writeln!(out, "seed = {}", s.seed);
    let designs: Vec<String> = s.designs.iter().map(|d| quoted(d)).collect();
    let _ = writeln!(out, "designs = [{}]", designs.join(", "));
    if !s.own_designs.is_empty() {
        let own: Vec<String> = s.own_designs.iter().map(|d| quoted(d)).collect();
        let _ = writeln!(out, "own_designs = [{}]", own.join(", "));
    }
    let w = &s.workload;
    let _ = writeln!(
        out,
        "\n[workload]\nops = {}\nclients = {}\ninterval = \"{}\"\namount = {}",
        w.ops, w.clients, w.interval, w.amount
    );
    if !w.amounts.is_empty() {
        let list: Vec<String> = w.amounts.iter().map(u64::to_string).collect();
        let _ = writeln!(out, "amounts = [{}]", list.join(", "));
    }
    if w.resources > 0 {
        let _ = writeln!(out, "resources = {}", w.resources);
    }
    if w.item > 0 {
        let _ = writeln!(out, "item = {}", w.item);
    }
    for (op, p) in &w.payloads {
        let _ = writeln!(out, "\n[[workload.op]]\nop = {op}");
        if let Some(i) = p.item {
            let _ = writeln!(out, "item = {i}");
        }
        if let Some(a) = p.amount {
            let _ = writeln!(out, "amount = {a}");
        }
        if let Some(v) = p.version {
            let _ = writeln!(out, "version = {v}");
        }
        if let Some(k) = p.key_of {
            let _ = writeln!(out, "key_of = {k}");
        }
        if !p.fields.is_empty() {
            let fields: Vec<String> = p
                .fields
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), quoted(v)))
                .collect();
            let _ = writeln!(out, "fields = {{ {} }}", fields.join(", "));
        }
    }
    let r = &s.retry;
    let (backoff, jitter, key) = (r.backoff.name(), r.jitter.name(), r.key.name());
    match &s.broker {
        None => {
            let _ = writeln!(
                out,
                "\n[client.retry]\ntimeout = \"{}\"\nattempts_max = {}\nbackoff = \"{backoff}\"\nbackoff_base = \"{}\"\nbackoff_cap = \"{}\"\njitter = \"{jitter}\"\nkey = \"{key}\"",
                r.timeout, r.attempts_max, r.backoff_base, r.backoff_cap
            );
        }
        Some(b) => {
            let _ = writeln!(
                out,
                "\n[broker]\nvisibility_timeout = \"{}\"\nmax_receives = {}\nfifo_dedup = {}",
                b.visibility_timeout, b.max_receives, b.fifo_dedup
            );
            if let Some(d) = b.redrive_after {
                let _ = writeln!(out, "redrive_after = \"{d}\"");
            }
        }
    }
    let n = &s.network;
    let _ = writeln!(
        out,
        "\n[network]\nlatency = \"{}\"\nloss = {{ request = {:?}, response = {:?} }}\nduplicate = {:?}",
        n.latency, n.loss_request, n.loss_response, n.duplicate
    );
    let v = &s.server;
    let _ = writeln!(
        out,
        "\n[server]\ncount = {}\nprocessing = \"{}\"\nstore_latency = \"{}\"\nrestart_delay = \"{}\"",
        v.count, v.processing, v.store_latency, v.restart_delay
    );
    if let Some(ttl) = v.key_ttl {
        let _ = writeln!(out, "key_ttl = \"{ttl}\"");
    }
    let _ = writeln!(
        out,
        "\n[provider]\nlatency = \"{}\"\nunavailable = {:?}",
        s.external.latency, s.external.unavailable
    );
    let _ = writeln!(
        out,
        "\n[limits]\nmax_events = {}\nmax_time = \"{}\"\nmax_trace_events = {}",
        s.limits.max_events, s.limits.max_time, s.limits.max_trace_events
    );
    for atom in &s.faults.atoms {
        out.push_str("\n[[faults]]\n");
        out.push_str(&fault_toml(atom));
    }
    for (design, options) in &s.design_options {
        let _ = writeln!(out, "\n[design.{}]", quoted(design));
        for (name, value) in options {
            let value = match value {
                OptionValue::Duration(d) => format!("\"{d}\""),
                OptionValue::Bool(b) => b.to_string(),
                OptionValue::Text(t) => quoted(t),
            };
            let _ = writeln!(out, "{name} = {value}");
        }
    }
    if s.oracle != OracleSpec::default() {
        let list = |keys: &[String]| -> String {
            keys.iter()
                .map(|k| quoted(k))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str("\n[oracle]\n");
        if !s.oracle.effect_keys.is_empty() {
            let _ = writeln!(out, "effect_keys = [{}]", list(&s.oracle.effect_keys));
        }
        if !s.oracle.exists.is_empty() {
            let _ = writeln!(out, "exists = [{}]", list(&s.oracle.exists));
        }
    }
    for (design, list) in &s.expect {
        let _ = writeln!(out, "\n[expect.{}]", quoted(design));
        for e in list {
            let value = match e.comparison {
                Comparison::Eq(n) => n.to_string(),
                Comparison::Gt(n) => format!("\">{n}\""),
                Comparison::Ge(n) => format!("\">={n}\""),
                Comparison::Lt(n) => format!("\"<{n}\""),
                Comparison::Le(n) => format!("\"<={n}\""),
                Comparison::Between(lo, hi) => format!("\"{lo}..{hi}\""),
            };
            let _ = writeln!(out, "{} = {value}", e.metric);
        }
    }
    out
}

/// A TOML basic string with the characters TOML requires escaped.
/// A key as TOML writes it: bare when it can be, else quoted.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_string(k)
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The body of one `[[faults]]` entry.
fn fault_toml(atom: &FaultAtom) -> String {
    let message = |m: &MessageRef| {
        let dir = match m.dir {
            Direction::Request => "request",
            Direction::Response => "response",
        };
        format!(
            "message = \"{dir}\"\nop = {}\nattempt = {}\ncopy = {}\n",
            m.op, m.attempt, m.copy
        )
    };
    match atom {
        FaultAtom::Drop(m) => format!("kind = \"drop\"\n{}", message(m)),
        FaultAtom::Duplicate(m) => format!("kind = \"duplicate\"\n{}", message(m)),
        FaultAtom::Delay { msg, by } => {
            format!("kind = \"delay\"\n{}by = \"{by}\"\n", message(msg))
        }
        FaultAtom::CrashAt { server, at } => {
            format!("kind = \"crash\"\nserver = {server}\nat = \"{at}\"\n")
        }
        FaultAtom::CrashAtStep {
            op,
            attempt,
            when,
            step,
            position,
            copy,
        } => {
            let when = when.name();
            let attempt = attempt
                .map(|a| format!("attempt = {a}\n"))
                .unwrap_or_default();
            format!(
                "kind = \"crash\"\nop = {op}\n{attempt}{}{when} = \"{}\"\n{}",
                copy_line(*copy),
                step.name(),
                position_line(*position)
            )
        }
        FaultAtom::Partition { from, until } => {
            format!("kind = \"partition\"\nfrom = \"{from}\"\nuntil = \"{until}\"\n")
        }
        FaultAtom::Slow {
            op,
            attempt,
            step,
            by,
            position,
            copy,
        } => format!(
            "kind = \"slow\"\nop = {op}\nattempt = {attempt}\n{}step = \"{}\"\n{}by = \"{by}\"\n",
            copy_line(*copy),
            step.name(),
            position_line(*position)
        ),
        FaultAtom::Unavailable {
            op,
            attempt,
            position,
            copy,
        } => {
            let attempt = attempt
                .map(|a| format!("attempt = {a}\n"))
                .unwrap_or_default();
            format!(
                "kind = \"unavailable\"\nop = {op}\n{attempt}{}{}",
                copy_line(*copy),
                position_line(*position)
            )
        }
    }
}

/// `copy = N` for a step fault that names the request's network copy.
fn copy_line(copy: Option<u32>) -> String {
    copy.map(|c| format!("copy = {c}\n")).unwrap_or_default()
}

/// `position = N` for a step fault that names the step's position in the handler.
fn position_line(position: Option<u32>) -> String {
    position
        .map(|p| format!("position = {p}\n"))
        .unwrap_or_default()
}
