//! Validation of `[[faults]]`: each entry one atom of the fault plan, its keys checked
//! against its kind.

use std::ops::Range;

use toml::Spanned;

use super::error::Source;
use super::raw::*;
use super::values::{duration, int_in};
use super::*;
use crate::fault::{Direction, FaultAtom, MessageRef, When};
use crate::suggest::did_you_mean;
use crate::time::SimTime;
use crate::vocab::StepKind;

/// Which keys each fault kind takes (besides `kind`).
fn fault_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "drop" | "duplicate" => &["message", "op", "attempt", "copy"],
        "delay" => &["message", "op", "attempt", "copy", "by"],
        "crash" => &[
            "at", "server", "op", "attempt", "copy", "before", "after", "position",
        ],
        "partition" => &["from", "until"],
        "unavailable" => &["op", "attempt", "copy", "position"],
        "slow" => &["op", "attempt", "copy", "step", "position", "by"],
        _ => &[],
    }
}

pub(super) fn validate_fault(
    src: &Source<'_>,
    fault: &Spanned<RawFault>,
    workload: &Workload,
    retry: &RetryPolicy,
    server: &Server,
) -> Result<FaultAtom, ScenarioError> {
    let f = fault.get_ref();
    let kind = f.kind.get_ref().as_str();
    if !FAULT_KINDS.contains(&kind) {
        let hint = did_you_mean(kind, FAULT_KINDS);
        return Err(src.at(
            &f.kind,
            format!(
                "unknown fault kind `{kind}`{hint}; expected one of: {}",
                FAULT_KINDS.join(", ")
            ),
        ));
    }
    // A key that does not apply to this kind is a mistake, not something to ignore.
    let allowed = fault_keys(kind);
    let present: [(&str, Option<Range<usize>>); 13] = [
        ("position", f.position.as_ref().map(Spanned::span)),
        ("step", f.step.as_ref().map(Spanned::span)),
        ("message", f.message.as_ref().map(Spanned::span)),
        ("op", f.op.as_ref().map(Spanned::span)),
        ("attempt", f.attempt.as_ref().map(Spanned::span)),
        ("copy", f.copy.as_ref().map(Spanned::span)),
        ("by", f.by.as_ref().map(Spanned::span)),
        ("at", f.at.as_ref().map(Spanned::span)),
        ("server", f.server.as_ref().map(Spanned::span)),
        ("before", f.before.as_ref().map(Spanned::span)),
        ("after", f.after.as_ref().map(Spanned::span)),
        ("from", f.from.as_ref().map(Spanned::span)),
        ("until", f.until.as_ref().map(Spanned::span)),
    ];
    for (name, span) in present {
        if let Some(span) = span
            && !allowed.contains(&name)
        {
            return Err(src.error(
                Some(span),
                format!(
                    "`{name}` does not apply to a `{kind}` fault; a `{kind}` fault takes: {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let need = |what: &str| {
        src.at(
            fault,
            format!(
                "a `{kind}` fault needs `{what}`; it takes: {}",
                allowed.join(", ")
            ),
        )
    };
    let op = |required: bool| -> Result<Option<u32>, ScenarioError> {
        match &f.op {
            Some(v) => Ok(Some(
                int_in(src, v, 1, i64::from(workload.ops), "op")? as u32
            )),
            None if required => Err(need("op")),
            None => Ok(None),
        }
    };
    let attempt = || -> Result<Option<u32>, ScenarioError> {
        f.attempt
            .as_ref()
            .map(|v| int_in(src, v, 1, i64::from(retry.attempts_max), "attempt").map(|a| a as u32))
            .transpose()
    };
    // The handler-step faults may name the request copy and the step's position.
    let step_copy = || -> Result<Option<u32>, ScenarioError> {
        f.copy
            .as_ref()
            .map(|c| int_in(src, c, 0, 1, "copy").map(|c| c as u32))
            .transpose()
    };
    let position = || -> Result<Option<u32>, ScenarioError> {
        f.position
            .as_ref()
            .map(|p| int_in(src, p, 1, 1_000, "position").map(|p| p as u32))
            .transpose()
    };
    match kind {
        "drop" | "duplicate" | "delay" => {
            let message = f.message.as_ref().ok_or_else(|| need("message"))?;
            let dir = match message.get_ref().as_str() {
                "request" => Direction::Request,
                "response" => Direction::Response,
                other => {
                    return Err(src.at(
                        message,
                        format!("unknown message `{other}`; expected `request` or `response`"),
                    ));
                }
            };
            let msg = MessageRef {
                dir,
                op: op(true)?.unwrap_or(1),
                attempt: attempt()?.unwrap_or(1),
                copy: match &f.copy {
                    Some(c) => int_in(src, c, 0, 2, "copy")? as u32,
                    None => 0,
                },
            };
            Ok(match kind {
                "drop" => FaultAtom::Drop(msg),
                "duplicate" => FaultAtom::Duplicate(msg),
                _ => FaultAtom::Delay {
                    msg,
                    by: duration(src, f.by.as_ref().ok_or_else(|| need("by"))?)?,
                },
            })
        }
        "crash" => {
            let atom = validate_crash(src, fault, op(false)?, attempt()?, server, &need)?;
            Ok(match atom {
                FaultAtom::CrashAtStep {
                    op,
                    attempt,
                    when,
                    step,
                    ..
                } => FaultAtom::CrashAtStep {
                    op,
                    attempt,
                    when,
                    step,
                    position: position()?,
                    copy: step_copy()?,
                },
                at_a_time => {
                    if let Some(p) = f.position.as_ref().or(f.copy.as_ref()) {
                        return Err(src.at(
                            p,
                            "`position` and `copy` name a handler step: they go with `before` or `after`, not with `at`",
                        ));
                    }
                    at_a_time
                }
            })
        }
        "unavailable" => Ok(FaultAtom::Unavailable {
            op: op(true)?.unwrap_or(1),
            attempt: attempt()?,
            position: position()?,
            copy: step_copy()?,
        }),
        "slow" => {
            let step = f.step.as_ref().ok_or_else(|| need("step"))?;
            let step_kind = step_named(src, step)?;
            Ok(FaultAtom::Slow {
                op: op(true)?.unwrap_or(1),
                attempt: attempt()?.unwrap_or(1),
                step: step_kind,
                by: duration(src, f.by.as_ref().ok_or_else(|| need("by"))?)?,
                position: position()?,
                copy: step_copy()?,
            })
        }
        _ => {
            let from = duration(src, f.from.as_ref().ok_or_else(|| need("from"))?)?;
            let until_v = f.until.as_ref().ok_or_else(|| need("until"))?;
            let until = duration(src, until_v)?;
            if until <= from {
                return Err(src.at(until_v, "a partition must end after it starts"));
            }
            Ok(FaultAtom::Partition {
                from: SimTime(from.0),
                until: SimTime(until.0),
            })
        }
    }
}

/// The handler step a fault names (`after = "charge"`, `step = "put"`).
fn step_named(src: &Source<'_>, step: &Spanned<String>) -> Result<StepKind, ScenarioError> {
    StepKind::from_name(step.get_ref()).ok_or_else(|| {
        let names: Vec<&str> = StepKind::ALL.iter().map(|s| s.name()).collect();
        let hint = did_you_mean(step.get_ref(), names.iter().copied());
        src.at(
            step,
            format!(
                "unknown step `{}`{hint}; expected one of: {}",
                step.get_ref(),
                names.join(", ")
            ),
        )
    })
}

fn validate_crash(
    src: &Source<'_>,
    fault: &Spanned<RawFault>,
    op: Option<u32>,
    attempt: Option<u32>,
    server: &Server,
    need: &dyn Fn(&str) -> ScenarioError,
) -> Result<FaultAtom, ScenarioError> {
    let f = fault.get_ref();
    if let Some(at) = &f.at {
        if let Some(extra) = f.before.as_ref().or(f.after.as_ref()) {
            return Err(src.at(
                extra,
                "a crash is either at a time (`at`) or at a step (`op` with `before` or `after`), not both",
            ));
        }
        let server_index = match &f.server {
            Some(s) if server.count == 1 && *s.get_ref() != 0 => {
                return Err(src.at(
                    s,
                    format!(
                        "there is no server {}: the scenario has one server, server 0 (set `count` under [server] for more)",
                        s.get_ref()
                    ),
                ));
            }
            Some(s) => int_in(src, s, 0, i64::from(server.count) - 1, "server")? as u16,
            None => 0,
        };
        return Ok(FaultAtom::CrashAt {
            server: server_index,
            at: SimTime(duration(src, at)?.0),
        });
    }
    let (when, step) = match (&f.before, &f.after) {
        (Some(b), None) => (When::Before, b),
        (None, Some(a)) => (When::After, a),
        (Some(_), Some(a)) => {
            return Err(src.at(a, "give `before` or `after`, not both"));
        }
        (None, None) => return Err(need("`at`, or `op` with `before` or `after`")),
    };
    let step_kind = step_named(src, step)?;
    if let Some(s) = &f.server {
        return Err(src.at(
            s,
            "a crash at a step crashes whichever server runs that step; `server` goes with `at`",
        ));
    }
    Ok(FaultAtom::CrashAtStep {
        op: op.ok_or_else(|| need("op"))?,
        attempt,
        when,
        step: step_kind,
        position: None,
        copy: None,
    })
}
