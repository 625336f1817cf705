//! Loading and booting partitions: boot order, containment of a partition that faults during
//! boot, the memory the SPMC fills (image, bss, boot information blob, manifest copy) and the
//! entry registers.

use super::fake::*;
use crate::arch::SPSR_EL0T;
use crate::memory::AddressSpace;
use crate::spmc::partition::State;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use ffa_abi::boot_info::BootInfo;
use ffa_abi::version::Version;
use spmc_table::BOOT_INFO_HEADER_RESERVE;

/// The kernel builds an address space in every debug (host test) build: the whole dispatcher
/// suite depends on it.
#[test]
fn an_address_space_builds_in_a_debug_build() {
    let r = std::panic::catch_unwind(|| AddressSpace::new(&platform().layout, 1).is_ok());
    assert_eq!(
        r.ok(),
        Some(true),
        "BUG memory.rs region(): `.ok_or(MapError::RegionBackwards(MemoryRegion::new(0, 0)))` \
         evaluates MemoryRegion::new(0, 0) eagerly on every call, and aarch64-paging's \
         align_up(0) underflows, so every map panics when overflow checks are on (host tests). \
         Fix: use ok_or_else(|| ...) in both places, or an error value that does not call \
         MemoryRegion::new(0, 0)"
    );
}

/// Slot indexes in the order they were first run.
fn boot_sequence(w: &World) -> Vec<usize> {
    let mut order = Vec::new();
    for &i in &w.env.runs {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order
}

#[test]
fn partitions_boot_in_boot_order() {
    let mut defs: Vec<SpDef> = (0..5).map(sp).collect();
    defs[0].boot_order = Some(3);
    defs[1].boot_order = None; // after every partition with a boot order
    defs[2].boot_order = Some(1);
    defs[3].boot_order = Some(1); // ties keep table order
    defs[4].boot_order = Some(0);
    let w = World::boot(defs);
    assert_eq!(boot_sequence(&w), [4, 2, 3, 0, 1]);
    for i in 0..5 {
        assert_eq!(w.state(i), State::Waiting);
        // Each ran exactly once (entry, then MSG_WAIT).
        assert_eq!(w.seen(i).len(), 1);
    }
}

#[test]
fn a_partition_that_faults_during_boot_is_aborted_and_the_others_boot() {
    let mut defs: Vec<SpDef> = (0..3).map(sp).collect();
    defs[1].behaviour = script(vec![svc(call_id_get()), data_abort(0x1234)]);
    let mut w = World::boot(defs);
    assert_eq!(boot_sequence(&w), [0, 1, 2]);
    assert_eq!(w.state(0), State::Waiting);
    assert_eq!(w.state(1), State::Aborted);
    assert_eq!(w.state(2), State::Waiting);
    // It answered one call before faulting and was not resumed afterwards.
    assert_eq!(w.seen(1).len(), 2);
    let q = req32(EndpointId(1), SP2, [1; 5]);
    assert_eq!(w.nw(q), echo_of(&q).unwrap());
}

fn call_id_get() -> ffa_abi::regs::Regs {
    call(ffa_abi::func_id::FuncId::IdGet, &[])
}

#[test]
fn the_image_is_copied_and_its_region_zeroed() {
    let w = World::echoes(2);
    for i in 0..2 {
        let img = w.env.mem.bytes(base(i), IMAGE_SIZE as usize);
        assert_eq!(&img[..IMAGE_LEN], &image_bytes(i, IMAGE_LEN)[..]);
        // The rest of the region is the SP's bss: zero, not whatever was there.
        assert!(img[IMAGE_LEN..].iter().all(|&b| b == 0), "slot {i}");
        // Memory outside the image region is not written.
        assert_eq!(w.env.mem.bytes(base(i) + IMAGE_SIZE, 16), vec![POISON; 16]);
    }
}

#[test]
fn images_are_made_visible_to_instruction_fetch_before_they_run() {
    let w = World::echoes(3);
    let syncs = w.env.icache.borrow().clone();
    // One per image, covering it, before that partition's first run (boot order 0, 1, 2).
    assert_eq!(
        syncs,
        [
            (base(0), IMAGE_LEN as u64, 0),
            (base(1), IMAGE_LEN as u64, 1),
            (base(2), IMAGE_LEN as u64, 2)
        ]
    );
}

/// Loading writes the image region, the boot information and nothing else: not the SPs'
/// data regions, not another slot, not the normal world's memory.
#[test]
fn loading_writes_only_the_image_and_boot_information() {
    let w = World::echoes(2);
    let mut want = Vec::new();
    for i in 0..2 {
        want.extend((0..IMAGE_SIZE / 0x1000).map(|p| base(i) + p * 0x1000));
        want.push(base(i) + BOOT_INFO_OFFSET);
        want.push(base(i) + BOOT_INFO_OFFSET + BOOT_INFO_HEADER_RESERVE);
    }
    assert_eq!(w.env.mem.written_pages(), want);
}

#[test]
fn nobits_regions_are_zeroed_and_others_left_alone() {
    let mut d = sp(0);
    let mut bss = data_region(0, 0x5_0000, 1, 0x3);
    bss.nobits = true;
    d.memory_regions.push(bss);
    let w = World::boot(vec![d]);
    assert_eq!(w.env.mem.bytes(base(0) + 0x5_0000, 0x1000), vec![0; 0x1000]);
    // The ordinary data region keeps its contents (here: never written).
    assert_eq!(w.env.mem.bytes(base(0) + DATA_OFFSET, 16), vec![POISON; 16]);
}

#[test]
fn v1_1_boot_information_points_at_the_manifest_copy() {
    let mut d = sp(0);
    d.version = Version::V1_1;
    let w = World::boot(vec![d, sp(1)]);
    for i in 0..2 {
        let bi = base(i) + BOOT_INFO_OFFSET;
        let dtb_va = bi + BOOT_INFO_HEADER_RESERVE;
        let m = &w.env.mem;
        // Header (FF-A v1.1 Table 5.8).
        assert_eq!(m.u32_at(bi), 0x0FFA, "signature");
        // The blob's version is an FF-A version from v1.1 (the format's) up to the SP's own.
        let sp_version = [0x1_0001, 0x1_0002][i];
        let v = m.u32_at(bi + 4);
        assert!(
            (0x1_0001..=sp_version).contains(&v),
            "boot info version {v:#x}"
        );
        assert_eq!(m.u32_at(bi + 8), 64, "blob size");
        assert_eq!(m.u32_at(bi + 12), 32, "descriptor size");
        assert_eq!(m.u32_at(bi + 16), 1, "descriptor count");
        assert_eq!(m.u32_at(bi + 20), 32, "descriptor offset");
        assert_eq!(m.u64_at(bi + 24), 0, "reserved");
        // Descriptor (Table 5.9): name, type FDT (standard), flags, size, address.
        let d = m.bytes(bi + 32, 32);
        assert_eq!(&d[..16], b"ffa_manifest\0\0\0\0");
        assert_eq!(&d[16..20], &[0, 0, 0, 0], "type, reserved, flags");
        let dtb = dtb_bytes(i);
        assert_eq!(m.u32_at(bi + 52), dtb.len() as u32);
        assert_eq!(m.u64_at(bi + 56), dtb_va);
        assert_eq!(m.bytes(dtb_va, dtb.len()), dtb);
        // ffa-abi's parser reads the same thing.
        let blob = m.bytes(bi, 64);
        let parsed = BootInfo::parse(&blob).expect("boot info parses");
        let fdt = parsed.fdt().expect("an FDT descriptor");
        assert_eq!(fdt.size, dtb.len() as u32);
        assert_eq!(fdt.contents, dtb_va);
        // Entry registers: x0 = boot info (gp-register-num 0), pc = entry point, EL0t.
        let e = w.entry(i).unwrap();
        assert_eq!(e.x[0], bi);
        assert!(e.x[1..].iter().all(|&x| x == 0), "{:x?}", e.x);
        assert_eq!(e.pc, base(i) + ENTRY_OFFSET);
        assert_eq!(e.spsr, SPSR_EL0T);
        assert_eq!(e.sp, 0);
    }
}

#[test]
fn the_gp_register_carries_the_boot_information() {
    let mut d0 = sp(0);
    d0.gp = Some(3);
    let mut d1 = sp(1);
    d1.gp = None;
    let w = World::boot(vec![d0, d1]);
    let e = w.entry(0).unwrap();
    let mut want = [0u64; 31];
    want[3] = base(0) + BOOT_INFO_OFFSET;
    assert_eq!(e.x, want);
    // No gp register: no boot information is passed.
    assert_eq!(w.entry(1).unwrap().x, [0u64; 31]);
}

/// FF-A v1.0 partitions get OP-TEE's blob: the ASCII magic "FF-A", a count, then one
/// name/value/size entry named "TYPE_DT" pointing at the manifest copy.
#[test]
fn v1_0_boot_information_is_optee_shaped() {
    let mut d = sp(0);
    d.version = Version::V1_0;
    let w = World::boot(vec![d]);
    let bi = base(0) + BOOT_INFO_OFFSET;
    let m = &w.env.mem;
    assert_eq!(m.bytes(bi, 4), b"FF-A");
    let blob = m.bytes(bi, 40);
    let parsed = ffa_abi::boot_info::BootInfoV1_0::parse(&blob).expect("parses");
    assert_eq!(parsed.count(), 1);
}

#[test]
fn v1_0_boot_information_entry() {
    let mut d = sp(0);
    d.version = Version::V1_0;
    let w = World::boot(vec![d]);
    let bi = base(0) + BOOT_INFO_OFFSET;
    let m = &w.env.mem;
    assert_eq!(m.u32_at(bi + 4), 1, "count");
    assert_eq!(&m.bytes(bi + 8, 16)[..], b"TYPE_DT\0\0\0\0\0\0\0\0\0");
    assert_eq!(m.u64_at(bi + 24), bi + BOOT_INFO_HEADER_RESERVE);
    assert_eq!(m.u64_at(bi + 32), dtb_bytes(0).len() as u64);
    assert_eq!(
        m.bytes(bi + BOOT_INFO_HEADER_RESERVE, dtb_bytes(0).len()),
        dtb_bytes(0)
    );
    assert_eq!(w.entry(0).unwrap().x[0], bi);
}

#[test]
fn each_partition_gets_its_own_address_space_and_tlb_flush() {
    let w = World::echoes(3);
    let tlb = w.env.tlb.borrow().clone();
    assert_eq!(tlb.len(), 3);
    let mut asids = tlb.clone();
    asids.sort();
    asids.dedup();
    assert_eq!(asids.len(), 3, "ASIDs are shared: {tlb:?}");
    assert!(!asids.contains(&0), "ASID 0 is the kernel's");
    // The image is executable and read-only for the SP, the data region RW, the boot info RO.
    let rt = w.spmc.sps[1].rt.lock();
    let space = rt.space.as_ref().unwrap();
    let img = space.user_perm(base(1)).unwrap();
    assert!(img.exec && !img.write);
    let data = space.user_perm(base(1) + DATA_OFFSET).unwrap();
    assert!(data.write && !data.exec);
    let bi = space.user_perm(base(1) + BOOT_INFO_OFFSET).unwrap();
    assert!(!bi.write && !bi.exec);
    // Nothing of another partition is visible.
    assert_eq!(space.user_perm(base(0)), None);
    assert_eq!(space.user_perm(base(2) + DATA_OFFSET), None);
    assert_eq!(space.user_perm(base(1) + IMAGE_SIZE), None);
}

#[test]
fn a_partition_that_cannot_be_loaded_is_aborted_without_running() {
    // sp1's image region lies outside the memory the SPMC can reach (copy fails); sp2 has a
    // memory region beyond the 48-bit VA space (mapping fails).
    let mut d1 = sp(1);
    d1.patch = Some(Box::new(|p| {
        p.image.base = spmc_table::PhysAddr(SECURE_ELSEWHERE)
    }));
    let mut d2 = sp(2);
    d2.patch = Some(Box::new(|p| {
        let mut r = p.memory_regions[0];
        r.base = spmc_table::PhysAddr(1 << 48);
        p.memory_regions = Box::leak(Box::new([r]));
    }));
    let mut w = World::boot(vec![sp(0), d1, d2, sp(3)]);
    assert_eq!(boot_sequence(&w), [0, 3]);
    assert_eq!(w.state(1), State::Aborted);
    assert_eq!(w.state(2), State::Aborted);
    assert_eq!(w.state(3), State::Waiting);
    assert_error(
        &w.nw(req32(EndpointId(1), SP1, [1; 5])),
        ffa_abi::error::ErrorCode::Aborted,
    );
    assert_error(
        &w.nw(req32(EndpointId(1), SP2, [1; 5])),
        ffa_abi::error::ErrorCode::Aborted,
    );
    assert_eq!(boot_sequence(&w), [0, 3]);
}

/// The kernel trusts the table's shape but checks what it writes (docs/architecture.md, "The
/// static partition table"): a manifest DTB that does not fit its boot-info region after the
/// header reserve must not be copied past the region. `Table::check_shape` does not look at
/// this.
#[test]
fn a_manifest_larger_than_its_boot_info_region_is_refused() {
    let mut d = sp(1);
    d.patch = Some(Box::new(|p| p.boot_info.pages = 1));
    let w = World::boot(vec![sp(0), d]);
    assert_eq!(w.state(1), State::Aborted);
    let outside = base(1) + BOOT_INFO_OFFSET + BOOT_INFO_HEADER_RESERVE;
    assert!(
        !w.env.mem.written_pages().contains(&outside),
        "DTB copied past the region"
    );
}

/// The same for an image larger than its region, which only `check_shape` catches today.
#[test]
fn an_image_larger_than_its_region_is_refused() {
    let mut d = sp(1);
    d.image_len = IMAGE_SIZE as usize + 0x1000;
    let mut w = World::new_unchecked(vec![sp(0), d]);
    w.spmc.boot_partitions(&mut w.env);
    assert_eq!(w.state(1), State::Aborted);
    assert!(!w.env.mem.written_pages().contains(&(base(1) + IMAGE_SIZE)));
}
