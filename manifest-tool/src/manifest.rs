//! The FF-A partition manifest (`compatible = "arm,ffa-manifest-1.0"`, TF-A
//! `docs/components/ffa-manifest-binding.rst`): reading one manifest
//! DTB into a checked [`Manifest`]. Rules that need other SPs or the platform live in
//! `sp_set` and `placement`.

use crate::error::{Error, Result};
use crate::fdt::{Node, Prop};
use spmc_table::{
    EndpointId, ExceptionLevel, ExecutionState, MemAttributes, MessagingMethod, NsInterruptsAction,
    OtherSInterruptsAction, PowerMessages, Uuid, Version, XlatGranule, PAGE_SIZE,
};
use std::path::{Path, PathBuf};

/// A UUID offered by the SP with its messaging method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceDesc {
    /// The UUID.
    pub uuid: Uuid,
    /// Messaging method offered under it.
    pub messaging_method: u32,
}

/// Where a memory region is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionBase {
    /// `base-address`: an absolute physical address.
    Absolute(u64),
    /// `load-address-relative-offset`: an offset from the image base.
    Relative(u64),
}

/// A `memory-regions` child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemRegionDesc {
    /// Node path, for errors.
    pub node: String,
    /// Node name.
    pub name: String,
    /// `description` or "".
    pub description: String,
    /// Base.
    pub base: RegionBase,
    /// `pages-count`.
    pub pages: u32,
    /// `attributes`.
    pub attributes: u32,
    /// `load-flags` bit 0.
    pub nobits: bool,
    /// `phandle`, for `rx-tx-buffer` references.
    pub phandle: Option<u32>,
}

/// A `device-regions` child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevRegionDesc {
    /// Node path, for errors.
    pub node: String,
    /// Node name (what the SP set description grants).
    pub name: String,
    /// `base-address`.
    pub base: u64,
    /// `pages-count`.
    pub pages: u32,
    /// `attributes`.
    pub attributes: u32,
    /// `interrupts` pairs (INTID, attributes).
    pub interrupts: Vec<(u32, u32)>,
    /// `interrupts-target` triples (INTID, MPIDR): where an SPI is routed.
    pub interrupt_targets: Vec<(u32, u64)>,
    /// `exclusive-access`.
    pub exclusive_access: bool,
}

/// The `rx-tx-buffer` node resolved to indexes into `memory_regions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxTxDesc {
    /// Node path, for errors.
    pub node: String,
    /// Index of the RX buffer region.
    pub rx: usize,
    /// Index of the TX buffer region.
    pub tx: usize,
}

/// One checked partition manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The file it came from (a .dts, .dtb or SP package), for errors.
    pub file: PathBuf,
    /// `description` or "".
    pub description: String,
    /// `id`, if pre-allocated.
    pub id: Option<EndpointId>,
    /// UUIDs and their messaging methods (root `uuid` list or `services` node).
    pub services: Vec<ServiceDesc>,
    /// `ffa-version`.
    pub ffa_version: Version,
    /// `exception-level`.
    pub exception_level: ExceptionLevel,
    /// `execution-state`.
    pub execution_state: ExecutionState,
    /// `execution-ctx-count`.
    pub execution_ctx_count: u16,
    /// Root `messaging-method` (or the union of the services' methods).
    pub messaging_method: u32,
    /// `boot-order`.
    pub boot_order: Option<u16>,
    /// `ns-interrupts-action` (or 1 from the deprecated `managed-exit`).
    pub ns_interrupts_action: NsInterruptsAction,
    /// `other-s-interrupts-action`.
    pub other_s_interrupts_action: Option<OtherSInterruptsAction>,
    /// `gp-register-num`; absent means x0, as OP-TEE's SPMC does (Trusted Services SPs
    /// read the boot info from x0 without declaring it).
    pub gp_register_num: Option<u8>,
    /// `power-management-messages`.
    pub power_management_messages: u32,
    /// `abort-action` (with `lifecycle-support`); Stop when absent.
    pub abort_action: spmc_table::AbortAction,
    /// `vm-availability-messages`.
    pub vm_availability_messages: u32,
    /// `notification-support`.
    pub notification_support: bool,
    /// `xlat-granule`.
    pub xlat_granule: XlatGranule,
    /// `load-address`.
    pub load_address: Option<u64>,
    /// `entrypoint-offset`.
    pub entrypoint_offset: u64,
    /// `memory-regions` children.
    pub memory_regions: Vec<MemRegionDesc>,
    /// `device-regions` children.
    pub device_regions: Vec<DevRegionDesc>,
    /// `rx-tx-buffer`.
    pub rx_tx: Option<RxTxDesc>,
    /// Properties the binding does not define (reported, not fatal: vendors add their own).
    pub unknown_properties: Vec<String>,
}

/// Root properties the binding defines (and this tool reads or knowingly ignores).
const ROOT_PROPS: &[&str] = &[
    "compatible",
    "ffa-version",
    "uuid",
    "id",
    "auxiliary-id",
    "description",
    "execution-ctx-count",
    "exception-level",
    "execution-state",
    "load-address",
    "entrypoint-offset",
    "xlat-granule",
    "boot-order",
    "messaging-method",
    "managed-exit",
    "managed-exit-virq",
    "ns-interrupts-action",
    "other-s-interrupts-action",
    "sri-interrupts-policy",
    "has-primary-scheduler",
    "time-slice-mem",
    "gp-register-num",
    "power-management-messages",
    "lifecycle-support",
    "abort-action",
    "vm-availability-messages",
    "notification-support",
    "elf-format",
    "phandle",
];

struct Ctx<'a> {
    file: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, node: &Node, rule: &'static str, detail: impl Into<String>) -> Error {
        Error::new(self.file, node.path.clone(), rule, detail)
    }

    fn prop_err(&self, node: &Node, prop: &Prop, detail: String) -> Error {
        self.err(
            node,
            "property-format",
            format!("`{}`: {detail}", prop.name),
        )
    }

    fn opt_u32(&self, node: &Node, name: &str) -> Result<Option<u32>> {
        node.prop(name)
            .map(|p| p.u32().map_err(|d| self.prop_err(node, p, d)))
            .transpose()
    }

    fn req_u32(&self, node: &Node, name: &str) -> Result<u32> {
        self.opt_u32(node, name)?
            .ok_or_else(|| self.err(node, "missing-property", format!("`{name}` is mandatory")))
    }

    fn opt_u64(&self, node: &Node, name: &str) -> Result<Option<u64>> {
        node.prop(name)
            .map(|p| p.u64().map_err(|d| self.prop_err(node, p, d)))
            .transpose()
    }

    fn opt_str(&self, node: &Node, name: &str) -> Result<Option<String>> {
        node.prop(name)
            .map(|p| {
                p.string()
                    .map(str::to_string)
                    .map_err(|d| self.prop_err(node, p, d))
            })
            .transpose()
    }

    fn flag(&self, node: &Node, name: &str) -> Result<bool> {
        match node.prop(name) {
            None => Ok(false),
            Some(p) if p.is_empty() => Ok(true),
            Some(p) => Err(self.prop_err(node, p, "expected an empty (boolean) property".into())),
        }
    }

    fn range(&self, node: &Node, name: &str, v: u32, max: u32) -> Result<u32> {
        if v > max {
            return Err(self.err(
                node,
                "value-range",
                format!("`{name}` = {v} is outside 0..={max}"),
            ));
        }
        Ok(v)
    }
}

/// Parses a UUID in its textual form `aabbccdd-eeff-gghh-iijj-kkllmmnnoopp` (ffa-abi's
/// parser: exactly 36 characters, hex digits and four dashes).
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s)
}

/// The manifest `uuid` property for `u`: four cells in SMCCC word packing, each cell the
/// next four bytes of the UUID's byte string read little-endian. For
/// `7c0a39e4-5bd2-4a53-8c1e-2f7d1e0c0a05` (bytes 7c 0a 39 e4 | 5b d2 4a 53 | 8c 1e 2f 7d |
/// 1e 0c 0a 05): `uuid = <0xe4390a7c 0x534ad25b 0x7d2f1e8c 0x050a0c1e>;`.
pub fn uuid_cells(u: &Uuid) -> String {
    let cells: Vec<String> = u.to_words().iter().map(|c| format!("{c:#010x}")).collect();
    format!("uuid = <{}>;", cells.join(" "))
}

/// The schedule-receiver interrupt the SPMC raises towards the normal world (non-secure SGI 8,
/// as Hafnium; kernel/src/spmc/notify.rs `SRI_INTID`): reserved.
const SRI_INTID: u32 = 8;

fn find_region_node<'a>(root: &'a Node, name: &str, compatible: &str) -> Option<&'a Node> {
    root.children
        .iter()
        .find(|c| c.compatible().contains(&compatible))
        .or_else(|| root.child(name))
}

/// Reads and checks one manifest. `file` is used only for error messages.
pub fn parse_manifest(file: &Path, root: &Node) -> Result<Manifest> {
    let cx = Ctx { file };
    let compat = root.compatible();
    let binding = compat
        .iter()
        .find_map(|c| c.strip_prefix("arm,ffa-manifest-"))
        .ok_or_else(|| {
            cx.err(
                root,
                "compatible",
                format!("expected `arm,ffa-manifest-1.0`, found {compat:?}"),
            )
        })?;
    if !binding.starts_with("1.") {
        return Err(cx.err(
            root,
            "compatible",
            format!("binding version {binding} is not 1.x"),
        ));
    }
    if root.has("elf-format") {
        return Err(cx.err(
            root,
            "unsupported",
            "`elf-format` (OP-TEE ELF SPs) is not supported: give a flat binary image",
        ));
    }

    let word = cx.req_u32(root, "ffa-version")?;
    let ffa_version = Version::new((word >> 16) as u16, word as u16);
    if ffa_version.major != 1 || ffa_version.minor > 2 {
        return Err(cx.err(
            root,
            "ffa-version",
            format!(
                "FF-A v{}.{} is not one of v1.0, v1.1, v1.2",
                ffa_version.major, ffa_version.minor
            ),
        ));
    }

    let exception_level = match cx.req_u32(root, "exception-level")? {
        1 => ExceptionLevel::SEl0,
        0 => {
            return Err(cx.err(
                root,
                "exception-level",
                "0 (EL1, a normal-world VM) is not an SP; this SPMC hosts S-EL0 SPs only (1)",
            ))
        }
        2 => return Err(cx.err(
            root,
            "exception-level",
            "2 (S-EL1) needs an S-EL2 SPMC; this SPMC runs at S-EL1 and hosts S-EL0 SPs only (1)",
        )),
        v => {
            return Err(cx.err(
                root,
                "value-range",
                format!("`exception-level` = {v} is outside 0..=2"),
            ))
        }
    };
    let execution_state = match cx.req_u32(root, "execution-state")? {
        0 => ExecutionState::AArch64,
        1 => {
            return Err(cx.err(
                root,
                "execution-state",
                "AArch32 SPs are not supported (execution-state must be 0)",
            ))
        }
        v => {
            return Err(cx.err(
                root,
                "value-range",
                format!("`execution-state` = {v} is outside 0..=1"),
            ))
        }
    };
    let ctx = cx.req_u32(root, "execution-ctx-count")?;
    let execution_ctx_count = u16::try_from(ctx).ok().filter(|&c| c >= 1).ok_or_else(|| {
        cx.err(
            root,
            "value-range",
            format!("`execution-ctx-count` = {ctx} is outside 1..=65535"),
        )
    })?;
    // FF-A requires S-EL0 partitions to be UP endpoints: one execution context, which
    // migrates between cores (Hafnium's SPMC enforces it too: docs/secure-partition-manager,
    // "S-EL0 Partition support"). The binding reads a count above 1 as an MP partition with one
    // context pinned to each core, which an S-EL0 partition cannot be.
    if exception_level == ExceptionLevel::SEl0 && execution_ctx_count != 1 {
        return Err(cx.err(
            root,
            "execution-ctx-count",
            format!(
                "`execution-ctx-count` = {execution_ctx_count}: an S-EL0 partition is a UP \
                 partition with one migratable execution context (FF-A v1.2), so it must be 1"
            ),
        ));
    }
    let xlat_granule = match cx.opt_u32(root, "xlat-granule")?.unwrap_or(0) {
        0 => XlatGranule::K4,
        1 | 2 => {
            return Err(cx.err(
                root,
                "xlat-granule",
                "only the 4 KiB granule (0) is supported for S-EL0 SPs",
            ))
        }
        v => {
            return Err(cx.err(
                root,
                "value-range",
                format!("`xlat-granule` = {v} is outside 0..=2"),
            ))
        }
    };

    // Messaging method: root property, services, and what the FF-A version allows.
    let root_mm = cx.opt_u32(root, "messaging-method")?;
    let mut services = Vec::new();
    let services_node = root.children.iter().find(|c| {
        c.base_name() == "services" || c.compatible().contains(&"arm,ffa-manifest-services")
    });
    match (root.prop("uuid"), services_node) {
        (Some(_), Some(s)) => {
            return Err(cx.err(
                s,
                "uuid-form",
                "give either the root `uuid` list or a `services` node, not both",
            ))
        }
        (None, None) => {
            return Err(cx.err(root, "missing-property", "`uuid` is mandatory"));
        }
        (Some(p), None) => {
            let cells = p.cells().map_err(|d| cx.prop_err(root, p, d))?;
            if cells.is_empty() || cells.len() % 4 != 0 {
                return Err(cx.prop_err(
                    root,
                    p,
                    format!("expected groups of 4 cells, found {} cells", cells.len()),
                ));
            }
            let mm = root_mm.ok_or_else(|| {
                cx.err(root, "missing-property", "`messaging-method` is mandatory")
            })?;
            for c in cells.chunks_exact(4) {
                services.push(ServiceDesc {
                    uuid: Uuid::from_words([c[0], c[1], c[2], c[3]]),
                    messaging_method: mm,
                });
            }
        }
        (None, Some(s)) => {
            if ffa_version < Version::V1_1 {
                return Err(cx.err(
                    s,
                    "uuid-form",
                    "the `services` node needs ffa-version >= 1.1",
                ));
            }
            for svc in &s.children {
                let text = cx
                    .opt_str(svc, "uuid")?
                    .ok_or_else(|| cx.err(svc, "missing-property", "`uuid` is mandatory"))?;
                let uuid = parse_uuid(&text).ok_or_else(|| {
                    cx.err(
                        svc,
                        "property-format",
                        format!("`uuid` {text:?} is not a UUID"),
                    )
                })?;
                let mm = match cx.opt_u32(svc, "messaging-method")? {
                    Some(v) => v,
                    None => root_mm.ok_or_else(|| {
                        cx.err(svc, "missing-property", "`messaging-method` is mandatory")
                    })?,
                };
                services.push(ServiceDesc {
                    uuid,
                    messaging_method: mm,
                });
            }
            if services.is_empty() {
                return Err(cx.err(s, "missing-property", "`services` lists no service"));
            }
        }
    }
    for (i, s) in services.iter().enumerate() {
        if s.uuid.is_nil() {
            return Err(cx.err(
                root,
                "uuid",
                "the nil UUID is reserved (it means \"all partitions\")",
            ));
        }
        if services[..i].iter().any(|o| o.uuid == s.uuid) {
            return Err(cx.err(
                root,
                "uuid-duplicate",
                format!("UUID {} is listed twice", s.uuid),
            ));
        }
    }
    let union = services.iter().fold(0, |a, s| a | s.messaging_method);
    let messaging_method = root_mm.unwrap_or(union);
    for s in &services {
        if s.messaging_method & !messaging_method != 0 {
            return Err(cx.err(
                root,
                "messaging-method",
                format!(
                    "service {} offers {:#x}, more than the partition's {messaging_method:#x}",
                    s.uuid, s.messaging_method
                ),
            ));
        }
    }
    let mm = MessagingMethod(messaging_method);
    if messaging_method & !MessagingMethod::KNOWN != 0 {
        return Err(cx.err(
            root,
            "messaging-method",
            format!(
                "unknown bits {:#x} (defined: bit0, bit1, bit2, bit9, bit10)",
                messaging_method & !MessagingMethod::KNOWN
            ),
        ));
    }
    if ffa_version < Version::V1_2
        && (mm.has(MessagingMethod::DIRECT_REQ2_RECV) || mm.has(MessagingMethod::DIRECT_REQ2_SEND))
    {
        return Err(cx.err(
            root,
            "messaging-method",
            "DIRECT_REQ2 bits (9, 10) need ffa-version >= 1.2",
        ));
    }
    // Bit 2 (indirect messaging) is valid at every version: FF-A v1.0 already defines it (the
    // partition properties' "supports indirect messaging"), for FFA_MSG_SEND / FFA_MSG_POLL;
    // v1.1 gives it to FFA_MSG_SEND2. Hafnium checks only the REQ2 bits against the version
    // (src/manifest.c, `sanity_check_ffa_manifest`).

    // Interrupt actions (FF-A v1.1 section 8.3).
    let managed_exit = cx.flag(root, "managed-exit")?;
    let ns_interrupts_action = match (cx.opt_u32(root, "ns-interrupts-action")?, managed_exit) {
        (Some(0), false) => NsInterruptsAction::Queued,
        (Some(1), _) => NsInterruptsAction::ManagedExit,
        (Some(2), false) => NsInterruptsAction::Signaled,
        (Some(v @ (0 | 2)), true) => {
            return Err(cx.err(
                root,
                "ns-interrupts-action",
                format!("`managed-exit` contradicts `ns-interrupts-action` = {v}"),
            ))
        }
        (Some(v), _) => {
            return Err(cx.err(
                root,
                "value-range",
                format!("`ns-interrupts-action` = {v} is outside 0..=2"),
            ))
        }
        (None, true) => NsInterruptsAction::ManagedExit,
        (None, false) => {
            return Err(cx.err(
                root,
                "missing-property",
                "`ns-interrupts-action` is mandatory",
            ))
        }
    };
    // Managed exit is signalled to the partition as a virtual interrupt (vIRQ or vFIQ, the
    // `managed-exit-virq` choice), which only an EL1 partition can take: an S-EL0 partition's
    // choices are queued (0) and signalled (2). Hafnium refuses it the same way (src/manifest.c:
    // "Managed exit only supported by S_EL1 partitions").
    if exception_level == ExceptionLevel::SEl0 {
        let virq = cx.flag(root, "managed-exit-virq")?;
        if ns_interrupts_action == NsInterruptsAction::ManagedExit || virq {
            let what = if managed_exit {
                "`managed-exit`"
            } else if virq {
                "`managed-exit-virq`"
            } else {
                "`ns-interrupts-action` = 1"
            };
            return Err(cx.err(
                root,
                "ns-interrupts-action",
                format!(
                    "{what} asks for managed exit, which is signalled as a virtual interrupt an \
                     S-EL0 partition cannot take; use 0 (queued) or 2 (signalled)"
                ),
            ));
        }
    }
    let other_s_interrupts_action = match cx.opt_u32(root, "other-s-interrupts-action")? {
        None => None,
        Some(0) => Some(OtherSInterruptsAction::Queued),
        Some(1) => Some(OtherSInterruptsAction::Signaled),
        Some(v) => {
            return Err(cx.err(
                root,
                "value-range",
                format!("`other-s-interrupts-action` = {v} is outside 0..=1"),
            ))
        }
    };
    let gp_register_num = cx
        .opt_u32(root, "gp-register-num")?
        .map(|v| cx.range(root, "gp-register-num", v, 3))
        .transpose()?
        .map(|v| u8::try_from(v).unwrap_or(0))
        .or(Some(0));
    let boot_order = cx
        .opt_u32(root, "boot-order")?
        .map(|v| cx.range(root, "boot-order", v, 0xFFFF))
        .transpose()?
        .map(|v| u16::try_from(v).unwrap_or(u16::MAX));
    let pm_known =
        PowerMessages::CPU_OFF | PowerMessages::CPU_SUSPEND | PowerMessages::CPU_SUSPEND_RESUME;
    let power_management_messages = cx.opt_u32(root, "power-management-messages")?.unwrap_or(0);
    if power_management_messages & !pm_known != 0 {
        return Err(cx.err(
            root,
            "value-range",
            format!("`power-management-messages` = {power_management_messages:#x} has bits outside 0..=2"),
        ));
    }
    // Power-management messages go to execution contexts pinned to the PE that changes power
    // state: the binding's bits (CPU_OFF, CPU_SUSPEND, CPU_SUSPEND_RESUME) name events of one PE,
    // which only an MP partition (one context per PE) has a context on. An S-EL0 partition is UP:
    // its one context migrates to whichever core runs it, so no event of a PE is its own, and
    // nothing would reach it. Hafnium clears the field for UP, S-EL0 and EL0 partitions
    // (src/manifest.c, "power-management-messages") and relays CPU_OFF to MP partitions only;
    // TF-A's SPMD sends CPU_OFF alone (services/std_svc/spmd/spmd_pm.c), warm boot being a
    // plain entry of the SPMC at its secondary entry point. Refused rather than ignored, so an
    // integrator does not believe the partition is told.
    if exception_level == ExceptionLevel::SEl0 && power_management_messages != 0 {
        return Err(cx.err(
            root,
            "power-management-messages",
            format!(
                "`power-management-messages` = {power_management_messages:#x}: power-management \
                 messages go to execution contexts pinned to a PE (MP partitions); an S-EL0 \
                 partition has one migratable context and is never sent them (FF-A v1.2, as \
                 Hafnium), so it must be 0 or absent"
            ),
        ));
    }
    // FF-A v1.3 ALP2 partition lifecycle (binding: `lifecycle-support`, `abort-action` 0 stop,
    // 1 destroy, 2 restart, 3 propagate). As Hafnium's src/manifest.c, `abort-action` needs
    // `lifecycle-support`. This SPMC implements stop and restart (kernel/src/spmc/lifecycle.rs).
    let lifecycle_support = cx.flag(root, "lifecycle-support")?;
    let abort_action = match cx.opt_u32(root, "abort-action")? {
        None => spmc_table::AbortAction::Stop,
        Some(_) if !lifecycle_support => {
            return Err(cx.err(
                root,
                "abort-action",
                "`abort-action` needs `lifecycle-support` (FF-A v1.3 partition lifecycle; \
                 Hafnium refuses it too)",
            ))
        }
        Some(0) => spmc_table::AbortAction::Stop,
        Some(2) => spmc_table::AbortAction::Restart,
        Some(1) => {
            return Err(cx.err(
                root,
                "abort-action",
                "`abort-action` = 1 (destroy) is not supported: this SPMC cannot take a \
                 partition out of the partition table at run time; use 0 (stop) or 2 (restart)",
            ))
        }
        Some(3) => {
            return Err(cx.err(
                root,
                "abort-action",
                "`abort-action` = 3 (propagate) is not supported: FFA_ABORT to EL3 stops the \
                 whole system (TF-A's SPMD panics), so one faulting SP would take every other \
                 down; use 0 (stop) or 2 (restart)",
            ))
        }
        Some(v) => {
            return Err(cx.err(
                root,
                "value-range",
                format!("`abort-action` = {v} is outside 0..=3"),
            ))
        }
    };
    let vm_availability_messages = cx.opt_u32(root, "vm-availability-messages")?.unwrap_or(0);
    if vm_availability_messages & !0b11 != 0 {
        return Err(cx.err(
            root,
            "value-range",
            format!(
                "`vm-availability-messages` = {vm_availability_messages:#x} has bits outside 0..=1"
            ),
        ));
    }
    let id = match cx.opt_u32(root, "id")? {
        None => None,
        Some(v) => {
            let id = u16::try_from(v)
                .ok()
                .map(EndpointId)
                .filter(|&i| spmc_table::is_valid_sp_id(i))
                .ok_or_else(|| {
                    cx.err(
                        root,
                        "endpoint-id",
                        format!(
                            "`id` = {v:#x} is not an SP ID (bit 15 set, not 0x8000, below 0xffc0)"
                        ),
                    )
                })?;
            Some(id)
        }
    };
    let load_address = cx.opt_u64(root, "load-address")?;
    let entrypoint_offset = cx.opt_u64(root, "entrypoint-offset")?.unwrap_or(0);
    if entrypoint_offset % 4 != 0 {
        return Err(cx.err(
            root,
            "entrypoint-offset",
            format!("{entrypoint_offset:#x} is not 4-byte aligned (AArch64 instructions)"),
        ));
    }

    let memory_regions =
        match find_region_node(root, "memory-regions", "arm,ffa-manifest-memory-regions") {
            None => Vec::new(),
            Some(n) => n
                .children
                .iter()
                .map(|c| memory_region(&cx, c))
                .collect::<Result<_>>()?,
        };
    let device_regions =
        match find_region_node(root, "device-regions", "arm,ffa-manifest-device-regions") {
            None => Vec::new(),
            Some(n) => n
                .children
                .iter()
                .map(|c| device_region(&cx, c))
                .collect::<Result<_>>()?,
        };
    let rx_tx = root
        .children
        .iter()
        .find(|c| {
            matches!(
                c.base_name(),
                "rx-tx-buffer" | "rx_tx-info" | "rx_tx-buffer"
            ) || c.compatible().contains(&"arm,ffa-manifest-rx_tx-buffer")
        })
        .map(|n| rx_tx_buffer(&cx, root, n, &memory_regions))
        .transpose()?;

    let unknown_properties = root
        .props
        .iter()
        .filter(|p| !ROOT_PROPS.contains(&p.name.as_str()))
        .map(|p| p.name.clone())
        .collect();

    Ok(Manifest {
        file: file.to_path_buf(),
        description: cx.opt_str(root, "description")?.unwrap_or_default(),
        id,
        services,
        ffa_version,
        exception_level,
        execution_state,
        execution_ctx_count,
        messaging_method,
        boot_order,
        ns_interrupts_action,
        other_s_interrupts_action,
        gp_register_num,
        power_management_messages,
        abort_action,
        vm_availability_messages,
        notification_support: cx.flag(root, "notification-support")?,
        xlat_granule,
        load_address,
        entrypoint_offset,
        memory_regions,
        device_regions,
        rx_tx,
        unknown_properties,
    })
}

fn check_unsupported(cx: &Ctx<'_>, node: &Node, names: &[&str]) -> Result<()> {
    for name in names {
        if node.has(name) {
            return Err(cx.err(
                node,
                "unsupported",
                format!("`{name}` is not supported (this platform has no SMMU)"),
            ));
        }
    }
    Ok(())
}

fn pages(cx: &Ctx<'_>, node: &Node) -> Result<u32> {
    let pages = cx.req_u32(node, "pages-count")?;
    if pages == 0 {
        return Err(cx.err(node, "region-size", "`pages-count` is 0"));
    }
    Ok(pages)
}

fn memory_region(cx: &Ctx<'_>, node: &Node) -> Result<MemRegionDesc> {
    check_unsupported(
        cx,
        node,
        &["stream-ids", "smmu-id", "stream-ids-access-permissions"],
    )?;
    let pages = pages(cx, node)?;
    let attributes = cx.req_u32(node, "attributes")?;
    check_attributes(cx, node, attributes, MemAttributes::KNOWN)?;
    let base = match (
        cx.opt_u64(node, "base-address")?,
        cx.opt_u64(node, "load-address-relative-offset")?,
    ) {
        (Some(a), None) => RegionBase::Absolute(a),
        (None, Some(o)) => RegionBase::Relative(o),
        (Some(_), Some(_)) => {
            return Err(cx.err(
                node,
                "region-base",
                "give `base-address` or `load-address-relative-offset`, not both",
            ))
        }
        (None, None) => {
            return Err(cx.err(
                node,
                "region-base",
                "one of `base-address` or `load-address-relative-offset` is mandatory",
            ))
        }
    };
    let raw = match base {
        RegionBase::Absolute(a) | RegionBase::Relative(a) => a,
    };
    if raw % PAGE_SIZE != 0 {
        return Err(cx.err(
            node,
            "region-alignment",
            format!("base {raw:#x} is not 4 KiB aligned"),
        ));
    }
    let load_flags = cx.opt_u32(node, "load-flags")?.unwrap_or(0);
    if load_flags & !1 != 0 {
        return Err(cx.err(
            node,
            "value-range",
            format!("`load-flags` = {load_flags:#x} has bits other than 0 (NOBITS)"),
        ));
    }
    Ok(MemRegionDesc {
        node: node.path.clone(),
        name: node.name.clone(),
        description: cx.opt_str(node, "description")?.unwrap_or_default(),
        base,
        pages,
        attributes,
        nobits: load_flags & 1 != 0,
        phandle: node.phandle(),
    })
}

fn check_attributes(cx: &Ctx<'_>, node: &Node, attributes: u32, known: u32) -> Result<()> {
    let a = MemAttributes(attributes);
    if attributes & !known != 0 {
        return Err(cx.err(
            node,
            "attributes",
            format!("unknown attribute bits {:#x}", attributes & !known),
        ));
    }
    if !a.read() {
        return Err(cx.err(node, "attributes", format!("{attributes:#x} is not readable (AArch64 has no write- or execute-only data mappings for EL0 here)")));
    }
    if a.write() && a.execute() {
        return Err(cx.err(
            node,
            "attributes",
            format!("{attributes:#x} is writable and executable (W^X)"),
        ));
    }
    Ok(())
}

fn device_region(cx: &Ctx<'_>, node: &Node) -> Result<DevRegionDesc> {
    check_unsupported(cx, node, &["stream-ids", "smmu-id"])?;
    let pages = pages(cx, node)?;
    let attributes = cx.req_u32(node, "attributes")?;
    check_attributes(
        cx,
        node,
        attributes,
        MemAttributes::READ | MemAttributes::WRITE | MemAttributes::NON_SECURE,
    )?;
    let base = cx
        .opt_u64(node, "base-address")?
        .ok_or_else(|| cx.err(node, "missing-property", "`base-address` is mandatory"))?;
    if base % PAGE_SIZE != 0 {
        return Err(cx.err(
            node,
            "region-alignment",
            format!("base {base:#x} is not 4 KiB aligned"),
        ));
    }
    let mut interrupts = Vec::new();
    if let Some(p) = node.prop("interrupts") {
        let cells = p.cells().map_err(|d| cx.prop_err(node, p, d))?;
        if cells.len() % 2 != 0 {
            return Err(cx.prop_err(node, p, "expected (id, attributes) pairs".into()));
        }
        for pair in cells.chunks_exact(2) {
            let (id, attr) = (pair[0], pair[1]);
            let kind = spmc_table::InterruptAttributes(attr).kind();
            let ok = match kind {
                spmc_table::InterruptKind::Sgi => id < 16,
                spmc_table::InterruptKind::Ppi => (16..32).contains(&id),
                spmc_table::InterruptKind::Spi => (32..1020).contains(&id),
                spmc_table::InterruptKind::Reserved => false,
            };
            if !ok || attr & !0xFFF != 0 {
                return Err(cx.err(
                    node,
                    "interrupt",
                    format!("interrupt {id} with attributes {attr:#x}: type {kind:?} does not fit the ID (SGI 0-15, PPI 16-31, SPI 32-1019) or unknown bits are set"),
                ));
            }
            if id == SRI_INTID {
                return Err(cx.err(
                    node,
                    "interrupt-reserved",
                    format!("SGI {id} is the SPMC's schedule-receiver interrupt to the normal world (FFA_FEATURES(SRI)); no partition may own it"),
                ));
            }
            if interrupts.iter().any(|&(i, _)| i == id) {
                return Err(cx.err(node, "interrupt", format!("interrupt {id} is listed twice")));
            }
            let a = spmc_table::InterruptAttributes(attr);
            // The SPMC owns secure interrupts only: a non-secure one belongs to the normal
            // world (FF-A v1.2 section 8.1; the binding's bit 8).
            if !a.secure() {
                return Err(cx.err(
                    node,
                    "interrupt-not-secure",
                    format!("interrupt {id} has attributes {attr:#x}: bit 8 (secure) is clear; an SP may own secure interrupts only"),
                ));
            }
            // With two security states the normal world's writes to ICC_PMR_EL1 land in the
            // lower-priority half (0x80-0xff, GICv3 spec 4.8.6): a secure interrupt there can
            // be held off by the normal world for ever.
            if a.priority() >= 0x80 {
                return Err(cx.err(
                    node,
                    "interrupt-priority",
                    format!("interrupt {id} has priority {:#x}: a secure interrupt needs one below 0x80, or the normal world's priority mask can hold it off", a.priority()),
                ));
            }
            interrupts.push((id, attr));
        }
    }
    let mut interrupt_targets = Vec::new();
    if let Some(p) = node.prop("interrupts-target") {
        let cells = p.cells().map_err(|d| cx.prop_err(node, p, d))?;
        if cells.len() % 3 != 0 {
            return Err(cx.prop_err(node, p, "expected (id, mpidr_hi, mpidr_lo) triples".into()));
        }
        for t in cells.chunks_exact(3) {
            let (id, mpidr) = (t[0], (u64::from(t[1]) << 32) | u64::from(t[2]));
            let Some(&(_, attr)) = interrupts.iter().find(|&&(i, _)| i == id) else {
                return Err(cx.err(
                    node,
                    "interrupt-target",
                    format!(
                        "interrupts-target names interrupt {id}, which `interrupts` does not list"
                    ),
                ));
            };
            if spmc_table::InterruptAttributes(attr).kind() != spmc_table::InterruptKind::Spi {
                return Err(cx.err(
                    node,
                    "interrupt-target",
                    format!("interrupt {id} is not an SPI: only an SPI is routed to a core (GICD_IROUTER)"),
                ));
            }
            // GICD_IROUTER holds Aff3 (bits 39:32) and Aff2..Aff0 (bits 23:0).
            if mpidr & !0xFF_00FF_FFFF != 0 {
                return Err(cx.err(
                    node,
                    "interrupt-target",
                    format!(
                        "interrupt {id}: MPIDR {mpidr:#x} has bits outside the affinity fields"
                    ),
                ));
            }
            if interrupt_targets.iter().any(|&(i, _)| i == id) {
                return Err(cx.err(
                    node,
                    "interrupt-target",
                    format!("interrupt {id} has two targets"),
                ));
            }
            interrupt_targets.push((id, mpidr));
        }
    }
    Ok(DevRegionDesc {
        node: node.path.clone(),
        name: node.name.clone(),
        base,
        pages,
        attributes,
        interrupts,
        interrupt_targets,
        exclusive_access: cx.flag(node, "exclusive-access")?,
    })
}

fn rx_tx_buffer(
    cx: &Ctx<'_>,
    root: &Node,
    node: &Node,
    regions: &[MemRegionDesc],
) -> Result<RxTxDesc> {
    let resolve = |names: [&str; 2]| -> Result<usize> {
        let prop = names.iter().find_map(|n| node.prop(n)).ok_or_else(|| {
            cx.err(
                node,
                "missing-property",
                format!("`{}` is mandatory", names[0]),
            )
        })?;
        let ph = prop.u32().map_err(|d| cx.prop_err(node, prop, d))?;
        let target = root.find_phandle(ph).ok_or_else(|| {
            cx.err(
                node,
                "rx-tx-buffer",
                format!("`{}` names no node (phandle {ph:#x})", prop.name),
            )
        })?;
        regions
            .iter()
            .position(|r| r.node == target.path)
            .ok_or_else(|| {
                cx.err(
                    node,
                    "rx-tx-buffer",
                    format!(
                        "`{}` names {}, which is not a memory-regions entry",
                        prop.name, target.path
                    ),
                )
            })
    };
    let rx = resolve(["rx_buffer", "rx-buffer"])?;
    let tx = resolve(["tx_buffer", "tx-buffer"])?;
    if rx == tx {
        return Err(cx.err(node, "rx-tx-buffer", "RX and TX name the same region"));
    }
    let (r, t) = (&regions[rx], &regions[tx]);
    if r.pages != t.pages {
        return Err(cx.err(
            node,
            "rx-tx-buffer",
            format!(
                "RX has {} pages, TX {}: FFA_RXTX_MAP needs equal sizes",
                r.pages, t.pages
            ),
        ));
    }
    for reg in [r, t] {
        let a = MemAttributes(reg.attributes);
        if !a.write() || a.execute() || a.non_secure() {
            return Err(cx.err(
                node,
                "rx-tx-buffer",
                format!(
                    "{} must be secure read-write, not executable (attributes {:#x})",
                    reg.node, reg.attributes
                ),
            ));
        }
    }
    Ok(RxTxDesc {
        node: node.path.clone(),
        rx,
        tx,
    })
}
