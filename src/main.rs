//! The `idemlab` binary: see `idemlab --help` and the crate documentation.

mod alloc;

/// See [`alloc`]: mimalloc for small blocks, the system's allocator for large ones.
#[global_allocator]
static ALLOC: alloc::Allocator = alloc::Allocator;

fn main() -> std::process::ExitCode {
    idemlab::cli::main()
}
