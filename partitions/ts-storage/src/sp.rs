//! The main functions of the storage partitions (sp-rt): map RX/TX, learn our ID, open the
//! store, serve TS RPC.
//!
//! - `block-storage` ([`main_block_storage`]) owns the `storage` device region of its
//!   manifest (sbsa-ref's secure flash, driven with the CFI commands, docs/storage.md) and
//!   serves it as two partitions with TS's block storage protocol ([`crate::block`]): the
//!   first half of the sectors for ITS, the second for PS, each usable by its owner only.
//!   It sends no command to the device before the first program or erase a client asks for.
//! - ITS and PS ([`main`]) persist through it: at their first request they find the block
//!   storage partition (a TS RPC partition offering its service), share a page with it and
//!   mount their log over their partition. One flash device cannot be driven by two
//!   partitions at once (a command from one takes the device out of read-array mode under
//!   the other): that is why one partition owns it. An ITS or PS that has the `storage`
//!   region itself drives it directly (the its-powercut test SP does); one that finds no
//!   block storage keeps objects in RAM, and says so.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;

use core::cell::RefCell;

use ffa_abi::{EndpointId, MemHandle, Uuid};
use packed_c::block_storage::{PARTITION_PSA_ITS, PARTITION_PSA_PS};
use packed_c::psa::{self, Status};
use sp_rt::mem::{Constituent, SharedPage, SHARE_RW};
use sp_rt::mmio::{Mmio32, MmioError};
use sp_rt::rxtx::RxTx;
use sp_rt::{Error, ErrorCode, Ffa, Kind, Payload, StartInfo, Version};
use ts_rpc::abi::PROTOCOL_UUID;
use ts_rpc::sp::{answer, serve, SpMemory};
use ts_rpc::{Endpoint, Reply, Request, RpcStatus, Service};

use crate::block::{self, BlockFlash, BlockStorageService, Transport, ITS_ENDPOINT, PS_ENDPOINT};
use crate::cfi::{Bus, CfiFlash};
use crate::flash::{CutAfter, Flash, FlashError};
use crate::log_store::FlashStore;
use crate::service::{Flavour, StorageService};
use crate::store::{Limits, Object, RamStore, Store};

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
/// not (then every write fails).
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
            sp_rt::log!("storage: cannot mount the flash log: {e:?}; every write will fail");
            Box::new(StorageService::new(flavour, FailedStore))
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
            sp_rt::log!("storage: {why}; every write will fail");
            let service = Box::new(StorageService::new(flavour, FailedStore));
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

fn run(mut start: StartInfo, name: &str, services: Vec<Box<dyn Service>>) -> ! {
    let (mut ffa, me) = setup(&mut start);
    let mut endpoint = Endpoint::new(services, SHM_SLOTS, MAX_MESSAGE);
    sp_rt::log!("{name} ready, endpoint {:#06x}", me.0);
    // The manifest's ffa-version: retrieve descriptors use the v1.2 layout.
    serve(&mut ffa, &mut start.rxtx, me, Version::V1_2, &mut endpoint)
}

/// The block storage partition: serves the `storage` device region to ITS and PS. It sends
/// no command to the flash until a client programs or erases (docs/storage.md, "When the
/// flash is first written").
pub fn main_block_storage(start: StartInfo) -> ! {
    let service: Box<dyn Service> = match open_region(&start) {
        Ok(Some((mmio, sectors))) => {
            let flash = match CfiFlash::deferred(MmioBus(mmio), SECTOR_SIZE, sectors) {
                Ok(f) => f,
                Err(e) => panic!("storage: {e:?}"),
            };
            match BlockStorageService::new(flash, block::default_partitions(sectors), [0; 16]) {
                Ok(s) => {
                    sp_rt::log!(
                        "storage: {sectors} sectors of {SECTOR_SIZE:#x}: ITS {:#06x} and PS {:#06x} get half each; no flash command until a client writes",
                        ITS_ENDPOINT.0,
                        PS_ENDPOINT.0
                    );
                    Box::new(s)
                }
                Err(e) => panic!("storage: partition table: {e:?}"),
            }
        }
        Ok(None) => panic!("block-storage needs the `storage` device region"),
        Err(why) => panic!("storage: {why}"),
    };
    run(start, "BlockStorage", vec![service])
}

/// A service whose implementation is set at the first request (the client store is
/// attached then: it needs the block storage partition to be up and serving).
struct Slot {
    uuid: Uuid,
    inner: Rc<RefCell<Box<dyn Service>>>,
}

impl Service for Slot {
    fn uuid(&self) -> Uuid {
        self.uuid
    }

    fn call(
        &mut self,
        caller: EndpointId,
        client_id: u32,
        opcode: u16,
        buf: &mut [u8],
        request_len: usize,
    ) -> Result<Reply, RpcStatus> {
        self.inner
            .borrow_mut()
            .call(caller, client_id, opcode, buf, request_len)
    }
}

/// ITS or PS over the block storage partition: serves TS RPC; the store is attached at the
/// first request, whatever it is.
fn run_block_client(mut start: StartInfo, flavour: Flavour) -> ! {
    let (mut ffa, me) = setup(&mut start);
    let uuid = match flavour {
        Flavour::Its => ts_rpc::abi::ITS_UUID,
        Flavour::Ps => ts_rpc::abi::PS_UUID,
    };
    let inner: Rc<RefCell<Box<dyn Service>>> = Rc::new(RefCell::new(Box::new(
        StorageService::new(flavour, FailedStore),
    )));
    let slot = Box::new(Slot {
        uuid,
        inner: inner.clone(),
    }) as Box<dyn Service>;
    let mut endpoint = Endpoint::new(vec![slot], SHM_SLOTS, MAX_MESSAGE);
    let mut rxtx = start.rxtx;
    let mut attached = false;
    sp_rt::log!(
        "{} ready, endpoint {:#06x}; the store is opened at the first request",
        flavour_name(flavour),
        me.0
    );
    sp_rt::run(&mut ffa, |ffa, req| {
        if !attached {
            attached = true;
            *inner.borrow_mut() = attach(ffa, &mut rxtx, me, flavour);
        }
        let mut mem = SpMemory {
            ffa,
            rxtx: &mut rxtx,
            me,
            version: Version::V1_2,
        };
        answer(&mut endpoint, &mut mem, req)
    })
}

/// How often a call to the block storage partition is retried while it is BUSY (serving
/// the other client on another core).
const BUSY_RETRIES: u32 = 100_000;

/// One TS RPC request to `to` (32-bit direct request), retried `retries` times while `to`
/// is busy; returns the response words w3..w7.
fn rpc_tries(
    ffa: &mut Ffa,
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
fn rpc(ffa: &mut Ffa, me: EndpointId, to: EndpointId, req: &Request) -> Result<[u32; 5], Error> {
    rpc_tries(ffa, me, to, req, BUSY_RETRIES)
}

/// The block storage partition: the first TS RPC partition (other than us) that offers the
/// block storage service. Partitions we may not message answer DENIED and are skipped; one
/// that is BUSY is skipped too, not waited for (it may be waiting for us: another storage
/// partition looking for block storage while we call it).
fn find_block_storage(ffa: &mut Ffa, me: EndpointId) -> Option<(EndpointId, u8)> {
    let (_, parts) = ffa.partition_info_get_regs(PROTOCOL_UUID, 0, 0).ok()?;
    let ids: Vec<EndpointId> = parts.iter().map(|p| p.id).filter(|id| *id != me).collect();
    let ok = RpcStatus::Success.word();
    ids.into_iter().find_map(|id| {
        let req = Request::ServiceInfoGet {
            uuid: block::SERVICE_UUID,
        };
        let r = rpc_tries(ffa, me, id, &req, 0).ok()?;
        (r[1] == ok).then_some((id, r[2] as u8))
    })
}

/// The store of `flavour` on its block storage partition, or why not (as a service: RAM if
/// there is no block storage partition at all, every write failing if it is there but
/// unusable).
fn attach(ffa: &mut Ffa, rxtx: &mut RxTx, me: EndpointId, flavour: Flavour) -> Box<dyn Service> {
    let Some((bs, interface)) = find_block_storage(ffa, me) else {
        sp_rt::log!("storage: no block storage partition answers: objects last until reset");
        return Box::new(StorageService::new(flavour, RamStore::new(LIMITS)));
    };
    let page = SharedPage::new_boxed();
    let cons = [Constituent {
        address: page.addr(),
        page_count: 1,
    }];
    let handle = match ffa.mem_share(rxtx, Version::V1_2, me, &[(bs, SHARE_RW)], &cons) {
        Ok(h) => h,
        Err(e) => {
            // The page stays ours: nothing was shared.
            sp_rt::log!("storage: cannot share a page with block storage {:#06x}: {e:?}; every write will fail", bs.0);
            return Box::new(StorageService::new(flavour, FailedStore));
        }
    };
    match rpc(ffa, me, bs, &Request::MemRetrieve { handle, tag: 0 }) {
        Ok(r) if r[1] == RpcStatus::Success.word() => {}
        r => {
            sp_rt::log!("storage: block storage {:#06x} did not take the page: {r:?}; every write will fail", bs.0);
            // Shared with someone who may hold it: never give it back to the heap.
            core::mem::forget(page);
            return Box::new(StorageService::new(flavour, FailedStore));
        }
    }
    let transport = SpTransport {
        ffa: Ffa::svc(),
        me,
        to: bs,
        interface,
        handle,
        page,
    };
    let guid: &'static [u8; 16] = match flavour {
        Flavour::Its => &PARTITION_PSA_ITS,
        Flavour::Ps => &PARTITION_PSA_PS,
    };
    match BlockFlash::open(transport, *guid) {
        Ok(flash) => {
            sp_rt::log!(
                "storage: partition of block storage {:#06x}: {} sectors of {:#x}",
                bs.0,
                flash.sectors(),
                flash.sector_size()
            );
            // Tagged with the partition: never mounts sectors another store wrote.
            mount(flavour, flash, guid)
        }
        Err(e) => {
            sp_rt::log!(
                "storage: cannot open our block storage partition: {e:?}; every write will fail"
            );
            Box::new(StorageService::new(flavour, FailedStore))
        }
    }
}

/// TS RPC service calls to the block storage partition through one page shared with it
/// (retrieved by it, and kept for the partition's life). The page is leaked, never freed:
/// the other side keeps it mapped.
struct SpTransport {
    ffa: Ffa,
    me: EndpointId,
    to: EndpointId,
    interface: u8,
    handle: MemHandle,
    page: Box<SharedPage>,
}

impl core::fmt::Debug for SpTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpTransport")
            .field("to", &self.to)
            .field("handle", &self.handle)
            .finish()
    }
}

const PAGE: usize = 0x1000;

impl Transport for SpTransport {
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
        let r = rpc(&mut self.ffa, self.me, self.to, &req).map_err(|_| FlashError::Transport)?;
        if r[1] != RpcStatus::Success.word() {
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
struct PowerCutControl(Rc<Cell<Option<u64>>>);

impl Service for PowerCutControl {
    fn uuid(&self) -> Uuid {
        Uuid(test_protocol::power_cut::SERVICE_UUID_BYTES)
    }

    fn call(
        &mut self,
        _caller: EndpointId,
        _client_id: u32,
        opcode: u16,
        buf: &mut [u8],
        request_len: usize,
    ) -> Result<Reply, RpcStatus> {
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
        self.0.set(Some(n));
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
    let control = Box::new(PowerCutControl(budget)) as Box<dyn Service>;
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
    let service = match BlockStorageService::new(flash, block::default_partitions(sectors), [0; 16])
    {
        Ok(s) => Box::new(s) as Box<dyn Service>,
        Err(e) => panic!("storage: partition table: {e:?}"),
    };
    let control = Box::new(PowerCutControl(budget)) as Box<dyn Service>;
    run(start, "BlockStorage", vec![service, control])
}
