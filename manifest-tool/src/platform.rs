//! The platform facts placement needs: the SP pool and the memory and device ranges SPs may
//! be given. Built in for QEMU sbsa-ref and Base FVP, or read from a JSON file.

use crate::error::{Error, Result};
use crate::json;
use std::path::Path;

/// A half-open address range `[base, base + size)`: the workspace's one physical range type
/// (`ffa_abi::PhysRange`, through spmc-table), under the name the tool's code uses.
pub use spmc_table::PhysRange as Range;

/// What the tool knows about the target platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    /// Name used in reports.
    pub name: String,
    /// Secure RAM reserved for SP images, boot-info regions and `base-address` memory regions.
    pub sp_pool: Range,
    /// Other secure RAM a `base-address` memory region may name.
    pub secure_memory: Vec<Range>,
    /// Non-secure RAM a `base-address` region with the NS attribute may name.
    pub ns_memory: Vec<Range>,
    /// MMIO ranges device regions may name.
    pub devices: Vec<Range>,
    /// Secure memory EL3 keeps (TF-A's BL31/BL2/BL1 RW data, shared RAM, config pages): no
    /// other range of the platform may overlap it and no SP region is ever placed in it.
    pub el3_reserved: Vec<Range>,
    /// One past the highest interrupt ID the platform's GIC has.
    pub interrupt_end: u32,
    /// Interrupt IDs no SP may own, with whose they are.
    pub reserved_interrupts: Vec<(u32, &'static str)>,
}

/// SGIs 0-7 are the normal world's inter-processor interrupts and 8-15 are EL3's secure SGIs
/// on TF-A's Arm and QEMU platforms (`PLATFORM_G1S_PROPS`): no SGI is an SP's.
fn reserved_interrupts(secure_timer: u32, ns_timers: [u32; 3]) -> Vec<(u32, &'static str)> {
    let mut v: Vec<(u32, &'static str)> = (0..8)
        .map(|i| {
            (
                i,
                "a non-secure SGI (the normal world's inter-processor interrupt)",
            )
        })
        .chain((8..16).map(|i| (i, "a secure SGI kept by EL3 (TF-A's PLATFORM_G1S_PROPS)")))
        .collect();
    v.push((
        secure_timer,
        "the secure physical timer, which the SPMC keeps for its time limits",
    ));
    v.extend(ns_timers.map(|t| (t, "a non-secure timer PPI (the normal world's)")));
    v
}

impl Platform {
    /// QEMU sbsa-ref under TF-A's qemu_sbsa layout (platform-facts `qemu_sbsa`): the SP pool
    /// 0x2400_0000..0x3000_0000, 1 GiB of NS DRAM from 0x100_0000_0000, and the secure devices
    /// the SPMC does not keep for itself (the second secure UART, the secure embedded
    /// controller, the SBSA generic watchdog and the storage part of the secure flash). The free secure RAM above the pool is deliberately not offered: tests use
    /// it as memory that no partition owns.
    pub fn qemu_sbsa() -> Self {
        use platform_facts::qemu_sbsa as q;
        Self {
            name: "qemu-sbsa".into(),
            sp_pool: q::SP_POOL,
            secure_memory: Vec::new(),
            ns_memory: vec![q::NS_DRAM_FOR_SPS],
            devices: vec![q::STORAGE_FLASH, q::SECURE_EC, q::WATCHDOG, q::SP_UART],
            el3_reserved: q::EL3_RESERVED.to_vec(),
            interrupt_end: q::INTID_END,
            reserved_interrupts: reserved_interrupts(q::SECURE_TIMER_INTID, q::NS_TIMER_INTIDS),
        }
    }

    /// Base FVP under TF-A (SPD=spmd, SPMD_SPM_AT_SEL2=0), as platform-fvp places the SPMC
    /// (platform-facts `fvp`): the SPMC owns the first 16 MiB of TF-A's trusted DRAM and the
    /// SP pool runs from there to HW_CONFIG (0x07F0_0000). NS DRAM is DRAM1 below its
    /// TZC-secured top 16 MiB. Devices: UART2 (TF-A's TSP UART; UART1 is TF-A's and the SPMC's
    /// console) and the secure timer control and CNTBase frames.
    pub fn fvp() -> Self {
        use platform_facts::fvp as f;
        Self {
            name: "fvp".into(),
            sp_pool: f::SP_POOL,
            secure_memory: Vec::new(),
            ns_memory: vec![f::NS_DRAM[0]],
            devices: vec![f::SP_UART, f::SECURE_TIMER],
            el3_reserved: f::EL3_RESERVED.to_vec(),
            interrupt_end: f::INTID_END,
            reserved_interrupts: reserved_interrupts(f::SECURE_TIMER_INTID, f::NS_TIMER_INTIDS),
        }
    }

    /// Checks that no range the platform offers (SP pool, secure and non-secure memory,
    /// devices) overlaps EL3's memory; returns `(offered, el3)` for the first that does.
    pub fn el3_overlap(&self) -> Option<(Range, Range)> {
        let offered = std::iter::once(self.sp_pool)
            .chain(self.secure_memory.iter().copied())
            .chain(self.ns_memory.iter().copied())
            .chain(self.devices.iter().copied());
        for r in offered {
            if let Some(e) = self.el3_clash(&r) {
                return Some((r, e));
            }
        }
        None
    }

    /// Returns the EL3 range `r` overlaps, if any.
    pub fn el3_clash(&self, r: &Range) -> Option<Range> {
        self.el3_reserved.iter().copied().find(|e| e.overlaps(r))
    }

    /// Resolves a `--platform` argument: `qemu-sbsa`, `fvp`, or a path to a JSON file.
    pub fn from_arg(arg: &str) -> Result<Self> {
        match arg {
            "qemu-sbsa" | "qemu" | "sbsa-ref" => Ok(Self::qemu_sbsa()),
            "fvp" => Ok(Self::fvp()),
            path => Self::from_json_file(Path::new(path)),
        }
    }

    /// Reads a platform description:
    /// `{ "name": "...", "sp-pool": [base, end], "secure-memory": [[base, end], ...],
    ///    "ns-memory": [...], "devices": [...], "el3-reserved": [...] }`; numbers may be JSON
    /// integers or hex strings. A range offered to SPs that overlaps `el3-reserved` is refused
    /// (`el3-memory`).
    pub fn from_json_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(path, "/", "file-unreadable", e.to_string()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::new(path, "/", "json-syntax", e.to_string()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::new(path, "/", "json-shape", "expected an object"))?;
        for key in obj.keys() {
            if ![
                "name",
                "sp-pool",
                "secure-memory",
                "ns-memory",
                "devices",
                "el3-reserved",
            ]
            .contains(&key.as_str())
            {
                return Err(Error::new(
                    path,
                    format!("/{key}"),
                    "unknown-key",
                    "not a platform key",
                ));
            }
        }
        let range = |v: &serde_json::Value, node: &str| -> Result<Range> {
            let pair = v
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| Error::new(path, node, "json-shape", "expected [base, end]"))?;
            let base =
                json::number(&pair[0]).map_err(|d| Error::new(path, node, "json-shape", d))?;
            let end =
                json::number(&pair[1]).map_err(|d| Error::new(path, node, "json-shape", d))?;
            if end <= base {
                return Err(Error::new(
                    path,
                    node,
                    "range-empty",
                    "end must exceed base",
                ));
            }
            Ok(Range::from_to(base, end))
        };
        let list = |key: &str| -> Result<Vec<Range>> {
            match obj.get(key) {
                None => Ok(Vec::new()),
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| range(v, &format!("/{key}/{i}")))
                    .collect(),
                Some(_) => Err(Error::new(
                    path,
                    format!("/{key}"),
                    "json-shape",
                    "expected a list",
                )),
            }
        };
        let pool = obj.get("sp-pool").ok_or_else(|| {
            Error::new(path, "/sp-pool", "missing-key", "the SP pool is required")
        })?;
        let platform = Self {
            name: obj
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("custom")
                .to_string(),
            sp_pool: range(pool, "/sp-pool")?,
            secure_memory: list("secure-memory")?,
            ns_memory: list("ns-memory")?,
            devices: list("devices")?,
            el3_reserved: list("el3-reserved")?,
            // GICv3's largest SPI range unless the file says less; the timer PPIs the Arm
            // BSA recommends (secure physical 29, non-secure 26, 27, 30).
            interrupt_end: match obj.get("interrupt-end") {
                None => 1020,
                Some(v) => crate::json::number(v)
                    .ok()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|&n| n <= 1020)
                    .ok_or_else(|| {
                        Error::new(
                            path,
                            "/interrupt-end",
                            "json-shape",
                            format!("{v} is not an interrupt ID bound (at most 1020)"),
                        )
                    })?,
            },
            reserved_interrupts: reserved_interrupts(29, [26, 27, 30]),
        };
        if let Some((offered, el3)) = platform.el3_overlap() {
            return Err(Error::new(
                path,
                "/el3-reserved",
                "el3-memory",
                format!("{offered} is offered to SPs but overlaps EL3's memory {el3}"),
            ));
        }
        Ok(platform)
    }
}
