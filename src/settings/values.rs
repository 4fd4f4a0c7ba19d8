//! The scalar values of a scenario, each read from its span: durations, latency ranges,
//! probabilities, bounded integers. A leaf both stages of validation use (`validate.rs` for
//! the tables, `faults.rs` for the `[[faults]]`), so neither needs the other for them.

use toml::Spanned;

use super::error::Source;
use super::raw::DurText;
use super::{LatencyRange, ScenarioError};
use crate::time::{SimDuration, parse_duration};

/// A duration such as `"20ms"`.
pub(super) fn duration(
    src: &Source<'_>,
    v: &Spanned<DurText>,
) -> Result<SimDuration, ScenarioError> {
    parse_duration(&v.get_ref().0).map_err(|e| src.at(v, e.to_string()))
}

/// A duration longer than zero; `what` names it in the error.
pub(super) fn positive_duration(
    src: &Source<'_>,
    v: &Spanned<DurText>,
    what: &str,
) -> Result<SimDuration, ScenarioError> {
    let d = duration(src, v)?;
    if d == SimDuration::ZERO {
        return Err(src.at(v, format!("{what} must be longer than zero, e.g. \"20ms\"")));
    }
    Ok(d)
}

/// A latency, one duration or a range `"1ms..5ms"`.
pub(super) fn latency(
    src: &Source<'_>,
    v: &Spanned<DurText>,
) -> Result<LatencyRange, ScenarioError> {
    let text = &v.get_ref().0;
    let (min, max) = match text.split_once("..") {
        Some((lo, hi)) => (parse_duration(lo), parse_duration(hi)),
        None => (parse_duration(text), parse_duration(text)),
    };
    let expected = || {
        src.at(
            v,
            format!(
                "invalid latency `{text}`: expected a duration such as \"5ms\" or a range such as \"1ms..5ms\""
            ),
        )
    };
    let (min, max) = (min.map_err(|_| expected())?, max.map_err(|_| expected())?);
    if min > max {
        return Err(src.at(
            v,
            format!("the range `{text}` is empty: its start is after its end"),
        ));
    }
    Ok(LatencyRange { min, max })
}

/// A probability, between 0 and 1.
pub(super) fn probability(src: &Source<'_>, v: &Spanned<f64>) -> Result<f64, ScenarioError> {
    let p = *v.get_ref();
    if !(0.0..=1.0).contains(&p) {
        return Err(src.at(v, format!("a probability must be between 0 and 1, got {p}")));
    }
    Ok(p)
}

/// An integer in `lo..=hi`; `what` names it in the error.
pub(super) fn int_in(
    src: &Source<'_>,
    v: &Spanned<i64>,
    lo: i64,
    hi: i64,
    what: &str,
) -> Result<i64, ScenarioError> {
    let n = *v.get_ref();
    if n < lo || n > hi {
        let range = if hi == i64::MAX {
            format!("at least {lo}")
        } else {
            format!("between {lo} and {hi}")
        };
        return Err(src.at(v, format!("{what} must be {range}, got {n}")));
    }
    Ok(n)
}
