//! `idemlab probe --conformance`: the service against the IETF Idempotency-Key header draft
//! (draft-ietf-httpapi-idempotency-key-header), one short live run per rule, each with keys of
//! its own. The draft's words are SHOULD, not MUST: a rule a service fails is a difference from
//! the draft a client must know about, which is why every failure says what came back.
//!
//! 1. A request without the key, to a resource that requires one, gets **400**. A service that
//!    answers 2xx does not require keys: the rule is not applicable.
//! 2. A key reused with a different payload gets **422**.
//! 3. A retry while the first attempt is still being processed gets **409**, or waits and
//!    replays the first attempt's answer. The first attempt is held in flight by stalling the
//!    service's call to the provider.
//! 4. A retry after the first attempt completed gets the stored answer: the same status and the
//!    same body, byte for byte.

use crate::fault::{FaultAtom, FaultPlan, MessageRef};
use crate::settings::{KeyPolicy, Scenario};
use crate::time::SimDuration;
use crate::vocab::StepKind;

use super::{LiveRun, ProbeConfig, ProbeError, RawAnswer, probe};

/// A rule of the draft.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// A missing key gets 400 where keys are required.
    MissingKey,
    /// A key reused with another payload gets 422.
    ReusedKey,
    /// A retry while the first attempt is in flight gets 409 or the first's answer.
    InFlight,
    /// A retry after completion replays the stored status and body exactly.
    Replay,
}

impl Rule {
    /// The four, in the order they are checked.
    pub const ALL: [Rule; 4] = [
        Rule::MissingKey,
        Rule::ReusedKey,
        Rule::InFlight,
        Rule::Replay,
    ];

    /// A short name, for JSON and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Rule::MissingKey => "missing-key",
            Rule::ReusedKey => "reused-key",
            Rule::InFlight => "in-flight",
            Rule::Replay => "replay",
        }
    }

    /// What the draft asks, in a sentence.
    pub fn text(self) -> &'static str {
        match self {
            Rule::MissingKey => "a request without the key gets 400",
            Rule::ReusedKey => "a key reused with another payload gets 422",
            Rule::InFlight => {
                "a retry while the first attempt is in flight gets 409 (or waits and replays)"
            }
            Rule::Replay => "a retry after completion replays the stored status and body exactly",
        }
    }
}

/// How a rule went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The service does what the draft asks; what it answered.
    Pass(String),
    /// It does not; what came back instead.
    Fail(String),
    /// The rule does not apply to this service, and why.
    NotApplicable(String),
}

impl Verdict {
    /// `pass`, `fail` or `n/a`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass(_) => "pass",
            Verdict::Fail(_) => "fail",
            Verdict::NotApplicable(_) => "n/a",
        }
    }

    /// What was seen.
    pub fn detail(&self) -> &str {
        match self {
            Verdict::Pass(d) | Verdict::Fail(d) | Verdict::NotApplicable(d) => d,
        }
    }
}

/// One rule's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleResult {
    /// The rule.
    pub rule: Rule,
    /// How it went.
    pub verdict: Verdict,
}

/// An answer as one line: `201 {"order":1}`, the body cut at 120 characters.
fn shown(a: &RawAnswer) -> String {
    let body = String::from_utf8_lossy(&a.body);
    let body = body.trim();
    let cut: String = body.chars().take(120).collect();
    let more = if cut.len() < body.len() { "…" } else { "" };
    if body.is_empty() {
        format!("{} with no body", a.status)
    } else {
        format!("{} {cut}{more}", a.status)
    }
}

fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

/// The answer to `op`'s `attempt` (its first copy), if one came.
fn answer(run: &LiveRun, op: u32, attempt: u32) -> Option<&RawAnswer> {
    run.answers
        .get(op as usize - 1)?
        .iter()
        .find(|a| a.attempt == attempt && a.copy == 0)
}

fn no_answer(what: &str) -> Verdict {
    Verdict::Fail(format!("no answer to {what} within the exchange's limit"))
}

fn success(a: &RawAnswer) -> bool {
    (200..300).contains(&a.status)
}

/// Checks the four rules against the service of `config`, each in a live run built on
/// `template` (its seed and name; its workload and faults are replaced).
pub fn conformance(
    template: &Scenario,
    config: &ProbeConfig,
) -> Result<Vec<RuleResult>, ProbeError> {
    let mut out = Vec::new();
    for rule in Rule::ALL {
        let verdict = check(rule, template, config)?;
        out.push(RuleResult { rule, verdict });
        if crate::signals::watch().raised() {
            return Err(ProbeError::Interrupted);
        }
    }
    Ok(out)
}

fn check(rule: Rule, template: &Scenario, config: &ProbeConfig) -> Result<Verdict, ProbeError> {
    let mut s = super::matrix::base(template, &super::matrix::Timings::SIMULATED);
    // Long enough for any answer of a healthy service: these runs look at answers, not timing.
    s.retry.timeout = ms(1_000);
    s.retry.attempts_max = 1;
    match rule {
        Rule::MissingKey => {
            s.retry.key = KeyPolicy::None;
            let run = probe(&s, &FaultPlan::default(), config)?;
            Ok(match answer(&run, 1, 1) {
                None => no_answer("the request"),
                Some(a) if a.status == 400 => Verdict::Pass(format!("answered {}", shown(a))),
                Some(a) if success(a) => Verdict::NotApplicable(format!(
                    "answered {} without a key: this service does not require keys",
                    shown(a)
                )),
                Some(a) => Verdict::Fail(format!("answered {}", shown(a))),
            })
        }
        Rule::ReusedKey => {
            s.workload.ops = 2;
            s.workload.amounts = vec![100, 150];
            s.retry.key = KeyPolicy::Shared;
            let run = probe(&s, &FaultPlan::default(), config)?;
            let (Some(first), Some(second)) = (answer(&run, 1, 1), answer(&run, 2, 1)) else {
                return Ok(no_answer("one of the two requests"));
            };
            Ok(if !success(first) {
                Verdict::Fail(format!(
                    "the first request (amount 100) was answered {}: nothing to reuse",
                    shown(first)
                ))
            } else if second.status == 422 {
                Verdict::Pass(format!("answered {}", shown(second)))
            } else if second.status == first.status && second.body == first.body {
                Verdict::Fail(format!(
                    "answered {}: the first payment's answer, replayed for another payment (amount 150 never charged)",
                    shown(second)
                ))
            } else if success(second) {
                Verdict::Fail(format!(
                    "answered {}: the second payload was processed under the first's key",
                    shown(second)
                ))
            } else {
                Verdict::Fail(format!("answered {}", shown(second)))
            })
        }
        Rule::InFlight => {
            // The first attempt's call to the provider stalls 300ms; the client gives up on it
            // after 50ms and retries 20ms later, while it is still being processed.
            s.retry.timeout = ms(50);
            s.retry.attempts_max = 2;
            let plan = FaultPlan::new(vec![FaultAtom::Slow {
                op: 1,
                attempt: 1,
                step: StepKind::Charge,
                by: ms(300),
                position: None,
                copy: None,
            }]);
            let run = probe(&s, &plan, config)?;
            let Some(retry) = answer(&run, 1, 2) else {
                return Ok(no_answer("the retry"));
            };
            let first = answer(&run, 1, 1);
            if run.run.provider_calls == 0 {
                return Ok(Verdict::NotApplicable(format!(
                    "the service never called the provider, so the first attempt could not be held in flight (the retry was answered {})",
                    shown(retry)
                )));
            }
            Ok(match first {
                _ if retry.status == 409 => Verdict::Pass(format!("answered {}", shown(retry))),
                Some(f) if success(f) && f.status == retry.status && f.body == retry.body => {
                    Verdict::Pass(format!(
                        "waited and replayed the first answer, {}",
                        shown(retry)
                    ))
                }
                Some(f) if success(retry) => Verdict::Fail(format!(
                    "answered {} while the first attempt was in flight, which then answered {}: processed twice",
                    shown(retry),
                    shown(f)
                )),
                _ => Verdict::Fail(format!("answered {}", shown(retry))),
            })
        }
        Rule::Replay => {
            // The first answer is read and thrown away, so the client retries a completed
            // request.
            s.retry.timeout = ms(200);
            s.retry.attempts_max = 2;
            let plan = FaultPlan::new(vec![FaultAtom::Drop(MessageRef::response(1, 1))]);
            let run = probe(&s, &plan, config)?;
            let (Some(first), Some(retry)) = (answer(&run, 1, 1), answer(&run, 1, 2)) else {
                return Ok(no_answer("the request or its retry"));
            };
            Ok(if !success(first) {
                Verdict::NotApplicable(format!(
                    "the first attempt was answered {}: nothing completed to replay",
                    shown(first)
                ))
            } else if first.status == retry.status && first.body == retry.body {
                Verdict::Pass(format!("replayed {}", shown(retry)))
            } else {
                let same_json = serde_json::from_slice::<serde_json::Value>(&first.body).ok()
                    == serde_json::from_slice::<serde_json::Value>(&retry.body).ok();
                Verdict::Fail(format!(
                    "the first attempt was answered {}, the retry {}{}",
                    shown(first),
                    shown(retry),
                    if first.status == retry.status && same_json {
                        " (the same JSON, not the same bytes)"
                    } else {
                        ""
                    }
                ))
            })
        }
    }
}
