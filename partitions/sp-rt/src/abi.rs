//! Raw FF-A function IDs and error codes used by the runtime (Arm DEN0077 FF-A v1.2, chapter
//! 13 "ABI summary"; ffa-facts.md section 1).
//!
//! Private stop-gap: the project's `ffa-abi` crate is the one place these numbers should live.
//! Until its typed API lands, the runtime keeps the handful it needs here, in one module, so
//! switching is a local change.

/// FF-A function IDs (SMC32 = 0x8400_0000 | n, SMC64 = 0xC400_0000 | n).
#[allow(dead_code)] // the full set the runtime decodes or may call; not all used yet
pub(crate) mod fid {
    pub const ERROR: u32 = 0x8400_0060;
    pub const SUCCESS_32: u32 = 0x8400_0061;
    pub const SUCCESS_64: u32 = 0xC400_0061;
    pub const INTERRUPT: u32 = 0x8400_0062;
    pub const VERSION: u32 = 0x8400_0063;
    pub const FEATURES: u32 = 0x8400_0064;
    pub const RX_RELEASE: u32 = 0x8400_0065;
    pub const RXTX_MAP_64: u32 = 0xC400_0066;
    pub const RXTX_UNMAP: u32 = 0x8400_0067;
    pub const PARTITION_INFO_GET: u32 = 0x8400_0068;
    pub const ID_GET: u32 = 0x8400_0069;
    pub const MSG_WAIT: u32 = 0x8400_006B;
    pub const YIELD: u32 = 0x8400_006C;
    pub const RUN: u32 = 0x8400_006D;
    pub const MSG_SEND_DIRECT_REQ_32: u32 = 0x8400_006F;
    pub const MSG_SEND_DIRECT_REQ_64: u32 = 0xC400_006F;
    pub const MSG_SEND_DIRECT_RESP_32: u32 = 0x8400_0070;
    pub const MSG_SEND_DIRECT_RESP_64: u32 = 0xC400_0070;
    pub const SPM_ID_GET: u32 = 0x8400_0085;
    pub const MEM_PERM_GET_64: u32 = 0xC400_0088;
    pub const MEM_PERM_SET_64: u32 = 0xC400_0089;
    pub const CONSOLE_LOG_64: u32 = 0xC400_008A;
    pub const MSG_SEND_DIRECT_REQ2: u32 = 0xC400_008D;
    pub const MSG_SEND_DIRECT_RESP2: u32 = 0xC400_008E;
}

/// FF-A status codes carried in w2 of FFA_ERROR (FF-A v1.2 table 12.2 "Status codes").
pub(crate) mod err {
    pub const NOT_SUPPORTED: i32 = -1;
    pub const INVALID_PARAMETERS: i32 = -2;
    pub const NO_MEMORY: i32 = -3;
    pub const BUSY: i32 = -4;
    pub const INTERRUPTED: i32 = -5;
    pub const DENIED: i32 = -6;
    pub const RETRY: i32 = -7;
    pub const ABORTED: i32 = -8;
    pub const NO_DATA: i32 = -9;
}
