//! Loading secure partitions: building each SP's address space from its table entry, copying
//! its image and boot information in, and booting every SP in boot order (its initialisation
//! runs through the dispatcher until FFA_MSG_WAIT).

use super::partition::{Phase, RunEnd, Runtime, Sp, State};
use super::{dispatch, ownership, Env, Mailbox, Spmc};
use crate::arch::{UserRegs, SPSR_EL0T};
use crate::memory::{AddressSpace, MemType, UserPerm, PAGE_SIZE};
use ffa_abi::boot_info;
use ffa_abi::version::Version;
use spmc_table::{MemAttributes, Partition, BOOT_INFO_HEADER_RESERVE};

/// Why loading a partition failed.
#[derive(Debug, Eq, PartialEq)]
pub enum LoadError {
    /// The table's blob range does not hold the image or manifest.
    BadTable,
    /// Building the address space failed.
    Map,
    /// Copying into the partition's memory failed.
    Copy,
}

/// Checks that the image fits its region, the manifest copy fits the boot-info region, and
/// every region the SP owns that must lie in the table's SP pool does
/// (`ownership::Use::InPool`: the image, secure memory regions, the boot information).
fn check_placement(
    table: &spmc_table::Table,
    p: &Partition,
    image_len: usize,
    dtb_len: usize,
) -> Result<(), LoadError> {
    let pool = table.sp_pool;
    let in_pool = |r: &ownership::Region| {
        r.base
            .checked_add(r.len)
            .is_some_and(|end| r.base >= pool.base && end <= pool.base + pool.size)
    };
    if image_len as u64 > p.image.size {
        return Err(LoadError::BadTable);
    }
    let room = (u64::from(p.boot_info.pages) * PAGE_SIZE).saturating_sub(BOOT_INFO_HEADER_RESERVE);
    if p.boot_info.pages > 0 && dtb_len as u64 > room {
        return Err(LoadError::BadTable);
    }
    if ownership::regions(p).any(|r| r.may(ownership::Use::InPool) && !in_pool(&r)) {
        return Err(LoadError::BadTable);
    }
    Ok(())
}

fn perm_of(a: MemAttributes) -> UserPerm {
    UserPerm {
        write: a.write(),
        exec: a.execute(),
        non_secure: a.non_secure(),
        memory: MemType::Normal,
    }
}

impl Spmc {
    /// Builds the partition's address space and copies its image and boot information in.
    pub fn load(&self, env: &mut impl Env, sp: &Sp, rt: &mut Runtime) -> Result<(), LoadError> {
        let p = sp.desc;
        let image = self.table.image_bytes(p).ok_or(LoadError::BadTable)?;
        let dtb = self.table.manifest_bytes(p).ok_or(LoadError::BadTable)?;
        // The table's shape was checked at boot; what is about to be written and mapped is
        // checked again here against the regions it goes to.
        check_placement(self.table, p, image.len(), dtb.len())?;
        let asid = u16::try_from(sp.index + 1).map_err(|_| LoadError::Map)?;
        let mut space =
            AddressSpace::new(&self.platform.layout, asid).map_err(|_| LoadError::Map)?;
        map_regions(&mut space, p)?;
        self.fill(env, sp, rt, space, asid, (image, dtb))
    }

    /// Loads an aborted partition again for its restart (lifecycle.rs): its regions are
    /// mapped again in its existing address space with the manifest's permissions (undoing
    /// FFA_MEM_PERM_SET; the memory ABIs' mappings were dropped before), every secure memory
    /// region of its manifest is zeroed, then the image and boot information are written as
    /// at cold boot and its registers set to its entry. The table is kept, not rebuilt:
    /// another core's TTBR0 may still point at it.
    pub fn reload(&self, env: &mut impl Env, sp: &Sp, rt: &mut Runtime) -> Result<(), LoadError> {
        let p = sp.desc;
        let image = self.table.image_bytes(p).ok_or(LoadError::BadTable)?;
        let dtb = self.table.manifest_bytes(p).ok_or(LoadError::BadTable)?;
        check_placement(self.table, p, image.len(), dtb.len())?;
        let asid = u16::try_from(sp.index + 1).map_err(|_| LoadError::Map)?;
        rt.reset_for_restart(p.ffa_version);
        let Some(space) = rt.space.as_mut() else {
            return Err(LoadError::Map);
        };
        map_regions(space, p)?;
        for r in p
            .memory_regions
            .iter()
            .filter(|r| !r.attributes.non_secure())
        {
            zero(env, r.base.0, u64::from(r.pages) * PAGE_SIZE).map_err(|()| LoadError::Copy)?;
        }
        let Some(space) = rt.space.take() else {
            return Err(LoadError::Map);
        };
        self.fill(env, sp, rt, space, asid, (image, dtb))
    }

    /// Writes the image and boot information of a partition whose regions `space` maps, sets
    /// its registers to its entry and gives it the table.
    fn fill(
        &self,
        env: &mut impl Env,
        sp: &Sp,
        rt: &mut Runtime,
        space: AddressSpace,
        asid: u16,
        (image, dtb): (&[u8], &[u8]),
    ) -> Result<(), LoadError> {
        let p = sp.desc;
        let base = p.image.base.0;
        // The table is the partition's from here, whatever fails below.
        rt.space = Some(space);
        env.tlb_invalidate_asid(asid);
        // The manifest's buffers, or none (a restart forgets what FFA_RXTX_MAP gave), and the
        // version senders of indirect messages judge it by (its manifest's, until FFA_VERSION).
        if let Ok(mut mb) = sp.mailbox() {
            mb.pair = p.rx_tx.map(|b| Mailbox::new(b.tx.0, b.rx.0, b.pages, true));
            mb.version = rt.version;
        }
        let bi = p.boot_info.base.0;

        // Fill memory: zero the image region (its tail is the SP's bss), copy the image, zero
        // secure memory regions the manifest marks as NOBITS, write the boot information.
        zero(env, base, p.image.size).map_err(|()| LoadError::Copy)?;
        if !env.write_phys(base, image) {
            return Err(LoadError::Copy);
        }
        // The image was written through the data side at another address: make it visible to
        // instruction fetch before the SP runs.
        env.sync_icache(base, image.len() as u64);
        for r in p
            .memory_regions
            .iter()
            .filter(|r| r.nobits && !r.attributes.non_secure())
        {
            zero(env, r.base.0, u64::from(r.pages) * PAGE_SIZE).map_err(|()| LoadError::Copy)?;
        }
        let mut boot_x = 0;
        if p.boot_info.pages > 0 {
            let dtb_va = bi + BOOT_INFO_HEADER_RESERVE;
            let dtb_len = u32::try_from(dtb.len()).map_err(|_| LoadError::BadTable)?;
            // The blob format follows the SP's FF-A version: the v1.0 "FF-A" name/value pairs
            // OP-TEE gives v1.0 SPs, or the v1.1+ header with one FDT descriptor.
            let mut blob = [0u8; 64];
            let written = if rt.version == Version::V1_0 {
                boot_info::write_boot_info_v1_0(
                    &[boot_info::NameValue::dt(dtb_va, u64::from(dtb_len))],
                    &mut blob,
                )
            } else {
                boot_info::write_boot_info(
                    rt.version,
                    &[boot_info::BootInfoDesc::fdt(dtb_va, dtb_len)],
                    &mut blob,
                )
            };
            let Ok(n) = written else {
                return Err(LoadError::BadTable);
            };
            if !env.write_phys(bi, &blob[..n]) || !env.write_phys(dtb_va, dtb) {
                return Err(LoadError::Copy);
            }
            boot_x = bi;
        }
        rt.regs = UserRegs::default();
        rt.regs.pc = p.entry_point().0;
        rt.regs.spsr = SPSR_EL0T;
        if let Some(gp) = p.gp_register_num {
            if let Some(x) = rt.regs.x.get_mut(usize::from(gp)) {
                *x = boot_x;
            }
        }
        Ok(())
    }

    /// Loads and boots every partition in boot order; one that fails is aborted and the boot
    /// goes on without it.
    pub fn boot_partitions(&self, env: &mut impl Env) {
        let mut order: alloc::vec::Vec<usize> = (0..self.sps.len()).collect();
        order.sort_by_key(|&i| (self.sps[i].desc.boot_order.unwrap_or(u16::MAX), i));
        for i in order {
            let sp = &self.sps[i];
            let mut rt = sp.rt.lock();
            if rt.state() != State::Created {
                // Booted once already: loading it again would reset a partition in use.
                continue;
            }
            if sp.desc.execution_ctx_count > 1 {
                // S-EL0 partitions are UP (FF-A): manifest-tool refuses a count above 1. A table
                // built without it still gets one context, which migrates between cores
                // (concurrent requests from two cores get BUSY).
                crate::info!(
                    "SP {} declares {} execution contexts; it runs with one, migrating between cores",
                    sp.desc.name,
                    sp.desc.execution_ctx_count
                );
            }
            if sp.desc.power_management_messages.0 != 0 {
                // manifest-tool refuses the subscription for S-EL0 partitions: the messages are
                // for contexts pinned to a PE, and a UP partition's context migrates (framework.rs).
                crate::info!(
                    "SP {} subscribes to power-management messages {:#x}; S-EL0 partitions are not sent them",
                    sp.desc.name,
                    sp.desc.power_management_messages.0
                );
            }
            if let Err(e) = self.load(env, sp, &mut rt) {
                crate::info!(
                    "SP {} ({:#06x}): load failed: {:?}; aborted",
                    sp.desc.name,
                    sp.id(),
                    e
                );
                dispatch::abort_sp(self, sp, &mut rt);
                continue;
            }
            if let Phase::Created(c) = rt.phase() {
                c.start_boot();
            }
            match dispatch::run_sp(self, env, sp, &mut rt) {
                RunEnd::InitDone => {
                    if let Phase::Booting(b) = rt.phase() {
                        b.init_done();
                    }
                    crate::info!("SP {} ({:#06x}) initialised", sp.desc.name, sp.id());
                    dispatch::run_interrupt_handlers(self, env, sp, &mut rt);
                }
                RunEnd::Aborted => {}
                RunEnd::Response | RunEnd::InterruptDone | RunEnd::Suspended | RunEnd::Idle => {
                    // Unreachable by construction (no request is pending during boot, and an
                    // initialising partition is never preempted nor may yield); treat as a
                    // protocol violation.
                    dispatch::abort_sp(self, sp, &mut rt);
                }
            }
        }
    }
}

/// Maps every region of `p` in `space` at VA = PA with the manifest's permissions: the whole
/// image region as code and constants unless a manifest region says otherwise, the memory and
/// device regions, the RX/TX buffers and the boot information.
fn map_regions(space: &mut AddressSpace, p: &Partition) -> Result<(), LoadError> {
    let base = p.image.base.0;
    let pages = p.image.size.div_ceil(PAGE_SIZE);
    space
        .map_user(base, base, pages, UserPerm::RX)
        .map_err(|_| LoadError::Map)?;
    for r in p.memory_regions {
        space
            .map_user(
                r.base.0,
                r.base.0,
                u64::from(r.pages),
                perm_of(r.attributes),
            )
            .map_err(|_| LoadError::Map)?;
    }
    for d in p.device_regions {
        let perm = UserPerm {
            write: d.attributes.write(),
            exec: false,
            non_secure: d.attributes.non_secure(),
            memory: MemType::DeviceNgnre,
        };
        space
            .map_user(d.base.0, d.base.0, u64::from(d.pages), perm)
            .map_err(|_| LoadError::Map)?;
    }
    if let Some(rx_tx) = p.rx_tx {
        space
            .map_user(rx_tx.rx.0, rx_tx.rx.0, u64::from(rx_tx.pages), UserPerm::RO)
            .map_err(|_| LoadError::Map)?;
        space
            .map_user(rx_tx.tx.0, rx_tx.tx.0, u64::from(rx_tx.pages), UserPerm::RW)
            .map_err(|_| LoadError::Map)?;
    }
    let bi = p.boot_info.base.0;
    if p.boot_info.pages > 0 {
        space
            .map_user(bi, bi, u64::from(p.boot_info.pages), UserPerm::RO)
            .map_err(|_| LoadError::Map)?;
    }
    Ok(())
}

fn zero(env: &mut impl Env, base: u64, len: u64) -> Result<(), ()> {
    if env.zero_phys(base, len) {
        Ok(())
    } else {
        Err(())
    }
}
