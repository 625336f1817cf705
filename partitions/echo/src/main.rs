//! The echo test SP: answers direct requests (REQ_32, REQ_64, REQ2) with their payload, and
//! runs the test-protocol commands (ID, VERSION, PARTINFO, LOG, PERM, CALL, WHO, MANIFEST_*).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    use sp_rt::{Ffa, StartInfo};
    use test_sp_common::{echo, map_buffers, snapshot_perms, SpState};

    sp_rt::entry!(main);

    fn main(start: StartInfo) -> ! {
        let mut ffa = Ffa::svc();
        // FFA_MEM_PERM_GET is only allowed before the first FFA_MSG_WAIT: look now.
        let l = start.layout;
        let init_perms = snapshot_perms(&mut ffa, [l.image_base, l.rw_base, start.regs[0]]);
        let mut sp = SpState {
            rxtx: map_buffers(&mut ffa, start.rxtx),
            manifest: start.manifest,
            boot_info_version: start.boot_info.map(|b| b.version()),
            init_perms,
            version: sp_rt::Version::V1_2, // manifest ffa-version
            heap_free: sp_rt::rt::heap_free,
        };
        sp_rt::log!("ready (boot info: {})", sp.boot_info_version.is_some());
        sp_rt::run(&mut ffa, |ffa, req| echo(ffa, &mut sp, req))
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "echo is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)"
    );
    std::process::exit(2);
}
