//! What an endpoint owns at an address: the one answer to "what does endpoint X own at Y",
//! asked by every check that needs it: loading a partition (`loader::check_placement`),
//! FFA_MEM_PERM_SET (`sp_services`), FFA_RXTX_MAP (`setup`), the memory engine's static
//! ownership (`memory`, `OwnershipOracle::static_region`) and the state checker's idea of who
//! owns a page (`memory::check_mappings`).
//!
//! A partition owns the regions of its partition-table entry: its image region, its manifest
//! memory regions and device regions, its manifest RX/TX buffers and its boot-information
//! region. The normal world owns the platform's non-secure memory. Memory donated at run time
//! is tracked by the memory engine on top of this static answer (`mem_share`), never here.
//!
//! Regions may nest (a manifest memory region or the boot information inside the image region):
//! the most specific one answers, the image region last.
//!
//! What each check allows in a region is decided here too, in one place ([`Region::may`]):
//!
//! | kind | FFA_MEM_PERM_SET | RX/TX buffers (FFA_RXTX_MAP) | share, lend, donate | in the SP pool |
//! |---|---|---|---|---|
//! | image | yes (never W and X at once) | yes | yes, with the access the SP has now | yes |
//! | memory region | secure: up to its attributes | secure | yes, up to its attributes | secure |
//! | device region | no | no | yes (lend to one borrower) | no |
//! | RX / TX buffer | no | no (they are already) | no | no check |
//! | boot information | no | no | no | yes |
//! | normal-world memory | - | yes (normal world) | yes (normal world) | - |

use crate::memory::{PhysRange, PAGE_SIZE};
use spmc_table::Partition;

/// The kind of a region an endpoint owns.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Kind {
    /// The partition's image region: code, data, bss.
    Image,
    /// A manifest memory region.
    Memory,
    /// A manifest device region.
    Device,
    /// The RX buffer of the partition's manifest (the SPMC writes it).
    Rx,
    /// The TX buffer of the partition's manifest.
    Tx,
    /// The boot-information region (written by the SPMC at load, read-only to the partition).
    BootInfo,
    /// The platform's non-secure memory (the normal world's).
    NsMemory,
}

/// A use of owned memory that [`Region::may`] decides.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Use {
    /// Change the owner's own access with FFA_MEM_PERM_SET.
    SetPermissions,
    /// Register as an RX/TX buffer with FFA_RXTX_MAP.
    Mailbox,
    /// Give to another endpoint with FFA_MEM_SHARE/LEND/DONATE.
    Share,
    /// Must lie in the table's SP pool (checked when the partition is loaded).
    InPool,
}

/// One region an endpoint owns.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Region {
    pub kind: Kind,
    /// Physical (and, for a partition's table regions, virtual) base address.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
    /// Write access the table gives the owner (the image: yes, as FFA_MEM_PERM_SET may make
    /// any of its pages writable).
    pub write: bool,
    /// Execute access the table gives the owner (the image: yes, never with write at once).
    pub exec: bool,
    /// In the non-secure physical address space.
    pub non_secure: bool,
}

impl Region {
    /// Tells whether `[addr, addr + len)` lies inside this region.
    pub fn covers(&self, addr: u64, len: u64) -> bool {
        addr >= self.base && len <= self.len && addr - self.base <= self.len - len
    }

    /// Tells whether `[addr, addr + len)` shares a byte with this region (a range that wraps
    /// the address space shares one with every region).
    pub fn overlaps(&self, addr: u64, len: u64) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return len > 0;
        };
        let mine = self.base.saturating_add(self.len);
        len > 0 && self.len > 0 && addr < mine && self.base < end
    }

    /// Tells whether the owner may put this region to `use`.
    pub fn may(&self, u: Use) -> bool {
        match (u, self.kind) {
            (Use::SetPermissions | Use::Mailbox, Kind::Image) => true,
            (Use::SetPermissions | Use::Mailbox, Kind::Memory) => !self.non_secure,
            (Use::Mailbox, Kind::NsMemory) => true,
            (Use::SetPermissions | Use::Mailbox, _) => false,
            (Use::Share, Kind::Image | Kind::Memory | Kind::Device | Kind::NsMemory) => true,
            (Use::Share, Kind::Rx | Kind::Tx | Kind::BootInfo) => false,
            (Use::InPool, Kind::Image | Kind::BootInfo) => true,
            (Use::InPool, Kind::Memory) => !self.non_secure,
            (Use::InPool, _) => false,
        }
    }
}

fn pages(n: u32) -> u64 {
    u64::from(n) * PAGE_SIZE
}

/// Every region of a partition's table entry, most specific first (the image region last).
pub fn regions(p: &Partition) -> impl Iterator<Item = Region> + '_ {
    let memory = p.memory_regions.iter().map(|r| Region {
        kind: Kind::Memory,
        base: r.base.0,
        len: pages(r.pages),
        write: r.attributes.write(),
        exec: r.attributes.execute(),
        non_secure: r.attributes.non_secure(),
    });
    let device = p.device_regions.iter().map(|d| Region {
        kind: Kind::Device,
        base: d.base.0,
        len: pages(d.pages),
        write: d.attributes.write(),
        exec: false,
        non_secure: d.attributes.non_secure(),
    });
    let mailbox = p.rx_tx.into_iter().flat_map(|m| {
        [
            Region {
                kind: Kind::Rx,
                base: m.rx.0,
                len: pages(m.pages),
                write: false,
                exec: false,
                non_secure: false,
            },
            Region {
                kind: Kind::Tx,
                base: m.tx.0,
                len: pages(m.pages),
                write: true,
                exec: false,
                non_secure: false,
            },
        ]
    });
    let boot_info = (p.boot_info.pages > 0).then(|| Region {
        kind: Kind::BootInfo,
        base: p.boot_info.base.0,
        len: pages(p.boot_info.pages),
        write: false,
        exec: false,
        non_secure: false,
    });
    let image = Region {
        kind: Kind::Image,
        base: p.image.base.0,
        len: p.image.size,
        write: true,
        exec: true,
        non_secure: false,
    };
    memory
        .chain(device)
        .chain(mailbox)
        .chain(boot_info)
        .chain(core::iter::once(image))
}

/// What partition `p` owns at `[addr, addr + len)`: the most specific region of its table entry
/// that holds the whole range, or `None` if the partition does not own all of it.
pub fn sp_region(p: &Partition, addr: u64, len: u64) -> Option<Region> {
    // The most specific region holding `addr` decides: a range that starts in a memory region
    // and runs on into the surrounding image is not owned uniformly.
    let first = regions(p).find(|r| r.covers(addr, 1))?;
    first.covers(addr, len).then_some(first)
}

/// Whether any region of partition `p`'s table entry (all of which the loader maps for it)
/// shares a byte with `[addr, addr + len)`.
pub fn sp_holds_any(p: &Partition, addr: u64, len: u64) -> bool {
    regions(p).any(|r| r.overlaps(addr, len))
}

/// What the normal world owns at `[addr, addr + len)`: the platform's non-secure memory.
pub fn nw_region(ns_memory: &[PhysRange], addr: u64, len: u64) -> Option<Region> {
    ns_memory
        .iter()
        .find(|r| r.contains(addr, len))
        .map(|r| Region {
            kind: Kind::NsMemory,
            base: r.base,
            len: r.size,
            write: true,
            exec: true,
            non_secure: true,
        })
}
