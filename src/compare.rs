//! Several designs through the same scenario, seed and fault fates, side by side.
//!
//! Because fates are keyed by identity, the first attempt of every operation meets the same
//! network under every design; where the designs' traces differ, it is because the designs did.

use serde::Serialize;

use crate::fault::FaultPlan;
use crate::handlers::{Design, UnknownDesign};
use crate::oracle::{self, Ideal, Metrics, Violation};
use crate::scenario::Scenario;
use crate::world::{self, Run};

/// The runs of several designs and their metrics.
pub struct Comparison {
    /// The scenario's name.
    pub scenario: String,
    /// The seed every run used.
    pub seed: u64,
    /// What the exactly-once ideal shows.
    pub ideal: Ideal,
    /// One run per design, in the order asked for.
    pub runs: Vec<Run>,
    /// One set of metrics per run.
    pub metrics: Vec<Metrics>,
}

/// The JSON form of a comparison (the stable contract of `compare --format json`).
#[derive(Serialize)]
pub struct ComparisonReport<'a> {
    /// The scenario's name.
    pub scenario: &'a str,
    /// The seed.
    pub seed: u64,
    /// The ideal.
    pub ideal: &'a Ideal,
    /// One object per design.
    pub designs: &'a [Metrics],
}

impl Comparison {
    /// The serializable report.
    pub fn report(&self) -> ComparisonReport<'_> {
        ComparisonReport {
            scenario: &self.scenario,
            seed: self.seed,
            ideal: &self.ideal,
            designs: &self.metrics,
        }
    }

    /// Every `[expect]` assertion that failed, over all designs.
    pub fn violations(&self, scenario: &Scenario) -> Vec<Violation> {
        self.metrics
            .iter()
            .flat_map(|m| oracle::check_expectations(scenario, m))
            .collect()
    }
}

/// Resolves design names: the given list, or the scenario's own.
pub fn resolve(
    scenario: &Scenario,
    names: Option<&[String]>,
) -> Result<Vec<Box<dyn Design>>, UnknownDesign> {
    names
        .unwrap_or(&scenario.designs)
        .iter()
        .map(|n| scenario.design(n))
        .collect()
}

/// Runs each design through `scenario` with `seed` and the scenario's fault plan plus `extra`.
pub fn compare(
    scenario: &Scenario,
    designs: &[Box<dyn Design>],
    seed: u64,
    extra: &FaultPlan,
) -> Comparison {
    let runs: Vec<Run> = designs
        .iter()
        .map(|d| world::run(scenario, d.as_ref(), seed, extra))
        .collect();
    let metrics = runs.iter().map(oracle::measure).collect();
    Comparison {
        scenario: scenario.name.clone(),
        seed,
        ideal: oracle::ideal(scenario),
        runs,
        metrics,
    }
}
