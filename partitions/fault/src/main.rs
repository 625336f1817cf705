//! The fault test SP: on command it faults in the ways an SP can (data abort on an unmapped
//! address, write to its read-only text, access to an address it was given, undefined
//! instruction, panic), so tests can check the SPMC aborts it and nothing else. Requests that
//! are not fault commands get the echo behaviour (to check it is alive, or aborted). It also
//! owns the test SPs' device region (sbsa-ref's secure UART MM) and reads it on command.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    use sp_rt::{DirectRequest, Ffa, Payload, StartInfo};
    use test_protocol::{cmd, device, fault::UNMAPPED_ADDR, status};
    use test_sp_common::{echo, map_buffers, SpState};

    sp_rt::entry!(main);

    fn addr_of(a: u64) -> Option<*mut u32> {
        usize::try_from(a)
            .ok()
            .map(core::ptr::with_exposed_provenance_mut)
    }

    /// Runs a fault command. Returns only if the fault did not happen (the SPMC failed to
    /// stop the access): then the answer says so with what was read.
    fn fault(req: &DirectRequest) -> Option<Payload> {
        let command = u32::try_from(req.payload.get(0)).ok()?;
        let survived = |v: u32| Some(Payload::new(&[u64::from(status::OK), u64::from(v)]));
        match command {
            cmd::FAULT_UNMAPPED_READ => {
                let p = addr_of(UNMAPPED_ADDR)?;
                // SAFETY: deliberately invalid: UNMAPPED_ADDR is mapped in no SP, so this load
                // takes a translation fault and the SPMC aborts this SP before it completes;
                // no Rust code ever sees a value. Volatile so the access is really made.
                let v = unsafe { core::ptr::read_volatile(p) };
                survived(v)
            }
            cmd::FAULT_WRITE_TEXT => {
                let p = (main as fn(StartInfo) -> !) as *mut u32;
                // SAFETY: deliberately invalid: our text is mapped read-only + executable at
                // EL0, so this store takes a permission fault and the SPMC aborts this SP
                // before it completes; the code is never modified.
                unsafe { core::ptr::write_volatile(p, 0) };
                survived(0)
            }
            cmd::FAULT_TOUCH => {
                let p = addr_of(req.payload.get(1))?;
                // SAFETY: deliberately unchecked: the test passes an address this SP must not
                // have (another SP's memory); the load faults and the SPMC aborts us. If the
                // SPMC wrongly mapped it, we read and write back the same value, leaving the
                // other owner's data unchanged, and report the breach.
                let v = unsafe { core::ptr::read_volatile(p) };
                // SAFETY: as above; only reached if the load succeeded, and stores what was read.
                unsafe { core::ptr::write_volatile(p, v) };
                survived(v)
            }
            cmd::LOOP => loop {
                // Deliberately never answers: the SPMC's request time limit must abort us.
                core::hint::spin_loop();
            },
            cmd::DEV_READ => {
                let offset = req.payload.get(1);
                if !offset.is_multiple_of(4) || offset > 0x1000 - 32 {
                    let invalid = sp_rt::ErrorCode::InvalidParameters.to_i32();
                    return Some(Payload::new(&[u64::from(status::ffa_error(invalid))]));
                }
                let mut regs = [0u32; 8];
                for (i, r) in regs.iter_mut().enumerate() {
                    let p = addr_of(device::BASE + offset + 4 * i as u64)?;
                    // SAFETY: our manifest's device region maps the page at device::BASE
                    // (VA = PA) read-write as device memory from load on; the offset was
                    // checked to keep the 4-byte aligned load inside that page. Only while
                    // the page is lent away is it unmapped: then this load aborts us, which
                    // is what a test of that would want. Volatile: an MMIO register.
                    *r = unsafe { core::ptr::read_volatile(p) };
                }
                Some(Payload::new(&[
                    u64::from(status::OK),
                    device::pack_low_bytes(regs),
                ]))
            }
            cmd::FAULT_UNDEF => sp_rt::rt::abort(),
            cmd::FAULT_STACK_OVERFLOW => survived(recurse(u32::MAX)),
            cmd::FAULT_PANIC => panic!("requested by {:#06x}", req.sender.0),
            _ => None,
        }
    }

    /// Uses 1 KiB of stack per level so the recursion reaches the guard page quickly; the
    /// black boxes keep the compiler from turning it into a loop or dropping the buffer.
    #[inline(never)]
    fn recurse(depth: u32) -> u32 {
        let buf = core::hint::black_box([depth as u8; 1024]);
        if depth == 0 {
            return u32::from(buf[0]);
        }
        core::hint::black_box(recurse(depth - 1)).wrapping_add(u32::from(buf[1023]))
    }

    fn main(start: StartInfo) -> ! {
        let mut ffa = Ffa::svc();
        let mut sp = SpState {
            // Mapped so that fault can also be a borrower (echo's SHARE command lends to it).
            rxtx: map_buffers(&mut ffa, start.rxtx),
            manifest: start.manifest,
            boot_info_version: start.boot_info.map(|b| b.version.encode()),
            init_perms: [0; 3],
            version: sp_rt::Version::V1_2, // manifest ffa-version
            heap_free: sp_rt::rt::heap_free,
        };
        sp_rt::log!("ready");
        sp_rt::run(&mut ffa, |ffa, req| {
            fault(req).unwrap_or_else(|| echo(ffa, &mut sp, req))
        })
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "fault is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)"
    );
    std::process::exit(2);
}
