//! The architecture seam of the runtime (only built for `aarch64-unknown-none`): the `_start`
//! entry, the heap and RX/TX buffers the linker script reserves, the panic handler and the
//! hand-off to the SP's `main`.
//!
//! Entry contract (partitions/README.md, FF-A v1.2 section 5.4 for the boot information): the
//! SPMC enters at the image base + `entrypoint-offset` at EL0 with x0..x3 zero except the one
//! `gp-register-num` names, which holds the boot information blob's address. sp-rt SPs use
//! `gp-register-num = <0>` (x0) or no boot information at all.

use crate::boot_info::{
    manifest_fdt, BootInfo, BootInfoV1_0, HEADER_SIZE, MAX_BLOB_SIZE, V1_0_MAGIC,
};
use crate::fdt::Fdt;
use crate::heap::Heap;
use crate::rxtx::RxTx;
use crate::{ImageLayout, StartInfo};

/// FFA_MEM_PERM_SET permissions of the stack guard page: read-only (0b11), not executable
/// (bit 2).
const STACK_GUARD_PERM: u32 = 0b111;

/// Largest manifest DTB the runtime accepts from the boot information.
const MAX_MANIFEST_SIZE: u32 = 0x1_0000;

// The entry point. It must be first in the image (section `.text.sp_rt_start`, placed first by
// `link/sp.ld`), it keeps x0..x3 for the Rust side, sets SP_EL0 to the top of the stack the
// linker script reserves, zeroes .bss (the SPMC zeroes the image region beyond the image, but
// the runtime does not rely on it), then calls `sp_rt_start_rust`, which never returns.
// `__sp_rt_abort` is the end of a partition that cannot go on: an undefined instruction, which
// the SPMC takes as a fault of this SP and aborts it (FF-A v1.2 "partition abort" handling).
core::arch::global_asm!(
    ".section .text.sp_rt_start, \"ax\"",
    ".global _start",
    "_start:",
    "    adrp x9, __sp_stack_top",
    "    add  x9, x9, :lo12:__sp_stack_top",
    "    mov  sp, x9",
    "    adrp x10, __sp_bss_start",
    "    add  x10, x10, :lo12:__sp_bss_start",
    "    adrp x11, __sp_bss_end",
    "    add  x11, x11, :lo12:__sp_bss_end",
    "1:  cmp  x10, x11",
    "    b.hs 2f",
    "    str  xzr, [x10], #8",
    "    b    1b",
    "2:  bl   sp_rt_start_rust",
    ".global __sp_rt_abort",
    "__sp_rt_abort:",
    "    udf  #0x5350",
    "    b    __sp_rt_abort",
);

extern "C" {
    static __sp_heap_start: u8;
    static __sp_heap_end: u8;
    static __sp_rx_buffer: u8;
    static __sp_tx_buffer: u8;
    static __sp_image_start: u8;
    static __sp_rw_start: u8;
    static __sp_stack_top: u8;
    static __sp_stack_guard: u8;
    fn __sp_rt_abort() -> !;
}

extern "Rust" {
    // Defined by the SP with `sp_rt::entry!`.
    fn __sp_rt_main(start: StartInfo) -> !;
}

#[global_allocator]
static HEAP: Heap = Heap::empty();

/// Returns the bytes still free in the partition's heap.
pub fn heap_free() -> usize {
    HEAP.free()
}

/// Ends the partition at once: the SPMC sees an undefined instruction at EL0 and aborts it.
pub fn abort() -> ! {
    // SAFETY: `__sp_rt_abort` is the `udf` loop in the global_asm above; it touches no memory
    // and never returns, matching the declared `-> !`.
    unsafe { __sp_rt_abort() }
}

/// Returns the RX/TX pair the linker script reserves (not yet mapped); only `StartInfo` gets it.
fn rxtx_buffers() -> RxTx {
    // SAFETY: `link/sp.ld` reserves two 4 KiB-aligned 4 KiB pages at these symbols inside the
    // SP's RW window, in a NOLOAD section nothing else is placed in; they live for the
    // program's lifetime. Two `RxTx` over them would alias, which is why `StartInfo` hands the
    // pair out once; `with_rx`/`with_tx` only make short-lived slices.
    unsafe {
        RxTx::from_raw(
            core::ptr::addr_of!(__sp_rx_buffer),
            core::ptr::addr_of!(__sp_tx_buffer).cast_mut(),
        )
    }
}

/// What the boot-information register gave: a v1.1+ blob, a v1.0 blob, and the manifest DTB
/// either names.
type Boot = (
    Option<BootInfo<'static>>,
    Option<BootInfoV1_0<'static>>,
    Option<Fdt<'static>>,
);

/// Returns the manifest DTB of `size` bytes at `addr` (the boot information names it).
fn manifest_at(addr: u64, size: u64) -> Option<Fdt<'static>> {
    let a = usize::try_from(addr).ok()?;
    if a == 0 || size > u64::from(MAX_MANIFEST_SIZE) {
        return None;
    }
    let len = usize::try_from(size).ok()?;
    // SAFETY: the SPMC's boot information names its read-only copy of our manifest DTB,
    // `size` bytes at `addr`, mapped for our whole life (boot-info region).
    let dtb = unsafe { core::slice::from_raw_parts(core::ptr::with_exposed_provenance(a), len) };
    Fdt::new(dtb).ok()
}

/// Reads and validates the boot information blob at `addr` (v1.1+ header and descriptors,
/// or v1.0 name/value pairs, whichever the SPMC wrote for our manifest's `ffa-version`), and
/// the manifest DTB it names.
fn read_boot_info(addr: u64) -> Boot {
    let Ok(a) = usize::try_from(addr) else {
        return (None, None, None);
    };
    if a == 0 || !a.is_multiple_of(8) {
        return (None, None, None);
    }
    let base: *const u8 = core::ptr::with_exposed_provenance(a);
    // SAFETY: by the entry contract, a non-zero boot-info register holds the address of a blob
    // the SPMC mapped read-only for our whole life and never writes again; it lies in the page
    // the SPMC reserves for it, so its first HEADER_SIZE (32) bytes are mapped.
    let header = unsafe { core::slice::from_raw_parts(base, HEADER_SIZE) };
    if header[0..4] == V1_0_MAGIC {
        let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let Some(size) = crate::boot_info::v1_0_blob_size(count) else {
            return (None, None, None);
        };
        // SAFETY: as above; `size` is at most MAX_BLOB_SIZE (one page) from the blob's start.
        let blob = unsafe { core::slice::from_raw_parts(base, size) };
        let Ok(info) = BootInfoV1_0::parse(blob) else {
            return (None, None, None);
        };
        let manifest =
            crate::boot_info::manifest_fdt_v1_0(&info).and_then(|(a, s)| manifest_at(a, s));
        return (None, Some(info), manifest);
    }
    let Ok(size) = BootInfo::peek_blob_size(header) else {
        return (None, None, None);
    };
    if size > MAX_BLOB_SIZE {
        return (None, None, None);
    }
    // SAFETY: as above; the blob lies in the page the SPMC reserved for it, so `size` bytes
    // up to MAX_BLOB_SIZE (one page) from its start are mapped.
    let blob = unsafe { core::slice::from_raw_parts(base, size) };
    let Ok(info) = BootInfo::parse(blob) else {
        return (None, None, None);
    };
    let manifest = manifest_fdt(&info).and_then(|(addr, size)| manifest_at(addr, u64::from(size)));
    (Some(info), None, manifest)
}

/// Rust side of `_start`: x0..x3 as the SPMC set them.
#[no_mangle]
extern "C" fn sp_rt_start_rust(x0: u64, x1: u64, x2: u64, x3: u64) -> ! {
    // Taking the addresses of linker-defined symbols reads nothing (and is safe).
    let heap_start = core::ptr::addr_of!(__sp_heap_start).cast_mut();
    let heap_end = core::ptr::addr_of!(__sp_heap_end);
    let heap_size = (heap_end as usize).saturating_sub(heap_start as usize);
    // SAFETY: `link/sp.ld` reserves [__sp_heap_start, __sp_heap_end) in the RW window for the
    // heap only (NOLOAD, between RX/TX and the stack); this runs once, before anything else.
    unsafe { HEAP.init(heap_start, heap_size) };
    // FFA_MEM_PERM_SET is only allowed before the first FFA_MSG_WAIT: guard the stack now. A
    // refusal (an SPMC without the ABI) leaves the page RW, as it was; nothing else changes.
    let guard = core::ptr::addr_of!(__sp_stack_guard) as u64;
    let _ = crate::ffa::Ffa::svc().mem_perm_set(guard, 1, STACK_GUARD_PERM);
    let (boot_info, boot_info_v1_0, manifest) = read_boot_info(x0);
    let start = StartInfo {
        regs: [x0, x1, x2, x3],
        boot_info,
        boot_info_v1_0,
        manifest,
        rxtx: rxtx_buffers(),
        layout: ImageLayout {
            image_base: core::ptr::addr_of!(__sp_image_start) as u64,
            rw_base: core::ptr::addr_of!(__sp_rw_start) as u64,
            rw_end: core::ptr::addr_of!(__sp_stack_top) as u64,
        },
    };
    // SAFETY: `__sp_rt_main` is defined by `sp_rt::entry!` with exactly this signature (the
    // link fails if the SP forgot it); it is called once.
    unsafe { __sp_rt_main(start) }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::log!("panic: {}", info);
    abort()
}
