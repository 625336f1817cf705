//! Placement: where every image, boot-info area and memory region of the SP set lives in
//! the platform's memory, and the overlap / range / alignment rules that go with it.
//!
//! Rules (README.md "Placement"): fixed addresses (`load-address`, `physical-load-address`,
//! `base-address` regions) are reserved first; the remaining images are allocated first-fit
//! at 64 KiB boundaries in boot order, then each SP's boot-info area at 4 KiB boundaries.

use crate::error::{Error, Result};
use crate::manifest::RegionBase;
use crate::platform::Range;
use crate::sp_set::{PlacedRegion, Plan};
use spmc_table::{MemAttributes, BOOT_INFO_HEADER_RESERVE, PAGE_SIZE};
use std::path::PathBuf;

/// Alignment of images the tool places itself (generous so that a later switch to 64 KiB
/// translation granules or block mappings needs no layout change).
pub const IMAGE_ALIGN: u64 = 0x1_0000;

#[derive(Clone, Debug)]
struct Reservation {
    range: Range,
    sp: usize,
    what: String,
    /// NS memory regions of different SPs may overlap: the normal world owns that memory
    /// anyway, so exclusivity cannot be promised for it.
    ns_shareable: bool,
}

struct Placer {
    reserved: Vec<Reservation>,
}

impl Placer {
    fn conflict(&self, r: &Range, sp: usize, ns: bool) -> Option<&Reservation> {
        self.reserved
            .iter()
            .find(|o| o.range.overlaps(r) && !(ns && o.ns_shareable && o.sp != sp))
    }

    /// Finds the lowest `align`-aligned free `size` bytes in `pool`.
    fn allocate(&self, pool: &Range, size: u64, align: u64) -> Option<u64> {
        let mut cand = pool.base.checked_next_multiple_of(align)?;
        loop {
            let r = Range { base: cand, size };
            if !pool.contains_range(&r) || cand.checked_add(size).is_none() {
                return None;
            }
            match self
                .reserved
                .iter()
                .filter(|o| o.range.overlaps(&r))
                .map(|o| o.range.end_saturating())
                .max()
            {
                None => return Some(cand),
                Some(end) => cand = end.checked_next_multiple_of(align)?,
            }
        }
    }
}

fn span(base: u64, pages: u32) -> Option<Range> {
    let size = u64::from(pages).checked_mul(PAGE_SIZE)?;
    base.checked_add(size)?;
    Some(Range { base, size })
}

/// Places every SP of `plan` (fills image, boot-info, memory and rx/tx addresses).
pub fn place(plan: &mut Plan) -> Result<()> {
    if let Some((offered, el3)) = plan.platform.el3_overlap() {
        return Err(Error::new(
            format!("<platform {}>", plan.platform.name),
            "/",
            "el3-memory",
            format!("{offered} is offered to SPs but overlaps EL3's memory {el3}"),
        ));
    }
    let pool = plan.platform.sp_pool;
    let mut p = Placer {
        reserved: Vec::new(),
    };
    let err =
        |file: &PathBuf, node: &str, rule: &'static str, d: String| Error::new(file, node, rule, d);

    // 1. Fixed image addresses.
    for (i, sp) in plan.sps.iter_mut().enumerate() {
        let Some(base) = sp.manifest.load_address.or(sp.entry.physical_load_address) else {
            continue;
        };
        let file = &sp.manifest.file;
        if base % PAGE_SIZE != 0 {
            return Err(err(
                file,
                "/",
                "region-alignment",
                format!("load address {base:#x} is not 4 KiB aligned"),
            ));
        }
        let r = Range {
            base,
            size: sp.entry.size,
        };
        if let Some(e) = plan.platform.el3_clash(&r) {
            return Err(err(
                file,
                "/",
                "el3-memory",
                format!(
                    "image region {r} of `{}` overlaps EL3's memory {e}",
                    sp.entry.name
                ),
            ));
        }
        if !pool.contains_range(&r) || base.checked_add(sp.entry.size).is_none() {
            return Err(err(
                file,
                "/",
                "region-outside",
                format!(
                    "image region {r} of `{}` is not inside the SP pool {pool}",
                    sp.entry.name
                ),
            ));
        }
        if let Some(o) = p.conflict(&r, i, false) {
            return Err(err(
                file,
                "/",
                "region-overlap",
                format!("image region {r} overlaps {}", o.what),
            ));
        }
        sp.image_base = base;
        p.reserved.push(Reservation {
            range: r,
            sp: i,
            what: format!("the image region of `{}`", sp.entry.name),
            ns_shareable: false,
        });
    }

    // 2. Absolute memory regions, and device regions.
    let platform = plan.platform.clone();
    for (i, sp) in plan.sps.iter().enumerate() {
        let file = &sp.manifest.file;
        for m in &sp.manifest.memory_regions {
            let RegionBase::Absolute(base) = m.base else {
                continue;
            };
            let r = span(base, m.pages).ok_or_else(|| {
                err(
                    file,
                    &m.node,
                    "region-outside",
                    "region wraps the address space".into(),
                )
            })?;
            if let Some(e) = platform.el3_clash(&r) {
                return Err(err(
                    file,
                    &m.node,
                    "el3-memory",
                    format!("{r} overlaps EL3's memory {e}"),
                ));
            }
            let ns = MemAttributes(m.attributes).non_secure();
            let allowed: Vec<Range> = if ns {
                platform.ns_memory.clone()
            } else {
                std::iter::once(pool)
                    .chain(platform.secure_memory.iter().copied())
                    .collect()
            };
            if !allowed.iter().any(|a| a.contains_range(&r)) {
                let kind = if ns { "non-secure" } else { "secure" };
                return Err(err(
                    file,
                    &m.node,
                    "region-outside",
                    format!(
                        "{r} is not inside the platform's {kind} memory ({})",
                        list(&allowed)
                    ),
                ));
            }
            if let Some(o) = p.conflict(&r, i, ns) {
                return Err(err(
                    file,
                    &m.node,
                    "region-overlap",
                    format!("{r} overlaps {}", o.what),
                ));
            }
            p.reserved.push(Reservation {
                range: r,
                sp: i,
                what: format!("memory region {} of `{}`", m.node, sp.entry.name),
                ns_shareable: ns,
            });
        }
    }
    let mut devices: Vec<Reservation> = Vec::new();
    for (i, sp) in plan.sps.iter().enumerate() {
        let file = &sp.manifest.file;
        for d in &sp.manifest.device_regions {
            let r = span(d.base, d.pages).ok_or_else(|| {
                err(
                    file,
                    &d.node,
                    "region-outside",
                    "region wraps the address space".into(),
                )
            })?;
            if let Some(e) = platform.el3_clash(&r) {
                return Err(err(
                    file,
                    &d.node,
                    "el3-memory",
                    format!("{r} overlaps EL3's memory {e}"),
                ));
            }
            if !platform.devices.iter().any(|a| a.contains_range(&r)) {
                return Err(err(
                    file,
                    &d.node,
                    "region-outside",
                    format!(
                        "{r} is not inside the platform's device ranges ({})",
                        list(&platform.devices)
                    ),
                ));
            }
            if let Some(o) = devices.iter().find(|o| o.range.overlaps(&r)) {
                let rule = if o.sp == i {
                    "region-overlap"
                } else {
                    "device-conflict"
                };
                return Err(err(file, &d.node, rule, format!("{r} overlaps {}", o.what)));
            }
            devices.push(Reservation {
                range: r,
                sp: i,
                what: format!("device region {} of `{}`", d.node, sp.entry.name),
                ns_shareable: false,
            });
        }
    }

    // 3. Images without a fixed address, in boot order.
    for (i, sp) in plan.sps.iter_mut().enumerate() {
        if sp
            .manifest
            .load_address
            .or(sp.entry.physical_load_address)
            .is_some()
        {
            continue;
        }
        let base = p
            .allocate(&pool, sp.entry.size, IMAGE_ALIGN)
            .ok_or_else(|| {
                err(
                    &plan.layout_file,
                    &format!("/{}/size", sp.entry.name),
                    "pool-exhausted",
                    format!(
                        "no free {:#x} bytes left in the SP pool {pool}",
                        sp.entry.size
                    ),
                )
            })?;
        sp.image_base = base;
        p.reserved.push(Reservation {
            range: Range {
                base,
                size: sp.entry.size,
            },
            sp: i,
            what: format!("the image region of `{}`", sp.entry.name),
            ns_shareable: false,
        });
    }

    // 3b. The manifest copy the SP is given names every region's address as a 64-bit
    // `base-address`: regions placed relative to the image get it now that the image is
    // placed, and one-cell values are widened (stock Trusted Services SPs refuse a region
    // without an 8-byte `base-address`; crate::base_address). Offsets that do not fit are
    // left out here and refused in step 5.
    for sp in plan.sps.iter_mut() {
        let mut bases: Vec<(String, u64)> = sp
            .manifest
            .memory_regions
            .iter()
            .filter_map(|m| match m.base {
                RegionBase::Relative(off) => {
                    Some((m.node.clone(), sp.image_base.checked_add(off)?))
                }
                RegionBase::Absolute(b) => Some((m.node.clone(), b)),
            })
            .collect();
        bases.extend(
            sp.manifest
                .device_regions
                .iter()
                .map(|d| (d.node.clone(), d.base)),
        );
        if bases.is_empty() {
            continue;
        }
        let root = crate::fdt::parse(&sp.loaded.dtb)
            .map_err(|d| err(&sp.manifest.file, "/", "dtb-malformed", d))?;
        sp.loaded.dtb = crate::base_address::with_base_addresses(&root, &bases);
    }

    // 4. Boot-info areas: header reserve + manifest DTB, whole pages.
    for (i, sp) in plan.sps.iter_mut().enumerate() {
        let bytes =
            BOOT_INFO_HEADER_RESERVE + u64::try_from(sp.loaded.dtb.len()).unwrap_or(u64::MAX);
        let pages = u32::try_from(bytes.div_ceil(PAGE_SIZE)).unwrap_or(u32::MAX);
        let size = u64::from(pages) * PAGE_SIZE;
        let base = p.allocate(&pool, size, PAGE_SIZE).ok_or_else(|| {
            err(
                &plan.layout_file,
                &format!("/{}", sp.entry.name),
                "pool-exhausted",
                format!(
                    "no free {size:#x} bytes left in the SP pool {pool} for the boot information"
                ),
            )
        })?;
        sp.boot_info_base = base;
        sp.boot_info_pages = pages;
        p.reserved.push(Reservation {
            range: Range { base, size },
            sp: i,
            what: format!("the boot-info area of `{}`", sp.entry.name),
            ns_shareable: false,
        });
    }

    // 5. Resolve every memory region; image-relative ones must stay inside the image region.
    for sp in plan.sps.iter_mut() {
        let file = sp.manifest.file.clone();
        let image = Range {
            base: sp.image_base,
            size: sp.entry.size,
        };
        let mut placed: Vec<PlacedRegion> = Vec::new();
        for m in &sp.manifest.memory_regions {
            let base = match m.base {
                RegionBase::Absolute(b) => b,
                RegionBase::Relative(off) => {
                    let r = span(off, m.pages).filter(|r| r.end_saturating() <= sp.entry.size);
                    if r.is_none() {
                        return Err(err(&file, &m.node, "region-outside", format!(
                            "offset {off:#x} + {} pages is outside the {:#x}-byte image region (sp_layout `size`)", m.pages, sp.entry.size)));
                    }
                    image.base + off
                }
            };
            let r = span(base, m.pages).unwrap_or(Range { base, size: 0 });
            if let Some(o) = placed
                .iter()
                .find(|o| span(o.base, o.desc.pages).is_some_and(|x| x.overlaps(&r)))
            {
                return Err(err(
                    &file,
                    &m.node,
                    "region-overlap",
                    format!("{r} overlaps memory region {} of the same SP", o.desc.node),
                ));
            }
            placed.push(PlacedRegion {
                desc: m.clone(),
                base,
            });
        }
        if let Some(rt) = &sp.manifest.rx_tx {
            let rx = placed
                .iter()
                .find(|x| x.desc.node == sp.manifest.memory_regions[rt.rx].node);
            let tx = placed
                .iter()
                .find(|x| x.desc.node == sp.manifest.memory_regions[rt.tx].node);
            if let (Some(rx), Some(tx)) = (rx, tx) {
                sp.rx_tx = Some((rx.base, tx.base, rx.desc.pages));
            }
            // The buffers appear only as `rx_tx` in the table: the kernel maps them with the
            // mailbox permissions (RX read-only for the SP), so each page is mapped once.
            let names = [
                &sp.manifest.memory_regions[rt.rx].node,
                &sp.manifest.memory_regions[rt.tx].node,
            ];
            placed.retain(|x| !names.contains(&&x.desc.node));
        }
        placed.sort_by_key(|x| x.base);
        sp.memory = placed;
        sp.devices.sort_by_key(|d| d.base);
    }
    Ok(())
}

fn list(ranges: &[Range]) -> String {
    if ranges.is_empty() {
        return "none".into();
    }
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
