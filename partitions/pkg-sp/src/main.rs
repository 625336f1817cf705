//! The SPKG test SP: packaged with `manifest-tool pack` and started only through the FF-A boot
//! information protocol (x0 = boot info blob, whose FDT descriptor points at its manifest). It
//! answers MANIFEST_UUID / MANIFEST_ID with what it read from that manifest, proving the boot
//! information works; FAULT_TOUCH, as in the fault SP, so that a second SP can die in the same
//! boot (the NS driver's last case has it touch the SPMC's memory); every other request gets
//! the echo behaviour.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    use sp_rt::{DirectRequest, Ffa, Payload, StartInfo};
    use test_protocol::{cmd, status};
    use test_sp_common::{echo, SpState};

    sp_rt::entry!(main);

    /// FAULT_TOUCH: reads then writes back the u32 at the address in word 1. Returns only if
    /// the access did not fault (the SPMC failed to isolate that memory): then the answer says
    /// so with what was read.
    fn touch(req: &DirectRequest) -> Option<Payload> {
        if req.payload.get(0) != u64::from(cmd::FAULT_TOUCH) {
            return None;
        }
        let p: *mut u32 = usize::try_from(req.payload.get(1))
            .ok()
            .map(core::ptr::with_exposed_provenance_mut)?;
        // SAFETY: deliberately unchecked: the test passes an address this SP must not have
        // (the SPMC's memory); the load faults and the SPMC aborts us before it completes. If
        // the SPMC wrongly mapped it, we read and write back the same value, leaving the
        // owner's data unchanged, and report the breach.
        let v = unsafe { core::ptr::read_volatile(p) };
        // SAFETY: as above; only reached if the load succeeded, and stores what was read.
        unsafe { core::ptr::write_volatile(p, v) };
        Some(Payload::new(&[u64::from(status::OK), u64::from(v)]))
    }

    fn main(start: StartInfo) -> ! {
        let mut ffa = Ffa::svc();
        // Built for FF-A v1.0 (pkg-sp-v1.0.dts, the v1.0 fixture set) it gets v1.0 boot
        // information, and maps its RX/TX pair for the v1.0 FFA_MSG_SEND / FFA_MSG_POLL cases.
        let v1_0 = start.boot_info_v1_0.is_some();
        let mut sp = SpState {
            // pkg-sp (v1.1) maps no RX/TX: it must work from its boot information alone.
            rxtx: if v1_0 {
                test_sp_common::map_buffers(&mut ffa, start.rxtx)
            } else {
                Err(sp_rt::Error::Ffa(sp_rt::ErrorCode::NotSupported))
            },
            manifest: start.manifest,
            // The v1.0 blob has no version field: its format is v1.0's.
            boot_info_version: start
                .boot_info
                .map(|b| b.version.encode())
                .or(start.boot_info_v1_0.map(|_| 0x1_0000)),
            init_perms: [0; 3],
            // manifest ffa-version
            version: if v1_0 {
                sp_rt::Version::V1_0
            } else {
                sp_rt::Version::V1_1
            },
            heap_free: sp_rt::rt::heap_free,
        };
        let id = sp.manifest.and_then(|m| m.property_u32("/", "id"));
        match (sp.boot_info_version, id) {
            (Some(v), Some(id)) => sp_rt::log!("boot info v{v:#x}, manifest id {id:#x}"),
            (Some(v), None) => sp_rt::log!("boot info v{v:#x} but no readable manifest"),
            (None, _) => sp_rt::log!("no boot information (x0 = {:#x})", start.regs[0]),
        }
        sp_rt::run(&mut ffa, |ffa, req| {
            touch(req).unwrap_or_else(|| echo(ffa, &mut sp, req))
        })
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("pkg-sp is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)");
    std::process::exit(2);
}
