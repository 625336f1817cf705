//! Rules across the SP set: endpoint IDs, boot order, package UUIDs, and the capabilities the
//! integrator grants (deny by default). Produces the [`Plan`] that placement completes and the
//! generator writes out.

use crate::error::{Error, Result};
use crate::fdt;
use crate::layout::{self, Layout, Loaded, SpEntry};
use crate::manifest::{self, DevRegionDesc, Manifest};
use crate::placement;
use crate::platform::Platform;
use spmc_table::{EndpointId, MessagingMethod};
use std::collections::BTreeSet;

/// Capabilities resolved to endpoint IDs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// Direct request targets (sorted).
    pub direct: Vec<EndpointId>,
    /// Memory share peers (sorted).
    pub memory_share: Vec<EndpointId>,
    /// Memory share with the normal world.
    pub memory_share_nw: bool,
    /// Notification targets (sorted).
    pub notify: Vec<EndpointId>,
    /// Notify the normal world.
    pub notify_nw: bool,
    /// Indirect message receivers (sorted).
    pub indirect: Vec<EndpointId>,
    /// Indirect messages to the normal world.
    pub indirect_nw: bool,
    /// Owned interrupts (sorted).
    pub interrupts: Vec<u32>,
}

/// A memory region resolved to an absolute address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedRegion {
    /// The manifest entry.
    pub desc: manifest::MemRegionDesc,
    /// Absolute base.
    pub base: u64,
}

/// One SP with everything decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedSp {
    /// The layout entry.
    pub entry: SpEntry,
    /// The checked manifest.
    pub manifest: Manifest,
    /// Image and manifest bytes.
    pub loaded: Loaded,
    /// Endpoint ID.
    pub id: EndpointId,
    /// True when the ID came from the manifest.
    pub id_from_manifest: bool,
    /// Image region base (0 until placed).
    pub image_base: u64,
    /// Boot-info region base (0 until placed).
    pub boot_info_base: u64,
    /// Boot-info region pages.
    pub boot_info_pages: u32,
    /// Memory regions, sorted by base (filled by placement).
    pub memory: Vec<PlacedRegion>,
    /// Device regions (all granted), sorted by base.
    pub devices: Vec<DevRegionDesc>,
    /// RX/TX (rx base, tx base, pages), filled by placement.
    pub rx_tx: Option<(u64, u64, u32)>,
    /// Granted rights.
    pub caps: Caps,
}

/// The validated, placed SP set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The platform it was placed for.
    pub platform: Platform,
    /// The SP set description file.
    pub layout_file: std::path::PathBuf,
    /// SPs in boot order.
    pub sps: Vec<PlannedSp>,
    /// Non-fatal findings (unknown manifest properties...).
    pub warnings: Vec<String>,
}

/// The name capabilities use for every normal-world endpoint.
pub const NORMAL_WORLD: &str = "normal-world";

/// Reads every input, applies every rule, and places the SPs.
pub fn plan(layout: &Layout, platform: &Platform) -> Result<Plan> {
    plan_all(layout, platform).map_err(|mut e| e.swap_remove(0))
}

/// Loads one SP's manifest and image and checks them on their own.
fn load_sp(entry: &SpEntry, warnings: &mut Vec<String>) -> Result<PlannedSp> {
    let loaded = layout::load(entry)?;
    let root = fdt::parse(&loaded.dtb)
        .map_err(|d| Error::new(&loaded.manifest_file, "/", "dtb-malformed", d))?;
    let m = manifest::parse_manifest(&loaded.manifest_file, &root)?;
    for p in &m.unknown_properties {
        warnings.push(format!(
            "{}: /: unknown-property: `{p}` is not in the FF-A manifest binding; ignored",
            m.file.display()
        ));
    }
    check_image(entry, &m, &loaded)?;
    Ok(PlannedSp {
        entry: entry.clone(),
        id: m.id.unwrap_or_default(),
        id_from_manifest: m.id.is_some(),
        devices: m.device_regions.clone(),
        manifest: m,
        loaded,
        image_base: 0,
        boot_info_base: 0,
        boot_info_pages: 0,
        memory: Vec::new(),
        rx_tx: None,
        caps: Caps::default(),
    })
}

/// [`plan`], reporting every error it can: the first error of each SP's manifest and image
/// (each SP is checked on its own), then, if those are all right, the first error of each
/// step over the whole set (unique IDs, each SP's capabilities, interrupts, placement).
pub fn plan_all(layout: &Layout, platform: &Platform) -> std::result::Result<Plan, Vec<Error>> {
    let mut sps = Vec::new();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for entry in &layout.sps {
        match load_sp(entry, &mut warnings) {
            Ok(sp) => sps.push(sp),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    plan_set(layout, platform, sps, warnings)
}

fn plan_set(
    layout: &Layout,
    platform: &Platform,
    mut sps: Vec<PlannedSp>,
    warnings: Vec<String>,
) -> std::result::Result<Plan, Vec<Error>> {
    let one = |e: Error| vec![e];
    check_unique(layout, &sps).map_err(one)?;
    // Boot order: SPs with `boot-order` first (ascending), then the rest by name.
    sps.sort_by(|a, b| {
        let key = |s: &PlannedSp| {
            (
                s.manifest.boot_order.is_none(),
                s.manifest.boot_order,
                s.entry.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    assign_ids(layout, &mut sps).map_err(one)?;
    let mut errors = Vec::new();
    for i in 0..sps.len() {
        match resolve_caps(layout, &sps, i) {
            Ok(caps) => sps[i].caps = caps,
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    check_interrupt_ownership(layout, &sps).map_err(one)?;
    check_interrupts_on_platform(platform, &sps).map_err(one)?;
    check_memory_quotas(layout, &sps).map_err(one)?;
    let mut plan = Plan {
        platform: platform.clone(),
        layout_file: layout.file.clone(),
        sps,
        warnings,
    };
    placement::place(&mut plan).map_err(one)?;
    Ok(plan)
}

fn check_image(entry: &SpEntry, m: &Manifest, loaded: &Loaded) -> Result<()> {
    let len = u64::try_from(loaded.image.len()).unwrap_or(u64::MAX);
    if len > entry.size {
        return Err(Error::new(
            &loaded.image_file,
            "/",
            "image-too-large",
            format!(
                "image of SP `{}` is {len:#x} bytes, its region (`size`) only {:#x}",
                entry.name, entry.size
            ),
        ));
    }
    if m.entrypoint_offset >= len {
        return Err(Error::new(
            &m.file,
            "/",
            "entrypoint-offset",
            format!(
                "{:#x} is not inside the {len:#x}-byte image",
                m.entrypoint_offset
            ),
        ));
    }
    if let (Some(a), Some(b)) = (m.load_address, entry.physical_load_address) {
        if a != b {
            return Err(Error::new(
                &m.file,
                "/",
                "load-address",
                format!(
                    "`load-address` {a:#x} contradicts sp_layout `physical-load-address` {b:#x}"
                ),
            ));
        }
    }
    Ok(())
}

fn check_unique(layout: &Layout, sps: &[PlannedSp]) -> Result<()> {
    for (i, s) in sps.iter().enumerate() {
        for o in &sps[..i] {
            if s.manifest.id.is_some() && s.manifest.id == o.manifest.id {
                return Err(Error::new(
                    &s.manifest.file,
                    "/",
                    "endpoint-id-duplicate",
                    format!("`id` {:#x} is also SP `{}`'s", s.id, o.entry.name),
                ));
            }
            if s.manifest.boot_order.is_some() && s.manifest.boot_order == o.manifest.boot_order {
                return Err(Error::new(
                    &s.manifest.file,
                    "/",
                    "boot-order-duplicate",
                    format!(
                        "`boot-order` {} is also SP `{}`'s",
                        s.manifest.boot_order.unwrap_or(0),
                        o.entry.name
                    ),
                ));
            }
            if s.entry.uuid.is_some() && s.entry.uuid == o.entry.uuid {
                return Err(Error::new(
                    &layout.file,
                    format!("/{}/uuid", s.entry.name),
                    "uuid-duplicate",
                    format!("package UUID is also SP `{}`'s", o.entry.name),
                ));
            }
        }
    }
    Ok(())
}

/// Gives every SP without a manifest `id` the lowest free ID from 0x8001, in boot order.
fn assign_ids(layout: &Layout, sps: &mut [PlannedSp]) -> Result<()> {
    let mut used: BTreeSet<EndpointId> = sps.iter().filter_map(|s| s.manifest.id).collect();
    let mut next = EndpointId(0x8001);
    for s in sps.iter_mut().filter(|s| s.manifest.id.is_none()) {
        while used.contains(&next) {
            next.0 += 1;
        }
        if !spmc_table::is_valid_sp_id(next) {
            return Err(Error::new(
                &layout.file,
                format!("/{}", s.entry.name),
                "endpoint-id",
                "no free SP endpoint ID is left below 0xffc0",
            ));
        }
        s.id = next;
        used.insert(next);
    }
    Ok(())
}

fn resolve_caps(layout: &Layout, sps: &[PlannedSp], me: usize) -> Result<Caps> {
    let sp = &sps[me];
    let g = &sp.entry.grants;
    let node = |key: &str| format!("/{}/capabilities/{key}", sp.entry.name);
    let err =
        |key: &str, rule: &'static str, d: String| Error::new(&layout.file, node(key), rule, d);
    let lookup = |key: &str, name: &str| -> Result<&PlannedSp> {
        if name == sp.entry.name {
            return Err(err(
                key,
                "capability-self",
                format!("`{name}` grants a right to itself"),
            ));
        }
        sps.iter().find(|s| s.entry.name == name).ok_or_else(|| {
            err(
                key,
                "capability-unknown-sp",
                format!("`{name}` is not an SP of this set"),
            )
        })
    };
    let mut caps = Caps::default();
    let mm = MessagingMethod(sp.manifest.messaging_method);
    for name in &g.direct_messages {
        if name == NORMAL_WORLD {
            return Err(err(
                "direct-messages",
                "messaging-method",
                "SPs cannot send direct requests to the normal world (FF-A: they only respond)"
                    .into(),
            ));
        }
        let t = lookup("direct-messages", name)?;
        let tm = MessagingMethod(t.manifest.messaging_method);
        let v1 =
            mm.has(MessagingMethod::DIRECT_REQ_SEND) && tm.has(MessagingMethod::DIRECT_REQ_RECV);
        let v2 =
            mm.has(MessagingMethod::DIRECT_REQ2_SEND) && tm.has(MessagingMethod::DIRECT_REQ2_RECV);
        if !mm.sends_direct() {
            return Err(err(
                "direct-messages",
                "messaging-method",
                format!(
                    "granted direct requests to `{name}` but {}'s messaging-method {:#x} does not send direct requests (bit 1 or 10)",
                    sp.manifest.file.display(),
                    mm.0
                ),
            ));
        }
        if !v1 && !v2 {
            return Err(err(
                "direct-messages",
                "messaging-method",
                format!(
                    "`{name}` (messaging-method {:#x}) receives no direct request form that `{}` (messaging-method {:#x}) sends",
                    tm.0, sp.entry.name, mm.0
                ),
            ));
        }
        caps.direct.push(t.id);
    }
    for name in &g.memory_share {
        if name == NORMAL_WORLD {
            caps.memory_share_nw = true;
        } else {
            caps.memory_share.push(lookup("memory-share", name)?.id);
        }
    }
    for name in &g.notify {
        if name == NORMAL_WORLD {
            caps.notify_nw = true;
        } else {
            let t = lookup("notify", name)?;
            if !t.manifest.notification_support {
                return Err(err(
                    "notify",
                    "notification-support",
                    format!("`{name}`'s manifest has no `notification-support`"),
                ));
            }
            caps.notify.push(t.id);
        }
    }
    // Indirect messages: both ends must declare indirect messaging (messaging-method bit 2),
    // as the SPMC's gate requires at run time.
    if !g.indirect_messages.is_empty() && !mm.has(MessagingMethod::INDIRECT) {
        return Err(err(
            "indirect-messages",
            "messaging-method",
            format!(
                "granted indirect messages but {}'s messaging-method {:#x} does not declare indirect messaging (bit 2)",
                sp.manifest.file.display(),
                mm.0
            ),
        ));
    }
    for name in &g.indirect_messages {
        if name == NORMAL_WORLD {
            caps.indirect_nw = true;
        } else {
            let t = lookup("indirect-messages", name)?;
            let tm = MessagingMethod(t.manifest.messaging_method);
            if !tm.has(MessagingMethod::INDIRECT) {
                return Err(err(
                    "indirect-messages",
                    "messaging-method",
                    format!(
                        "`{name}` (messaging-method {:#x}) does not receive indirect messages (bit 2)",
                        tm.0
                    ),
                ));
            }
            caps.indirect.push(t.id);
        }
    }
    // Devices and interrupts: the manifest asks, the layout grants; both must agree.
    for d in &g.devices {
        if !sp.manifest.device_regions.iter().any(|r| &r.name == d) {
            return Err(err(
                "devices",
                "capability-unknown-device",
                format!(
                    "`{d}` is not a device-regions node of {}",
                    sp.manifest.file.display()
                ),
            ));
        }
    }
    let mut declared = BTreeSet::new();
    for r in &sp.manifest.device_regions {
        if !g.devices.contains(&r.name) {
            return Err(Error::new(
                &sp.manifest.file,
                r.node.clone(),
                "device-not-granted",
                format!(
                    "the SP set description does not grant device `{}` to `{}`",
                    r.name, sp.entry.name
                ),
            ));
        }
        for &(id, _) in &r.interrupts {
            if !g.interrupts.contains(&id) {
                return Err(Error::new(
                    &sp.manifest.file,
                    r.node.clone(),
                    "interrupt-not-granted",
                    format!(
                        "the SP set description does not grant interrupt {id} to `{}`",
                        sp.entry.name
                    ),
                ));
            }
            declared.insert(id);
        }
    }
    for &i in &g.interrupts {
        if !declared.contains(&i) {
            return Err(err(
                "interrupts",
                "capability-unknown-interrupt",
                format!(
                    "interrupt {i} is in no device region of {}",
                    sp.manifest.file.display()
                ),
            ));
        }
    }
    caps.interrupts = declared.into_iter().collect();
    for v in [
        &mut caps.direct,
        &mut caps.memory_share,
        &mut caps.notify,
        &mut caps.indirect,
    ] {
        v.sort_unstable();
        v.dedup();
    }
    Ok(caps)
}

/// The interrupts each SP owns exist on the platform, are nobody else's there, and fit the
/// SPMC's per-SP bookkeeping (64: kernel/src/spmc/interrupt.rs `MAX_PER_SP`).
fn check_interrupts_on_platform(platform: &Platform, sps: &[PlannedSp]) -> Result<()> {
    const MAX_PER_SP: usize = 64;
    for s in sps {
        for r in &s.manifest.device_regions {
            for &(id, _) in &r.interrupts {
                if id >= platform.interrupt_end {
                    return Err(Error::new(
                        &s.manifest.file,
                        r.node.clone(),
                        "interrupt-out-of-range",
                        format!(
                            "interrupt {id} does not exist on {} (its GIC has IDs below {})",
                            platform.name, platform.interrupt_end
                        ),
                    ));
                }
                if let Some((_, whose)) = platform.reserved_interrupts.iter().find(|r| r.0 == id) {
                    return Err(Error::new(
                        &s.manifest.file,
                        r.node.clone(),
                        "interrupt-reserved",
                        format!("interrupt {id} is {whose}"),
                    ));
                }
            }
        }
        if s.caps.interrupts.len() > MAX_PER_SP {
            return Err(Error::new(
                &s.manifest.file,
                "/device-regions",
                "interrupt-count",
                format!(
                    "{} interrupts: an SP may own at most {MAX_PER_SP}",
                    s.caps.interrupts.len()
                ),
            ));
        }
    }
    Ok(())
}

/// The SPs' memory-sharing quotas (their `memory-quota` overrides, or the SPMC's defaults)
/// and the normal world's must fit the SPMC's tables together: that is what makes exceeding
/// one's own quota NO_MEMORY for that endpoint only, never for the others (issue 10). The
/// fragment reassembly slots are shared on purpose, so only each SP's own `fragments` is
/// held against them.
fn check_memory_quotas(layout: &Layout, sps: &[PlannedSp]) -> Result<()> {
    use spmc_table::memory_capacity as cap;
    let node =
        |s: &PlannedSp, key: &str| format!("/{}/capabilities/memory-quota/{key}", s.entry.name);
    for s in sps {
        if let Some(f) = s.entry.grants.memory_quota.fragments {
            if f > cap::FRAGMENT_SLOTS {
                return Err(Error::new(
                    &layout.file,
                    node(s, "fragments"),
                    "memory-quota-oversubscribed",
                    format!(
                        "{f} fragmented transmissions, but the SPMC has {} reassembly slots",
                        cap::FRAGMENT_SLOTS
                    ),
                ));
            }
        }
    }
    type Pick = fn(&crate::layout::MemoryQuota) -> Option<u16>;
    let items: [(&str, Pick, u16, u16, u16, &str); 2] = [
        (
            "transactions",
            |q| q.transactions,
            cap::SP_TRANSACTIONS,
            cap::NW_TRANSACTIONS,
            cap::TRANSACTIONS,
            "transaction slots",
        ),
        (
            "donated",
            |q| q.donated,
            cap::SP_DONATED,
            cap::NW_DONATED,
            cap::DONATED,
            "donated-ranges entries",
        ),
    ];
    for (key, pick, sp_default, nw, capacity, table) in items {
        let each =
            |s: &PlannedSp| u32::from(pick(&s.entry.grants.memory_quota).unwrap_or(sp_default));
        let total: u32 = u32::from(nw) + sps.iter().map(each).sum::<u32>();
        if total > u32::from(capacity) {
            // Name the largest override (the likely mistake), else the set as a whole.
            let biggest = sps
                .iter()
                .filter(|s| pick(&s.entry.grants.memory_quota).is_some())
                .max_by_key(|s| each(s));
            let at = biggest.map_or_else(|| "/".to_string(), |s| node(s, key));
            return Err(Error::new(
                &layout.file,
                at,
                "memory-quota-oversubscribed",
                format!(
                    "the `{key}` quotas of the normal world ({nw}) and of the {} SPs (default {sp_default} each unless `memory-quota` says otherwise) add up to {total}, more than the SPMC's {capacity} {table}: lower some SP's `memory-quota`/`{key}`",
                    sps.len()
                ),
            ));
        }
    }
    Ok(())
}

fn check_interrupt_ownership(layout: &Layout, sps: &[PlannedSp]) -> Result<()> {
    for (i, s) in sps.iter().enumerate() {
        for o in &sps[..i] {
            if let Some(irq) = s
                .caps
                .interrupts
                .iter()
                .find(|x| o.caps.interrupts.contains(x))
            {
                return Err(Error::new(
                    &layout.file,
                    format!("/{}/capabilities/interrupts", s.entry.name),
                    "interrupt-conflict",
                    format!("interrupt {irq} is also granted to `{}`", o.entry.name),
                ));
            }
        }
    }
    Ok(())
}
