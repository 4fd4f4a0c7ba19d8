//! `cargo run --example payment-idemlab -- COMMAND`: idemlab with the two designs of
//! `examples/payment` beside the catalog. Every command knows them by name, so their
//! counterexamples replay from the command line:
//!
//! ```sh
//! cargo run --example payment-idemlab -- check crash-after-charge --design seed-payment --out cx.toml
//! cargo run --example payment-idemlab -- run cx.toml          # exit 1: it replays
//! cargo run --example payment-idemlab -- compare crash-after-charge --designs seed-payment,fixed-payment
//! ```
//!
//! Your crate does the same with these few lines (as criterion's `criterion_main!` makes a
//! bench binary).

mod designs;

use idemlab::handlers::design_fn;

// ANCHOR: main_with
fn main() -> std::process::ExitCode {
    idemlab::cli::main_with(vec![
        Box::new(design_fn(
            "seed-payment",
            "the seed's process_payment, as written: look up, charge, store",
            designs::process_payment,
        )),
        Box::new(design_fn(
            "fixed-payment",
            "claim with a lease, keyed charge, store",
            designs::process_payment_fixed,
        )),
    ])
}
// ANCHOR_END: main_with
