//! Function IDs and status codes the monitor decodes: SMCCC (Arm DEN0028), PSCI (Arm DEN0022)
//! and FF-A (Arm DEN0077, section 13 "ABI summary"). Written out here rather than taken from
//! `ffa-abi` on purpose: the fixture is an independent reading of the specification, so a wrong
//! constant in `ffa-abi` shows up as a failing test instead of agreeing with itself.

/// SMCCC "unknown function" return value (SMCCC section 5.2), also PSCI NOT_SUPPORTED.
pub const SMCCC_NOT_SUPPORTED: u64 = u64::MAX;

pub mod smccc {
    pub const VERSION: u32 = 0x8000_0000;
    pub const ARCH_FEATURES: u32 = 0x8000_0001;
    /// What TF-A reports: SMCCC v1.5 (include/lib/smccc.h SMCCC_MAJOR_VERSION 1,
    /// SMCCC_MINOR_VERSION 5; services/arm_arch_svc/arm_arch_svc_setup.c `smccc_version`).
    /// From v1.2 on, x0..x17 carry arguments and results, which FF-A v1.2 needs.
    pub const VERSION_1_5: u64 = 0x1_0005;
    /// The CPU vulnerability workarounds (include/services/arm_arch_svc.h).
    pub const ARCH_WORKAROUND_1: u32 = 0x8000_8000;
    pub const ARCH_WORKAROUND_2: u32 = 0x8000_7FFF;
    pub const ARCH_WORKAROUND_3: u32 = 0x8000_3FFF;
    pub const ARCH_WORKAROUND_4: u32 = 0x8000_0004;
    /// SMCCC_ARCH_FEATURES of a workaround: call it (SMC_WA_DO), or there is no need
    /// (SMC_ARCH_CALL_NOT_REQUIRED), include/lib/smccc.h.
    pub const WA_DO: i32 = 0;
    pub const NOT_REQUIRED: i32 = -2;

    /// The SVE hint of SMCCC v1.3 (x0 bit 16, include/lib/smccc.h `FUNCID_SVE_HINT_SHIFT`):
    /// set by a caller that has no live SVE state beyond the FP/SIMD registers. It is not part
    /// of the function ID.
    pub const SVE_HINT: u32 = 1 << 16;

    /// The function ID EL3 dispatches on for an SMC whose x0 is `x0`: the low 32 bits (TF-A
    /// common/runtime_svc.c `handler_sync_exception` reads `uint32_t smc_fid` from x0) with the
    /// SVE hint cleared (`sync_handler`: `smc_fid &= ~MASK(FUNCID_SVE_HINT)`, before the
    /// service lookup and the call of the handler).
    #[inline(always)]
    pub fn function_id(x0: u64) -> u32 {
        x0 as u32 & !SVE_HINT
    }
}

pub mod psci {
    pub const VERSION: u32 = 0x8400_0000;
    pub const CPU_SUSPEND_32: u32 = 0x8400_0001;
    pub const CPU_SUSPEND_64: u32 = 0xC400_0001;
    pub const CPU_OFF: u32 = 0x8400_0002;
    pub const CPU_ON_32: u32 = 0x8400_0003;
    pub const CPU_ON_64: u32 = 0xC400_0003;
    pub const AFFINITY_INFO_32: u32 = 0x8400_0004;
    pub const AFFINITY_INFO_64: u32 = 0xC400_0004;
    pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
    pub const SYSTEM_OFF: u32 = 0x8400_0008;
    pub const SYSTEM_RESET: u32 = 0x8400_0009;
    pub const FEATURES: u32 = 0x8400_000A;
    /// PSCI v1.1.
    pub const VERSION_1_1: u64 = 0x1_0001;

    pub const SUCCESS: i32 = 0;
    pub const NOT_SUPPORTED: i32 = -1;
    pub const INVALID_PARAMETERS: i32 = -2;
    pub const ALREADY_ON: i32 = -4;
    pub const ON_PENDING: i32 = -5;
    pub const INVALID_ADDRESS: i32 = -9;

    /// AFFINITY_INFO results.
    pub const AFF_ON: i32 = 0;
    pub const AFF_OFF: i32 = 1;
    pub const AFF_ON_PENDING: i32 = 2;
}

pub mod ffa {
    pub const ERROR: u32 = 0x8400_0060;
    pub const ERROR_64: u32 = 0xC400_0060;
    pub const SUCCESS_32: u32 = 0x8400_0061;
    pub const SUCCESS_64: u32 = 0xC400_0061;
    pub const INTERRUPT: u32 = 0x8400_0062;
    pub const INTERRUPT_64: u32 = 0xC400_0062;
    pub const VERSION: u32 = 0x8400_0063;
    pub const FEATURES: u32 = 0x8400_0064;
    pub const RX_RELEASE: u32 = 0x8400_0065;
    pub const RXTX_MAP_32: u32 = 0x8400_0066;
    pub const RXTX_MAP_64: u32 = 0xC400_0066;
    pub const RXTX_UNMAP: u32 = 0x8400_0067;
    pub const PARTITION_INFO_GET: u32 = 0x8400_0068;
    pub const ID_GET: u32 = 0x8400_0069;
    pub const MSG_WAIT: u32 = 0x8400_006B;
    pub const MSG_WAIT_64: u32 = 0xC400_006B;
    pub const YIELD: u32 = 0x8400_006C;
    pub const YIELD_64: u32 = 0xC400_006C;
    pub const RUN: u32 = 0x8400_006D;
    pub const MSG_SEND: u32 = 0x8400_006E;
    pub const DIRECT_REQ_32: u32 = 0x8400_006F;
    pub const DIRECT_REQ_64: u32 = 0xC400_006F;
    pub const DIRECT_RESP_32: u32 = 0x8400_0070;
    pub const DIRECT_RESP_64: u32 = 0xC400_0070;
    pub const MEM_DONATE_32: u32 = 0x8400_0071;
    pub const MEM_DONATE_64: u32 = 0xC400_0071;
    pub const MEM_LEND_32: u32 = 0x8400_0072;
    pub const MEM_LEND_64: u32 = 0xC400_0072;
    pub const MEM_SHARE_32: u32 = 0x8400_0073;
    pub const MEM_SHARE_64: u32 = 0xC400_0073;
    pub const MEM_RETRIEVE_REQ_32: u32 = 0x8400_0074;
    pub const MEM_RETRIEVE_REQ_64: u32 = 0xC400_0074;
    pub const MEM_RETRIEVE_RESP: u32 = 0x8400_0075;
    pub const MEM_RELINQUISH: u32 = 0x8400_0076;
    pub const MEM_RECLAIM: u32 = 0x8400_0077;
    pub const MEM_FRAG_RX: u32 = 0x8400_007A;
    pub const MEM_FRAG_TX: u32 = 0x8400_007B;
    pub const NORMAL_WORLD_RESUME: u32 = 0x8400_007C;
    pub const NORMAL_WORLD_RESUME_64: u32 = 0xC400_007C;
    pub const NOTIFICATION_BITMAP_CREATE: u32 = 0x8400_007D;
    pub const NOTIFICATION_INFO_GET_32: u32 = 0x8400_0083;
    pub const NOTIFICATION_INFO_GET_64: u32 = 0xC400_0083;
    pub const RX_ACQUIRE: u32 = 0x8400_0084;
    pub const SPM_ID_GET: u32 = 0x8400_0085;
    pub const MSG_SEND2: u32 = 0x8400_0086;
    pub const SECONDARY_EP_REGISTER_32: u32 = 0x8400_0087;
    pub const SECONDARY_EP_REGISTER_64: u32 = 0xC400_0087;
    pub const CONSOLE_LOG_32: u32 = 0x8400_008A;
    pub const CONSOLE_LOG_64: u32 = 0xC400_008A;
    pub const EL3_INTR_HANDLE: u32 = 0x8400_008C;
    pub const DIRECT_REQ2: u32 = 0xC400_008D;
    pub const DIRECT_RESP2: u32 = 0xC400_008E;

    /// FF-A status codes (DEN0077 table "Error status codes"), as carried in w2 of FFA_ERROR.
    pub const NOT_SUPPORTED: i32 = -1;
    pub const INVALID_PARAMETERS: i32 = -2;
    pub const DENIED: i32 = -6;

    /// The version this SPMD implements and reports to the SPMC: v1.2.
    pub const SPMD_VERSION: u32 = 0x1_0002;
    /// FF-A v1.0, what the SPMD answers itself for a v1.0 SPMC.
    pub const VERSION_1_0: u32 = 0x1_0000;
    /// Bit 31 of a version word must be zero.
    pub const VERSION_MBZ_BIT: u32 = 1 << 31;

    /// The SPMD's own endpoint ID (TF-A `SPMD_DIRECT_MSG_ENDPOINT_ID`).
    pub const SPMD_ID: u16 = 0xFFFF;
    /// Framework-message flag in w2 of a direct request/response.
    pub const FWK_MSG_BIT: u64 = 1 << 31;
    pub const FWK_PSCI: u64 = 0x0;
    pub const FWK_PM_RESP: u64 = 0x2;
    pub const FWK_VERSION_REQ: u64 = 0x8;
    pub const FWK_VERSION_RESP: u64 = 0x9;

    /// Returns whether `fid` is in the FF-A range as TF-A sees it: function numbers
    /// 0x60..=0x97, SMC32 or SMC64 (include/services/ffa_svc.h `is_ffa_fid`,
    /// FFA_FNUM_MIN_VALUE/FFA_FNUM_MAX_VALUE). Other standard-service IDs get SMC_UNK from
    /// services/std_svc/std_svc_setup.c.
    pub fn is_ffa(fid: u32) -> bool {
        matches!(fid & !0x4000_0000, 0x8400_0060..=0x8400_0097)
    }

    /// FF-A v1.2, the version from which TF-A passes x8..x17 (spmd_smc_switch_state).
    pub const VERSION_1_2: u32 = 0x1_0002;

    /// Returns the FFA_ERROR return registers for `code`.
    pub fn error(code: i32) -> [u64; 8] {
        [u64::from(ERROR), 0, u64::from(code as u32), 0, 0, 0, 0, 0]
    }

    /// Returns FFA_SUCCESS_32 with `w2`.
    pub fn success(w2: u64) -> [u64; 8] {
        [u64::from(SUCCESS_32), 0, w2, 0, 0, 0, 0, 0]
    }
}
