//! The test-case tables, one module per topic; `all` runs them in this order. To add cases,
//! write `cases/<topic>.rs` with a `pub const CASES: &[Case]` and list it here.

use crate::harness::Case;

mod foundation;
mod memory;
mod partitions;

/// Every case, in run order.
pub fn all() -> impl Iterator<Item = &'static Case> {
    // partitions::LAST_CASES aborts the fault SP (once per boot), memory::LAST_CASES then
    // aborts echo, partitions::FINAL_CASES aborts pkg-sp: keep them at the very end, in this
    // order.
    [
        foundation::CASES,
        memory::NW_CASES,
        memory::SP_CASES,
        partitions::CASES,
        partitions::LAST_CASES,
        memory::LAST_CASES,
        partitions::FINAL_CASES,
    ]
    .into_iter()
    .flatten()
}
