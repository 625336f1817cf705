//! Values of TF-A's platform ports that decide where BL32 (this SPMC) runs and which secure
//! memory EL3 keeps, with the TF-A file each comes from. Read from TF-A at v2.15 / master of
//! 2026-08 (the formulas have not changed since v2.10); derived values repeat TF-A's formula
//! so a reader can check them against the source. Build options that move them are named.

/// TF-A's `PAGE_SIZE` with the 4 KiB granule: the same 4 KiB as ffa-abi's FF-A page, the
/// workspace's one definition.
use ffa_abi::PAGE_SIZE;

/// TF-A `plat/qemu/qemu_sbsa/include/platform_def.h`, built `PLAT=qemu_sbsa SPD=spmd
/// SPMD_SPM_AT_SEL2=0` with the defaults `TRANSFER_LIST=0` and `ENABLE_RME=0` (either moves
/// BL31 and BL2 down; `RME_GPT_DRAM_SIZE` and `FW_HANDOFF_SIZE` are then non-zero).
pub mod qemu_sbsa {
    use super::{Range, PAGE_SIZE};

    /// `SEC_SRAM_BASE` / `SEC_SRAM_SIZE`: the secure RAM TF-A partitions.
    pub const SEC_SRAM_BASE: u64 = 0x2000_0000;
    pub const SEC_SRAM_SIZE: u64 = 0x2000_0000;
    pub const SEC_SRAM_LIMIT: u64 = SEC_SRAM_BASE + SEC_SRAM_SIZE;
    /// `SHARED_RAM_BASE` = SEC_SRAM_BASE, `SHARED_RAM_SIZE` 0x8000: the secondary cores' hold
    /// slots (`PLAT_QEMU_HOLD_BASE`).
    pub const SHARED_RAM: Range = Range {
        base: SEC_SRAM_BASE,
        size: 0x8000,
    };
    /// `BL_RAM_BASE` = SHARED_RAM_BASE + SHARED_RAM_SIZE.
    pub const BL_RAM_BASE: u64 = SHARED_RAM.base + SHARED_RAM.size;
    /// `BL1_SIZE`, `BL2_SIZE`, `BL31_SIZE`.
    pub const BL1_SIZE: u64 = 0x1_2000;
    pub const BL2_SIZE: u64 = 0x1_D000;
    pub const BL31_SIZE: u64 = 0x40_0000;
    /// `RME_GPT_DRAM_SIZE` (0 without ENABLE_RME) and `FW_HANDOFF_SIZE` (0 without
    /// TRANSFER_LIST).
    pub const RME_GPT_DRAM_SIZE: u64 = 0;
    pub const FW_HANDOFF_SIZE: u64 = 0;
    /// `TB_FW_CONFIG_SIZE` and `TOS_FW_CONFIG_SIZE`: one page each when `SPD_spmd` and
    /// `SPMD_SPM_AT_SEL2` are defined (the Makefile defines the latter as 0 or 1, so both
    /// pages exist for an S-EL1 SPMC too).
    pub const TB_FW_CONFIG_SIZE: u64 = PAGE_SIZE;
    pub const TOS_FW_CONFIG_SIZE: u64 = PAGE_SIZE;
    /// `BL1_RW_LIMIT` = BL_RAM_BASE + BL_RAM_SIZE - RME_GPT_DRAM_SIZE (the top of secure RAM),
    /// `BL1_RW_BASE` = BL1_RW_LIMIT - BL1_SIZE.
    pub const BL1_RW_LIMIT: u64 = SEC_SRAM_LIMIT - RME_GPT_DRAM_SIZE;
    pub const BL1_RW_BASE: u64 = BL1_RW_LIMIT - BL1_SIZE;
    /// `BL31_LIMIT` = BL1_RW_BASE - FW_HANDOFF_SIZE - TB_FW_CONFIG_SIZE - TOS_FW_CONFIG_SIZE,
    /// `BL31_BASE` = BL31_LIMIT - BL31_SIZE.
    pub const BL31_LIMIT: u64 =
        BL1_RW_BASE - FW_HANDOFF_SIZE - TB_FW_CONFIG_SIZE - TOS_FW_CONFIG_SIZE;
    pub const BL31: Range = Range::from_to(BL31_LIMIT - BL31_SIZE, BL31_LIMIT);
    /// `BL2_BASE` = BL31_BASE - BL2_SIZE, `BL2_LIMIT` = BL31_BASE.
    pub const BL2: Range = Range::from_to(BL31.base - BL2_SIZE, BL31.base);
    /// `TB_FW_CONFIG_BASE` = BL31_LIMIT + FW_HANDOFF_SIZE; `TOS_FW_CONFIG_BASE` follows it.
    /// BL2 loads the SPMC manifest (QEMU_TOS_FW_CONFIG_DTS) at TOS_FW_CONFIG_BASE
    /// (plat/qemu/common/qemu_bl2_mem_params_desc.c) and the SPMD passes it in x0.
    pub const TB_FW_CONFIG: Range = Range {
        base: BL31_LIMIT + FW_HANDOFF_SIZE,
        size: TB_FW_CONFIG_SIZE,
    };
    pub const TOS_FW_CONFIG: Range = Range {
        base: TB_FW_CONFIG.base + TB_FW_CONFIG.size,
        size: TOS_FW_CONFIG_SIZE,
    };
    /// `BL32_BASE` = BL32_SRAM_BASE = BL_RAM_BASE: BL2 loads BL32 here and BL31 enters it here
    /// (qemu_bl2_mem_params_desc.c `.ep_info.pc = BL32_BASE`); the SPMD does not use the SPMC
    /// manifest's load_address/entrypoint for an S-EL1 SPMC.
    pub const BL32_BASE: u64 = BL_RAM_BASE;
    /// `BL32_BASE` in the released TF-A v2.12 to v2.15, whose `SHARED_RAM_SIZE` is 0x2000
    /// (master raised it to 0x8000 in June 2026, commit 5c33fafcd, which moved BL_RAM_BASE and
    /// so BL32_BASE to 0x2000_8000). Nothing else this SPMC relies on moved with it: BL31, BL2,
    /// BL1's RW data and the config pages are placed down from the top of secure RAM. The SPMC
    /// entered here moves itself up to BL32_BASE before anything else runs (kernel `_start`), so
    /// one image boots under both.
    pub const RELEASED_BL32_BASE: u64 = SEC_SRAM_BASE + 0x2000;
    /// `BL32_LIMIT` = BL32_SRAM_LIMIT = BL2_BASE: the most BL2 loads.
    pub const BL32_LIMIT: u64 = BL2.base;
    /// Everything EL3 uses above BL32: BL2 (its memory is not reclaimed), BL31, the two config
    /// pages and BL1's RW data, up to the top of secure RAM.
    pub const EL3_HIGH: Range = Range::from_to(BL2.base, SEC_SRAM_LIMIT);
    /// `NS_DRAM0_BASE` (= PLAT_QEMU_DRAM0_BASE without RME): QEMU's DTB is at its start
    /// (`PLAT_QEMU_DT_BASE`).
    pub const NS_DRAM0_BASE: u64 = 0x100_0000_0000;
    /// `UART0_BASE` (normal world, boot console), `UART1_BASE` (secure; TF-A's crash console),
    /// `UART2_BASE` (secure).
    pub const UART0_BASE: u64 = 0x6000_0000;
    pub const UART1_BASE: u64 = 0x6003_0000;
    pub const UART2_BASE: u64 = 0x6004_0000;
    /// `GICD_BASE`, `GICR_BASE` (legacy values; platform version 0.1+ reads them from the DT,
    /// where QEMU gives the same).
    pub const GICD_BASE: u64 = 0x4006_0000;
    pub const GICR_BASE: u64 = 0x4008_0000;
    /// `PLATFORM_CORE_COUNT` = 64 clusters x 8: plat_core_pos_by_mpidr accepts any
    /// Aff0 < 8, Aff1 < 64, whether QEMU has that core or not.
    pub const MAX_CPUS_PER_CLUSTER: u64 = 8;
    pub const CLUSTER_COUNT: u64 = 64;
}

/// TF-A `plat/arm/board/fvp/include/platform_def.h`, `include/plat/arm/common/arm_def.h` and
/// `plat/arm/board/fvp/fdts/fvp_fw_config.dts`, built `PLAT=fvp SPD=spmd SPMD_SPM_AT_SEL2=0`.
pub mod fvp {
    use super::Range;

    /// `PLAT_ARM_TRUSTED_DRAM_BASE` / `_SIZE` (32 MiB).
    pub const TRUSTED_DRAM: Range = Range {
        base: 0x0600_0000,
        size: 0x0200_0000,
    };
    /// `PLAT_ARM_SPMC_BASE` = PLAT_ARM_TRUSTED_DRAM_BASE and `PLAT_ARM_SPMC_SIZE` = SZ_16M:
    /// BL32_BASE for SPD=spmd, and the most BL2 loads there.
    pub const PLAT_ARM_SPMC_BASE: u64 = TRUSTED_DRAM.base;
    pub const PLAT_ARM_SPMC_SIZE: u64 = 0x0100_0000;
    /// HW_CONFIG's load address in fvp_fw_config.dts (`hw-config { load-address =
    /// <0x0 0x07f00000>; max-size = PLAT_ARM_HW_CONFIG_SIZE }`), reserved to the end of
    /// trusted DRAM.
    pub const HW_CONFIG: Range = Range::from_to(0x07F0_0000, TRUSTED_DRAM.base + TRUSTED_DRAM.size);
    /// `ARM_TRUSTED_SRAM_BASE` 0x0400_0000, `PLAT_ARM_TRUSTED_SRAM_SIZE` =
    /// FVP_TRUSTED_SRAM_SIZE KiB (384 by default, 512 at most): BL1 RW, BL2, BL31, FW_CONFIG,
    /// TB_FW_CONFIG and TOS_FW_CONFIG (ARM_FW_CONFIG_BASE and fvp_fw_config.dts).
    pub const TRUSTED_SRAM: Range = Range {
        base: 0x0400_0000,
        size: 512 * 1024,
    };
    /// `ARM_DRAM1_BASE` / `ARM_DRAM1_SIZE`, and `ARM_TZC_DRAM1_SIZE` (16 MiB without RME): the
    /// TZC-secured top of DRAM1, whose top `ARM_EL3_TZC_DRAM1_SIZE` is EL3's own DRAM.
    pub const ARM_DRAM1_BASE: u64 = 0x8000_0000;
    pub const ARM_DRAM1_SIZE: u64 = 0x8000_0000;
    pub const ARM_TZC_DRAM1_SIZE: u64 = 0x0100_0000;
    pub const TZC_DRAM1_SECURE: Range = Range::from_to(
        ARM_DRAM1_BASE + ARM_DRAM1_SIZE - ARM_TZC_DRAM1_SIZE,
        ARM_DRAM1_BASE + ARM_DRAM1_SIZE,
    );
}

use super::Range;

// The values TF-A's own build prints, as a check on the formulas above.
const _: () = {
    assert!(qemu_sbsa::BL32_BASE == 0x2000_8000);
    assert!(qemu_sbsa::BL2.base == 0x3FBC_F000);
    assert!(qemu_sbsa::BL31.base == 0x3FBE_C000);
    assert!(qemu_sbsa::TOS_FW_CONFIG.base == 0x3FFE_D000);
    assert!(qemu_sbsa::BL1_RW_BASE == 0x3FFE_E000);
    // The released TF-A's BL32 entry lies below master's, in what master keeps as shared RAM
    // and the released versions give to BL32: the image moved up from there stays inside BL32's
    // memory of both.
    assert!(qemu_sbsa::RELEASED_BL32_BASE == 0x2000_2000);
    assert!(qemu_sbsa::RELEASED_BL32_BASE < qemu_sbsa::BL32_BASE);
    assert!(qemu_sbsa::RELEASED_BL32_BASE >= qemu_sbsa::SEC_SRAM_BASE + 0x2000);
};
