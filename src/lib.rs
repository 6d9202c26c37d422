//! rk: a Kafka-compatible broker and Kafka's command-line tools in one binary.
//!
//! Crate map:
//! - `cli`      — one file per subcommand (clap definitions + rendering), argv[0] aliases.
//! - `client`   — the async Kafka client the tools and tests use (wire protocol only).
//! - `broker`   — `rk server`: network, API handlers, storage engine, metadata, controller.
//! - `frame`    — reading size-prefixed frames (both sides of the wire).
//! - `properties` — Java .properties files (server.properties, client configs).
//! - `alloc`    — the guarded allocator the binary installs (huge wire-sized allocations).

pub mod alloc;
pub mod broker;
pub mod cli;
pub mod client;
pub mod console;
pub mod frame;
pub mod properties;
pub mod security;

/// The library's own unit tests run with the allocator the binary installs.
#[cfg(test)]
#[global_allocator]
static TEST_GLOBAL: alloc::GuardedAlloc = alloc::GuardedAlloc;
