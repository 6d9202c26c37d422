//! rk: a Kafka-compatible broker and Kafka's command-line tools in one binary.
//!
//! Crate map:
//! - `cli`      — one file per subcommand (clap definitions + rendering), argv[0] aliases.
//! - `client`   — the async Kafka client the tools and tests use (wire protocol only).
//! - `broker`   — `rk server`: network, API handlers, storage engine, metadata, controller.
//! - `frame`    — reading size-prefixed frames (both sides of the wire).

pub mod alloc;
pub mod broker;
pub mod cli;
pub mod client;
pub mod frame;

/// Huge allocations sized from wire data are reserved lazily instead of aborting (see alloc.rs).
#[global_allocator]
static GLOBAL: alloc::GuardedAlloc = alloc::GuardedAlloc;
