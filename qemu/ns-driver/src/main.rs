//! Normal-world bare-metal FF-A test driver for QEMU sbsa-ref: runs at NS-EL2, calls the SPMC
//! through the EL3 monitor, prints one line per case and "N passed, N failed", and ends the run
//! with PSCI SYSTEM_OFF whose x1 (the QEMU exit status, fixture convention) is the failure count.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

mod arch;
mod cases;
mod console;
mod ffa;
mod harness;
mod psci;
mod secondary;

use console::log;
use ffa_abi::FuncId;

core::arch::global_asm!(include_str!("entry.S"));

/// Exit status when the driver itself crashes (an exception that is not a probe).
pub const EXIT_CRASHED: u64 = 250;

#[no_mangle]
extern "C" fn ns_main(dtb: u64) -> ! {
    log!(
        "driver start on core {}, DTB at {dtb:#x}",
        arch::core_index()
    );
    let version = ffa::version(0x1_0002);
    let spm = ffa::call(FuncId::SpmIdGet, &[]);
    log!(
        "FF-A version {}.{}, SPMC id {:#x}",
        version >> 16,
        version & 0xFFFF,
        spm.w(2)
    );
    let (_, failed) = harness::run_all(cases::all());
    psci::system_off(u64::from(failed))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    log!("panic: {info}");
    psci::system_off(EXIT_CRASHED)
}
