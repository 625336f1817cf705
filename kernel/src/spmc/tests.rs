//! Host tests of the FF-A dispatcher, the partition runtime and the capability gate, run against
//! a fake machine (`fake`): partitions are Rust closures behind `Env::run_user`, physical memory
//! is a sparse page map, and tables are leaked per test. Every test asserts the exact result
//! registers and, where a call must be refused, that no SPMC state changed.

mod fake;

mod boot;
mod discovery;
mod features;
mod gate;
pub(crate) mod import_graph;
mod indirect;
mod interrupts;
mod mem_state;
mod memory;
mod messaging;
mod notify;
mod ownership;
mod robustness;
mod sched;
mod sp_services;
mod state_check;
mod time_limits;
mod version;
