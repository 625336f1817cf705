//! The test-case tables, one module per topic; `all` runs them in this order. To add cases,
//! write `cases/<topic>.rs` with a `pub const CASES: &[Case]` and list it here.

use crate::harness::Case;

mod foundation;
mod partitions;

/// Every case, in run order.
pub fn all() -> impl Iterator<Item = &'static Case> {
    // partitions::LAST_CASES aborts the fault SP (once per boot): keep it at the very end.
    [foundation::CASES, partitions::CASES, partitions::LAST_CASES]
        .into_iter()
        .flatten()
}
