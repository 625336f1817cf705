//! PSCI and SMCCC calls of the driver (Arm DEN0022 PSCI v1.1, DEN0028 SMCCC).
#![forbid(unsafe_code)]

use crate::arch::smc;

pub const SMCCC_VERSION: u32 = 0x8000_0000;
pub const PSCI_VERSION: u32 = 0x8400_0000;
pub const CPU_SUSPEND_64: u32 = 0xC400_0001;
pub const CPU_OFF: u32 = 0x8400_0002;
pub const CPU_ON_64: u32 = 0xC400_0003;
pub const AFFINITY_INFO_64: u32 = 0xC400_0004;
pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
pub const SYSTEM_OFF: u32 = 0x8400_0008;
pub const SYSTEM_RESET: u32 = 0x8400_0009;
pub const PSCI_FEATURES: u32 = 0x8400_000A;

pub const SUCCESS: i32 = 0;
pub const NOT_SUPPORTED: i32 = -1;
pub const INVALID_PARAMETERS: i32 = -2;
/// SMCCC_ARCH_FEATURES of a workaround: no need to call it (SMC_ARCH_CALL_NOT_REQUIRED).
pub const NOT_REQUIRED: i32 = -2;
pub const ALREADY_ON: i32 = -4;
pub const AFF_ON: i32 = 0;
pub const AFF_OFF: i32 = 1;
pub const AFF_ON_PENDING: i32 = 2;
pub const ON_PENDING: i32 = -5;

/// Calls `fid` with up to three arguments and returns w0 as a signed status.
pub fn call(fid: u32, a1: u64, a2: u64, a3: u64) -> i32 {
    let mut args = [0u64; 18];
    args[0] = u64::from(fid);
    args[1] = a1;
    args[2] = a2;
    args[3] = a3;
    smc(args)[0] as i32
}

pub fn cpu_on(mpidr: u64, entry: u64, context_id: u64) -> i32 {
    call(CPU_ON_64, mpidr, entry, context_id)
}

pub fn affinity_info(mpidr: u64) -> i32 {
    call(AFFINITY_INFO_64, mpidr, 0, 0)
}

/// Powers the calling core off; returns only if PSCI refused.
pub fn cpu_off() -> i32 {
    call(CPU_OFF, 0, 0, 0)
}

/// Ends the run; the fixture's monitor exits QEMU with `status` (x1).
pub fn system_off(status: u64) -> ! {
    loop {
        call(SYSTEM_OFF, status, 0, 0);
    }
}
