//! Runtime for Rust secure partitions running at S-EL0 under the project's SPMC: entry and
//! stack, FF-A calls over `SVC #0`, boot information and manifest reading, heap, RX/TX buffers,
//! the direct-request loop and logging through FFA_CONSOLE_LOG_64.
//!
//! An SP crate is `#![no_std] #![no_main]`, depends on `sp-rt`, links with the runtime's
//! linker script (see `link/sp_link.rs` and partitions/README.md) and names its main function
//! with [`entry!`]:
//!
//! ```ignore
//! sp_rt::entry!(main);
//! fn main(start: sp_rt::StartInfo) -> ! {
//!     let mut ffa = sp_rt::Ffa::svc();
//!     let mut total = 0u64;
//!     sp_rt::log!("ready"); // printed by the SPMC as "[SP <name> <id>] ready"
//!     // Every direct request (REQ_32/64 or REQ2) comes here; the returned payload is sent
//!     // back as the response of the same kind.
//!     sp_rt::run(&mut ffa, |_ffa, req| {
//!         // Word i of the request: w3+i (REQ_32/64) or x4+i (REQ2).
//!         let (command, value) = (req.payload.get(0), req.payload.get(1));
//!         if command == 1 {
//!             total += value;
//!         }
//!         // The answer's words 0, 1 (the rest are zero).
//!         sp_rt::Payload::new(&[0, total])
//!     })
//! }
//! ```
//!
//! partitions/counter is a complete example (sending a request to another SP, retrieving
//! memory the normal world shares); docs/integrator-guide.md section 5 walks through it.
//!
//! Everything but the `rt` module (the architecture seam) builds and is tested on the host.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

mod abi;
pub mod boot_info;
pub mod conduit;
pub mod console;
pub mod cpu;
pub mod direct_msg;
pub mod fdt;
pub mod ffa;
pub mod heap;
pub mod mem;
pub mod mmio;
pub mod notify;
pub mod partition_info;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod rt;
pub mod rxtx;
#[cfg(any(test, feature = "fake-spmc"))]
pub mod testing;

// The build-script helper every SP uses, compiled here too so its manifest checks run in
// sp-rt's host tests against the real SP manifests.
#[cfg(test)]
#[path = "../link/sp_link.rs"]
#[allow(dead_code)] // `configure` and some constants are only for build scripts
mod sp_link;
#[cfg(test)]
mod sp_link_tests;

pub use conduit::{Conduit, Regs, RegsExt, Svc};
pub use direct_msg::{
    run, run_with_events, run_with_interrupts, DirectRequest, Event, Kind, Payload, RxOnWait,
};
pub use ffa::{EndpointId, Error, ErrorCode, Ffa, Version};
pub use partition_info::Uuid;

/// Where the linker script put the partition's image (identity mapped: these are both its
/// virtual and physical addresses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageLayout {
    /// Image base: `_start`, text, rodata (mapped RX).
    pub image_base: u64,
    /// Start of the RW window (.data, .bss, RX/TX, heap, stack).
    pub rw_base: u64,
    /// End of the RW window (the initial stack pointer).
    pub rw_end: u64,
}

/// What the runtime hands the SP's main function.
#[derive(Debug)]
pub struct StartInfo {
    /// x0..x3 as the SPMC set them at entry.
    pub regs: [u64; 4],
    /// The validated boot information blob from x0, if the SP got one (`gp-register-num`)
    /// in the v1.1+ format.
    pub boot_info: Option<boot_info::BootInfo<'static>>,
    /// The v1.0 boot information (name/value pairs) instead, for an SP whose manifest says
    /// `ffa-version = <0x00010000>`.
    pub boot_info_v1_0: Option<boot_info::BootInfoV1_0<'static>>,
    /// The SP's own manifest DTB, found through the boot information's FDT descriptor.
    pub manifest: Option<fdt::Fdt<'static>>,
    /// The RX/TX buffers the linker script reserved, not yet mapped (call `map`).
    pub rxtx: rxtx::RxTx,
    /// Where the image and its RW window are.
    pub layout: ImageLayout,
}

/// Names the SP's main function, `fn(StartInfo) -> !`, as the one the runtime calls.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[export_name = "__sp_rt_main"]
        pub extern "Rust" fn __sp_rt_main_trampoline(start: $crate::StartInfo) -> ! {
            let main: fn($crate::StartInfo) -> ! = $main;
            main(start)
        }
    };
}
