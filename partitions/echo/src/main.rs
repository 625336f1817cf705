//! The echo test SP: answers direct requests (REQ_32, REQ_64, REQ2) with their payload, and
//! runs the test-protocol commands (ID, VERSION, PARTINFO, LOG, PERM, CALL, WHO, MANIFEST_*),
//! and FAULT_TOUCH: the owner touching an address it lent away (the SPMC must abort it).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    use sp_rt::{DirectRequest, Ffa, Payload, StartInfo};
    use test_protocol::{cmd, status};
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
        sp_rt::run(&mut ffa, |ffa, req| {
            touch(req).unwrap_or_else(|| echo(ffa, &mut sp, req))
        })
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "echo is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)"
    );
    std::process::exit(2);
}
