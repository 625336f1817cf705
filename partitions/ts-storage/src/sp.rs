//! The main function of the ITS and PS partitions (sp-rt): map RX/TX, learn our ID, open the
//! store, serve TS RPC with one storage service.
//!
//! ITS persists in the `storage` device region of its manifest (sbsa-ref's secure flash,
//! driven with the CFI commands, docs/storage.md); without that region it keeps objects in
//! RAM, and says so. PS keeps objects in RAM: one flash device cannot be driven by two
//! partitions at once (a command from one takes the device out of read-array mode under the
//! other), and a shared owner is not built yet.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;

use ffa_abi::{EndpointId, Uuid};
use packed_c::psa::{self, Status};
use sp_rt::mmio::{Mmio32, MmioError};
use sp_rt::{Ffa, StartInfo, Version};
use ts_rpc::sp::serve;
use ts_rpc::{Endpoint, Reply, RpcStatus, Service};

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

/// The device region (node name under `device-regions`) that holds ITS's flash.
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

/// The flash of the `storage` device region: `Ok(None)` if the manifest has no such region.
fn open_flash(start: &StartInfo) -> Result<Option<CfiFlash<MmioBus>>, &'static str> {
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

/// Mounts the log on `flash`, or explains why not (then every write fails).
fn mount<F: Flash + 'static>(flash: F) -> Box<dyn Service> {
    match FlashStore::mount(flash, LIMITS) {
        Ok(store) => {
            match store.active() {
                Some((s, seq)) => sp_rt::log!(
                    "storage: {} objects read back from flash (sector {s}, generation {seq})",
                    store.len()
                ),
                None => sp_rt::log!("storage: the flash holds no store yet (erased or new)"),
            }
            Box::new(StorageService::new(Flavour::Its, store))
        }
        Err(e) => {
            sp_rt::log!("storage: cannot mount the flash log: {e:?}; every write will fail");
            Box::new(StorageService::new(Flavour::Its, FailedStore))
        }
    }
}

/// The storage service of `flavour` over the store it persists in.
fn storage_service(start: &StartInfo, flavour: Flavour) -> Box<dyn Service> {
    if flavour == Flavour::Ps {
        return Box::new(StorageService::new(flavour, RamStore::new(LIMITS)));
    }
    match open_flash(start) {
        Ok(Some(flash)) => mount(flash),
        Ok(None) => {
            sp_rt::log!("storage: no `storage` device region: objects last until reset");
            Box::new(StorageService::new(flavour, RamStore::new(LIMITS)))
        }
        Err(why) => {
            sp_rt::log!("storage: {why}; every write will fail");
            Box::new(StorageService::new(flavour, FailedStore))
        }
    }
}

/// Runs the partition: never returns. A partition that cannot map its buffers or learn its ID
/// cannot serve anything: it panics (sp-rt logs and aborts it).
pub fn main(start: StartInfo, flavour: Flavour) -> ! {
    let service = storage_service(&start, flavour);
    run(start, flavour, vec![service])
}

fn run(start: StartInfo, flavour: Flavour, services: Vec<Box<dyn Service>>) -> ! {
    let mut ffa = Ffa::svc();
    let mut rxtx = start.rxtx;
    if let Err(e) = rxtx.map(&mut ffa) {
        panic!("FFA_RXTX_MAP: {e:?}");
    }
    let me = match ffa.id_get() {
        Ok(id) => id,
        Err(e) => panic!("FFA_ID_GET: {e:?}"),
    };
    let mut endpoint = Endpoint::new(services, SHM_SLOTS, MAX_MESSAGE);
    sp_rt::log!("{flavour:?} ready, endpoint {:#06x}", me.0);
    // The manifest's ffa-version: retrieve descriptors use the v1.2 layout.
    serve(&mut ffa, &mut rxtx, me, Version::V1_2, &mut endpoint)
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
        Ok(Some(flash)) => mount(CutAfter::new(flash, budget.clone(), stop_here)),
        Ok(None) => panic!("its-powercut needs the `storage` device region"),
        Err(why) => panic!("storage: {why}"),
    };
    let control = Box::new(PowerCutControl(budget)) as Box<dyn Service>;
    run(start, Flavour::Its, vec![service, control])
}
