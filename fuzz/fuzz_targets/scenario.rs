//! Fuzz the scenario reader: any bytes give a scenario or a located error, never a panic. A
//! scenario that parses must survive being written back (`to_toml` reads back equal) and a run
//! of every design, with its size and budgets capped so that each input stays fast.
#![no_main]

use idemlab::fault::FaultPlan;
use idemlab::scenario::{parse_bytes, parse, to_toml};
use idemlab::sim::Budget;
use idemlab::time::SimDuration;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(scenario) = parse_bytes(data, "fuzz.toml") else {
        return;
    };
    let again = parse(&to_toml(&scenario, ""), "again.toml").expect("to_toml reads back");
    assert_eq!(again, scenario);
    let mut small = scenario;
    small.workload.ops = small.workload.ops.min(20);
    small.workload.clients = small.workload.clients.min(4);
    small.limits = Budget {
        max_events: small.limits.max_events.min(20_000),
        max_time: SimDuration(small.limits.max_time.0.min(60_000_000)),
        max_trace_events: small.limits.max_trace_events.min(60_000),
    };
    // Faults naming operations past the cap are simply never met.
    for name in idemlab::handlers::names() {
        let design = idemlab::handlers::lookup(&name).expect("catalog");
        let run = idemlab::world::run(&small, design.as_ref(), 1, &FaultPlan::default());
        let _ = idemlab::oracle::measure(&run);
    }
});
