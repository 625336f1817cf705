//! Setup and discovery ABIs (FF-A v1.2 chapter 13-14): FFA_FEATURES, FFA_ID_GET,
//! FFA_SPM_ID_GET, FFA_PARTITION_INFO_GET(_REGS), FFA_RXTX_MAP/UNMAP and FFA_RX_RELEASE, for the
//! normal world and for SPs. Each validates fully before it changes a mailbox.

use super::call::{Caller, Cx, Flow};
use super::{abi_table, ownership, Env, Mailbox, Spmc};
use crate::memory::PAGE_SIZE;
use crate::policy;
use ffa_abi::endpoint::TargetInfo;
use ffa_abi::error::ErrorCode;
use ffa_abi::features::{FeatureId, FeatureQuery};
use ffa_abi::func_id::FuncId;
use ffa_abi::interface::Interface;
use ffa_abi::partition_info::{
    info_get_regs_success, info_get_success, InfoGetRegsSummary, PartitionInfo,
    PartitionProperties, REGS_PER_ANSWER,
};
use ffa_abi::regs::Regs;
use ffa_abi::uuid::Uuid;
use ffa_abi::version::Version;
use spmc_table::Partition;

/// Most pages an RX/TX buffer may have (w3[5:0] of FFA_RXTX_MAP).
const MAX_MAILBOX_PAGES: u32 = 63;

/// The setup and discovery ABIs, from any caller.
pub fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    *out = match call {
        Interface::Features {
            query,
            input_properties,
        } => features(*query, *input_properties, cx.who(), cx.version),
        Interface::IdGet => Regs::success_w2(cx.id().0.into()),
        Interface::SpmIdGet => Regs::success_w2(cx.spmc.id.into()),
        Interface::PartitionInfoGet { uuid, count_only } => {
            let (spmc, version) = (cx.spmc, cx.version);
            let env = &mut *cx.env;
            match &mut cx.caller {
                Caller::NormalWorld => match spmc.nw_state() {
                    Ok(mut nw) => {
                        partition_info_get(spmc, env, &mut nw.mailbox, version, *uuid, *count_only)
                    }
                    Err(e) => Regs::error(e),
                },
                Caller::Sp(sp, _) => match sp.mailbox() {
                    Ok(mut mb) => {
                        partition_info_get(spmc, env, &mut mb.pair, version, *uuid, *count_only)
                    }
                    Err(e) => Regs::error(e),
                },
            }
        }
        Interface::PartitionInfoGetRegs {
            uuid,
            start_index,
            tag,
        } => partition_info_get_regs(cx.spmc, *uuid, *start_index, *tag),
        Interface::RxTxMap {
            tx, rx, page_count, ..
        } => {
            let (tx, rx, pages) = (*tx, *rx, *page_count);
            match &mut cx.caller {
                Caller::NormalWorld => match cx.spmc.nw_state() {
                    Ok(mut nw) => rxtx_map(&mut nw.mailbox, || {
                        validate_nw_mailbox(cx.spmc, tx, rx, pages)
                    }),
                    Err(e) => Regs::error(e),
                },
                Caller::Sp(sp, rt) => {
                    let space = rt.space.as_ref();
                    let checked = validate_sp_mailbox(sp.desc, space, tx, rx, pages);
                    match sp.mailbox() {
                        Ok(mut mb) => rxtx_map(&mut mb.pair, || checked),
                        Err(e) => Regs::error(e),
                    }
                }
            }
        }
        // w1 names the VM whose buffers a hypervisor unmaps or releases; the SPMC knows only
        // endpoint 0's (the normal world's) and a partition has no one to name: any non-zero
        // ID, the caller's own included, is INVALID_PARAMETERS (Hafnium `api_ffa_rxtx_unmap`,
        // `api_ffa_rx_release`: "can be set only at Non-Secure Physical interface").
        Interface::RxTxUnmap { id } => {
            if id.0 != 0 {
                Regs::error(ErrorCode::InvalidParameters)
            } else {
                cx.with_mailbox(unmap).unwrap_or_else(Regs::error)
            }
        }
        Interface::RxRelease { vm_id } => {
            if vm_id.0 != 0 {
                Regs::error(ErrorCode::InvalidParameters)
            } else {
                cx.with_mailbox(rx_release).unwrap_or_else(Regs::error)
            }
        }
        _ => Regs::error(ErrorCode::NotSupported),
    };
    Flow::Reply
}

/// FFA_FEATURES: answered from the ABI table, for ABIs that exist at the caller's negotiated
/// version, plus the interfaces FF-A makes mandatory (`abi_table::FEATURES_ONLY`). Feature IDs:
/// SRI for the normal world (notify.rs); NPI and MEI are NOT_SUPPORTED.
///
/// FFA_MEM_RETRIEVE_REQ from a v1.1+ partition is the NS-bit handshake (FF-A v1.1 section
/// 13.3): the caller must say in w2 bit 1 that it handles the NS bit in retrieve responses
/// (else NOT_SUPPORTED), and the answer's w2 bit 1 says the SPMC sets it. w3 = 0: one
/// outstanding retrieve per borrower.
fn features(query: FeatureQuery, input: u32, caller: policy::Caller, version: Version) -> Regs {
    match query {
        FeatureQuery::Function(f) if abi_table::available_at(f, caller, version) => {
            match abi_table::lookup(f, caller) {
                Some(_)
                    if matches!(f, FuncId::MemRetrieveReq32 | FuncId::MemRetrieveReq64)
                        && version.minor >= 1 =>
                {
                    if input & NS_BIT_HANDSHAKE == 0 {
                        Regs::error(ErrorCode::NotSupported)
                    } else {
                        Regs::success_w2(NS_BIT_HANDSHAKE)
                    }
                }
                Some(abi) => Regs::success_w2(abi.properties),
                None if abi_table::reported_only(f, caller) => Regs::success_w2(0),
                None => Regs::error(ErrorCode::NotSupported),
            }
        }
        FeatureQuery::Function(_) => Regs::error(ErrorCode::NotSupported),
        // The schedule-receiver interrupt is the normal world's (Hafnium: VM callers only); the
        // notification pending interrupt is for S-EL1 receivers, not S-EL0 partitions or the
        // normal world (Hafnium `ffa_features_feature`): NOT_SUPPORTED, like MEI for now.
        // Input properties are defined for function IDs only: a feature ID with any set is
        // NOT_SUPPORTED (Hafnium `ffa_features_feature`).
        FeatureQuery::Feature(FeatureId::ScheduleReceiverInterrupt)
            if caller == policy::Caller::NormalWorld && version.minor >= 1 && input == 0 =>
        {
            Regs::success_w2(super::notify::SRI_INTID)
        }
        FeatureQuery::Feature(_) | FeatureQuery::Unknown(_) => Regs::error(ErrorCode::NotSupported),
    }
}

/// FFA_FEATURES(FFA_MEM_RETRIEVE_REQ) w2 bit 1: NS bit handling in retrieve responses.
const NS_BIT_HANDSHAKE: u32 = 1 << 1;

fn validate_nw_mailbox(spmc: &Spmc, tx: u64, rx: u64, pages: u32) -> Result<Mailbox, ErrorCode> {
    if pages == 0
        || pages > MAX_MAILBOX_PAGES
        || !tx.is_multiple_of(PAGE_SIZE)
        || !rx.is_multiple_of(PAGE_SIZE)
    {
        return Err(ErrorCode::InvalidParameters);
    }
    let len = u64::from(pages) * PAGE_SIZE;
    let in_ns = |a: u64| {
        ownership::nw_region(spmc.platform.ns_memory, a, len)
            .is_some_and(|r| r.may(ownership::Use::Mailbox))
    };
    if !in_ns(tx) || !in_ns(rx) {
        return Err(ErrorCode::InvalidParameters);
    }
    if tx < rx.saturating_add(len) && rx < tx.saturating_add(len) {
        return Err(ErrorCode::InvalidParameters);
    }
    Ok(Mailbox::new(tx, rx, pages, false))
}

/// Validates an SP's FFA_RXTX_MAP: both buffers must be pages the SP has mapped as normal,
/// secure memory, physically contiguous, not overlapping.
/// FFA_RXTX_MAP for one caller: DENIED if it has buffers already, else the validated pair.
fn rxtx_map(
    mailbox: &mut Option<Mailbox>,
    validate: impl FnOnce() -> Result<Mailbox, ErrorCode>,
) -> Regs {
    if mailbox.is_some() {
        return Regs::error(ErrorCode::Denied);
    }
    match validate() {
        Ok(m) => {
            *mailbox = Some(m);
            Regs::success_w2(0)
        }
        Err(e) => Regs::error(e),
    }
}

fn validate_sp_mailbox(
    desc: &Partition,
    space: Option<&crate::memory::AddressSpace>,
    tx: u64,
    rx: u64,
    pages: u32,
) -> Result<Mailbox, ErrorCode> {
    if pages == 0
        || pages > MAX_MAILBOX_PAGES
        || !tx.is_multiple_of(PAGE_SIZE)
        || !rx.is_multiple_of(PAGE_SIZE)
    {
        return Err(ErrorCode::InvalidParameters);
    }
    let space = space.ok_or(ErrorCode::InvalidParameters)?;
    let resolve = |va: u64, need_write: bool| -> Result<u64, ErrorCode> {
        let (pa0, _) = space.translate(va).ok_or(ErrorCode::InvalidParameters)?;
        for i in 0..u64::from(pages) {
            let (pa, perm) = space
                .translate(va + i * PAGE_SIZE)
                .ok_or(ErrorCode::InvalidParameters)?;
            // Never executable pages either: the SPMC writes into the RX buffer (W^X).
            if pa != pa0 + i * PAGE_SIZE
                || perm.is_device()
                || perm.non_secure
                || perm.exec
                || (need_write && !perm.write)
            {
                return Err(ErrorCode::InvalidParameters);
            }
        }
        Ok(pa0)
    };
    // Only the partition's own pages from its manifest (image and secure memory regions):
    // never memory it borrowed, whose owner may take it back while the SPMC writes into it.
    for va in [tx, rx] {
        for i in 0..u64::from(pages) {
            let owned = ownership::sp_region(desc, va + i * PAGE_SIZE, PAGE_SIZE);
            if !owned.is_some_and(|r| r.may(ownership::Use::Mailbox)) {
                return Err(ErrorCode::InvalidParameters);
            }
        }
    }
    let tx_pa = resolve(tx, true)?;
    let rx_pa = resolve(rx, false)?;
    let len = u64::from(pages) * PAGE_SIZE;
    if tx_pa < rx_pa + len && rx_pa < tx_pa + len {
        return Err(ErrorCode::InvalidParameters);
    }
    Ok(Mailbox::new(tx_pa, rx_pa, pages, false))
}

fn unmap(mailbox: &mut Option<Mailbox>) -> Regs {
    match mailbox {
        None => Regs::error(ErrorCode::InvalidParameters),
        Some(m) if m.from_manifest => Regs::error(ErrorCode::Denied),
        Some(_) => {
            *mailbox = None;
            Regs::success_w2(0)
        }
    }
}

fn rx_release(mailbox: &mut Option<Mailbox>) -> Regs {
    match mailbox {
        Some(m) if m.rx_full => {
            m.release();
            Regs::success_w2(0)
        }
        _ => Regs::error(ErrorCode::Denied),
    }
}

/// The partition properties word of a descriptor (FF-A v1.2 Table 6.2: bits 0-2 messaging,
/// 3 notifications, 6-7 VM availability messages, 8 AArch64, 9-10 DIRECT_REQ2), limited to
/// the bits the caller's version defines.
pub fn properties(p: &Partition, version: Version) -> PartitionProperties {
    let m = p.messaging_method.0;
    let mut props = m & (0b111 | (0b11 << 9));
    props |= u32::from(p.notification_support) << 3;
    props |= (p.vm_availability_messages & 0b11) << 6;
    props |= u32::from(p.execution_state == spmc_table::ExecutionState::AArch64) << 8;
    PartitionProperties(props).for_version(version)
}

fn info(p: &Partition, uuid: Uuid, version: Version) -> PartitionInfo {
    PartitionInfo {
        id: p.id,
        exec_ctx_count: p.execution_ctx_count,
        properties: properties(p, version),
        uuid,
    }
}

/// The descriptors FFA_PARTITION_INFO_GET(_REGS) answers `uuid` with, as (partition, the UUID
/// its descriptor carries). A given UUID: one per partition that implements it, its UUID field
/// zero (FF-A v1.1/v1.2 Table 6.1: the UUID field is "reserved and MBZ if a non-Nil UUID was
/// specified in w1-w4"; Hafnium `api_ffa_fill_partitions_info_array` and
/// `api_ffa_partition_info_get_regs` write it only for the Nil query, TF-A's
/// `partition_info_get_handler` likewise). The Nil UUID: every partition; a caller at v1.2 or later gets one descriptor per UUID
/// of a partition with several (FF-A v1.2 added partitions with several UUIDs; Hafnium
/// src/api.c `api_ffa_fill_partitions_info_array`: "all UUIDs from all partitions ... if the
/// version of the caller is higher or equal to v1.2", one descriptor per UUID below v1.2
/// only the first; TF-A's EL3 SPMC, services/std_svc/spm/el3_spmc/spmc_main.c
/// `partition_info_get_handler`, one per UUID too), an older caller one per partition with its
/// first UUID.
fn descriptors(
    spmc: &Spmc,
    uuid: Uuid,
    version: Version,
) -> impl Iterator<Item = (&'static Partition, Uuid)> {
    let every_uuid = uuid.is_nil() && version >= Version::V1_2;
    spmc.table.by_uuid(uuid).flat_map(move |p| {
        let first = p.services.first().map(|s| s.uuid).unwrap_or(Uuid::NIL);
        let n = if every_uuid {
            p.services.len().max(1)
        } else {
            1
        };
        (0..n).map(move |i| {
            let u = if !uuid.is_nil() {
                Uuid::NIL
            } else if every_uuid {
                p.services.get(i).map(|s| s.uuid).unwrap_or(first)
            } else {
                first
            };
            (p, u)
        })
    })
}

/// FFA_PARTITION_INFO_GET: counts the partitions that implement `uuid` (all for the nil UUID)
/// and, unless only the count is asked for, writes their descriptors into the caller's RX
/// buffer, which then belongs to the caller until FFA_RX_RELEASE.
fn partition_info_get(
    spmc: &Spmc,
    env: &mut impl Env,
    mailbox: &mut Option<Mailbox>,
    version: Version,
    uuid: Uuid,
    count_only: bool,
) -> Regs {
    let count = descriptors(spmc, uuid, version).count();
    if count == 0 {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let count_w = u32::try_from(count).unwrap_or(u32::MAX);
    if count_only {
        return Regs::success32(
            TargetInfo::new(ffa_abi::endpoint::EndpointId(0), 0),
            [count_w, 0, 0, 0, 0, 0],
        );
    }
    let Some(mb) = mailbox.as_mut() else {
        return Regs::error(ErrorCode::Busy);
    };
    if mb.rx_full {
        return Regs::error(ErrorCode::Busy);
    }
    let size = PartitionInfo::size_for(version);
    if (count * size) as u64 > u64::from(mb.pages) * PAGE_SIZE {
        return Regs::error(ErrorCode::NoMemory);
    }
    for (i, (p, u)) in descriptors(spmc, uuid, version).enumerate() {
        let mut d = [0u8; 24];
        let Ok(n) = info(p, u, version).write(version, &mut d) else {
            return Regs::error(ErrorCode::InvalidParameters);
        };
        if !env.write_phys(mb.rx + (i * size) as u64, &d[..n]) {
            return Regs::error(ErrorCode::Aborted);
        }
    }
    mb.rx_full = true;
    info_get_success(count_w, version)
}

/// FFA_PARTITION_INFO_GET_REGS (v1.2): up to five descriptors per call in x3-x17.
fn partition_info_get_regs(spmc: &Spmc, uuid: Uuid, start: u16, tag: u16) -> Regs {
    if tag != 0 {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let count = descriptors(spmc, uuid, Version::V1_2).count();
    if count == 0 || usize::from(start) >= count {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let infos: heapless::Vec<PartitionInfo, REGS_PER_ANSWER> =
        descriptors(spmc, uuid, Version::V1_2)
            .skip(usize::from(start))
            .take(REGS_PER_ANSWER)
            .map(|(p, u)| info(p, u, Version::V1_2))
            .collect();
    let summary = InfoGetRegsSummary {
        last_index: u16::try_from(count - 1).unwrap_or(u16::MAX),
        current_index: start + u16::try_from(infos.len() - 1).unwrap_or(0),
        tag: 0,
        desc_size: 24,
    };
    info_get_regs_success(summary, &infos).unwrap_or_else(|e| Regs::error(e.error_code()))
}
