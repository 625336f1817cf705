//! The SPKG test SP: packaged with `manifest-tool pack` and started only through the FF-A boot
//! information protocol (x0 = boot info blob, whose FDT descriptor points at its manifest). It
//! answers MANIFEST_UUID / MANIFEST_ID with what it read from that manifest, proving the boot
//! information works; every other request gets the echo behaviour.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    use sp_rt::{Ffa, StartInfo};
    use test_sp_common::{echo, SpState};

    sp_rt::entry!(main);

    fn main(start: StartInfo) -> ! {
        let mut ffa = Ffa::svc();
        let mut sp = SpState {
            // pkg-sp maps no RX/TX: it must work from its boot information alone.
            rxtx: Err(sp_rt::Error::Ffa(sp_rt::ErrorCode::NotSupported)),
            manifest: start.manifest,
            boot_info_version: start.boot_info.map(|b| b.version()),
            init_perms: [0; 3],
            version: sp_rt::Version::V1_1, // manifest ffa-version
            heap_free: sp_rt::rt::heap_free,
        };
        let id = sp.manifest.and_then(|m| m.property_u32("/", "id"));
        match (sp.boot_info_version, id) {
            (Some(v), Some(id)) => sp_rt::log!("boot info v{v:#x}, manifest id {id:#x}"),
            (Some(v), None) => sp_rt::log!("boot info v{v:#x} but no readable manifest"),
            (None, _) => sp_rt::log!("no boot information (x0 = {:#x})", start.regs[0]),
        }
        sp_rt::run(&mut ffa, |ffa, req| echo(ffa, &mut sp, req))
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("pkg-sp is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)");
    std::process::exit(2);
}
