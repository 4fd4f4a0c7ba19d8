//! Virtual time: instants and durations in whole microseconds.
//!
//! Nothing in the simulator reads a wall clock. [`SimTime`] is the instant on the virtual clock
//! (microseconds since the start of a run) and [`SimDuration`] a span of it. Durations are written
//! in scenario files with a unit, `"20ms"`, `"1.5s"`, `"250us"`, and parsed by [`parse_duration`].
//!
//! ```
//! use idemlab::time::{parse_duration, SimDuration};
//! assert_eq!(parse_duration("1.5s").unwrap(), SimDuration::from_millis(1500));
//! assert_eq!(SimDuration::from_micros(20_000).to_string(), "20ms");
//! ```

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant of virtual time, in microseconds since the run started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of virtual time, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);

    /// Microseconds since the start of the run.
    pub fn as_micros(self) -> u64 {
        self.0
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration of `us` microseconds.
    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us)
    }

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * 1_000)
    }

    /// A duration of `s` seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * 1_000_000)
    }

    /// The duration in microseconds.
    pub fn as_micros(self) -> u64 {
        self.0
    }

    /// The duration in (fractional) milliseconds, for display.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1_000.0
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.since(rhs)
    }
}

/// Units a duration may be written in, longest suffix first so that `ms` wins over `s`.
const UNITS: [(&str, u64); 5] = [
    ("us", 1),
    ("ms", 1_000),
    ("s", 1_000_000),
    ("m", 60_000_000),
    ("h", 3_600_000_000),
];

/// Writes a duration exactly, in the largest unit up to seconds: `250us`, `1.5ms`,
/// `1.888300s` is written `1.8883s`. The text reads back to the same microseconds.
fn write_micros(f: &mut fmt::Formatter<'_>, us: u64) -> fmt::Result {
    if us == 0 {
        return f.write_str("0ms");
    }
    if us < 1_000 {
        return write!(f, "{us}us");
    }
    if us < 1_000_000 {
        return write_scaled(f, us, 1_000, "ms");
    }
    write_scaled(f, us, 1_000_000, "s")
}

fn write_scaled(f: &mut fmt::Formatter<'_>, us: u64, per_unit: u64, unit: &str) -> fmt::Result {
    let whole = us / per_unit;
    let rest = us % per_unit;
    if rest == 0 {
        return write!(f, "{whole}{unit}");
    }
    // Every digit down to the microsecond, so that the text reads back exactly; trailing
    // zeros go.
    let digits = per_unit.ilog10() as usize;
    let frac = format!("{rest:0digits$}");
    let frac = frac.trim_end_matches('0');
    write!(f, "{whole}.{frac}{unit}")
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_micros(f, self.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_micros(f, self.0)
    }
}

/// Why a duration string could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", if *.too_large {
    format!("the duration `{}` is too large: the longest a run can measure is about 584,000 years (2^64 microseconds)", .text)
} else {
    format!("invalid duration `{}`: expected a number followed by a unit (us, ms, s, m, h), e.g. \"20ms\" or \"1.5s\"", .text)
})]
pub struct DurationError {
    /// The text that was given.
    pub text: String,
    /// True when it is a well-formed duration, too large for 64 bits of microseconds.
    pub too_large: bool,
}

/// Parses `"20ms"`, `"1.5s"`, `"250us"`, `"2m"`, `"1h"` into a [`SimDuration`].
///
/// The number must be non-negative and finite; the result is rounded to the nearest microsecond.
pub fn parse_duration(text: &str) -> Result<SimDuration, DurationError> {
    let err = || DurationError {
        text: text.to_string(),
        too_large: false,
    };
    let too_large = || DurationError {
        text: text.to_string(),
        too_large: true,
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(err)?;
    let (number, unit) = trimmed.split_at(split);
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(err)?;
    let number = number.trim();
    // An exact decimal: digits, optionally a point and more digits. No floating point, so that
    // every duration this crate writes reads back to the same microseconds.
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !all_digits(whole) || !all_digits(frac) {
        return Err(err());
    }
    // Digits only, checked above: a parse that fails can only be one too large for 64 bits.
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let mut micros = whole.checked_mul(scale).ok_or_else(too_large)?;
    // The fraction, digit by digit: each is worth scale / 10^k microseconds; digits below a
    // microsecond round half up.
    let mut place = scale;
    for d in frac.bytes().map(|b| u64::from(b - b'0')) {
        if place >= 10 {
            place /= 10;
            micros = micros.checked_add(d * place).ok_or_else(too_large)?;
        } else {
            if d >= 5 {
                micros = micros.checked_add(1).ok_or_else(too_large)?;
            }
            break;
        }
    }
    Ok(SimDuration(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, micros: Option<u64>) {
        assert_eq!(
            parse_duration(text).ok().map(|d| d.0),
            micros,
            "parsing {text:?}"
        );
    }

    #[test]
    fn parses_every_unit_and_rejects_nonsense() {
        check("20ms", Some(20_000));
        check("1.5s", Some(1_500_000));
        check("250us", Some(250));
        check("2m", Some(120_000_000));
        check("1h", Some(3_600_000_000));
        check(" 3 ms ", Some(3_000));
        check("0ms", Some(0));
        check("20", None);
        check("ms", None);
        check("-5ms", None);
        check("5 parsecs", None);
        check("5msec", None);
        check("nanms", None);
        check("1.5us", Some(2));
        check("1.4us", Some(1));
        check("0.0015ms", Some(2));
        check(".5ms", Some(500));
        check("1.ms", Some(1_000));
        check(".ms", None);
        check("1e3ms", None);
        check("", None);
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        let show = |us| SimDuration(us).to_string();
        assert_eq!(show(0), "0ms");
        assert_eq!(show(250), "250us");
        assert_eq!(show(20_000), "20ms");
        assert_eq!(show(1_500), "1.5ms");
        assert_eq!(show(1_500_000), "1.5s");
        assert_eq!(show(2_000_000), "2s");
        assert_eq!(show(1_234_567), "1.234567s");
        assert_eq!(show(1_888_300), "1.8883s");
    }

    /// Found by the fuzzer: "1888.3ms" was written "1.888s" and read back 300us short. Every
    /// duration must read back to the same microseconds.
    #[test]
    fn every_duration_reads_back_exactly() {
        for us in [
            0,
            1,
            999,
            1_000,
            1_001,
            999_999,
            1_000_000,
            1_888_300,
            3_600_000_001,
            u64::MAX / 2,
        ] {
            let text = SimDuration(us).to_string();
            assert_eq!(parse_duration(&text).map(|d| d.0), Ok(us), "{text}");
        }
    }
}
