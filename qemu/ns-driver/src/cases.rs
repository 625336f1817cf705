//! The case registry: every QEMU case, declared once in its topic module
//! (`cases/<topic>.rs`, `pub const CASES: &[Case]`) with its name, what it needs (any SP set,
//! or the default one: `Case::any_set` / `Case::default_set`), its stage (cases that abort an
//! SP run after every case that still needs it), the cases it must follow (`.after`) and the
//! SP fault it provokes on purpose (`.provokes`). The runner (harness.rs) orders the registry
//! by stage, then by the module order below, then by position in the module; `--case NAME`
//! filters it (xtask writes the filter into the image, run_config.rs).
//!
//! To add cases: add them to the `CASES` of the module for their topic, or write a new
//! `cases/<topic>.rs` and list it here once.

use crate::harness::Case;

mod foundation;
pub mod fuzz;
mod interrupts;
mod memory;
mod notify;
mod partitions;
mod sched;
mod stock_sp;
mod storage;
mod time_limits;
mod ts;

/// Every module's cases. Main-stage order: the foundation cases first (FF-A version
/// negotiation, secondary cores on), then memory, then partitions, then Trusted Services and stock-SP compatibility.
pub const REGISTRY: &[&[Case]] = &[
    foundation::CASES,
    memory::CASES,
    notify::CASES,
    partitions::CASES,
    interrupts::CASES,
    time_limits::CASES,
    sched::CASES,
    ts::CASES,
    stock_sp::CASES,
    storage::CASES,
    // Last of the main stage: random calls from both worlds, then the invariants.
    fuzz::CASES,
];
