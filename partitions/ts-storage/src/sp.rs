//! The main functions of the storage partitions (sp-rt): map RX/TX, learn our ID, open the
//! store, serve TS RPC.
//!
//! - `block-storage` ([`main_block_storage`]) owns the `storage` device region of its
//!   manifest (sbsa-ref's secure flash, driven with the CFI commands, docs/storage.md) and
//!   serves it as two partitions with TS's block storage protocol ([`crate::block`]): the
//!   first half of the sectors for ITS, the second for PS, each usable by its owner only.
//!   It sends no command to the device before the first program or erase a client asks for.
//! - ITS and PS ([`main`]) persist through it: while they boot (block-storage boots first)
//!   they find the block storage partition (a TS RPC partition offering its service), share a
//!   page with it and mount their log over their partition (reads only: no flash command at
//!   boot). One flash device cannot be driven by two partitions at once (a command from one
//!   takes the device out of read-array mode under the other): that is why one partition
//!   owns it. An ITS or PS that has the `storage` region itself drives it directly (the
//!   its-powercut test SP does); one that may message no block storage at all keeps objects
//!   in RAM, and says so. An attach that fails, whatever failed, is made again before the
//!   next request, which meanwhile fails closed (STORAGE_FAILURE): never RAM then, which the
//!   normal world could force by keeping block-storage preempted. A lost attachment
//!   (block-storage aborted or restarted: our handle no longer names a slot) is dropped and
//!   made again at once, and the request that found it lost answered once more; its page is
//!   reclaimed and reused ([`attach`]).

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;

use core::cell::RefCell;

use ffa_abi::{EndpointId, MemHandle, Uuid};
use packed_c::psa::{self, Status};
use sp_rt::mem::{Constituent, SharedPage, SHARE_RW};
use sp_rt::mmio::{Mmio32, MmioError};
use sp_rt::rxtx::RxTx;
use sp_rt::{Conduit, Error, ErrorCode, Ffa, Kind, Payload, StartInfo, Version};
use ts_rpc::abi::PROTOCOL_UUID;
use ts_rpc::sp::{answer, serve, SpMemory};
use ts_rpc::{Endpoint, Reply, Request, RpcStatus, Service, ServiceCall};

use crate::block::{
    self, BlockPartition, BlockStorageService, Transport, ITS_ENDPOINT, PS_ENDPOINT,
};
use crate::cfi::{Bus, CfiFlash};
use crate::flash::{CutAfter, Flash, FlashError};
use crate::log_store::FlashStore;
use crate::service::{Flavour, StorageService};
use crate::store::{Limits, Object, Store};

mod attach;
use attach::Lookup;

/// What one storage partition holds: objects of up to 16 KiB, 128 KiB and 64 objects in all
/// (over all callers). psa-arch-tests' storage tests need a few KiB; the rest is room for
/// several clients. The heap (sp-rt: about 430 KiB) holds the objects, the message buffer
/// and, during a SET, the new object beside the old one. All of it fits one flash sector
/// with the record headers, as compaction needs.
pub const LIMITS: Limits = Limits {
    max_object: 0x4000,
    total: 0x2_0000,
    max_objects: 64,
};

/// Largest TS RPC message: a SET of the largest object with its header, rounded to pages.
pub const MAX_MESSAGE: usize = 0x5000;

/// Shared-memory regions held at once (TS's ITS and PS SPs use 16).
pub const SHM_SLOTS: usize = 16;

/// The device region (node name under `device-regions`) that holds the flash.
pub const STORAGE_REGION: &str = "storage";

/// Erase sector of sbsa-ref's secure flash (QEMU `SBSA_FLASH_SECTOR_SIZE`): the device's
/// CFI query answers only at the device's base, outside the region, so it is not asked.
pub const SECTOR_SIZE: usize = 0x4_0000;

/// The CFI driver's bus: 32-bit MMIO in the device region. Out-of-region accesses cannot
/// happen (the driver checks ranges first); they would read all-ones and write nothing.
#[derive(Debug)]
struct MmioBus(Mmio32);

impl Bus for MmioBus {
    fn read32(&mut self, offset: usize) -> u32 {
        self.0.read32(offset).unwrap_or(u32::MAX)
    }

    fn write32(&mut self, offset: usize, value: u32) {
        let _ = self.0.write32(offset, value);
    }
}

/// A store that refuses every change: the flash it should use is there but unusable.
#[derive(Debug)]
struct FailedStore;

impl Store for FailedStore {
    fn get(&self, _: EndpointId, _: u64) -> Option<&Object> {
        None
    }
    fn put(&mut self, _: EndpointId, _: u64, _: Object) -> Result<(), Status> {
        Err(psa::ERROR_STORAGE_FAILURE)
    }
    fn remove(&mut self, _: EndpointId, _: u64) -> Result<(), Status> {
        Err(psa::ERROR_STORAGE_FAILURE)
    }
    fn limits(&self) -> Limits {
        LIMITS
    }
}

/// The service of a partition whose store is unusable (or not attached yet): it fails closed.
/// Every request that reaches the store answers PSA_ERROR_STORAGE_FAILURE, reads too: an
/// object it cannot see is not "does not exist" (a client would take that as an answer, e.g.
/// create again a write-once object it stored before). Requests refused before the store is
/// asked (bad UID or flags, malformed, unknown opcode) and GET_SUPPORT answer as always.
struct FailClosed(StorageService<FailedStore>);

impl FailClosed {
    fn service(flavour: Flavour) -> Box<dyn Service> {
        Box::new(Self(StorageService::new(flavour, FailedStore)))
    }
}

impl Service for FailClosed {
    fn uuid(&self) -> Uuid {
        self.0.uuid()
    }

    fn call(&mut self, call: ServiceCall<'_>) -> Result<Reply, RpcStatus> {
        let mut r = self.0.call(call)?;
        if r.status == psa::ERROR_DOES_NOT_EXIST {
            r = Reply {
                status: psa::ERROR_STORAGE_FAILURE,
                len: 0,
            };
        }
        Ok(r)
    }
}

/// The `storage` device region and its number of sectors: `Ok(None)` if the manifest has no
/// such region. Sends nothing to the device.
fn open_region(start: &StartInfo) -> Result<Option<(Mmio32, usize)>, &'static str> {
    let mmio = match Mmio32::from_manifest(start.manifest.as_ref(), STORAGE_REGION) {
        Ok(m) => m,
        Err(MmioError::NoRegion | MmioError::NoManifest) => return Ok(None),
        Err(MmioError::BadRegion) => return Err("the storage region is not page-aligned"),
        Err(MmioError::NotReadWrite) => return Err("the storage region is not read-write"),
    };
    let sectors = mmio.len() / SECTOR_SIZE;
    if sectors < 2 || mmio.len() % SECTOR_SIZE != 0 {
        return Err("the storage region is not two or more whole 256 KiB sectors");
    }
    Ok(Some((mmio, sectors)))
}

/// The flash of the `storage` device region, probed: `Ok(None)` if the manifest has no such
/// region.
fn open_flash(start: &StartInfo) -> Result<Option<CfiFlash<MmioBus>>, &'static str> {
    let Some((mmio, sectors)) = open_region(start)? else {
        return Ok(None);
    };
    match CfiFlash::probe(MmioBus(mmio), SECTOR_SIZE, sectors) {
        Ok((flash, device)) => {
            sp_rt::log!(
                "storage: CFI flash (Intel command set, device {device:#x}), {sectors} sectors of {SECTOR_SIZE:#x}"
            );
            Ok(Some(flash))
        }
        Err(e) => {
            sp_rt::log!("storage: no CFI flash answers in the storage region: {e:?}");
            Err("no CFI flash in the storage region")
        }
    }
}

/// Mounts the log on `flash` (tagged `tag`: [`FlashStore::mount_tagged`]), or explains why
/// not (then every request that reaches the store fails: [`FailClosed`]).
fn mount<F: Flash + 'static>(flavour: Flavour, flash: F, tag: &'static [u8]) -> Box<dyn Service> {
    match FlashStore::mount_tagged(flash, LIMITS, tag) {
        Ok(store) => {
            match store.active() {
                Some((s, seq)) => sp_rt::log!(
                    "storage: {} objects read back from flash (sector {s}, generation {seq})",
                    store.len()
                ),
                None => sp_rt::log!("storage: the flash holds no store yet (erased or new)"),
            }
            Box::new(StorageService::new(flavour, store))
        }
        Err(e) => {
            sp_rt::log!("storage: cannot mount the flash log: {e:?}; every request will fail");
            FailClosed::service(flavour)
        }
    }
}

/// Runs the ITS or PS partition: never returns. A partition that cannot map its buffers or
/// learn its ID cannot serve anything: it panics (sp-rt logs and aborts it).
pub fn main(start: StartInfo, flavour: Flavour) -> ! {
    match open_flash(&start) {
        Ok(Some(flash)) => {
            let service = mount(flavour, flash, &[]);
            run(start, flavour_name(flavour), vec![service])
        }
        Ok(None) => run_block_client(start, flavour),
        Err(why) => {
            sp_rt::log!("storage: {why}; every request will fail");
            let service = FailClosed::service(flavour);
            run(start, flavour_name(flavour), vec![service])
        }
    }
}

fn flavour_name(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Its => "Its",
        Flavour::Ps => "Ps",
    }
}

/// Maps RX/TX, learns our ID: what every storage partition does first.
fn setup(start: &mut StartInfo) -> (Ffa, EndpointId) {
    let mut ffa = Ffa::svc();
    if let Err(e) = start.rxtx.map(&mut ffa) {
        panic!("FFA_RXTX_MAP: {e:?}");
    }
    let me = match ffa.id_get() {
        Ok(id) => id,
        Err(e) => panic!("FFA_ID_GET: {e:?}"),
    };
    (ffa, me)
}

fn run(start: StartInfo, name: &str, services: Vec<Box<dyn Service>>) -> ! {
    run_reserving(start, name, services, &[])
}

/// [`run`], keeping a shared-memory slot for each of `owners` ([`endpoint_for`]).
fn run_reserving(
    mut start: StartInfo,
    name: &str,
    services: Vec<Box<dyn Service>>,
    owners: &[BlockPartition],
) -> ! {
    let (mut ffa, me) = setup(&mut start);
    let mut endpoint = endpoint_for(services, owners);
    sp_rt::log!("{name} ready, endpoint {:#06x}", me.0);
    // The manifest's ffa-version: retrieve descriptors use the v1.2 layout.
    serve(&mut ffa, &mut start.rxtx, me, Version::V1_2, &mut endpoint)
}

/// The TS RPC endpoint of a storage partition: [`SHM_SLOTS`] slots, one of them kept for
/// the owner of each of `partitions` (block-storage: ITS and PS), so that however many pages
/// other callers share (the normal world, other SPs, together), ITS and PS can always attach.
fn endpoint_for<R: ts_rpc::endpoint::SharedMemory>(
    services: Vec<Box<dyn Service>>,
    partitions: &[BlockPartition],
) -> Endpoint<R> {
    let mut endpoint = Endpoint::new(services, SHM_SLOTS, MAX_MESSAGE);
    for p in partitions {
        if !endpoint.reserve_slots(p.owner, 1) {
            panic!(
                "storage: cannot keep a shared-memory slot for {:#06x}",
                p.owner.0
            );
        }
    }
    endpoint
}

/// The block storage partition: serves the `storage` device region to ITS and PS. It sends
/// no command to the flash until a client programs or erases (docs/storage.md, "When the
/// flash is first written").
pub fn main_block_storage(start: StartInfo) -> ! {
    let (mmio, sectors) = match open_region(&start) {
        Ok(Some(r)) => r,
        Ok(None) => panic!("block-storage needs the `storage` device region"),
        Err(why) => panic!("storage: {why}"),
    };
    let flash = match CfiFlash::deferred(MmioBus(mmio), SECTOR_SIZE, sectors) {
        Ok(f) => f,
        Err(e) => panic!("storage: {e:?}"),
    };
    let partitions = block::default_partitions(sectors);
    let service = match BlockStorageService::new(flash, partitions.clone(), [0; 16]) {
        Ok(s) => Box::new(s) as Box<dyn Service>,
        Err(e) => panic!("storage: partition table: {e:?}"),
    };
    sp_rt::log!(
        "storage: {sectors} sectors of {SECTOR_SIZE:#x}: ITS {:#06x} and PS {:#06x} get half each; no flash command until a client writes",
        ITS_ENDPOINT.0,
        PS_ENDPOINT.0
    );
    run_reserving(start, "BlockStorage", vec![service], &partitions)
}

/// The service of its or ps over block storage: what [`attach::Client`] currently holds
/// (the attached store, or one that fails every write while it cannot attach).
struct Slot {
    uuid: Uuid,
    inner: Rc<RefCell<Box<dyn Service>>>,
}

impl Service for Slot {
    fn uuid(&self) -> Uuid {
        self.uuid
    }

    fn call(&mut self, call: ServiceCall<'_>) -> Result<Reply, RpcStatus> {
        self.inner.borrow_mut().call(call)
    }
}

/// ITS or PS over the block storage partition: attaches at boot (block-storage boots first;
/// the attach mounts the log with plain reads, so no flash command is sent at boot), then
/// serves TS RPC. An attach that fails (at boot or later) is tried again before the next
/// request, which meanwhile fails closed; a request that finds the attachment lost is
/// answered again after attaching again ([`attach::Client::serve`]).
fn run_block_client(mut start: StartInfo, flavour: Flavour) -> ! {
    let (mut ffa, me) = setup(&mut start);
    let uuid = match flavour {
        Flavour::Its => ts_rpc::abi::ITS_UUID,
        Flavour::Ps => ts_rpc::abi::PS_UUID,
    };
    let lost = Rc::new(Cell::new(false));
    let mut client = attach::Client::new(flavour, lost.clone());
    let slot = Box::new(Slot {
        uuid,
        inner: client.service(),
    }) as Box<dyn Service>;
    let mut endpoint = Endpoint::new(vec![slot], SHM_SLOTS, MAX_MESSAGE);
    let mut rxtx = start.rxtx;
    // Boot: a failure is logged by `ensure` and tried again at the first request.
    let _ = client.ensure(&mut SpLink {
        ffa: &mut ffa,
        rxtx: &mut rxtx,
        me,
        lost: &lost,
    });
    sp_rt::log!(
        "{} ready, endpoint {:#06x}; store {}",
        flavour_name(flavour),
        me.0,
        if client.attached() {
            "attached"
        } else {
            "not attached yet: requests fail until it is"
        }
    );
    sp_rt::run(&mut ffa, |ffa, req| {
        let mut link = SpLink {
            ffa,
            rxtx: &mut rxtx,
            me,
            lost: &lost,
        };
        client.serve(&mut link, |link| {
            let mut mem = SpMemory {
                ffa: link.ffa,
                rxtx: link.rxtx,
                me,
                version: Version::V1_2,
            };
            answer(&mut endpoint, &mut mem, req)
        })
    })
}

/// The FF-A side of an attach ([`attach::Link`]) on sp-rt.
struct SpLink<'a, C: Conduit> {
    ffa: &'a mut Ffa<C>,
    rxtx: &'a mut RxTx,
    me: EndpointId,
    lost: &'a Rc<Cell<bool>>,
}

impl<C: Conduit + Default + 'static> attach::Link for SpLink<'_, C> {
    type Transport = SpTransport<C>;

    fn find(&mut self) -> Lookup {
        find_block_storage(self.ffa, self.me, BUSY_RETRIES)
    }

    fn share(&mut self, to: EndpointId, page: &'static SharedPage) -> Option<MemHandle> {
        let cons = [Constituent {
            address: page.addr(),
            page_count: 1,
        }];
        match self
            .ffa
            .mem_share(self.rxtx, Version::V1_2, self.me, &[(to, SHARE_RW)], &cons)
        {
            Ok(h) => Some(h),
            Err(e) => {
                sp_rt::log!(
                    "storage: cannot share a page with block storage {:#06x}: {e:?}",
                    to.0
                );
                None
            }
        }
    }

    fn reclaim(&mut self, handle: MemHandle) -> bool {
        match self.ffa.mem_reclaim(handle, 0) {
            Ok(()) => true,
            Err(e) => {
                sp_rt::log!("storage: page {:#x} not reclaimed yet: {e:?}", handle.0);
                false
            }
        }
    }

    fn manage(&mut self, to: EndpointId, req: &Request) -> Option<u32> {
        rpc(self.ffa, self.me, to, req).ok().map(|r| r[1])
    }

    fn transport(
        &mut self,
        to: EndpointId,
        interface: u8,
        handle: MemHandle,
        page: &'static SharedPage,
    ) -> SpTransport<C> {
        SpTransport {
            ffa: Ffa::<C>::default(),
            lost: self.lost.clone(),
            me: self.me,
            to,
            interface,
            handle,
            page,
        }
    }
}

/// How often a call to the block storage partition is retried while it is BUSY (serving
/// the other client on another core).
const BUSY_RETRIES: u32 = 100_000;

/// One TS RPC request to `to` (32-bit direct request), retried `retries` times while `to`
/// is busy; returns the response words w3..w7.
fn rpc_tries<C: Conduit>(
    ffa: &mut Ffa<C>,
    me: EndpointId,
    to: EndpointId,
    req: &Request,
    retries: u32,
) -> Result<[u32; 5], Error> {
    let w = req.encode().map(u64::from);
    let mut tries = 0;
    loop {
        match ffa.direct_request(Kind::Req32, me, to, &Payload::new(&w)) {
            Err(Error::Ffa(ErrorCode::Busy)) if tries < retries => {
                tries += 1;
                core::hint::spin_loop();
            }
            Err(e) => return Err(e),
            Ok(p) => return Ok(core::array::from_fn(|i| p.get(i) as u32)),
        }
    }
}

/// [`rpc_tries`] to the block storage partition: retried while it serves the other client.
fn rpc<C: Conduit>(
    ffa: &mut Ffa<C>,
    me: EndpointId,
    to: EndpointId,
    req: &Request,
) -> Result<[u32; 5], Error> {
    rpc_tries(ffa, me, to, req, BUSY_RETRIES)
}

/// The block storage partition: the first TS RPC partition (other than us) that offers the
/// block storage service. Partitions we may not message answer DENIED (or NOT_SUPPORTED,
/// INVALID_PARAMETERS) and are skipped. One that is BUSY is retried `retries` times (it may
/// be serving the other storage partition); if it still does not answer, or answers with
/// another error, the lookup is [`Lookup::Unanswered`], never "no block storage": the
/// normal world can keep block-storage preempted (BUSY) for as long as it likes.
fn find_block_storage<C: Conduit>(ffa: &mut Ffa<C>, me: EndpointId, retries: u32) -> Lookup {
    let Ok((_, parts)) = ffa.partition_info_get_regs(PROTOCOL_UUID, 0, 0) else {
        return Lookup::Unanswered;
    };
    let ids: Vec<EndpointId> = parts.iter().map(|p| p.id).filter(|id| *id != me).collect();
    let ok = RpcStatus::Success.word();
    let mut unanswered = false;
    for id in ids {
        let req = Request::ServiceInfoGet {
            uuid: block::SERVICE_UUID,
        };
        match rpc_tries(ffa, me, id, &req, retries) {
            Ok(r) if r[1] == ok => return Lookup::Found(id, r[2] as u8),
            // It answers, and offers no block storage.
            Ok(_) => {}
            Err(Error::Ffa(
                ErrorCode::Denied | ErrorCode::NotSupported | ErrorCode::InvalidParameters,
            )) => {}
            Err(_) => unanswered = true,
        }
    }
    if unanswered {
        Lookup::Unanswered
    } else {
        Lookup::NoneAllowed
    }
}

/// TS RPC service calls to the block storage partition through one page shared with it
/// (retrieved by it). The page belongs to the [`attach::Attacher`], which reuses it only once
/// it is reclaimed. When block storage answers ABORTED, or NOT_FOUND for our handle (it
/// restarted and lost its slots), `lost` is set: the partition attaches again before its
/// next request, and the attacher undoes this share.
struct SpTransport<C: Conduit> {
    ffa: Ffa<C>,
    lost: Rc<Cell<bool>>,
    me: EndpointId,
    to: EndpointId,
    interface: u8,
    handle: MemHandle,
    page: &'static SharedPage,
}

impl<C: Conduit> core::fmt::Debug for SpTransport<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpTransport")
            .field("to", &self.to)
            .field("handle", &self.handle)
            .finish()
    }
}

const PAGE: usize = 0x1000;

impl<C: Conduit> Transport for SpTransport<C> {
    fn capacity(&self) -> usize {
        PAGE
    }

    fn call(
        &mut self,
        opcode: u16,
        buf: &mut [u8],
        request_len: usize,
    ) -> Result<(Status, usize), FlashError> {
        if request_len > PAGE || buf.len() < PAGE {
            return Err(FlashError::Transport);
        }
        // Whole words: the bytes after the request in the last word are the buffer's.
        let words = request_len.div_ceil(4);
        for (i, c) in buf[..words * 4].chunks_exact(4).enumerate() {
            self.page
                .write_u32(4 * i, u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .ok_or(FlashError::Transport)?;
        }
        let req = Request::Call {
            interface: self.interface,
            opcode,
            handle: Some(self.handle),
            request_len: request_len as u32,
            client_id: 0,
        };
        let r = match rpc(&mut self.ffa, self.me, self.to, &req) {
            Ok(r) => r,
            Err(e) => {
                if e == Error::Ffa(ErrorCode::Aborted) {
                    self.lost.set(true);
                }
                return Err(FlashError::Transport);
            }
        };
        if r[1] != RpcStatus::Success.word() {
            if r[1] == RpcStatus::NotFound.word() {
                self.lost.set(true);
            }
            return Err(FlashError::Transport);
        }
        let status = r[2] as i32;
        let len = r[3] as usize;
        if len > PAGE {
            return Err(FlashError::Transport);
        }
        for i in 0..len.div_ceil(4) {
            let w = self.page.read_u32(4 * i).ok_or(FlashError::Transport)?;
            buf[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        Ok((status, len))
    }
}

/// The power-loss test service (`test_protocol::power_cut`): ARM sets the step budget the
/// flash wrapper spends.
/// `abort`: OP_ABORT is honoured (block-storage-powercut, whose manifest restarts it, for the
/// storage lane's restart case).
struct PowerCutControl {
    budget: Rc<Cell<Option<u64>>>,
    abort: bool,
}

impl Service for PowerCutControl {
    fn uuid(&self) -> Uuid {
        Uuid(test_protocol::power_cut::SERVICE_UUID_BYTES)
    }

    fn call(
        &mut self,
        ServiceCall {
            opcode,
            buf,
            request_len,
            ..
        }: ServiceCall<'_>,
    ) -> Result<Reply, RpcStatus> {
        if opcode == test_protocol::power_cut::OP_ABORT && self.abort {
            // sp-rt's panic handler aborts the partition (the SPMC restarts it).
            panic!("abort asked by the test driver (restart test)");
        }
        if opcode != test_protocol::power_cut::OP_ARM {
            return Err(RpcStatus::InvalidValue);
        }
        let req = buf
            .get(..request_len.min(buf.len()))
            .and_then(|r| r.get(..8))
            .ok_or(RpcStatus::InvalidRequestBody)?;
        let mut n = [0u8; 8];
        n.copy_from_slice(req);
        let n = u64::from_le_bytes(n);
        self.budget.set(Some(n));
        sp_rt::log!("power cut armed: after {n} more flash steps");
        Ok(Reply {
            status: psa::SUCCESS,
            len: 0,
        })
    }
}

/// Where the flash stops: announce it, then stay here until QEMU is killed (the power loss).
fn stop_here(steps: u64) -> FlashError {
    sp_rt::log!(
        "{} (after {steps} flash steps since boot)",
        test_protocol::power_cut::MARKER
    );
    loop {
        core::hint::spin_loop();
    }
}

/// The `its-powercut` test partition: ITS over a flash that can be told to stop after a
/// number of steps (power-loss lane only; never in the default set).
pub fn main_power_cut(start: StartInfo) -> ! {
    let budget = Rc::new(Cell::new(None));
    let service = match open_flash(&start) {
        Ok(Some(flash)) => mount(
            Flavour::Its,
            CutAfter::new(flash, budget.clone(), stop_here),
            &[],
        ),
        Ok(None) => panic!("its-powercut needs the `storage` device region"),
        Err(why) => panic!("storage: {why}"),
    };
    let control = Box::new(PowerCutControl {
        budget,
        abort: false,
    }) as Box<dyn Service>;
    run(start, "Its", vec![service, control])
}

/// The `block-storage-powercut` test partition: block-storage over a flash that can be told
/// to stop after a number of steps (power-loss lane only; never in the default set), so that
/// the cut falls in the middle of a write its or ps asked for.
pub fn main_block_storage_power_cut(start: StartInfo) -> ! {
    let budget = Rc::new(Cell::new(None));
    let (mmio, sectors) = match open_region(&start) {
        Ok(Some(r)) => r,
        Ok(None) => panic!("block-storage-powercut needs the `storage` device region"),
        Err(why) => panic!("storage: {why}"),
    };
    let flash = match CfiFlash::deferred(MmioBus(mmio), SECTOR_SIZE, sectors) {
        Ok(f) => CutAfter::new(f, budget.clone(), stop_here),
        Err(e) => panic!("storage: {e:?}"),
    };
    let partitions = block::default_partitions(sectors);
    let service = match BlockStorageService::new(flash, partitions.clone(), [0; 16]) {
        Ok(s) => Box::new(s) as Box<dyn Service>,
        Err(e) => panic!("storage: partition table: {e:?}"),
    };
    let control = Box::new(PowerCutControl {
        budget,
        abort: true,
    }) as Box<dyn Service>;
    run_reserving(start, "BlockStorage", vec![service, control], &partitions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ffa_abi::partition_info::{
        info_get_regs_success, InfoGetRegsSummary, PartitionInfo, PartitionProperties,
    };
    use sp_rt::testing::{error_reply, FakeSpmc};
    use sp_rt::{Regs, RegsExt};

    const ME: EndpointId = EndpointId(0x8005);
    const BS: EndpointId = EndpointId(0x8008);

    /// FFA_PARTITION_INFO_GET_REGS's answer: the TS RPC partitions `ids`.
    fn partitions(ids: &[EndpointId]) -> Regs {
        let infos: Vec<PartitionInfo> = ids
            .iter()
            .map(|&id| PartitionInfo {
                id,
                exec_ctx_count: 1,
                properties: PartitionProperties(0x703),
                uuid: PROTOCOL_UUID,
            })
            .collect();
        let summary = InfoGetRegsSummary {
            last_index: ids.len() as u16 - 1,
            current_index: ids.len() as u16 - 1,
            tag: 0,
            desc_size: 24,
        };
        info_get_regs_success(summary, &infos).unwrap()
    }

    /// `from`'s 32-bit direct response to us carrying TS RPC words w3..w7.
    fn response(from: EndpointId, w: [u32; 5]) -> Regs {
        let mut args = [0u64; 7];
        args[0] = (u64::from(from.0) << 16) | u64::from(ME.0);
        for (d, s) in args[2..].iter_mut().zip(w) {
            *d = u64::from(s);
        }
        Regs::call(ffa_abi::FuncId::MsgSendDirectResp32.raw(), &args)
    }

    fn busy() -> Regs {
        error_reply(ErrorCode::Busy as i32)
    }

    fn service_info(interface: u32) -> Regs {
        response(BS, [0, RpcStatus::Success.word(), interface, 0, 0])
    }

    /// Issue 13: block-storage keeps a shared-memory slot for each partition owner (ITS and
    /// PS), and for nobody else; its and ps keep none (no fixed callers).
    #[test]
    fn block_storage_keeps_a_slot_for_each_owner() {
        struct NoMemory;
        impl ts_rpc::endpoint::SharedMemory for NoMemory {
            fn size(&self) -> usize {
                0
            }
            fn read(&self, _: usize, _: &mut [u8]) -> bool {
                false
            }
            fn write(&mut self, _: usize, _: &[u8]) -> bool {
                false
            }
        }
        let e: Endpoint<NoMemory> = endpoint_for(Vec::new(), &block::default_partitions(8));
        let t = e.shared();
        assert_eq!(t.reserved_for(ITS_ENDPOINT), 1);
        assert_eq!(t.reserved_for(PS_ENDPOINT), 1);
        assert_eq!(t.reserved_for(EndpointId(0)), 0);
        assert!(t.may_take(EndpointId(0)));
        let e: Endpoint<NoMemory> = endpoint_for(Vec::new(), &[]);
        assert_eq!(e.shared().reserved_for(ITS_ENDPOINT), 0);
    }

    /// Review 4, #1: a BUSY block-storage is waited for (bounded), not taken for "no block
    /// storage" (which meant RAM).
    #[test]
    fn a_busy_block_storage_is_retried() {
        let mut replies = vec![partitions(&[BS]), busy(), busy(), busy()];
        replies.push(service_info(3));
        let mut ffa = Ffa::new(FakeSpmc::with_replies(replies));
        assert_eq!(find_block_storage(&mut ffa, ME, 5), Lookup::Found(BS, 3));
        assert_eq!(ffa.conduit().calls.len(), 5);
    }

    /// Review 4, #1: a block-storage that stays BUSY (the normal world keeps it preempted)
    /// or is aborted is "unanswered": the caller fails closed and tries again, never RAM.
    #[test]
    fn a_block_storage_that_does_not_answer_is_not_taken_for_none() {
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            partitions(&[BS]),
            busy(),
            busy(),
            busy(),
        ]));
        assert_eq!(find_block_storage(&mut ffa, ME, 2), Lookup::Unanswered);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            partitions(&[BS]),
            error_reply(ErrorCode::Aborted as i32),
        ]));
        assert_eq!(find_block_storage(&mut ffa, ME, 2), Lookup::Unanswered);
        // An unanswered candidate does not hide one that answers.
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            partitions(&[EndpointId(0x8006), BS]),
            busy(),
            service_info(1),
        ]));
        assert_eq!(find_block_storage(&mut ffa, ME, 0), Lookup::Found(BS, 1));
    }

    /// RAM only when no block storage may be messaged at all: DENIED, or partitions that
    /// answer without offering it.
    #[test]
    fn no_block_storage_only_when_none_may_be_messaged() {
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            partitions(&[EndpointId(0x8006), BS]),
            error_reply(ErrorCode::Denied as i32),
            response(BS, [0, RpcStatus::NotFound.word(), 0, 0, 0]),
        ]));
        assert_eq!(find_block_storage(&mut ffa, ME, 2), Lookup::NoneAllowed);
    }

    fn transport(
        replies: impl IntoIterator<Item = Regs>,
    ) -> (SpTransport<FakeSpmc>, Rc<Cell<bool>>) {
        let lost = Rc::new(Cell::new(false));
        let t = SpTransport {
            ffa: Ffa::new(FakeSpmc::with_replies(replies)),
            lost: lost.clone(),
            me: ME,
            to: BS,
            interface: 0,
            handle: MemHandle(7),
            page: Box::leak(SharedPage::new_boxed()),
        };
        (t, lost)
    }

    /// Review 4, #5: block storage aborted, or restarted and no longer knows our handle: the
    /// attachment is marked lost (the partition attaches again at its next request). A
    /// refusal of one call (another RPC error) keeps it.
    #[test]
    fn a_lost_attachment_is_reported() {
        let mut buf = [0u8; PAGE];
        for (reply, gone, ok) in [
            (error_reply(ErrorCode::Aborted as i32), true, false),
            (
                response(BS, [0, RpcStatus::NotFound.word(), 0, 0, 0]),
                true,
                false,
            ),
            (
                response(BS, [0, RpcStatus::InvalidValue.word(), 0, 0, 0]),
                false,
                false,
            ),
            (
                response(BS, [0, RpcStatus::Success.word(), 0, 0, 0]),
                false,
                true,
            ),
        ] {
            let (mut t, lost) = transport([reply]);
            let r = t.call(1, &mut buf, 8);
            assert_eq!(lost.get(), gone, "{r:?}");
            assert_eq!(r.is_ok(), ok, "{r:?}");
        }
    }
}
