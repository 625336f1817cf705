//! The main function of the ITS and PS partitions (sp-rt): map RX/TX, learn our ID, serve
//! TS RPC with one storage service.

use alloc::boxed::Box;
use alloc::vec;

use sp_rt::{Ffa, StartInfo, Version};
use ts_rpc::sp::serve;
use ts_rpc::{Endpoint, Service};

use crate::service::{Flavour, StorageService};
use crate::store::{Limits, RamStore};

/// What one storage partition holds: objects of up to 16 KiB, 128 KiB and 64 objects in all
/// (over all callers). psa-arch-tests' storage tests need a few KiB; the rest is room for
/// several clients. The heap (sp-rt: about 430 KiB) holds the objects, the message buffer
/// and, during a SET, the new object beside the old one.
pub const LIMITS: Limits = Limits {
    max_object: 0x4000,
    total: 0x2_0000,
    max_objects: 64,
};

/// Largest TS RPC message: a SET of the largest object with its header, rounded to pages.
pub const MAX_MESSAGE: usize = 0x5000;

/// Shared-memory regions held at once (TS's ITS and PS SPs use 16).
pub const SHM_SLOTS: usize = 16;

/// Runs the partition: never returns. A partition that cannot map its buffers or learn its ID
/// cannot serve anything: it panics (sp-rt logs and aborts it).
pub fn main(start: StartInfo, flavour: Flavour) -> ! {
    let mut ffa = Ffa::svc();
    let mut rxtx = start.rxtx;
    if let Err(e) = rxtx.map(&mut ffa) {
        panic!("FFA_RXTX_MAP: {e:?}");
    }
    let me = match ffa.id_get() {
        Ok(id) => id,
        Err(e) => panic!("FFA_ID_GET: {e:?}"),
    };
    let service = StorageService::new(flavour, RamStore::new(LIMITS));
    let mut endpoint = Endpoint::new(
        vec![Box::new(service) as Box<dyn Service>],
        SHM_SLOTS,
        MAX_MESSAGE,
    );
    sp_rt::log!("{flavour:?} ready, endpoint {:#06x}", me.0);
    // The manifest's ffa-version: retrieve descriptors use the v1.2 layout.
    serve(&mut ffa, &mut rxtx, me, Version::V1_2, &mut endpoint)
}
