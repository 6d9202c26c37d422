//! Multi-call entry point: `kafka-topics.sh`, `kafka-server-start` … dispatch to the
//! matching `rk` subcommand; otherwise the clap command line is parsed as `rk …`.

fn main() {
    let code = rk::cli::main(std::env::args_os().collect());
    std::process::exit(code);
}
