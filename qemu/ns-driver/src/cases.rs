//! The test-case tables, one module per topic; `all` runs them in this order. To add cases,
//! write `cases/<topic>.rs` with a `pub const CASES: &[Case]` and list it here.

use crate::harness::Case;

mod foundation;

/// Every case, in run order.
pub fn all() -> impl Iterator<Item = &'static Case> {
    [foundation::CASES].into_iter().flatten()
}
