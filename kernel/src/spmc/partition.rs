//! Secure partitions at run time: loading an SP into its own address space, booting it with the
//! FF-A boot information protocol, running it until it answers, and containing its faults.

use super::{direct, memory, setup, Env, Mailbox, Spmc};
use crate::arch::{esr, Exit, UserRegs, SPSR_EL0T};
use crate::memory::{AddressSpace, MemType, UserPerm, PAGE_SIZE};
use crate::policy::Caller;
use ffa_abi::boot_info;
use ffa_abi::endpoint::EndpointId;
use ffa_abi::error::{DecodeError, ErrorCode};
use ffa_abi::func_id::FuncId;
use ffa_abi::interface::Interface;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use heapless::String;
use spin::Mutex;
use spmc_table::{MemAttributes, Partition, BOOT_INFO_HEADER_RESERVE};

/// Life cycle of a partition's (single) execution context.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum State {
    /// Not loaded yet.
    Created,
    /// Running its initialisation, until FFA_MSG_WAIT.
    Booting,
    /// Waiting for a message.
    Waiting,
    /// Running on behalf of a direct request.
    Running,
    /// Faulted or failed to load: never runs again.
    Aborted,
}

/// The direct request an SP is currently handling.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct PendingRequest {
    /// Who sent it (and gets the response).
    pub sender: u16,
    /// Which response form answers it.
    pub form: direct::Form,
    /// Whether it came as an SMC64 call (DIRECT_REQ_64 and REQ2): the response must match.
    pub wide: bool,
}

/// Mutable state of one partition, behind its lock.
pub struct Runtime {
    pub state: State,
    pub regs: UserRegs,
    pub space: Option<AddressSpace>,
    /// The FF-A version the partition speaks (its manifest's, until it calls FFA_VERSION).
    pub version: Version,
    pub mailbox: Option<Mailbox>,
    pub request: Option<PendingRequest>,
    /// Characters logged with FFA_CONSOLE_LOG since the last newline.
    pub log_line: String<160>,
    /// The partition made an FF-A call other than FFA_VERSION: its version is settled.
    pub version_frozen: bool,
}

/// One secure partition: its table entry and its runtime state.
pub struct Sp {
    pub index: usize,
    pub desc: &'static Partition,
    pub rt: Mutex<Runtime>,
}

impl Sp {
    pub fn new(index: usize, desc: &'static Partition) -> Self {
        let version = Version::decode(desc.ffa_version.0).unwrap_or(Version::V1_0);
        Self {
            index,
            desc,
            rt: Mutex::new(Runtime {
                state: State::Created,
                regs: UserRegs::default(),
                space: None,
                version,
                mailbox: None,
                request: None,
                log_line: String::new(),
                version_frozen: false,
            }),
        }
    }

    /// The SP's endpoint ID.
    pub fn id(&self) -> u16 {
        self.desc.id.0
    }
}

/// How a run of a partition ended.
#[derive(Debug)]
pub enum RunEnd {
    /// It finished initialising (FFA_MSG_WAIT during boot).
    InitDone,
    /// It answered the pending direct request with these registers.
    Response(Regs),
    /// It faulted and was aborted.
    Aborted,
}

/// What the SPMC does after handling one call an SP made.
pub enum Step {
    /// Resume the SP with these registers as the call's result.
    Return(Regs),
    /// The SP's run ends.
    End(RunEnd),
}

/// Writes x0-x17 of an SP context.
pub fn set_regs(rt: &mut Runtime, r: &Regs) {
    rt.regs.x[..18].copy_from_slice(&r.0);
}

fn regs_of(rt: &Runtime) -> Regs {
    let mut r = Regs::ZERO;
    r.0.copy_from_slice(&rt.regs.x[..18]);
    r
}

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
/// every secure region the SP gets lies in the table's SP pool.
fn check_placement(
    table: &spmc_table::Table,
    p: &Partition,
    image_len: usize,
    dtb_len: usize,
) -> Result<(), LoadError> {
    let pool = table.sp_pool;
    let in_pool = |base: u64, len: u64| {
        base.checked_add(len)
            .is_some_and(|end| base >= pool.base.0 && end <= pool.base.0 + pool.size)
    };
    if image_len as u64 > p.image.size || !in_pool(p.image.base.0, p.image.size) {
        return Err(LoadError::BadTable);
    }
    if p.boot_info.pages > 0 {
        let room =
            (u64::from(p.boot_info.pages) * PAGE_SIZE).saturating_sub(BOOT_INFO_HEADER_RESERVE);
        if dtb_len as u64 > room
            || !in_pool(p.boot_info.base.0, u64::from(p.boot_info.pages) * PAGE_SIZE)
        {
            return Err(LoadError::BadTable);
        }
    }
    for r in p
        .memory_regions
        .iter()
        .filter(|r| !r.attributes.non_secure())
    {
        if !in_pool(r.base.0, u64::from(r.pages) * PAGE_SIZE) {
            return Err(LoadError::BadTable);
        }
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
        let base = p.image.base.0;
        let pages = p.image.size.div_ceil(PAGE_SIZE);
        // The whole image region is code and constants unless a manifest region says otherwise.
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
            rt.mailbox = Some(Mailbox {
                tx: rx_tx.tx.0,
                rx: rx_tx.rx.0,
                pages: rx_tx.pages,
                rx_full: false,
                from_manifest: true,
            });
        }
        let bi = p.boot_info.base.0;
        if p.boot_info.pages > 0 {
            space
                .map_user(bi, bi, u64::from(p.boot_info.pages), UserPerm::RO)
                .map_err(|_| LoadError::Map)?;
        }

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
        rt.space = Some(space);
        env.tlb_invalidate_asid(asid);
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
            if sp.desc.execution_ctx_count > 1 {
                // Per-core execution contexts are not implemented yet: the one context migrates
                // between cores, and concurrent requests from two cores get BUSY.
                crate::info!(
                    "SP {} declares {} execution contexts; it runs with one, migrating between cores",
                    sp.desc.name,
                    sp.desc.execution_ctx_count
                );
            }
            if let Err(e) = self.load(env, sp, &mut rt) {
                crate::info!(
                    "SP {} ({:#06x}): load failed: {:?}; aborted",
                    sp.desc.name,
                    sp.id(),
                    e
                );
                rt.state = State::Aborted;
                continue;
            }
            rt.state = State::Booting;
            match self.run(env, sp, &mut rt) {
                RunEnd::InitDone => {
                    rt.state = State::Waiting;
                    crate::info!("SP {} ({:#06x}) initialised", sp.desc.name, sp.id());
                }
                RunEnd::Aborted => {}
                RunEnd::Response(_) => {
                    // Unreachable by construction (no request is pending during boot); treat
                    // as a protocol violation.
                    rt.state = State::Aborted;
                }
            }
        }
    }

    /// Runs an SP until its run ends: initialisation done, a response to its pending request,
    /// or a fault.
    pub fn run(&self, env: &mut impl Env, sp: &Sp, rt: &mut Runtime) -> RunEnd {
        loop {
            let Some(ttbr0) = rt.space.as_ref().map(AddressSpace::ttbr0) else {
                rt.state = State::Aborted;
                return RunEnd::Aborted;
            };
            match env.run_user(&mut rt.regs, ttbr0) {
                Exit::Sync { esr: e, .. } if esr::ec(e) == esr::EC_SVC64 => {
                    let call = regs_of(rt);
                    let is_version = call.w(0) == FuncId::Version.raw();
                    let step = self.sp_call(env, sp, rt, &call);
                    // The partition's version is settled by its first other call that
                    // succeeds: a refused call changes nothing, not even that.
                    let refused =
                        matches!(&step, Step::Return(r) if r.w(0) == FuncId::Error32.raw());
                    if !is_version && !refused {
                        rt.version_frozen = true;
                    }
                    match step {
                        Step::Return(r) => set_regs(rt, &r),
                        Step::End(end) => return end,
                    }
                }
                Exit::Sync { esr: e, far } => {
                    self.abort(sp, rt, esr::describe(e), e, far);
                    return RunEnd::Aborted;
                }
                Exit::SError { esr: e } => {
                    self.abort(sp, rt, "SError", e, 0);
                    return RunEnd::Aborted;
                }
                // No interrupt is routed to S-EL1 yet; resume where it stopped.
                Exit::Irq | Exit::Fiq => {}
            }
        }
    }

    fn abort(&self, sp: &Sp, rt: &mut Runtime, what: &str, esr_v: u64, far: u64) {
        crate::info!(
            "SP {} ({:#06x}) aborted: {} at pc {:#x}, FAR {:#x}, ESR {:#x}",
            sp.desc.name,
            sp.id(),
            what,
            rt.regs.pc,
            far,
            esr_v
        );
        rt.state = State::Aborted;
        rt.request = None;
    }

    /// Handles one FF-A call made by an SP. Messages are passed on in their canonical
    /// encoding (`Interface::encode` of the decoded call), so registers a message does not use
    /// (x8-x17 of a DIRECT_REQ, the upper halves of SMC32 arguments) never carry one
    /// partition's leftovers to another endpoint.
    fn sp_call(&self, env: &mut impl Env, sp: &Sp, rt: &mut Runtime, regs: &Regs) -> Step {
        let caller = Caller::Sp(sp.index);
        let Some(fid) = super::abi_table::implemented_fid(regs.w(0), caller) else {
            return Step::Return(Regs::error(ErrorCode::NotSupported));
        };
        if fid == FuncId::Version {
            let r = self.negotiate(regs.w(1));
            // Once the partition has made another FF-A call, its version is fixed: asking for
            // a different one is NOT_SUPPORTED and changes nothing (as Hafnium does, and
            // Arm's ACS ffa_version_negotiation expects).
            let r = match r {
                Ok((agreed, _)) if rt.version_frozen && agreed != rt.version => {
                    Err(ErrorCode::NotSupported)
                }
                other => other,
            };
            if let Ok((agreed, _)) = r {
                rt.version = agreed;
            }
            return Step::Return(Regs::version_response(r.map(|(_, ours)| ours)));
        }
        let call = match Interface::decode(regs, rt.version) {
            Ok(c) => c,
            // FFA_CONSOLE_LOG is a v1.2 ABI that v1.1 partitions (Trusted Services among them)
            // use anyway, and OP-TEE's SPMC accepts it from them: so do we.
            Err(DecodeError::NotInVersion {
                func: FuncId::ConsoleLog32 | FuncId::ConsoleLog64,
                ..
            }) => match Interface::decode(regs, Version::V1_2) {
                Ok(c) => c,
                Err(e) => return Step::Return(Regs::error(e.error_code())),
            },
            Err(e) => return Step::Return(Regs::error(e.error_code())),
        };
        match call {
            Interface::MsgWait { flags } => {
                if rt.state == State::Booting {
                    // FFA_MSG_WAIT hands the RX buffer back, unless a v1.2 caller sets w2 bit 0
                    // to retain it (the flag exists from v1.2; Hafnium releases for every
                    // version otherwise).
                    if !(rt.version.minor >= 2 && flags & 1 != 0) {
                        if let Some(m) = rt.mailbox.as_mut() {
                            m.rx_full = false;
                        }
                    }
                    return Step::End(RunEnd::InitDone);
                }
                // An SP handling a direct request must answer it (FF-A v1.2 section 15.2).
                Step::Return(Regs::error(ErrorCode::Denied))
            }
            Interface::DirectReq { pair, flags, .. } => {
                if flags.framework_type().is_some() {
                    return Step::Return(Regs::error(ErrorCode::InvalidParameters));
                }
                Step::Return(direct::sp_request(
                    self,
                    env,
                    sp,
                    &call.encode(),
                    pair,
                    direct::Form::Req,
                ))
            }
            Interface::DirectReq2 { pair, .. } => Step::Return(direct::sp_request(
                self,
                env,
                sp,
                &call.encode(),
                pair,
                direct::Form::Req2,
            )),
            Interface::DirectResp { pair, flags, .. } => {
                if flags.framework_type().is_some() {
                    return Step::Return(Regs::error(ErrorCode::InvalidParameters));
                }
                direct::sp_response(sp, rt, &call.encode(), pair, direct::Form::Req)
            }
            Interface::DirectResp2 { pair, .. } => {
                direct::sp_response(sp, rt, &call.encode(), pair, direct::Form::Req2)
            }
            Interface::ConsoleLog(chars) => {
                console_log(sp, rt, chars.as_bytes());
                Step::Return(Regs::success_w2(0))
            }
            Interface::MemPermGet { addr, .. } => Step::Return(mem_perm_get(rt, addr)),
            Interface::MemPermSet {
                addr,
                page_count,
                perm,
                ..
            } => Step::Return(mem_perm_set(env, sp.desc, rt, addr, page_count, perm)),
            Interface::MemShare(a) | Interface::MemLend(a) | Interface::MemDonate(a) => {
                let version = rt.version;
                Step::Return(memory::send(
                    self,
                    env,
                    EndpointId(sp.id()),
                    Some(rt),
                    call.func_id(),
                    a,
                    version,
                ))
            }
            Interface::MemFragTx {
                handle, frag_len, ..
            } => {
                let version = rt.version;
                Step::Return(memory::frag_tx(
                    self,
                    env,
                    EndpointId(sp.id()),
                    Some(rt),
                    handle,
                    frag_len,
                    version,
                ))
            }
            Interface::MemReclaim { handle, flags } => Step::Return(memory::reclaim(
                self,
                env,
                EndpointId(sp.id()),
                Some(rt),
                handle,
                flags,
            )),
            Interface::MemRetrieveReq(a) => Step::Return(memory::retrieve(self, env, sp, rt, a)),
            Interface::MemFragRx { handle, offset, .. } => {
                Step::Return(memory::frag_rx(self, env, sp, rt, handle, offset))
            }
            Interface::MemRelinquish => Step::Return(memory::relinquish(self, env, sp, rt)),
            other => Step::Return(setup::handle_sp(self, env, sp, rt, other)),
        }
    }
}

fn zero(env: &mut impl Env, base: u64, len: u64) -> Result<(), ()> {
    if env.zero_phys(base, len) {
        Ok(())
    } else {
        Err(())
    }
}

/// Appends FFA_CONSOLE_LOG characters to the SP's line and prints complete lines tagged with
/// the SP's name.
fn console_log(sp: &Sp, rt: &mut Runtime, bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' || rt.log_line.len() + 1 >= rt.log_line.capacity() {
            crate::info!("{}: {}", sp.desc.name, rt.log_line.as_str());
            rt.log_line.clear();
            if b == b'\n' {
                continue;
            }
        }
        let c = if b.is_ascii_graphic() || b == b' ' {
            b as char
        } else {
            '?'
        };
        let _ = rt.log_line.push(c);
    }
}

/// FFA_MEM_PERM_GET (FF-A v1.2 section 13.?): the SP's access to the page at `addr`.
fn mem_perm_get(rt: &Runtime, addr: u64) -> Regs {
    use ffa_abi::memory::{PermData, PermGetSet};
    if rt.state != State::Booting {
        return Regs::error(ErrorCode::Denied);
    }
    let Some(space) = rt.space.as_ref() else {
        return Regs::error(ErrorCode::InvalidParameters);
    };
    match space.user_perm(addr) {
        None => Regs::error(ErrorCode::InvalidParameters),
        Some(p) => {
            let data = if p.write {
                PermData::ReadWrite
            } else {
                PermData::ReadOnly
            };
            Regs::success_w2(
                PermGetSet {
                    data,
                    executable: p.exec,
                }
                .encode(),
            )
        }
    }
}

/// FFA_MEM_PERM_SET: changes the SP's access to pages of its own that are already mapped; only
/// during initialisation, never writable and executable at once.
/// The most FFA_MEM_PERM_SET may grant at `va` (write, execute): a manifest memory region's own
/// attributes; anywhere else in the image region both (never at once: the caller checks W^X),
/// as images relocate themselves. Anything else (boot information, manifest RX/TX buffers,
/// device or non-secure regions, borrowed memory) is not the partition's to change: `None`.
pub(super) fn perm_limit(desc: &Partition, va: u64) -> Option<(bool, bool)> {
    let inside = |base: u64, size: u64| va >= base && va - base < size;
    for r in desc.memory_regions {
        if inside(r.base.0, u64::from(r.pages) * PAGE_SIZE) {
            let a = r.attributes;
            return (!a.non_secure()).then_some((a.write(), a.execute()));
        }
    }
    if let Some(m) = desc.rx_tx {
        let len = u64::from(m.pages) * PAGE_SIZE;
        if inside(m.rx.0, len) || inside(m.tx.0, len) {
            return None;
        }
    }
    if inside(
        desc.boot_info.base.0,
        u64::from(desc.boot_info.pages) * PAGE_SIZE,
    ) {
        return None;
    }
    inside(desc.image.base.0, desc.image.size).then_some((true, true))
}

fn mem_perm_set(
    env: &mut impl Env,
    desc: &Partition,
    rt: &mut Runtime,
    addr: u64,
    pages: u32,
    perm: ffa_abi::memory::PermGetSet,
) -> Regs {
    use ffa_abi::memory::PermData;
    if rt.state != State::Booting {
        return Regs::error(ErrorCode::Denied);
    }
    if !addr.is_multiple_of(PAGE_SIZE) || pages == 0 {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let write = match perm.data {
        PermData::NoAccess => return Regs::error(ErrorCode::InvalidParameters),
        PermData::ReadWrite => true,
        PermData::ReadOnly => false,
    };
    if write && perm.executable {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let Some(space) = rt.space.as_mut() else {
        return Regs::error(ErrorCode::InvalidParameters);
    };
    // Every page must already be the SP's own secure normal memory, and the new permission
    // no more than its manifest allows (validate all pages before changing any).
    for i in 0..u64::from(pages) {
        let va = addr + i * PAGE_SIZE;
        match (space.user_perm(va), perm_limit(desc, va)) {
            (Some(p), Some((may_write, may_exec)))
                if !p.is_device()
                    && !p.non_secure
                    && (may_write || !write)
                    && (may_exec || !perm.executable) => {}
            _ => return Regs::error(ErrorCode::InvalidParameters),
        }
    }
    let new = UserPerm {
        write,
        exec: perm.executable,
        non_secure: false,
        memory: MemType::Normal,
    };
    if space.set_user_perm(addr, u64::from(pages), new).is_err() {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    env.tlb_invalidate_asid(space.asid());
    Regs::success_w2(0)
}
