//! The static partition table: what manifest-tool emits and the SPMC links in.
//!
//! The kernel never parses a partition manifest at boot (docs/architecture.md, "The static
//! partition table"): `manifest-tool build` validates the manifests and the SP set description
//! and writes Rust source that builds one [`Table`] as a `static` out of the types below. Everything is a `&'static` slice, a
//! `&'static str` or a plain integer/newtype, so the table needs no allocation and no parsing.
//! The packed bytes (SP images and manifest DTBs) live in one blob, addressed with [`BlobRange`].
//!
//! Field meanings follow the FF-A partition manifest binding (TF-A
//! `docs/components/ffa-manifest-binding.rst`).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

/// The value of [`Table::magic`]: "SPTB" read as a little-endian u32.
pub const TABLE_MAGIC: u32 = 0x4254_5053;
/// The layout version of these types; bump it on every incompatible change so that a stale
/// generated `partition_table.rs` fails its const assertion instead of being misread.
pub const TABLE_VERSION: u32 = 3;
/// Bytes the tool reserves at the start of each boot-info region for the FF-A boot information
/// header and descriptor (FF-A v1.1 section 5.4); the manifest DTB copy follows at this offset.
pub const BOOT_INFO_HEADER_RESERVE: u64 = 0x1000;

/// The FF-A vocabulary is ffa-abi's: endpoint IDs, UUIDs, versions, physical addresses and
/// ranges, and the 4 KiB page every size in the table is counted in. Re-exported so that the generated table
/// source (and the platform crates that include it) name only `spmc_table`.
pub use ffa_abi::{EndpointId, PhysAddr, PhysRange, Uuid, Version, PAGE_SIZE};

/// The SPMC's own endpoint ID as the lead fixed it (the SPMC manifest's `spmc_id`).
pub const SPMC_ID: EndpointId = EndpointId(0x8000);
/// First ID of the SPMD logical partitions and the SPMD (0xFFC0..=0xFFFF, reserved).
pub const FIRST_RESERVED_ID: EndpointId = EndpointId(0xFFC0);

/// Tells whether `id` may be given to a secure partition: secure (bit 15, FF-A v1.1 section
/// 2.9), not the SPMC, not in the SPMD's reserved range.
pub const fn is_valid_sp_id(id: EndpointId) -> bool {
    id.is_secure() && id.0 != SPMC_ID.0 && id.0 < FIRST_RESERVED_ID.0
}

/// Manifest `exception-level` (binding: 0 = EL1 (NS), 1 = S-EL0, 2 = S-EL1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionLevel {
    /// A normal-world EL1 partition (only meaningful for an S-EL2 SPMC; never in our table).
    El1 = 0,
    /// A secure EL0 partition: the only kind this SPMC runs.
    SEl0 = 1,
    /// A secure EL1 partition (needs an S-EL2 SPMC).
    SEl1 = 2,
}

/// Manifest `execution-state` (binding: 0 = AArch64, 1 = AArch32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionState {
    /// AArch64.
    AArch64 = 0,
    /// AArch32.
    AArch32 = 1,
}

/// Manifest `xlat-granule` (binding: 0 = 4K, 1 = 16K, 2 = 64K).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XlatGranule {
    /// 4 KiB translation granule.
    K4 = 0,
    /// 16 KiB translation granule.
    K16 = 1,
    /// 64 KiB translation granule.
    K64 = 2,
}

/// Manifest `ns-interrupts-action` (binding: 0 = queued, 1 = signalled after managed exit,
/// 2 = signalled; FF-A v1.1 section 8.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsInterruptsAction {
    /// Non-secure interrupts stay pending until the SP yields the CPU.
    Queued = 0,
    /// The SPMC signals a managed exit to the SP, then the interrupt is handled.
    ManagedExit = 1,
    /// The SPMC preempts the SP at once.
    Signaled = 2,
}

/// Manifest `other-s-interrupts-action` (binding: 0 = queued, 1 = signalled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtherSInterruptsAction {
    /// Other secure interrupts wait until the SP is done.
    Queued = 0,
    /// Other secure interrupts preempt the SP.
    Signaled = 1,
}

/// Manifest `messaging-method` bits (binding; FF-A v1.2 table 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessagingMethod(pub u32);

impl MessagingMethod {
    /// Bit 0: receives FFA_MSG_SEND_DIRECT_REQ.
    pub const DIRECT_REQ_RECV: u32 = 1 << 0;
    /// Bit 1: sends FFA_MSG_SEND_DIRECT_REQ.
    pub const DIRECT_REQ_SEND: u32 = 1 << 1;
    /// Bit 2: indirect messaging (FFA_MSG_SEND2).
    pub const INDIRECT: u32 = 1 << 2;
    /// Bit 9: receives FFA_MSG_SEND_DIRECT_REQ2 (v1.2).
    pub const DIRECT_REQ2_RECV: u32 = 1 << 9;
    /// Bit 10: sends FFA_MSG_SEND_DIRECT_REQ2 (v1.2).
    pub const DIRECT_REQ2_SEND: u32 = 1 << 10;
    /// All bits the binding defines.
    pub const KNOWN: u32 = Self::DIRECT_REQ_RECV
        | Self::DIRECT_REQ_SEND
        | Self::INDIRECT
        | Self::DIRECT_REQ2_RECV
        | Self::DIRECT_REQ2_SEND;

    /// Tells whether all bits of `mask` are set.
    pub const fn has(self, mask: u32) -> bool {
        self.0 & mask == mask
    }

    /// Tells whether the partition receives direct requests of either form.
    pub const fn receives_direct(self) -> bool {
        self.0 & (Self::DIRECT_REQ_RECV | Self::DIRECT_REQ2_RECV) != 0
    }

    /// Tells whether the partition sends direct requests of either form.
    pub const fn sends_direct(self) -> bool {
        self.0 & (Self::DIRECT_REQ_SEND | Self::DIRECT_REQ2_SEND) != 0
    }
}

/// Memory region `attributes` (binding: 0x1 R, 0x2 W, 0x4 X, 0x8 NS; 0x10 = the OP-TEE/TS
/// "guarded page" (BTI) extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemAttributes(pub u32);

impl MemAttributes {
    /// Readable.
    pub const READ: u32 = 0x1;
    /// Writable.
    pub const WRITE: u32 = 0x2;
    /// Executable.
    pub const EXECUTE: u32 = 0x4;
    /// Non-secure memory.
    pub const NON_SECURE: u32 = 0x8;
    /// BTI guarded page (OP-TEE/TS extension).
    pub const GUARDED: u32 = 0x10;
    /// All bits the table may carry.
    pub const KNOWN: u32 =
        Self::READ | Self::WRITE | Self::EXECUTE | Self::NON_SECURE | Self::GUARDED;

    /// Tells whether the region is readable.
    pub const fn read(self) -> bool {
        self.0 & Self::READ != 0
    }
    /// Tells whether the region is writable.
    pub const fn write(self) -> bool {
        self.0 & Self::WRITE != 0
    }
    /// Tells whether the region is executable.
    pub const fn execute(self) -> bool {
        self.0 & Self::EXECUTE != 0
    }
    /// Tells whether the region is non-secure memory.
    pub const fn non_secure(self) -> bool {
        self.0 & Self::NON_SECURE != 0
    }
}

/// Manifest `power-management-messages` bits (binding: bit0 CPU_OFF, bit1 CPU_SUSPEND,
/// bit2 CPU_SUSPEND_RESUME).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PowerMessages(pub u32);

impl PowerMessages {
    /// The SP wants the PSCI CPU_OFF framework message.
    pub const CPU_OFF: u32 = 1 << 0;
    /// The SP wants CPU_SUSPEND.
    pub const CPU_SUSPEND: u32 = 1 << 1;
    /// The SP wants CPU_SUSPEND_RESUME.
    pub const CPU_SUSPEND_RESUME: u32 = 1 << 2;
}

/// What the SPMC does when the partition aborts (FF-A v1.3 ALP2 partition lifecycle; binding
/// `abort-action`, which needs `lifecycle-support`). manifest-tool accepts 0 (stop) and 2
/// (restart); destroy (1) and propagate (3) are refused. Without the field: [`AbortAction::Stop`]
/// (the implementation-defined action of a partition without lifecycle support).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AbortAction {
    /// It stays stopped: callers get FFA_ERROR(ABORTED).
    Stop,
    /// It is restarted from its image (kernel/src/spmc/lifecycle.rs); callers get BUSY until it
    /// runs again.
    Restart,
}

/// A range of bytes inside [`Table::blob`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobRange {
    /// Offset from the start of the blob.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

impl BlobRange {
    /// Returns the end offset, or `None` on overflow.
    pub const fn end(self) -> Option<u32> {
        self.offset.checked_add(self.len)
    }
}

/// One UUID a partition answers to with the messaging method it offers under it. A v1.0
/// manifest's `uuid` list gives one entry per UUID, each with the partition's
/// `messaging-method`; the v1.1+ `services` node gives each its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// The protocol UUID (several partitions may share it, e.g. the TS RPC UUID).
    pub uuid: Uuid,
    /// Messaging methods offered under this UUID.
    pub messaging_method: MessagingMethod,
}

/// Where the SPMC places the SP image. The region `[base, base + size)` is identity mapped:
/// the kernel copies `image` from the blob to `base`, zeroes the rest of the region, maps the
/// [`Partition::memory_regions`] that lie inside it with their attributes and the remainder
/// read-only + executable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageRegion {
    /// Physical (= SP virtual) base of the image region; 4 KiB aligned (the tool's placement
    /// rule may be stricter, see manifest-tool/README.md).
    pub base: PhysAddr,
    /// Region size in bytes (sp_layout `size`, default 0x10_0000); a multiple of 4 KiB.
    pub size: u64,
    /// The flat image in the blob; `image.len <= size`.
    pub image: BlobRange,
    /// Offset of the entry point from `base` (manifest `entrypoint-offset`).
    pub entrypoint_offset: u64,
}

/// Where the SPMC writes the FF-A boot information for the SP (FF-A v1.1 section 5.4): the boot
/// info header and descriptor at `base`, the copy of the manifest DTB at
/// `base + BOOT_INFO_HEADER_RESERVE`. Mapped read-only into the SP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootInfoRegion {
    /// Physical (= SP virtual) base; 4 KiB aligned, outside the image region.
    pub base: PhysAddr,
    /// Number of 4 KiB pages; at least enough for the header reserve plus the DTB.
    pub pages: u32,
    /// The manifest DTB the SP receives, in the blob.
    pub manifest_dtb: BlobRange,
}

/// A `memory-regions` child node (binding `arm,ffa-manifest-memory-regions`), resolved to an
/// absolute address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// Node name in the manifest (for logs).
    pub name: &'static str,
    /// Manifest `description`, or "".
    pub description: &'static str,
    /// Physical (= SP virtual) base; 4 KiB aligned.
    pub base: PhysAddr,
    /// Number of 4 KiB pages (`pages-count`), at least 1.
    pub pages: u32,
    /// Access attributes.
    pub attributes: MemAttributes,
    /// True when the region came from `load-address-relative-offset`, i.e. lies inside the
    /// image region.
    pub in_image: bool,
    /// True when the region is NOBITS (OP-TEE/TS `load-flags` bit 0): the kernel zeroes it.
    pub nobits: bool,
}

/// Interrupt attribute word of a device region's `interrupts` pair (binding: [7:0] priority,
/// [8] secure, [9] level, [11:10] type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InterruptAttributes(pub u32);

/// Interrupt kinds of [`InterruptAttributes::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptKind {
    /// Software-generated interrupt (0b00).
    Sgi,
    /// Private peripheral interrupt (0b01).
    Ppi,
    /// Shared peripheral interrupt (0b10).
    Spi,
    /// 0b11: not defined by the binding (the tool rejects it).
    Reserved,
}

impl InterruptAttributes {
    /// Returns the GIC priority.
    pub const fn priority(self) -> u8 {
        (self.0 & 0xFF) as u8
    }
    /// Tells whether the interrupt is secure.
    pub const fn secure(self) -> bool {
        self.0 & (1 << 8) != 0
    }
    /// Tells whether the interrupt is level triggered (else edge).
    pub const fn level(self) -> bool {
        self.0 & (1 << 9) != 0
    }
    /// Returns the interrupt type.
    pub const fn kind(self) -> InterruptKind {
        match (self.0 >> 10) & 0b11 {
            0b00 => InterruptKind::Sgi,
            0b01 => InterruptKind::Ppi,
            0b10 => InterruptKind::Spi,
            _ => InterruptKind::Reserved,
        }
    }
}

/// One `interrupts` pair of a device region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupt {
    /// The GIC interrupt ID (INTID).
    pub id: u32,
    /// Its attributes.
    pub attributes: InterruptAttributes,
    /// The manifest's `interrupts-target` for an SPI: the MPIDR (affinity fields) it is routed
    /// to; `None`: the SPMC's boot core.
    pub target_mpidr: Option<u64>,
}

/// A `device-regions` child node (binding `arm,ffa-manifest-device-regions`). Only regions the
/// integrator granted to the SP appear in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRegion {
    /// Node name in the manifest (the name the SP set description grants).
    pub name: &'static str,
    /// Physical (= SP virtual) base; 4 KiB aligned.
    pub base: PhysAddr,
    /// Number of 4 KiB pages, at least 1.
    pub pages: u32,
    /// Access attributes (X is never set: the tool rejects executable device memory).
    pub attributes: MemAttributes,
    /// Interrupts of the device, each granted to this SP.
    pub interrupts: &'static [Interrupt],
    /// Manifest `exclusive-access`.
    pub exclusive_access: bool,
}

/// The RX/TX buffer pair named by the manifest's `rx-tx-buffer` node. Both buffers are
/// `memory-regions` entries of the same size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxTxBuffer {
    /// Physical (= SP virtual) base of the RX buffer (SPMC writes, SP reads).
    pub rx: PhysAddr,
    /// Physical (= SP virtual) base of the TX buffer.
    pub tx: PhysAddr,
    /// Pages of each buffer.
    pub pages: u32,
}

/// What the integrator granted the SP in the SP set description. Anything not listed is
/// denied; the kernel's capability gate reads only this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// SPs this SP may send direct requests to (sorted, unique).
    pub direct_request_to: &'static [EndpointId],
    /// SPs this SP may share, lend or donate memory to (sorted, unique).
    pub memory_share_with: &'static [EndpointId],
    /// True when the SP may share memory with normal-world endpoints.
    pub memory_share_with_normal_world: bool,
    /// SPs this SP may signal notifications to (sorted, unique).
    pub notify: &'static [EndpointId],
    /// True when the SP may signal notifications to normal-world endpoints.
    pub notify_normal_world: bool,
    /// SPs this SP may send indirect messages to (FFA_MSG_SEND2, FFA_MSG_SEND; sorted,
    /// unique).
    pub indirect_message_to: &'static [EndpointId],
    /// True when the SP may send indirect messages to normal-world endpoints.
    pub indirect_message_to_normal_world: bool,
    /// Interrupt IDs the SP owns (sorted, unique; each appears in one of its device regions
    /// and is owned by no other SP).
    pub interrupts: &'static [u32],
    /// The SP's memory-sharing quota where the SP set description overrides the SPMC's
    /// default (`memory-quota`).
    pub memory_quota: MemoryQuota,
    /// The SP's time limits where the SP set description overrides the platform's
    /// (`time-limits`).
    pub time_limits: TimeLimits,
}

/// How long an SP may hold a core without handing it back (`time-limits` in the SP set
/// description); `None` keeps the platform's default for that item, `Some(0)` means no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeLimits {
    /// Milliseconds from its first entry to its FFA_MSG_WAIT at boot (`boot-ms`).
    pub boot_ms: Option<u32>,
    /// Milliseconds it may run inside one request that the normal world cannot preempt, or
    /// inside the handling of one interrupt (`request-ms`).
    pub request_ms: Option<u32>,
}

impl TimeLimits {
    /// The platform's defaults everywhere.
    pub const DEFAULT: Self = Self {
        boot_ms: None,
        request_ms: None,
    };
}

/// The SPMC's memory-sharing tables and the default per-endpoint quotas over them (issue 10):
/// one source for the kernel, which sizes its tables and sets its default quotas with these,
/// and for manifest-tool, which refuses an SP set whose quotas together oversubscribe them.
pub mod memory_capacity {
    /// Live memory transactions the SPMC holds at once.
    pub const TRANSACTIONS: u16 = 24;
    /// Reassembly slots for fragmented transmissions. Shared by all senders on purpose (one
    /// transmission in flight per sender by default, four slots): the quotas of fragments are
    /// not summed against them.
    pub const FRAGMENT_SLOTS: u16 = 4;
    /// Entries of the donated-ranges table.
    pub const DONATED: u16 = 128;
    /// The normal world's default quota (all its endpoints together).
    pub const NW_TRANSACTIONS: u16 = 8;
    pub const NW_FRAGMENTS: u16 = 1;
    pub const NW_DONATED: u16 = 32;
    /// An SP's default quota, unless the SP set description overrides it (`memory-quota`).
    pub const SP_TRANSACTIONS: u16 = 2;
    pub const SP_FRAGMENTS: u16 = 1;
    pub const SP_DONATED: u16 = 8;
}

/// Per-SP memory-sharing quota overrides (`memory-quota` in the SP set description); `None`
/// keeps the SPMC's default for that item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryQuota {
    /// Live transactions the SP may have sent.
    pub transactions: Option<u16>,
    /// Fragmented transmissions it may have in flight.
    pub fragments: Option<u16>,
    /// Entries of the donated-ranges table its donations may hold.
    pub donated: Option<u16>,
}

impl MemoryQuota {
    /// The SPMC's defaults everywhere.
    pub const DEFAULT: Self = Self {
        transactions: None,
        fragments: None,
        donated: None,
    };
}

impl Capabilities {
    /// No rights at all.
    pub const NONE: Self = Self {
        direct_request_to: &[],
        memory_share_with: &[],
        memory_share_with_normal_world: false,
        notify: &[],
        notify_normal_world: false,
        indirect_message_to: &[],
        indirect_message_to_normal_world: false,
        interrupts: &[],
        memory_quota: MemoryQuota::DEFAULT,
        time_limits: TimeLimits::DEFAULT,
    };

    /// Tells whether the SP may send a direct request to `to`.
    pub fn may_send_direct_to(&self, to: EndpointId) -> bool {
        self.direct_request_to.binary_search(&to).is_ok()
    }

    /// Tells whether the SP may share memory with `with`.
    pub fn may_share_memory_with(&self, with: EndpointId) -> bool {
        if with.is_secure() {
            self.memory_share_with.binary_search(&with).is_ok()
        } else {
            self.memory_share_with_normal_world
        }
    }

    /// Tells whether the SP may notify `to`.
    pub fn may_notify(&self, to: EndpointId) -> bool {
        if to.is_secure() {
            self.notify.binary_search(&to).is_ok()
        } else {
            self.notify_normal_world
        }
    }

    /// Tells whether the SP may send an indirect message to `to`.
    pub fn may_send_indirect_to(&self, to: EndpointId) -> bool {
        if to.is_secure() {
            self.indirect_message_to.binary_search(&to).is_ok()
        } else {
            self.indirect_message_to_normal_world
        }
    }

    /// Tells whether the SP owns interrupt `intid`.
    pub fn owns_interrupt(&self, intid: u32) -> bool {
        self.interrupts.binary_search(&intid).is_ok()
    }
}

/// One secure partition, as validated by manifest-tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// The SP's name in the SP set description (unique; used in logs and FFA_CONSOLE_LOG tags).
    pub name: &'static str,
    /// Manifest `description`, or "".
    pub description: &'static str,
    /// The FF-A endpoint ID (manifest `id`, or assigned from 0x8001 upward).
    pub id: EndpointId,
    /// UUIDs the SP answers to (at least one).
    pub services: &'static [Service],
    /// Manifest `ffa-version`: the version the SP was built for.
    pub ffa_version: Version,
    /// Manifest `exception-level` (always [`ExceptionLevel::SEl0`] for this SPMC).
    pub exception_level: ExceptionLevel,
    /// Manifest `execution-state`.
    pub execution_state: ExecutionState,
    /// Manifest `execution-ctx-count`: 1 = UP (migratable), >1 = one per core.
    pub execution_ctx_count: u16,
    /// Manifest root `messaging-method` (union of all services' methods for the v1.1 form).
    pub messaging_method: MessagingMethod,
    /// Manifest `boot-order`, `None` when absent (boots after all that have one). The table's
    /// `partitions` slice is already sorted in boot order.
    pub boot_order: Option<u16>,
    /// Manifest `ns-interrupts-action`.
    pub ns_interrupts_action: NsInterruptsAction,
    /// Manifest `other-s-interrupts-action`, `None` when absent.
    pub other_s_interrupts_action: Option<OtherSInterruptsAction>,
    /// Manifest `gp-register-num`: register (0..=3) carrying the boot info address when the
    /// SP is first entered. manifest-tool writes `Some(0)` when the property is absent, as
    /// OP-TEE's SPMC defaults to x0 (Trusted Services SPs rely on it); `None` means "pass no
    /// boot info" and is reserved for a future opt-out.
    pub gp_register_num: Option<u8>,
    /// Manifest `power-management-messages`.
    pub power_management_messages: PowerMessages,
    /// Manifest `abort-action` (with `lifecycle-support`).
    pub abort_action: AbortAction,
    /// Manifest `vm-availability-messages` (bit0 created, bit1 destroyed).
    pub vm_availability_messages: u32,
    /// Manifest `notification-support` present.
    pub notification_support: bool,
    /// Manifest `xlat-granule`.
    pub xlat_granule: XlatGranule,
    /// Where the image goes.
    pub image: ImageRegion,
    /// Where the boot information and manifest DTB copy go.
    pub boot_info: BootInfoRegion,
    /// Memory regions, sorted by base, non-overlapping; the RX/TX buffers named by the
    /// manifest's `rx-tx-buffer` node are not repeated here (see `rx_tx`).
    pub memory_regions: &'static [MemoryRegion],
    /// Granted device regions, sorted by base.
    pub device_regions: &'static [DeviceRegion],
    /// RX/TX buffers pre-mapped by the manifest, if any. These pages are in no entry of
    /// `memory_regions`: the kernel maps them itself (RX read-only for the SP, TX read-write);
    /// they may lie inside the image region.
    pub rx_tx: Option<RxTxBuffer>,
    /// Rights granted by the integrator.
    pub capabilities: Capabilities,
}

impl Partition {
    /// Returns the entry point address (image base + entrypoint offset).
    pub const fn entry_point(&self) -> PhysAddr {
        PhysAddr(self.image.base.0 + self.image.entrypoint_offset)
    }

    /// Tells whether the SP answers to `uuid`.
    pub fn has_uuid(&self, uuid: Uuid) -> bool {
        self.services.iter().any(|s| s.uuid == uuid)
    }
}

/// Why [`Table::check_shape`] rejected a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// `magic` is not [`TABLE_MAGIC`].
    BadMagic,
    /// `version` is not [`TABLE_VERSION`].
    BadVersion,
    /// A blob range of partition `index` lies outside the blob.
    BlobRangeOutOfBounds {
        /// Index into `partitions`.
        index: usize,
    },
    /// The image of partition `index` is larger than its region.
    ImageLargerThanRegion {
        /// Index into `partitions`.
        index: usize,
    },
    /// Two partitions share an endpoint ID (or one has an invalid SP ID).
    BadEndpointId {
        /// Index into `partitions`.
        index: usize,
    },
}

/// The whole table: every SP of the image plus the blob holding their images and manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// Always [`TABLE_MAGIC`].
    pub magic: u32,
    /// Always [`TABLE_VERSION`] for tables generated against this crate.
    pub version: u32,
    /// The platform's SP pool: every image and boot-info region lies inside it.
    pub sp_pool: PhysRange,
    /// Partitions in boot order.
    pub partitions: &'static [Partition],
    /// Packed SP images and manifest DTBs, addressed by [`BlobRange`]s.
    pub blob: &'static [u8],
}

impl Table {
    /// Checks the invariants the kernel relies on without trusting the generator: magic,
    /// version, blob ranges in bounds, images no larger than their regions, unique valid IDs.
    /// A `const fn` so the generated source can assert it at compile time.
    pub const fn check_shape(&self) -> Result<(), ShapeError> {
        if self.magic != TABLE_MAGIC {
            return Err(ShapeError::BadMagic);
        }
        if self.version != TABLE_VERSION {
            return Err(ShapeError::BadVersion);
        }
        let blob_len = self.blob.len() as u64;
        let mut i = 0;
        while i < self.partitions.len() {
            let p = &self.partitions[i];
            let ranges = [p.image.image, p.boot_info.manifest_dtb];
            let mut r = 0;
            while r < ranges.len() {
                match ranges[r].end() {
                    Some(end) if end as u64 <= blob_len => {}
                    _ => return Err(ShapeError::BlobRangeOutOfBounds { index: i }),
                }
                r += 1;
            }
            if p.image.image.len as u64 > p.image.size {
                return Err(ShapeError::ImageLargerThanRegion { index: i });
            }
            if !is_valid_sp_id(p.id) {
                return Err(ShapeError::BadEndpointId { index: i });
            }
            let mut j = 0;
            while j < i {
                if self.partitions[j].id.0 == p.id.0 {
                    return Err(ShapeError::BadEndpointId { index: i });
                }
                j += 1;
            }
            i += 1;
        }
        Ok(())
    }

    /// Returns the bytes of `range`, or `None` if it lies outside the blob.
    pub fn bytes(&self, range: BlobRange) -> Option<&'static [u8]> {
        let start = usize::try_from(range.offset).ok()?;
        let end = usize::try_from(range.end()?).ok()?;
        self.blob.get(start..end)
    }

    /// Returns the flat image of `partition`.
    pub fn image_bytes(&self, partition: &Partition) -> Option<&'static [u8]> {
        self.bytes(partition.image.image)
    }

    /// Returns the manifest DTB of `partition` (the boot info payload).
    pub fn manifest_bytes(&self, partition: &Partition) -> Option<&'static [u8]> {
        self.bytes(partition.boot_info.manifest_dtb)
    }

    /// Returns the partition with endpoint ID `id`.
    pub fn by_id(&self, id: EndpointId) -> Option<&'static Partition> {
        self.partitions.iter().find(|p| p.id == id)
    }

    /// Returns the index (boot position) of the partition with endpoint ID `id`.
    pub fn index_of(&self, id: EndpointId) -> Option<usize> {
        self.partitions.iter().position(|p| p.id == id)
    }

    /// Returns the partitions answering to `uuid`; several SPs may share one UUID (every
    /// Trusted Services SP answers to the TS RPC UUID). The nil UUID selects every partition
    /// (FFA_PARTITION_INFO_GET semantics).
    pub fn by_uuid(&self, uuid: Uuid) -> impl Iterator<Item = &'static Partition> {
        let all = self.partitions;
        all.iter()
            .filter(move |p| uuid.is_nil() || p.has_uuid(uuid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS_RPC: Uuid = Uuid([
        0xbd, 0xcd, 0x76, 0xd7, 0x82, 0x5e, 0x47, 0x51, 0x96, 0x3b, 0x86, 0xd4, 0xf8, 0x49, 0x43,
        0xac,
    ]);
    const OTHER: Uuid = Uuid([1; 16]);

    static BLOB: [u8; 32] = [0xAA; 32];

    const fn partition(
        name: &'static str,
        id: EndpointId,
        uuid: Uuid,
        image: BlobRange,
    ) -> Partition {
        Partition {
            name,
            description: "",
            id,
            services: match uuid.0[0] {
                1 => &[Service {
                    uuid: OTHER,
                    messaging_method: MessagingMethod(3),
                }],
                _ => &[Service {
                    uuid: TS_RPC,
                    messaging_method: MessagingMethod(3),
                }],
            },
            ffa_version: Version::V1_1,
            exception_level: ExceptionLevel::SEl0,
            execution_state: ExecutionState::AArch64,
            execution_ctx_count: 1,
            messaging_method: MessagingMethod(3),
            boot_order: None,
            ns_interrupts_action: NsInterruptsAction::Signaled,
            other_s_interrupts_action: None,
            gp_register_num: Some(0),
            power_management_messages: PowerMessages(0),
            abort_action: AbortAction::Stop,
            vm_availability_messages: 0,
            notification_support: false,
            xlat_granule: XlatGranule::K4,
            image: ImageRegion {
                base: PhysAddr(0x2400_0000),
                size: 0x10_0000,
                image,
                entrypoint_offset: 0x10,
            },
            boot_info: BootInfoRegion {
                base: PhysAddr(0x2410_0000),
                pages: 2,
                manifest_dtb: BlobRange {
                    offset: 16,
                    len: 16,
                },
            },
            memory_regions: &[],
            device_regions: &[],
            rx_tx: None,
            capabilities: Capabilities {
                direct_request_to: &[EndpointId(0x8002), EndpointId(0x8005)],
                ..Capabilities::NONE
            },
        }
    }

    const GOOD: Table = Table {
        magic: TABLE_MAGIC,
        version: TABLE_VERSION,
        sp_pool: PhysRange {
            base: 0x2400_0000,
            size: 0x0C00_0000,
        },
        partitions: &[
            partition(
                "a",
                EndpointId(0x8001),
                TS_RPC,
                BlobRange { offset: 0, len: 16 },
            ),
            partition(
                "b",
                EndpointId(0x8002),
                TS_RPC,
                BlobRange { offset: 0, len: 8 },
            ),
            partition(
                "c",
                EndpointId(0x8003),
                OTHER,
                BlobRange { offset: 8, len: 8 },
            ),
        ],
        blob: &BLOB,
    };
    // The same compile-time check the generated source performs.
    const _: () = assert!(GOOD.check_shape().is_ok());

    #[test]
    fn uuid_words_follow_smccc_packing() {
        // From TF-A's test SP manifests: uuid "b4b5671e-4a90-4fe1-b81f-fb13dae1dacb" is
        // written as <0x1e67b5b4 0xe14f904a 0x13fb1fb8 0xcbdae1da>.
        let words = [0x1e67_b5b4, 0xe14f_904a, 0x13fb_1fb8, 0xcbda_e1da];
        let uuid = Uuid::from_words(words);
        assert_eq!(uuid.to_string(), "b4b5671e-4a90-4fe1-b81f-fb13dae1dacb");
        assert_eq!(uuid.to_words(), words);
        assert!(!uuid.is_nil());
        assert!(Uuid::NIL.is_nil());
    }

    #[test]
    fn lookups() {
        assert_eq!(GOOD.by_id(EndpointId(0x8002)).map(|p| p.name), Some("b"));
        assert_eq!(GOOD.index_of(EndpointId(0x8003)), Some(2));
        assert!(GOOD.by_id(EndpointId(0x8004)).is_none());
        let shared: Vec<_> = GOOD.by_uuid(TS_RPC).map(|p| p.name).collect();
        assert_eq!(shared, ["a", "b"]);
        assert_eq!(GOOD.by_uuid(Uuid::NIL).count(), 3);
        assert_eq!(GOOD.by_uuid(Uuid([7; 16])).count(), 0);
        let b = GOOD.by_id(EndpointId(0x8002)).unwrap();
        assert_eq!(GOOD.image_bytes(b), Some(&BLOB[0..8]));
        assert_eq!(GOOD.manifest_bytes(b), Some(&BLOB[16..32]));
        assert_eq!(b.entry_point(), PhysAddr(0x2400_0010));
    }

    #[test]
    fn capabilities_deny_by_default() {
        let caps = GOOD.partitions[0].capabilities;
        assert!(caps.may_send_direct_to(EndpointId(0x8005)));
        assert!(!caps.may_send_direct_to(EndpointId(0x8003)));
        assert!(!caps.may_share_memory_with(EndpointId(0x8002)));
        assert!(!caps.may_share_memory_with(EndpointId(0)));
        assert!(!caps.may_notify(EndpointId(1)));
        assert!(!caps.owns_interrupt(32));
    }

    #[test]
    fn check_shape_rejects_bad_tables() {
        let mut t = GOOD;
        t.magic = 0;
        assert_eq!(t.check_shape(), Err(ShapeError::BadMagic));
        let mut t = GOOD;
        t.version = TABLE_VERSION + 1;
        assert_eq!(t.check_shape(), Err(ShapeError::BadVersion));
        let mut t = GOOD;
        t.blob = &BLOB[..20];
        assert_eq!(
            t.check_shape(),
            Err(ShapeError::BlobRangeOutOfBounds { index: 0 })
        );
        static DUP: [Partition; 2] = [
            partition(
                "a",
                EndpointId(0x8001),
                TS_RPC,
                BlobRange { offset: 0, len: 1 },
            ),
            partition(
                "b",
                EndpointId(0x8001),
                TS_RPC,
                BlobRange { offset: 0, len: 1 },
            ),
        ];
        let mut t = GOOD;
        t.partitions = &DUP;
        assert_eq!(t.check_shape(), Err(ShapeError::BadEndpointId { index: 1 }));
        static SPMC: [Partition; 1] = [partition(
            "a",
            SPMC_ID,
            TS_RPC,
            BlobRange { offset: 0, len: 1 },
        )];
        t.partitions = &SPMC;
        assert_eq!(t.check_shape(), Err(ShapeError::BadEndpointId { index: 0 }));
        static HUGE: [Partition; 1] = [{
            let mut p = partition(
                "a",
                EndpointId(0x8001),
                TS_RPC,
                BlobRange { offset: 0, len: 16 },
            );
            p.image.size = 8;
            p
        }];
        t.partitions = &HUGE;
        assert_eq!(
            t.check_shape(),
            Err(ShapeError::ImageLargerThanRegion { index: 0 })
        );
        assert!(t
            .bytes(BlobRange {
                offset: u32::MAX,
                len: 2
            })
            .is_none());
    }

    #[test]
    fn interrupt_attributes_decode() {
        let a = InterruptAttributes(0x0B80 | 0x40);
        assert_eq!(a.priority(), 0xC0);
        assert!(a.secure());
        assert!(a.level());
        assert_eq!(a.kind(), InterruptKind::Spi);
        assert_eq!(InterruptAttributes(0x400).kind(), InterruptKind::Ppi);
    }
}
