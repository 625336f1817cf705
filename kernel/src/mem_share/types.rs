//! Value types of FF-A memory management: IDs, addresses, page ranges, permissions and
//! memory region attributes (DEN0077 v1.1 §10.10-§10.11, DEN0140 v1.2 "Memory region
//! attributes" and "Memory access permissions").
//!
//! These are the *checked* views the transaction engine works with: reserved encodings are
//! rejected when converting from raw descriptor fields, so the engine never sees them.

/// The FF-A translation granule for memory transactions (constituents are counted in 4 KiB
/// pages, DEN0077 v1.1 §10.10.3, "Constituent memory region descriptor") and physical
/// addresses (in the PA space named by [`Security`]) are ffa-abi's.
pub use ffa_abi::{PhysAddr, PAGE_SIZE};

use ffa_abi::memory::Constituent;

/// FF-A endpoint IDs and memory region handles are `ffa-abi`'s types.
///
/// A handle's bit 63 names the allocator: 0 = SPMC, 1 = hypervisor (DEN0140 "Memory region
/// handle"; Hafnium's `FFA_MEMORY_HANDLE_ALLOCATOR_SPMC` is `0 << 63` as well). Handles this
/// SPMC allocates always have bit 63 clear; all-ones is the invalid handle.
pub use ffa_abi::{EndpointId, MemHandle};

/// A virtual address in an SP's (S-EL0) address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VirtAddr(pub u64);

/// A run of whole pages: one constituent of a memory region
/// (DEN0077 v1.1 Table 10.14 "Constituent memory region descriptor"), as the engine works on it.
///
/// Why not ffa-abi's [`Constituent`]: that is the descriptor's wire record (a raw `u64`
/// address in the sender's address space and a count, nothing checked or implied), owned by
/// the codec; this is the engine's value, with a typed [`PhysAddr`] and the overlap and
/// containment arithmetic its rules are written in. A wire constituent becomes a `PageRange`
/// in one place, `From<Constituent>` below (called by `convert::fill_transaction_request`);
/// an SP sender's ranges, which name its own address space, are then translated to physical
/// ones (`convert::translate_sp_ranges`) before the engine sees them, and the engine checks
/// alignment, emptiness and overlap (`Rule::MisalignedConstituent`, `EmptyRegion`,
/// `OverlappingConstituents`). Retrieve responses go the other way from the receiver's
/// mapped ranges (`convert::encode_retrieve_response`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRange {
    /// First byte; must be page aligned.
    pub base: PhysAddr,
    /// Number of 4 KiB pages; must be non-zero.
    pub pages: u32,
}

/// The one conversion from the wire form (see [`PageRange`]): unchecked, as the engine checks.
impl From<Constituent> for PageRange {
    fn from(c: Constituent) -> Self {
        PageRange::new(c.address, c.page_count)
    }
}

impl PageRange {
    /// Builds a range of `pages` pages from `base`.
    pub const fn new(base: u64, pages: u32) -> Self {
        PageRange {
            base: PhysAddr(base),
            pages,
        }
    }

    /// The first byte after the range, or `None` if it wraps the address space.
    pub fn end(&self) -> Option<u64> {
        (self.pages as u64)
            .checked_mul(PAGE_SIZE)
            .and_then(|len| self.base.0.checked_add(len))
    }

    /// Returns true if the two ranges share at least one page (both must be well formed).
    pub fn overlaps(&self, other: &PageRange) -> bool {
        match (self.end(), other.end()) {
            (Some(a_end), Some(b_end)) => self.base.0 < b_end && other.base.0 < a_end,
            // A wrapping range is never accepted; treat it as overlapping everything so that
            // no caller can rely on it.
            _ => true,
        }
    }

    /// Returns true if `other` lies entirely inside `self`.
    pub fn contains(&self, other: &PageRange) -> bool {
        match (self.end(), other.end()) {
            (Some(a_end), Some(b_end)) => self.base.0 <= other.base.0 && b_end <= a_end,
            _ => false,
        }
    }
}

/// Instruction and data access an endpoint actually has to a page: read is implied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

impl Access {
    /// Read-only, never executable.
    pub const RO: Access = Access {
        write: false,
        exec: false,
    };
    /// Read-write, never executable.
    pub const RW: Access = Access {
        write: true,
        exec: false,
    };

    /// Returns true if `self` grants nothing that `limit` does not.
    pub const fn within(self, limit: Access) -> bool {
        (!self.write || limit.write) && (!self.exec || limit.exec)
    }
}

/// Data access permission field, bits `[1:0]` of the memory access permissions
/// (DEN0077 v1.1 Table 10.15). The reserved value 0b11 is rejected at conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataAccess {
    /// 0b00.
    NotSpecified,
    /// 0b01.
    ReadOnly,
    /// 0b10.
    ReadWrite,
}

/// Instruction access permission field, bits `[3:2]` (DEN0077 v1.1 Table 10.15). The reserved
/// value 0b11 is rejected at conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InstructionAccess {
    /// 0b00.
    NotSpecified,
    /// 0b01.
    NotExecutable,
    /// 0b10.
    Executable,
}

/// The permissions a sender grants, or a receiver requests, for one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Permissions {
    /// Data access.
    pub data: DataAccess,
    /// Instruction access.
    pub instruction: InstructionAccess,
}

impl Permissions {
    /// Decodes the 8-bit permissions field; `None` for reserved encodings.
    pub fn from_bits(bits: u8) -> Option<Self> {
        if bits & !0b1111 != 0 {
            return None;
        }
        let data = match bits & 0b11 {
            0b00 => DataAccess::NotSpecified,
            0b01 => DataAccess::ReadOnly,
            0b10 => DataAccess::ReadWrite,
            _ => return None,
        };
        let instruction = match (bits >> 2) & 0b11 {
            0b00 => InstructionAccess::NotSpecified,
            0b01 => InstructionAccess::NotExecutable,
            0b10 => InstructionAccess::Executable,
            _ => return None,
        };
        Some(Permissions { data, instruction })
    }

    /// Encodes back into the 8-bit field (for the retrieve response).
    pub fn to_bits(self) -> u8 {
        let d = match self.data {
            DataAccess::NotSpecified => 0b00,
            DataAccess::ReadOnly => 0b01,
            DataAccess::ReadWrite => 0b10,
        };
        let i = match self.instruction {
            InstructionAccess::NotSpecified => 0b00,
            InstructionAccess::NotExecutable => 0b01,
            InstructionAccess::Executable => 0b10,
        };
        d | (i << 2)
    }

    /// The fully specified permissions that give exactly `access`.
    pub fn from_access(access: Access) -> Self {
        Permissions {
            data: if access.write {
                DataAccess::ReadWrite
            } else {
                DataAccess::ReadOnly
            },
            instruction: if access.exec {
                InstructionAccess::Executable
            } else {
                InstructionAccess::NotExecutable
            },
        }
    }
}

/// Device memory attributes, bits `[3:2]` when the type is Device (DEN0077 v1.1 Table 10.18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceAttr {
    /// Device-nGnRnE.
    NGnRnE,
    /// Device-nGnRE.
    NGnRE,
    /// Device-nGRE.
    NGRE,
    /// Device-GRE.
    GRE,
}

/// Normal memory cacheability, bits `[3:2]` (0b00 and 0b10 are reserved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cacheability {
    /// 0b01.
    NonCacheable,
    /// 0b11.
    WriteBack,
}

/// Normal memory shareability, bits `[1:0]` (0b01 is reserved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shareability {
    /// 0b00.
    NonShareable,
    /// 0b10.
    Outer,
    /// 0b11.
    Inner,
}

/// The memory region attributes of a transaction (DEN0077 v1.1 Table 10.18; bit 6, the NS
/// bit, is only meaningful in a retrieve response and is carried separately).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryType {
    /// Type 0b00: the receiver chooses at retrieval (lend to one borrower, donate).
    NotSpecified,
    /// Type 0b01.
    Device(DeviceAttr),
    /// Type 0b10.
    Normal {
        /// Cacheability.
        cacheability: Cacheability,
        /// Shareability.
        shareability: Shareability,
    },
}

impl MemoryType {
    /// Normal write-back inner-shareable memory: the default for retrieved normal memory and
    /// what Linux's FF-A driver asks for when sharing.
    pub const NORMAL_WB_IS: MemoryType = MemoryType::Normal {
        cacheability: Cacheability::WriteBack,
        shareability: Shareability::Inner,
    };

    /// Bit 6 of the attributes: the region is in the non-secure PA space (v1.1 and later).
    pub const NS_BIT: u16 = 1 << 6;

    /// Decodes bits `[5:0]` of the attributes field; `None` for reserved encodings or bits
    /// above 5 set (bit 6, NS, must be zero in what senders and receivers write: the SPMC
    /// sets it).
    ///
    /// Bits that mean nothing for the type are ignored rather than refused: bits `[3:0]` when
    /// the type is "not specified" and the shareability bits `[1:0]` of device memory. Arm's
    /// FF-A ACS writes its default cacheability/shareability there in lend and donate
    /// descriptors (e.g. 0x0E) and expects them accepted.
    pub fn from_bits(bits: u16) -> Option<Self> {
        if bits & !0b11_1111 != 0 {
            return None;
        }
        match (bits >> 4) & 0b11 {
            0b00 => Some(MemoryType::NotSpecified),
            0b01 => Some(MemoryType::Device(match (bits >> 2) & 0b11 {
                0b00 => DeviceAttr::NGnRnE,
                0b01 => DeviceAttr::NGnRE,
                0b10 => DeviceAttr::NGRE,
                _ => DeviceAttr::GRE,
            })),
            0b10 => {
                let cacheability = match (bits >> 2) & 0b11 {
                    0b01 => Cacheability::NonCacheable,
                    0b11 => Cacheability::WriteBack,
                    _ => return None,
                };
                let shareability = match bits & 0b11 {
                    0b00 => Shareability::NonShareable,
                    0b10 => Shareability::Outer,
                    0b11 => Shareability::Inner,
                    _ => return None,
                };
                Some(MemoryType::Normal {
                    cacheability,
                    shareability,
                })
            }
            _ => None,
        }
    }

    /// Encodes bits `[5:0]`.
    pub fn to_bits(self) -> u16 {
        match self {
            MemoryType::NotSpecified => 0,
            MemoryType::Device(d) => {
                let a = match d {
                    DeviceAttr::NGnRnE => 0b00,
                    DeviceAttr::NGnRE => 0b01,
                    DeviceAttr::NGRE => 0b10,
                    DeviceAttr::GRE => 0b11,
                };
                (0b01 << 4) | (a << 2)
            }
            MemoryType::Normal {
                cacheability,
                shareability,
            } => {
                let c = match cacheability {
                    Cacheability::NonCacheable => 0b01,
                    Cacheability::WriteBack => 0b11,
                };
                let s = match shareability {
                    Shareability::NonShareable => 0b00,
                    Shareability::Outer => 0b10,
                    Shareability::Inner => 0b11,
                };
                (0b10 << 4) | (c << 2) | s
            }
        }
    }
}

/// What kind of memory a physical range is, as the platform/partition table says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemKind {
    /// RAM: may only be mapped with Normal attributes.
    Normal,
    /// MMIO: may only be mapped with Device attributes and never executable.
    Device,
}

/// The physical address space a range belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Security {
    /// Secure PA space: SPMC and SP memory.
    Secure,
    /// Non-secure PA space: mapped with the NS bit set in an SP's tables.
    NonSecure,
}

/// The three memory management transactions (DEN0077 v1.1 §10.1; the 32- and 64-bit
/// function IDs of each behave the same here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionKind {
    /// FFA_MEM_SHARE: the owner keeps access.
    Share,
    /// FFA_MEM_LEND: the owner loses access until it reclaims.
    Lend,
    /// FFA_MEM_DONATE: ownership moves to the (single) receiver at retrieval.
    Donate,
}

impl TransactionKind {
    /// The memory management transaction type field, bits `[4:3]` of the flags
    /// (DEN0077 v1.1 Table 10.21): 1 share, 2 lend, 3 donate.
    pub const fn type_field(self) -> u32 {
        match self {
            TransactionKind::Share => 1,
            TransactionKind::Lend => 2,
            TransactionKind::Donate => 3,
        }
    }
}

/// Whether an endpoint is an SP (tables controlled by this SPMC) or lives in the normal world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointKind {
    /// A secure partition run by this SPMC.
    Sp,
    /// A normal-world endpoint (hypervisor, VM or OS kernel).
    NormalWorld,
}
