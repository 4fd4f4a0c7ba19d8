//! The `idemlab` binary: see `idemlab --help` and the crate documentation.

fn main() -> std::process::ExitCode {
    idemlab::cli::main()
}
