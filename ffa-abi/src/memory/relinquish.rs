//! The memory relinquish descriptor of FFA_MEM_RELINQUISH (DEN0077 v1.0 /
//! DEN0140 "Descriptor to relinquish a memory region"): handle u64 at 0, flags u32 at 8,
//! endpoint count u32 at 12, then the endpoint IDs (u16 each) from offset 16. The
//! layout is the same in every version.

use crate::endpoint::EndpointId;
use crate::error::{BuildError, DescError};
use crate::memory::MemHandle;
use crate::wire::{self, copy_window, Record};

/// Flag bit 0: zero memory after relinquish. Bit 1: operation time slicing.
pub const RELINQUISH_FLAGS_MASK: u32 = 0b11;

/// A validated view of a relinquish descriptor.
#[derive(Clone, Copy, Debug)]
pub struct MemRelinquish<'a> {
    buf: &'a [u8],
    /// Handle of the region.
    pub handle: MemHandle,
    /// Flags (bits `[1:0]`).
    pub flags: u32,
    count: usize,
}

impl<'a> MemRelinquish<'a> {
    /// Parses and validates: at least one endpoint, the array inside `buf`, reserved
    /// flag bits zero.
    pub fn parse(buf: &'a [u8]) -> Result<Self, DescError> {
        let t = |offset, len| DescError::Truncated { offset, len };
        let handle = MemHandle(wire::u64_at(buf, 0).ok_or(t(0, 8))?);
        let flags = wire::u32_at(buf, 8).ok_or(t(8, 4))?;
        let count = wire::u32_at(buf, 12).ok_or(t(12, 4))?;
        if flags & !RELINQUISH_FLAGS_MASK != 0 {
            return Err(DescError::NonZeroMbz { offset: 8 });
        }
        if count == 0 {
            return Err(DescError::InvalidField {
                offset: 12,
                field: "endpoint count",
            });
        }
        let end = (count as usize)
            .checked_mul(2)
            .and_then(|n| n.checked_add(16))
            .ok_or(DescError::Overflow)?;
        if end > buf.len() {
            return Err(DescError::CountTooLarge { count });
        }
        Ok(Self {
            buf,
            handle,
            flags,
            count: count as usize,
        })
    }

    /// Number of endpoints.
    pub fn endpoint_count(&self) -> usize {
        self.count
    }

    /// Endpoint `i`.
    pub fn endpoint(&self, i: usize) -> Option<EndpointId> {
        if i >= self.count {
            return None;
        }
        wire::u16_at(self.buf, 16 + 2 * i).map(EndpointId)
    }

    /// All endpoints.
    pub fn endpoints(&self) -> impl Iterator<Item = EndpointId> + '_ {
        (0..self.count).filter_map(move |i| self.endpoint(i))
    }
}

/// Writes a relinquish descriptor into `out`; returns its length.
pub fn write_relinquish(
    handle: MemHandle,
    flags: u32,
    endpoints: &[EndpointId],
    out: &mut [u8],
) -> Result<usize, BuildError> {
    let count = u32::try_from(endpoints.len()).map_err(|_| BuildError::FieldOverflow("count"))?;
    let total = endpoints
        .len()
        .checked_mul(2)
        .and_then(|n| n.checked_add(16))
        .ok_or(BuildError::FieldOverflow("count"))?;
    if out.len() < total {
        return Err(BuildError::NoSpace {
            needed: total,
            available: out.len(),
        });
    }
    let mut h = Record::<16>::new();
    h.put_u64(0, handle.0);
    h.put_u32(8, flags);
    h.put_u32(12, count);
    copy_window(&h.bytes, 0, 0, &mut out[..16]);
    for (i, e) in endpoints.iter().enumerate() {
        out[16 + 2 * i..18 + 2 * i].copy_from_slice(&e.0.to_le_bytes());
    }
    Ok(total)
}
