//! Memory management values and descriptors (DEN0077 v1.1 "Memory management" / DEN0140 v1.2
//! "FF-A Memory Management Protocol"): handles, region attributes, access
//! permissions, transaction flags, and the descriptor parsers/builders in
//! [`transaction`] and [`relinquish`].

pub mod relinquish;
pub mod transaction;

use crate::error::DescError;
use crate::version::Version;

/// A memory region handle allocated by the relayer (DEN0140 "Memory region
/// handle"). Bit 63 says who allocated it: 0 the SPMC, 1 the hypervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MemHandle(pub u64);

impl MemHandle {
    /// The value the specification reserves as "no handle".
    pub const INVALID: MemHandle = MemHandle(u64::MAX);
    /// Bit 63: allocated by the hypervisor.
    pub const ALLOCATOR_HYPERVISOR: u64 = 1 << 63;

    /// Joins the two 32-bit halves passed in w1 (low) and w2 (high).
    pub const fn from_regs(lo: u32, hi: u32) -> Self {
        MemHandle(lo as u64 | ((hi as u64) << 32))
    }

    /// Splits into (w1, w2) as register values.
    pub const fn to_regs(self) -> (u64, u64) {
        (self.0 & 0xFFFF_FFFF, self.0 >> 32)
    }

    /// Returns true if the SPMC allocated this handle (bit 63 clear).
    pub const fn is_spmc_allocated(self) -> bool {
        self.0 & Self::ALLOCATOR_HYPERVISOR == 0
    }
}

/// The descriptor layout in force for a negotiated version (DEN0077 v1.0 "Memory
/// transaction descriptor" vs DEN0077 v1.1 / DEN0140 v1.2 tables of the same name). v1.2 differs from v1.1 only in the 32-byte endpoint
/// memory access descriptor with its implementation-defined field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// v1.0: 32-byte transaction header, 8-bit attributes, 16-byte access descriptors.
    V1_0,
    /// v1.1: 48-byte header with explicit access-descriptor size/offset.
    V1_1,
    /// v1.2: as v1.1 with 32-byte access descriptors.
    V1_2,
}

impl Layout {
    /// The layout of a negotiated version; unknown versions are refused.
    pub const fn for_version(v: Version) -> Result<Layout, DescError> {
        match (v.major, v.minor) {
            (1, 0) => Ok(Layout::V1_0),
            (1, 1) => Ok(Layout::V1_1),
            (1, 2) => Ok(Layout::V1_2),
            _ => Err(DescError::UnsupportedVersion(v)),
        }
    }

    /// Size of the memory transaction descriptor header.
    pub const fn header_size(self) -> usize {
        match self {
            Layout::V1_0 => 32,
            _ => 48,
        }
    }

    /// Size of one endpoint memory access descriptor.
    pub const fn emad_size(self) -> usize {
        match self {
            Layout::V1_2 => 32,
            _ => 16,
        }
    }
}

/// Shareability, attribute bits `[1:0]` (DEN0140 Table "Memory region attributes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Shareability {
    /// 0b00.
    NonShareable = 0,
    /// 0b10.
    Outer = 2,
    /// 0b11.
    Inner = 3,
}

/// Cacheability of normal memory, bits `[3:2]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Cacheability {
    /// 0b01.
    NonCacheable = 1,
    /// 0b11.
    WriteBack = 3,
}

/// Device memory attributes, bits `[3:2]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DeviceAttr {
    /// Device-nGnRnE.
    NGnRnE = 0,
    /// Device-nGnRE.
    NGnRE = 1,
    /// Device-nGRE.
    NGRE = 2,
    /// Device-GRE.
    GRE = 3,
}

/// Memory type, bits `[5:4]`, with the bits `[3:2]` that depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemType {
    /// 0b00: not specified (retrieve requests leave the choice to the lender).
    NotSpecified,
    /// 0b01: device memory.
    Device(DeviceAttr),
    /// 0b10: normal memory.
    Normal(Cacheability),
}

/// The memory region attributes field (8 bits in v1.0, 16 bits from v1.1; bit 6 is
/// the NS bit of v1.1+ retrieve responses; DEN0140 Table "Memory region attributes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemAttributes {
    /// Bits `[5:2]`.
    pub mem_type: MemType,
    /// Bits `[1:0]`. `None` only when the encoding is 0b00 for unspecified memory type.
    pub shareability: Shareability,
    /// Bit 6 (v1.1+): the region is non-secure memory.
    pub ns: bool,
}

impl MemAttributes {
    /// Normal write-back inner-shareable memory, what Linux shares.
    pub const NORMAL_WB_INNER: MemAttributes = MemAttributes {
        mem_type: MemType::Normal(Cacheability::WriteBack),
        shareability: Shareability::Inner,
        ns: false,
    };

    /// Attributes left to the lender (all zero).
    pub const NOT_SPECIFIED: MemAttributes = MemAttributes {
        mem_type: MemType::NotSpecified,
        shareability: Shareability::NonShareable,
        ns: false,
    };

    /// Encodes the field.
    pub const fn encode(self) -> u16 {
        let t = match self.mem_type {
            MemType::NotSpecified => 0,
            MemType::Device(a) => (1 << 4) | ((a as u16) << 2),
            MemType::Normal(c) => (2 << 4) | ((c as u16) << 2),
        };
        t | self.shareability as u16 | if self.ns { 1 << 6 } else { 0 }
    }

    /// Decodes the field for `layout`: reserved encodings and reserved bits are
    /// rejected; the NS bit exists only from v1.1.
    pub fn decode(v: u16, layout: Layout) -> Option<Self> {
        let allowed: u16 = if layout == Layout::V1_0 { 0x3F } else { 0x7F };
        if v & !allowed != 0 {
            return None;
        }
        let shareability = match v & 3 {
            0 => Shareability::NonShareable,
            2 => Shareability::Outer,
            3 => Shareability::Inner,
            _ => return None,
        };
        let bits32 = (v >> 2) & 3;
        let mem_type = match (v >> 4) & 3 {
            0 if bits32 == 0 => MemType::NotSpecified,
            1 => MemType::Device(match bits32 {
                0 => DeviceAttr::NGnRnE,
                1 => DeviceAttr::NGnRE,
                2 => DeviceAttr::NGRE,
                _ => DeviceAttr::GRE,
            }),
            2 => MemType::Normal(match bits32 {
                1 => Cacheability::NonCacheable,
                3 => Cacheability::WriteBack,
                _ => return None,
            }),
            _ => return None,
        };
        Some(Self {
            mem_type,
            shareability,
            ns: v & (1 << 6) != 0,
        })
    }
}

/// Data access permission, bits `[1:0]` of the access permissions byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DataAccess {
    /// 0b00.
    NotSpecified = 0,
    /// 0b01.
    ReadOnly = 1,
    /// 0b10.
    ReadWrite = 2,
}

/// Instruction access permission, bits `[3:2]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum InstructionAccess {
    /// 0b00.
    NotSpecified = 0,
    /// 0b01.
    NotExecutable = 1,
    /// 0b10.
    Executable = 2,
}

/// Memory access permissions byte (DEN0140 Table "Memory access permissions
/// descriptor", offset 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccessPerms {
    /// Bits `[1:0]`.
    pub data: DataAccess,
    /// Bits `[3:2]`.
    pub instruction: InstructionAccess,
}

impl AccessPerms {
    /// Read-write, not executable.
    pub const RW_NX: AccessPerms = AccessPerms {
        data: DataAccess::ReadWrite,
        instruction: InstructionAccess::NotExecutable,
    };

    /// Encodes the byte.
    pub const fn encode(self) -> u8 {
        self.data as u8 | ((self.instruction as u8) << 2)
    }

    /// Decodes the byte; bits `[7:4]` are MBZ and 0b11 is reserved in both fields.
    pub const fn decode(v: u8) -> Option<Self> {
        if v & 0xF0 != 0 {
            return None;
        }
        let data = match v & 3 {
            0 => DataAccess::NotSpecified,
            1 => DataAccess::ReadOnly,
            2 => DataAccess::ReadWrite,
            _ => return None,
        };
        let instruction = match (v >> 2) & 3 {
            0 => InstructionAccess::NotSpecified,
            1 => InstructionAccess::NotExecutable,
            2 => InstructionAccess::Executable,
            _ => return None,
        };
        Some(Self { data, instruction })
    }
}

/// The ABI a memory transaction descriptor travels with; it decides which flag bits
/// are defined (DEN0140 Table "Flags usage in a memory transaction").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemOp {
    /// FFA_MEM_SHARE.
    Share,
    /// FFA_MEM_LEND.
    Lend,
    /// FFA_MEM_DONATE.
    Donate,
    /// FFA_MEM_RETRIEVE_REQ.
    RetrieveReq,
    /// FFA_MEM_RETRIEVE_RESP.
    RetrieveResp,
}

/// Transaction type, flag bits `[4:3]` of retrieve requests/responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TransactionType {
    /// 0b00: not specified (retrieve request only).
    Unspecified = 0,
    /// 0b01.
    Share = 1,
    /// 0b10.
    Lend = 2,
    /// 0b11.
    Donate = 3,
}

/// The 32-bit flags of a memory transaction descriptor (DEN0140 Table "Flags usage").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TransactionFlags(pub u32);

impl TransactionFlags {
    /// Bit 0: zero memory (before retrieval, or on lend/donate).
    pub const ZERO_MEMORY: u32 = 1 << 0;
    /// Bit 1: operation time slicing.
    pub const TIME_SLICING: u32 = 1 << 1;
    /// Bit 2 (retrieve request): zero memory after relinquish.
    pub const ZERO_AFTER_RELINQUISH: u32 = 1 << 2;
    /// Bits `[4:3]` (retrieve): transaction type.
    pub const TYPE_SHIFT: u32 = 3;
    /// Bit 10 (retrieve request): bypass the multiple-borrower identification check.
    pub const BYPASS_BORROWER_CHECK: u32 = 1 << 10;
    /// Bits `[8:5]` (retrieve request): address range alignment hint.
    pub const ALIGN_HINT_SHIFT: u32 = 5;
    /// Bit 9 (retrieve request): the alignment hint is valid.
    pub const ALIGN_HINT_VALID: u32 = 1 << 9;

    /// The bits defined for `op`.
    pub const fn mask_for(op: MemOp) -> u32 {
        match op {
            // Zeroing memory that stays shared with the owner is not allowed.
            MemOp::Share => Self::TIME_SLICING,
            MemOp::Lend | MemOp::Donate => Self::ZERO_MEMORY | Self::TIME_SLICING,
            // Bit 10 (v1.1+): bypass the multiple-borrower identification check.
            MemOp::RetrieveReq => 0x7FF,
            MemOp::RetrieveResp => 0x1F,
        }
    }

    /// Checks that only bits defined for `op` are set.
    pub const fn validate_for(self, op: MemOp) -> bool {
        self.0 & !Self::mask_for(op) == 0
    }

    /// Zero memory flag.
    pub const fn zero_memory(self) -> bool {
        self.0 & Self::ZERO_MEMORY != 0
    }

    /// Time slicing flag.
    pub const fn time_slicing(self) -> bool {
        self.0 & Self::TIME_SLICING != 0
    }

    /// Zero-after-relinquish flag.
    pub const fn zero_after_relinquish(self) -> bool {
        self.0 & Self::ZERO_AFTER_RELINQUISH != 0
    }

    /// Transaction type of a retrieve request/response.
    pub const fn transaction_type(self) -> TransactionType {
        match (self.0 >> Self::TYPE_SHIFT) & 3 {
            0 => TransactionType::Unspecified,
            1 => TransactionType::Share,
            2 => TransactionType::Lend,
            _ => TransactionType::Donate,
        }
    }

    /// Alignment hint (bits `[8:5]`) if bit 9 says it is valid.
    pub const fn alignment_hint(self) -> Option<u8> {
        if self.0 & Self::ALIGN_HINT_VALID != 0 {
            Some(((self.0 >> Self::ALIGN_HINT_SHIFT) & 0xF) as u8)
        } else {
            None
        }
    }

    /// Returns these flags with the transaction type set.
    pub const fn with_type(self, t: TransactionType) -> Self {
        TransactionFlags((self.0 & !(3 << Self::TYPE_SHIFT)) | ((t as u32) << Self::TYPE_SHIFT))
    }
}

/// Permissions of FFA_MEM_PERM_GET/SET (DEN0077 v1.1 "FFA_MEM_PERM_SET" function syntax):
/// bits `[1:0]` data access (0 none, 1 RW, 3 RO), bit 2 instruction (1 = not executable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PermGetSet {
    /// Data access.
    pub data: PermData,
    /// Bit 2 clear: executable.
    pub executable: bool,
}

/// Data access of [`PermGetSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PermData {
    /// 0b00.
    NoAccess = 0,
    /// 0b01.
    ReadWrite = 1,
    /// 0b11.
    ReadOnly = 3,
}

impl PermGetSet {
    /// Encodes w3 / w2 of the answer.
    pub const fn encode(self) -> u32 {
        self.data as u32 | if self.executable { 0 } else { 1 << 2 }
    }

    /// Decodes; bits `[31:3]` are MBZ and data 0b10 is reserved.
    pub const fn decode(v: u32) -> Option<Self> {
        if v & !7 != 0 {
            return None;
        }
        let data = match v & 3 {
            0 => PermData::NoAccess,
            1 => PermData::ReadWrite,
            3 => PermData::ReadOnly,
            _ => return None,
        };
        Some(Self {
            data,
            executable: v & 4 == 0,
        })
    }
}

/// One constituent memory region: a page-aligned address and a page count (DEN0140
/// Table "Constituent memory region descriptor", 16 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Constituent {
    /// 4 KiB aligned base address (IPA/PA of the lender).
    pub address: u64,
    /// Number of 4 KiB pages.
    pub page_count: u32,
}

/// The FF-A page size for descriptors (constituents are counted in 4 KiB pages).
pub use crate::addr::PAGE_SIZE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes() {
        assert_eq!(MemAttributes::NORMAL_WB_INNER.encode(), 0x2F);
        assert_eq!(
            MemAttributes::decode(0x2F, Layout::V1_0),
            Some(MemAttributes::NORMAL_WB_INNER)
        );
        // Device-nGnRE, non-shareable.
        let dev = MemAttributes::decode(0x14, Layout::V1_1).unwrap();
        assert_eq!(dev.mem_type, MemType::Device(DeviceAttr::NGnRE));
        // Reserved: shareability 0b01, normal with cacheability 0b00/0b10, type 0b11.
        for bad in [0x21u16, 0x20, 0x28, 0x30, 0x04, 0x80] {
            assert_eq!(MemAttributes::decode(bad, Layout::V1_1), None, "{bad:#x}");
        }
        // The NS bit only from v1.1.
        assert_eq!(MemAttributes::decode(0x6F, Layout::V1_0), None);
        assert!(MemAttributes::decode(0x6F, Layout::V1_1).unwrap().ns);
        for v in 0..=0xFFu16 {
            if let Some(a) = MemAttributes::decode(v, Layout::V1_2) {
                assert_eq!(a.encode(), v);
            }
        }
    }

    #[test]
    fn permissions() {
        assert_eq!(AccessPerms::RW_NX.encode(), 0b0110);
        for v in 0..=255u8 {
            match AccessPerms::decode(v) {
                Some(p) => assert_eq!(p.encode(), v),
                None => assert!(v & 0xF0 != 0 || v & 3 == 3 || (v >> 2) & 3 == 3),
            }
        }
        assert_eq!(PermGetSet::decode(2), None);
        assert_eq!(PermGetSet::decode(8), None);
        let p = PermGetSet::decode(0b111).unwrap();
        assert_eq!((p.data, p.executable), (PermData::ReadOnly, false));
        assert_eq!(p.encode(), 0b111);
    }

    #[test]
    fn flags() {
        let f = TransactionFlags(0b110_1010_1101);
        assert!(f.zero_memory() && f.zero_after_relinquish() && !f.time_slicing());
        assert_eq!(f.transaction_type(), TransactionType::Share);
        assert_eq!(f.alignment_hint(), Some(0b0101));
        assert!(f.validate_for(MemOp::RetrieveReq));
        assert!(!TransactionFlags(1 << 11).validate_for(MemOp::RetrieveReq));
        assert!(!f.validate_for(MemOp::RetrieveResp));
        assert!(!TransactionFlags(1).validate_for(MemOp::Share));
        assert!(TransactionFlags(1).validate_for(MemOp::Lend));
        assert_eq!(
            TransactionFlags(0).with_type(TransactionType::Donate).0,
            0b11_000
        );
    }

    #[test]
    fn handle() {
        let h = MemHandle::from_regs(0x89AB_CDEF, 0x8123_4567);
        assert_eq!(h.0, 0x8123_4567_89AB_CDEF);
        assert_eq!(h.to_regs(), (0x89AB_CDEF, 0x8123_4567));
        assert!(!h.is_spmc_allocated());
        assert!(MemHandle(5).is_spmc_allocated());
    }
}
