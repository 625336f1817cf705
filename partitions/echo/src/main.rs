//! The echo test SP: answers direct requests (REQ_32, REQ_64, REQ2) with their payload, and
//! runs the test-protocol commands (ID, VERSION, PARTINFO, LOG, PERM, CALL, WHO, MANIFEST_*),
//! and FAULT_TOUCH: the owner touching an address it lent away (the SPMC must abort it). It
//! owns sbsa-ref's generic watchdog and its secure interrupt WS0 (WDOG_ARM, WDOG_STATUS).
//! Given cycles by FFA_RUN while it waits, it reads its notifications (RUN_LOG).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    use core::sync::atomic::{AtomicU64, Ordering};
    use sp_rt::{DirectRequest, Ffa, Payload, StartInfo};
    use test_protocol::{cmd, status, watchdog};
    use test_sp_common::{echo, map_buffers, snapshot_perms, SpState};

    /// `cmd::FAULT_TOUCH`: reads and writes back the u32 at the address in word 1. Returns
    /// only if the SPMC let the access through: \[OK, the value\].
    fn touch(req: &DirectRequest) -> Option<Payload> {
        if u32::try_from(req.payload.get(0)).ok()? != cmd::FAULT_TOUCH {
            return None;
        }
        let a = usize::try_from(req.payload.get(1)).ok()?;
        let p: *mut u32 = core::ptr::with_exposed_provenance_mut(a);
        // SAFETY: deliberately unchecked: the test passes an address echo gave away (lent or
        // donated memory): the load faults and the SPMC aborts echo before it completes. If
        // the SPMC wrongly left it mapped, echo reads it and writes back the same value,
        // leaving the borrower's data unchanged, and reports the breach.
        let v = unsafe { core::ptr::read_volatile(p) };
        // SAFETY: as above; only reached if the load succeeded, and stores what was read.
        unsafe { core::ptr::write_volatile(p, v) };
        Some(Payload::new(&[u64::from(status::OK), u64::from(v)]))
    }

    /// The watchdog's control-frame registers (QEMU hw/watchdog/sbsa_gwdt.c): WCS (bit 0
    /// enables it; writing it lowers WS0) and WOR (the offset; writing it refreshes).
    const WCS: u64 = watchdog::CONTROL;
    const WOR: u64 = watchdog::CONTROL + 0x8;

    /// What the interrupt handler saw: count, last ID, counter when handled.
    static HANDLED: AtomicU64 = AtomicU64::new(0);
    static LAST_ID: AtomicU64 = AtomicU64::new(0);
    static LAST_AT: AtomicU64 = AtomicU64::new(0);

    fn mmio_write(pa: u64, v: u32) {
        let p: *mut u32 = core::ptr::with_exposed_provenance_mut(pa as usize);
        // SAFETY: `pa` is in the watchdog's control frame, which echo's manifest maps as
        // device memory (device-regions/watchdog); a 32-bit store to WCS/WOR only programs
        // the device, no Rust object lives there.
        unsafe { core::ptr::write_volatile(p, v) };
    }

    /// `cmd::WDOG_ARM`: WS0 fires `ticks` counter ticks from now (WOR = ticks, then enable);
    /// then spins `spin` ticks (the interrupt comes while echo is busy, if `spin` is longer).
    fn wdog(req: &DirectRequest) -> Option<Payload> {
        let words = |i| req.payload.get(i);
        match u32::try_from(words(0)).ok()? {
            cmd::WDOG_ARM => {
                let ticks = u32::try_from(words(1)).unwrap_or(u32::MAX);
                mmio_write(WCS, 0);
                mmio_write(WOR, ticks);
                let armed = sp_rt::cpu::counter();
                mmio_write(WCS, 1);
                let end = sp_rt::cpu::spin_until(armed, words(2));
                Some(Payload::new(&[u64::from(status::OK), armed, end]))
            }
            cmd::WDOG_STATUS => Some(Payload::new(&[
                u64::from(status::OK),
                HANDLED.load(Ordering::Relaxed),
                LAST_ID.load(Ordering::Relaxed),
                LAST_AT.load(Ordering::Relaxed),
            ])),
            _ => None,
        }
    }

    /// The secure interrupt handler: stop the watchdog (which lowers WS0 and keeps WS1, a
    /// system reset, from ever coming), and record what came.
    fn on_interrupt(id: u32) {
        let at = sp_rt::cpu::counter();
        if id == watchdog::WS0_INTID {
            mmio_write(WCS, 0);
        }
        LAST_ID.store(u64::from(id), Ordering::Relaxed);
        LAST_AT.store(at, Ordering::Relaxed);
        HANDLED.fetch_add(1, Ordering::Relaxed);
    }

    sp_rt::entry!(main);

    fn main(start: StartInfo) -> ! {
        let mut ffa = Ffa::svc();
        // FFA_MEM_PERM_GET is only allowed before the first FFA_MSG_WAIT: look now.
        let l = start.layout;
        let init_perms = snapshot_perms(&mut ffa, [l.image_base, l.rw_base, start.regs[0]]);
        let mut sp = SpState {
            rxtx: map_buffers(&mut ffa, start.rxtx),
            manifest: start.manifest,
            boot_info_version: start.boot_info.map(|b| b.version.encode()),
            init_perms,
            version: sp_rt::Version::V1_2, // manifest ffa-version
            heap_free: sp_rt::rt::heap_free,
        };
        sp_rt::log!("ready (boot info: {})", sp.boot_info_version.is_some());
        sp_rt::run_with_events(
            &mut ffa,
            |ffa, req| {
                touch(req)
                    .or_else(|| wdog(req))
                    .unwrap_or_else(|| echo(ffa, &mut sp, req))
            },
            |ffa, event| match event {
                sp_rt::Event::Interrupt(id) => {
                    on_interrupt(id);
                    // It read nothing: an unread message stays (review 5 F3).
                    sp_rt::RxOnWait::default_after(event)
                }
                // Cycles from FFA_RUN: read its notifications (test_protocol::cmd::RUN_LOG),
                // keep an unread message if asked to (cmd::RUN_KEEP_RX).
                sp_rt::Event::Run => test_sp_common::on_run(ffa),
            },
        )
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "echo is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)"
    );
    std::process::exit(2);
}
