//! The FFA_SUCCESS answers of the notification ABIs (DEN0077 v1.1+ "Notifications"):
//! the bitmaps returned by FFA_NOTIFICATION_GET and the ID lists returned by
//! FFA_NOTIFICATION_INFO_GET.
//!
//! FFA_NOTIFICATION_INFO_GET, w2/x2: bit 0 "more pending", bits `[6:1]` reserved,
//! bits `[11:7]` the number of ID lists, then from bit 12 one 2-bit field per list with
//! the number of vCPU IDs that follow the list's endpoint ID. The IDs themselves are
//! packed as 16-bit values, first one least significant, in w3..w7 (2 per register,
//! 10 in all) or x3..x7 (4 per register, 20 in all).

use crate::endpoint::{EndpointId, TargetInfo};
use crate::error::{BuildError, DescError};
use crate::interface::{Interface, SuccessArgs};
use crate::regs::Regs;

/// The four bitmaps of an FFA_NOTIFICATION_GET answer: w2/w3 from SPs, w4/w5 from VMs,
/// w6 from the SPM, w7 from the hypervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct NotificationBitmaps {
    /// Pending notifications from partitions.
    pub sp: u64,
    /// Pending notifications from VMs.
    pub vm: u64,
    /// Pending framework notifications from the SPM.
    pub spm: u32,
    /// Pending framework notifications from the hypervisor.
    pub hyp: u32,
}

impl NotificationBitmaps {
    /// Builds the FFA_SUCCESS_32 answer.
    pub fn to_success(self) -> Regs {
        Regs::success32(
            TargetInfo::default(),
            [
                self.sp as u32,
                (self.sp >> 32) as u32,
                self.vm as u32,
                (self.vm >> 32) as u32,
                self.spm,
                self.hyp,
            ],
        )
    }

    /// Reads w2..w7 of the answer.
    pub fn from_args(a: [u32; 6]) -> Self {
        Self {
            sp: u64::from(a[0]) | (u64::from(a[1]) << 32),
            vm: u64::from(a[2]) | (u64::from(a[3]) << 32),
            spm: a[4],
            hyp: a[5],
        }
    }
}

/// One list of FFA_NOTIFICATION_INFO_GET: an endpoint and up to three of its vCPUs
/// with per-vCPU notifications pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct InfoGetList {
    /// The endpoint with pending notifications.
    pub endpoint: EndpointId,
    /// vCPU IDs; only the first `vcpu_count` are meaningful.
    pub vcpus: [u16; 3],
    /// Number of vCPU IDs (0-3).
    pub vcpu_count: u8,
}

/// Most IDs an SMC32 answer can carry.
pub const MAX_IDS_32: usize = 10;
/// Most IDs an SMC64 answer can carry.
pub const MAX_IDS_64: usize = 20;

fn capacity(is_64: bool) -> usize {
    if is_64 {
        MAX_IDS_64
    } else {
        MAX_IDS_32
    }
}

/// Builds the FFA_SUCCESS answer to FFA_NOTIFICATION_INFO_GET (SMC32 or SMC64 form as
/// `is_64`). Lists that do not fit are a caller error: split them and set
/// `more_pending`.
pub fn info_get_success(
    is_64: bool,
    more_pending: bool,
    lists: &[InfoGetList],
) -> Result<Regs, BuildError> {
    let cap = capacity(is_64);
    let mut ids = [0u16; MAX_IDS_64];
    let mut n = 0;
    let mut w2: u64 = u64::from(more_pending);
    if lists.len() > 31 {
        return Err(BuildError::FieldOverflow("list count"));
    }
    for (i, l) in lists.iter().enumerate() {
        if l.vcpu_count > 3 {
            return Err(BuildError::FieldOverflow("vCPU count"));
        }
        let len = 1 + usize::from(l.vcpu_count);
        if n + len > cap {
            return Err(BuildError::FieldOverflow("ID lists"));
        }
        ids[n] = l.endpoint.0;
        ids[n + 1..n + len].copy_from_slice(&l.vcpus[..len - 1]);
        n += len;
        w2 |= u64::from(l.vcpu_count) << (12 + 2 * i);
    }
    w2 |= (lists.len() as u64) << 7;
    let args = if is_64 {
        let mut a = [0u64; 16];
        a[0] = w2;
        for (i, id) in ids.iter().enumerate() {
            a[1 + i / 4] |= u64::from(*id) << (16 * (i % 4));
        }
        SuccessArgs::Args64(a)
    } else {
        let mut a = [0u32; 6];
        a[0] = w2 as u32;
        for (i, id) in ids.iter().take(MAX_IDS_32).enumerate() {
            a[1 + i / 2] |= u32::from(*id) << (16 * (i % 2));
        }
        SuccessArgs::Args32(a)
    };
    Ok(Interface::Success {
        target: TargetInfo::default(),
        args,
    }
    .encode())
}

/// A validated FFA_NOTIFICATION_INFO_GET answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoGet {
    /// More notifications are pending than fit in this answer.
    pub more_pending: bool,
    lists: [InfoGetList; MAX_IDS_64],
    count: usize,
}

impl InfoGet {
    /// Validates the answer's arguments: list count and sizes fit the registers,
    /// reserved bits are zero.
    pub fn parse(args: &SuccessArgs) -> Result<Self, DescError> {
        let (w2, ids, cap, size_bits) = match args {
            SuccessArgs::Args32(a) => {
                let mut ids = [0u16; MAX_IDS_64];
                for i in 0..MAX_IDS_32 {
                    ids[i] = (a[1 + i / 2] >> (16 * (i % 2))) as u16;
                }
                (u64::from(a[0]), ids, MAX_IDS_32, 20)
            }
            SuccessArgs::Args64(a) => {
                let mut ids = [0u16; MAX_IDS_64];
                for (i, id) in ids.iter_mut().enumerate() {
                    *id = (a[1 + i / 4] >> (16 * (i % 4))) as u16;
                }
                (a[0], ids, MAX_IDS_64, 40)
            }
        };
        if w2 & 0x7E != 0 {
            return Err(DescError::NonZeroMbz { offset: 1 });
        }
        let count = ((w2 >> 7) & 0x1F) as usize;
        // Bits above the list-size fields of this width are reserved, and so are the
        // size fields of lists beyond `count`.
        let used_bits = 12 + 2 * count;
        if count > size_bits / 2 || (w2 >> used_bits.min(63)) != 0 && used_bits < 64 {
            return Err(DescError::InvalidField {
                offset: 7,
                field: "list count",
            });
        }
        let mut lists = [InfoGetList::default(); MAX_IDS_64];
        let mut n = 0;
        for (i, list) in lists.iter_mut().enumerate().take(count) {
            let vcpus = ((w2 >> (12 + 2 * i)) & 3) as usize;
            if n + 1 + vcpus > cap {
                return Err(DescError::CountTooLarge {
                    count: count as u32,
                });
            }
            list.endpoint = EndpointId(ids[n]);
            list.vcpus[..vcpus].copy_from_slice(&ids[n + 1..n + 1 + vcpus]);
            list.vcpu_count = vcpus as u8;
            n += 1 + vcpus;
        }
        Ok(Self {
            more_pending: w2 & 1 != 0,
            lists,
            count,
        })
    }

    /// The lists.
    pub fn lists(&self) -> &[InfoGetList] {
        &self.lists[..self.count]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ep: u16, vcpus: &[u16]) -> InfoGetList {
        let mut l = InfoGetList {
            endpoint: EndpointId(ep),
            vcpus: [0; 3],
            vcpu_count: vcpus.len() as u8,
        };
        l.vcpus[..vcpus.len()].copy_from_slice(vcpus);
        l
    }

    #[test]
    fn bitmaps() {
        let b = NotificationBitmaps {
            sp: 0x1_0000_0002,
            vm: 3 << 40,
            spm: 4,
            hyp: 5,
        };
        let r = b.to_success();
        assert_eq!(&r.0[..8], &[0x8400_0061, 0, 2, 1, 0, 0x300, 4, 5]);
        let Interface::Success {
            args: SuccessArgs::Args32(a),
            ..
        } = Interface::decode(&r, crate::Version::V1_1).unwrap()
        else {
            panic!()
        };
        assert_eq!(NotificationBitmaps::from_args(a), b);
    }

    #[test]
    fn info_get_golden_32() {
        // Two lists: 0x8001 with vCPUs 1 and 2; 0x0003 without vCPUs.
        let lists = [list(0x8001, &[1, 2]), list(0x0003, &[])];
        let r = info_get_success(false, true, &lists).unwrap();
        // w2: more pending, 2 lists (<<7), sizes 2 and 0 at bits 12 and 14.
        assert_eq!(r.x(2), 1 | (2 << 7) | (2 << 12));
        assert_eq!((r.x(3), r.x(4), r.x(5)), (0x0001_8001, 0x0003_0002, 0));
        let Interface::Success { args, .. } = Interface::decode(&r, crate::Version::V1_1).unwrap()
        else {
            panic!()
        };
        let p = InfoGet::parse(&args).unwrap();
        assert!(p.more_pending);
        assert_eq!(p.lists(), &lists);
    }

    #[test]
    fn info_get_64_capacity() {
        let lists: [InfoGetList; 5] = core::array::from_fn(|i| list(i as u16, &[7, 8, 9]));
        let r = info_get_success(true, false, &lists).unwrap();
        assert_eq!(r.x(7), 0x0009_0008_0007_0004);
        let Interface::Success { args, .. } = Interface::decode(&r, crate::Version::V1_2).unwrap()
        else {
            panic!()
        };
        assert_eq!(InfoGet::parse(&args).unwrap().lists(), &lists);
        // 20 IDs fill the 64-bit form; they would not fit the 32-bit one.
        assert!(info_get_success(false, false, &lists).is_err());
        assert!(info_get_success(true, false, &[list(1, &[]); 21]).is_err());
    }

    #[test]
    fn info_get_rejects_bad_answers() {
        let bad = |w2: u32| InfoGet::parse(&SuccessArgs::Args32([w2, 0, 0, 0, 0, 0]));
        assert!(bad(0x2).is_err()); // reserved bit 1
        assert!(bad(11 << 7).is_err()); // 11 lists of 1 ID > 10 IDs
        assert!(bad((4 << 7) | (3 << 12) | (3 << 14) | (3 << 16)).is_err()); // 12 IDs
        assert!(bad((1 << 7) | (1 << 14)).is_err()); // size field beyond the count
        assert!(bad((1 << 7) | (3 << 12)).is_ok());
    }
}
