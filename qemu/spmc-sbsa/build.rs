//! Build script of the sbsa-ref SPMC image: links with this crate's link.ld (which places the
//! SPMC at its BL32 load address) and rebuilds when the partition table changes; the steps are
//! the ones every platform crate shares, in kernel/platform_build.rs.
include!("../../kernel/platform_build.rs");
