//! Normal-world bare-metal FF-A test driver for QEMU sbsa-ref: runs at NS-EL2, calls the SPMC
//! through the EL3 monitor, prints one line per case and "N passed, N failed", and ends the run
//! with PSCI SYSTEM_OFF whose x1 (the QEMU exit status, fixture convention) is the failure count.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_op_in_unsafe_fn)]
// A failing case returns its message in a fixed-capacity string (harness::Failure, 200 bytes:
// the driver has no heap to box it in), by design; clippy's result_large_err would have every
// case, about 360 of them, return something else.
#![allow(clippy::result_large_err)]

#[cfg(target_os = "none")]
mod arch;
#[cfg(all(target_os = "none", feature = "bench"))]
mod bench;
#[cfg(target_os = "none")]
mod cases;
#[cfg(target_os = "none")]
mod client;
#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod dram;
#[cfg(target_os = "none")]
mod ffa;
#[cfg(target_os = "none")]
mod harness;
#[cfg(target_os = "none")]
mod nsirq;
#[cfg(target_os = "none")]
mod psci;
#[cfg(target_os = "none")]
mod run_config;
#[cfg(target_os = "none")]
mod secondary;
#[cfg(target_os = "none")]
mod stress;

#[cfg(target_os = "none")]
use console::log;
#[cfg(target_os = "none")]
use ffa_abi::FuncId;

#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("entry.S"));

/// The run configuration area xtask patches (run_config.rs): linked in .rodata, so it is part
/// of the flat image.
#[cfg(target_os = "none")]
#[used]
static RUN_CONFIG: [u8; run_config::AREA_SIZE] = run_config::blank_area();

/// Exit status when the driver itself crashes (an exception that is not a probe).
#[cfg(target_os = "none")]
pub const EXIT_CRASHED: u64 = 250;

#[cfg(target_os = "none")]
#[no_mangle]
extern "C" fn ns_main(dtb: u64) -> ! {
    #[cfg(feature = "bench")]
    bench::run();
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
    // SAFETY: RUN_CONFIG is a live, aligned static; the volatile read keeps the compiler from
    // folding in the blank initialiser, since xtask rewrites the bytes in the image.
    let area = unsafe { core::ptr::read_volatile(&RUN_CONFIG) };
    let config = match run_config::Config::parse(&area) {
        Ok(c) => c,
        Err(why) => {
            log!("run configuration: {why} (FAILED)");
            console::bare_line(format_args!("0 passed, 1 failed"));
            psci::system_off(1)
        }
    };
    log!("SP set: {}", config.layout());
    let (passed, failed) = harness::run_all(cases::REGISTRY, &config);
    // `cargo xtask call`: the requests of the configuration, after the cases.
    let calls = config.calls().count() as u32;
    let calls_failed = client::run_calls(&config);
    let (mut passed, mut failed) = (passed + calls - calls_failed, failed + calls_failed);
    // `cargo xtask fuzz`: a fuzz run of the configuration's seed and length.
    if let Some((seed, n)) = config.fuzz() {
        match cases::fuzz::run(seed, n) {
            Ok(()) => {
                passed += 1;
                log!("fuzz seed {seed:#x} ... ok");
            }
            Err(why) => {
                failed += 1;
                log!("fuzz seed {seed:#x} ... FAILED: {why}");
            }
        }
    }
    console::bare_line(format_args!("{passed} passed, {failed} failed"));
    psci::system_off(u64::from(failed))
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    log!("panic: {info}");
    psci::system_off(EXIT_CRASHED)
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("ns-driver is the normal-world test driver for QEMU sbsa-ref: build it for aarch64-unknown-none-softfloat (cargo xtask build)");
    std::process::exit(2);
}
