//! Multi-call entry point: `kafka-topics.sh`, `kafka-server-start` … dispatch to the
//! matching `rk` subcommand; otherwise the clap command line is parsed as `rk …`.

/// Huge allocations sized from wire data are reserved lazily instead of aborting (see
/// rk::alloc). The allocator is the binary's choice, not the library's.
#[global_allocator]
static GLOBAL: rk::alloc::GuardedAlloc = rk::alloc::GuardedAlloc;

fn main() {
    let code = rk::cli::main(std::env::args_os().collect());
    std::process::exit(code);
}
