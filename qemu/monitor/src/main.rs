//! EL3 SPMD-compatible monitor for QEMU sbsa-ref (test fixture): boots the SPMC at S-EL1 and
//! the normal-world driver at NS-EL2, forwards FF-A calls between them like TF-A's SPMD
//! (SPMD_SPM_AT_SEL2=0) and implements the PSCI subset the tests need. See docs/boot.md.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod context;
#[cfg(target_os = "none")]
mod dispatch;
#[cfg(target_os = "none")]
mod gic;
#[cfg(target_os = "none")]
mod percpu;
#[cfg(target_os = "none")]
mod power;

#[cfg(target_os = "none")]
use console::log;

#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("entry.S"));

/// QEMU exit statuses of the monitor's own failures (the normal world's SYSTEM_OFF status is
/// its failure count, so these sit far above any plausible count).
#[cfg(target_os = "none")]
pub mod exit_status {
    /// Bad flash directory, manifest or payload placement.
    pub const BOOT: u64 = 200;
    /// The SPMC reported FFA_ERROR instead of FFA_MSG_WAIT at the end of its init.
    pub const SPMC_INIT_FAILED: u64 = 201;
    /// The SPMC broke the SPMD protocol (e.g. a bad framework-message response).
    pub const SPMC_PROTOCOL: u64 = 202;
    /// Unexpected exception or panic in the monitor, or an unexpected trap from a lower EL.
    pub const EL3_FAULT: u64 = 203;
    /// The secure world called PSCI SYSTEM_OFF or SYSTEM_RESET (e.g. an SPMC panic handler).
    pub const SECURE_SHUTDOWN: u64 = 204;
}

#[cfg(target_os = "none")]
#[no_mangle]
extern "C" fn primary_main() -> ! {
    // SAFETY: entry.S calls this once, on the primary core's reset path (nothing in Rust calls
    // it), and the reference is passed down, never taken again before the monitor leaves EL3.
    boot::primary(unsafe { percpu::this_core() })
}

#[cfg(target_os = "none")]
#[no_mangle]
extern "C" fn secondary_main(core: u64) -> ! {
    // SAFETY: entry.S calls this once, on a secondary core's reset path (nothing in Rust calls
    // it), and the reference is passed down, never taken again before the monitor leaves EL3.
    boot::secondary(unsafe { percpu::this_core() }, core as usize)
}

#[cfg(target_os = "none")]
#[no_mangle]
extern "C" fn el3_lower_sync(_saved: *mut context::GpRegs) -> *mut context::GpRegs {
    // SAFETY: entry.S calls this once per synchronous exception from a lower EL (nothing in
    // Rust calls it); the reference dies when this returns, before entry.S leaves EL3.
    dispatch::lower_sync(unsafe { percpu::this_core() })
}

#[cfg(target_os = "none")]
#[no_mangle]
extern "C" fn el3_lower_fiq(_saved: *mut context::GpRegs) -> *mut context::GpRegs {
    // SAFETY: entry.S calls this once per FIQ taken from a lower EL (nothing in Rust calls
    // it); the reference dies when this returns, before entry.S leaves EL3.
    dispatch::lower_fiq(unsafe { percpu::this_core() })
}

#[cfg(target_os = "none")]
#[no_mangle]
extern "C" fn el3_unexpected(vector: u64) -> ! {
    let esr = arch::read_sysreg!(esr_el3);
    let elr = arch::read_sysreg!(elr_el3);
    let far = arch::read_sysreg!(far_el3);
    log!(
        "unexpected exception, vector {vector} on core {}: ESR_EL3 {esr:#x} ELR {elr:#x} FAR {far:#x}",
        arch::core_index()
    );
    arch::semihosting_exit(exit_status::EL3_FAULT)
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    log!("panic: {info}");
    arch::semihosting_exit(exit_status::EL3_FAULT)
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("qemu-monitor is the EL3 monitor for QEMU sbsa-ref: build it for aarch64-unknown-none-softfloat (cargo xtask build)");
    std::process::exit(2);
}
