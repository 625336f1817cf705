//! Endpoint IDs and the packed ID pairs used in registers (DEN0077 "Partition
//! identification and discovery" and the per-ABI register tables).

/// A 16-bit FF-A endpoint / partition ID. Bit 15 set means the endpoint lives in the
/// secure world (DEN0077 "Partition identification and discovery"; TF-A and Hafnium use the same
/// convention).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EndpointId(pub u16);

impl EndpointId {
    /// The SPMD's own ID (TF-A `SPMD_DIRECT_MSG_ENDPOINT_ID`).
    pub const SPMD: EndpointId = EndpointId(0xFFFF);
    /// The ID the SPMD reports to the normal world (hypervisor or OS kernel).
    pub const NS_KERNEL: EndpointId = EndpointId(0);

    /// Returns true if bit 15 is set: a secure-world endpoint.
    pub const fn is_secure(self) -> bool {
        self.0 & 0x8000 != 0
    }

    /// Returns the raw value.
    pub const fn raw(self) -> u16 {
        self.0
    }
}

/// `{:#x}` prints the raw ID, as log lines and diagnostics always have.
impl core::fmt::LowerHex for EndpointId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::LowerHex::fmt(&self.0, f)
    }
}

impl From<u16> for EndpointId {
    fn from(v: u16) -> Self {
        EndpointId(v)
    }
}

impl From<EndpointId> for u16 {
    fn from(v: EndpointId) -> u16 {
        v.0
    }
}

/// For packing an ID into a register field (`u64::from(id) << 16`).
impl From<EndpointId> for u32 {
    fn from(v: EndpointId) -> u32 {
        u32::from(v.0)
    }
}

/// For packing an ID into a register field (`u64::from(id) << 16`).
impl From<EndpointId> for u64 {
    fn from(v: EndpointId) -> u64 {
        u64::from(v.0)
    }
}

/// Source and destination of a message, packed as `source << 16 | destination` in
/// w1 of direct messages and notification calls (DEN0077 "FFA_MSG_SEND_DIRECT_REQ" w1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct EndpointPair {
    /// Bits `[31:16]`: sender.
    pub source: EndpointId,
    /// Bits `[15:0]`: receiver.
    pub destination: EndpointId,
}

impl EndpointPair {
    /// Builds a pair.
    pub const fn new(source: EndpointId, destination: EndpointId) -> Self {
        Self {
            source,
            destination,
        }
    }

    /// Packs into a 32-bit word.
    pub const fn pack(self) -> u32 {
        ((self.source.0 as u32) << 16) | self.destination.0 as u32
    }

    /// Unpacks from the low 32 bits of a register.
    pub const fn unpack(w: u32) -> Self {
        Self::new(EndpointId((w >> 16) as u16), EndpointId(w as u16))
    }

    /// The same pair, swapped: what a response carries.
    pub const fn reversed(self) -> Self {
        Self::new(self.destination, self.source)
    }
}

/// Target information `endpoint << 16 | vcpu` (w1 of FFA_RUN, FFA_INTERRUPT,
/// FFA_SUCCESS, FFA_ERROR; DEN0077 "FFA_RUN" w1 "Target information").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TargetInfo {
    /// Bits `[31:16]`: endpoint ID.
    pub endpoint: EndpointId,
    /// Bits `[15:0]`: vCPU / execution context index.
    pub vcpu: u16,
}

impl TargetInfo {
    /// Builds target information.
    pub const fn new(endpoint: EndpointId, vcpu: u16) -> Self {
        Self { endpoint, vcpu }
    }

    /// Packs into a 32-bit word.
    pub const fn pack(self) -> u32 {
        ((self.endpoint.0 as u32) << 16) | self.vcpu as u32
    }

    /// Unpacks from a 32-bit word.
    pub const fn unpack(w: u32) -> Self {
        Self::new(EndpointId((w >> 16) as u16), w as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_bit() {
        assert!(EndpointId(0x8000).is_secure());
        assert!(EndpointId::SPMD.is_secure());
        assert!(!EndpointId(0x7FFF).is_secure());
        assert!(!EndpointId::NS_KERNEL.is_secure());
    }

    #[test]
    fn lower_hex_prints_the_raw_id() {
        assert_eq!(format!("{:#x}", EndpointId(0x8001)), "0x8001");
        assert_eq!(format!("{:#06x}", EndpointId(0x2)), "0x0002");
    }

    #[test]
    fn packing() {
        let p = EndpointPair::new(EndpointId(0x8001), EndpointId(0x0002));
        assert_eq!(p.pack(), 0x8001_0002);
        assert_eq!(EndpointPair::unpack(0x8001_0002), p);
        assert_eq!(p.reversed().pack(), 0x0002_8001);
        assert_eq!(
            TargetInfo::unpack(0x8003_0001),
            TargetInfo::new(EndpointId(0x8003), 1)
        );
    }
}
