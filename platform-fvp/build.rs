//! Build script of the FVP SPMC image: links with this crate's link.ld (which places the SPMC
//! at TF-A's BL32 base 0x0600_0000) and rebuilds when the partition table changes; the steps
//! are the ones every platform crate shares, in kernel/platform_build.rs.
include!("../kernel/platform_build.rs");
