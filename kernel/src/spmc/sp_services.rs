//! Services only partitions call: FFA_MSG_WAIT (FF-A v1.2 section 12.?, the end of
//! initialisation), FFA_CONSOLE_LOG (section 13.?) and FFA_MEM_PERM_GET/SET (section 13.?,
//! during initialisation).

use super::call::{Caller, Cx, Flow};
use super::partition::{RunEnd, Runtime, Sp, State};
use super::{ownership, Env};
use crate::memory::{MemType, UserPerm, PAGE_SIZE};
use ffa_abi::error::ErrorCode;
use ffa_abi::interface::{Interface, MSG_WAIT_RETAIN_RX};
use ffa_abi::regs::Regs;
use spmc_table::Partition;

/// The partition-only ABIs.
pub fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    let Caller::Sp(sp, rt) = &mut cx.caller else {
        // The ABI table lists these for partitions only.
        *out = Regs::error(ErrorCode::NotSupported);
        return Flow::Reply;
    };
    if let Interface::MsgWait { flags } = call {
        return msg_wait(sp, rt, *flags, out);
    }
    *out = match call {
        Interface::ConsoleLog(chars) => {
            console_log(sp, rt, chars.as_bytes());
            Regs::success_w2(0)
        }
        Interface::MemPermGet { addr, .. } => mem_perm_get(rt, *addr),
        Interface::MemPermSet {
            addr,
            page_count,
            perm,
            ..
        } => mem_perm_set(cx.env, sp.desc, rt, *addr, *page_count, *perm),
        _ => Regs::error(ErrorCode::NotSupported),
    };
    Flow::Reply
}

/// FFA_MSG_WAIT: ends the initialisation run of a booting partition, the handling of the
/// secure interrupt a partition was entered with (FF-A v1.2 section 8.2.2: an S-EL0
/// partition signals completion with FFA_MSG_WAIT), or a run the normal world gave it with
/// FFA_RUN. Each hands the RX buffer back unless the caller retains it; a refused call keeps
/// it (as Hafnium's `api_ffa_msg_wait`).
fn msg_wait<'s>(sp: &Sp, rt: &mut Runtime, flags: u32, out: &mut Regs) -> Flow<'s> {
    let end = if rt.interrupt().is_some() {
        RunEnd::InterruptDone
    } else if rt.nw_run() {
        // The end of a run the normal world gave it with FFA_RUN: its FFA_RUN returns
        // FFA_MSG_WAIT.
        RunEnd::Idle
    } else if rt.state() == State::Booting {
        RunEnd::InitDone
    } else {
        // An SP handling a direct request must answer it (FF-A v1.2 section 15.2).
        *out = Regs::error(ErrorCode::Denied);
        return Flow::Reply;
    };
    // FF-A v1.2 FFA_MSG_WAIT w2 bit 0 keeps the RX buffer (decoding admits it from v1.2 only:
    // a v1.0/v1.1 caller always gives it back, as Hafnium). Without it, an SP run by the normal
    // world that waits without reading its message loses it (threat-model.md).
    // (A poisoned mailbox lock refuses every use of the buffer already: ABORTED.)
    if flags & MSG_WAIT_RETAIN_RX == 0 {
        if let Some(m) = sp.mailbox().ok().as_mut().and_then(|mb| mb.pair.as_mut()) {
            m.release();
        }
    }
    Flow::End(end)
}

/// Appends FFA_CONSOLE_LOG characters to the SP's line and prints complete lines tagged with
/// the SP's name and ID.
fn console_log(sp: &Sp, rt: &mut Runtime, bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' || rt.log_line.len() + 1 >= rt.log_line.capacity() {
            crate::console::print_sp_line(sp.desc.name, sp.id(), rt.log_line.as_str());
            rt.log_line.clear();
            if b == b'\n' {
                continue;
            }
        }
        let c = if b.is_ascii_graphic() || b == b' ' {
            b as char
        } else {
            '?'
        };
        let _ = rt.log_line.push(c);
    }
}

/// FFA_MEM_PERM_GET: the SP's access to the page at `addr`.
fn mem_perm_get(rt: &Runtime, addr: u64) -> Regs {
    use ffa_abi::memory::{PermData, PermGetSet};
    if rt.state() != State::Booting {
        return Regs::error(ErrorCode::Denied);
    }
    let Some(space) = rt.space.as_ref() else {
        return Regs::error(ErrorCode::InvalidParameters);
    };
    match space.user_perm(addr) {
        None => Regs::error(ErrorCode::InvalidParameters),
        Some(p) => {
            let data = if p.write {
                PermData::ReadWrite
            } else {
                PermData::ReadOnly
            };
            Regs::success_w2(
                PermGetSet {
                    data,
                    executable: p.exec,
                }
                .encode(),
            )
        }
    }
}

/// The most FFA_MEM_PERM_SET may grant at `va` (write, execute): a manifest memory region's own
/// attributes; anywhere else in the image region both (never at once: the caller checks W^X),
/// as images relocate themselves. Anything else (boot information, manifest RX/TX buffers,
/// device or non-secure regions, borrowed memory) is not the partition's to change: `None`.
pub(super) fn perm_limit(desc: &Partition, va: u64) -> Option<(bool, bool)> {
    ownership::sp_region(desc, va, 1)
        .filter(|r| r.may(ownership::Use::SetPermissions))
        .map(|r| (r.write, r.exec))
}

/// FFA_MEM_PERM_SET: changes the SP's access to pages of its own that are already mapped; only
/// during initialisation, never writable and executable at once, never beyond
/// [`perm_limit`].
fn mem_perm_set(
    env: &mut impl Env,
    desc: &Partition,
    rt: &mut Runtime,
    addr: u64,
    pages: u32,
    perm: ffa_abi::memory::PermGetSet,
) -> Regs {
    use ffa_abi::memory::PermData;
    if rt.state() != State::Booting {
        return Regs::error(ErrorCode::Denied);
    }
    if !addr.is_multiple_of(PAGE_SIZE) || pages == 0 {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let write = match perm.data {
        PermData::NoAccess => return Regs::error(ErrorCode::InvalidParameters),
        PermData::ReadWrite => true,
        PermData::ReadOnly => false,
    };
    if write && perm.executable {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let Some(space) = rt.space.as_mut() else {
        return Regs::error(ErrorCode::InvalidParameters);
    };
    // Every page must already be the SP's own secure normal memory, and the new permission
    // no more than its manifest allows (validate all pages before changing any).
    for i in 0..u64::from(pages) {
        let va = addr + i * PAGE_SIZE;
        match (space.user_perm(va), perm_limit(desc, va)) {
            (Some(p), Some((may_write, may_exec)))
                if !p.is_device()
                    && !p.non_secure
                    && (may_write || !write)
                    && (may_exec || !perm.executable) => {}
            _ => return Regs::error(ErrorCode::InvalidParameters),
        }
    }
    let new = UserPerm {
        write,
        exec: perm.executable,
        non_secure: false,
        memory: MemType::Normal,
    };
    if space.set_user_perm(addr, u64::from(pages), new).is_err() {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    env.tlb_invalidate_asid(space.asid());
    Regs::success_w2(0)
}
