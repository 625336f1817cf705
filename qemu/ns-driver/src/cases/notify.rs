//! Notification and indirect-messaging cases (issue 12; FF-A v1.2 chapters 10 and 16):
//! notifications in every direction (NW -> SP, SP -> NW, SP -> SP) with
//! FFA_NOTIFICATION_INFO_GET and the schedule-receiver interrupt (a non-secure SGI the SPMC
//! makes pending on this core's redistributor, read here from GICR_ISPENDR0), FFA_MSG_SEND2
//! both ways with the RX buffer ownership rules, FFA_RX_ACQUIRE, the v1.0 FFA_MSG_SEND, and
//! the capability gate of sp_layout.json (echo may notify and message pkg-sp, fault and the
//! normal world; pkg-sp and fault may do neither; relay does not accept indirect messages).
//!
//! The SPs act through test-protocol commands (sp-rt's typed calls in echo and fault) and
//! RAW_CALL (pkg-sp, which runs no notification code of its own). Every case maps and unmaps
//! its own mailbox, creates and destroys its own notification bitmap, and leaves nothing bound
//! or pending behind it.

#![forbid(unsafe_code)]

use ffa_abi::indirect::MessageHeader;
use ffa_abi::notification::InfoGet;
use ffa_abi::{EndpointId, ErrorCode, FuncId, Interface, Regs, Version};
use test_protocol::{cmd, id, status};

use crate::arch;
use crate::dram::{self, NW_RX, NW_TX};
use crate::ffa::{call, expect_error, expect_success, Shown};
use crate::harness::{check, check_eq, fail, Case, Failure, Outcome};

pub const CASES: &[Case] = &[
    Case::default_set("notify_features_and_bitmaps", features_and_bitmaps),
    Case::default_set("notify_nw_to_sp_info_get_sri", nw_to_sp),
    Case::default_set("notify_sp_to_nw_info_get_sri", sp_to_nw),
    Case::default_set("notify_sp_to_sp_and_denials", sp_to_sp),
    Case::default_set("notify_per_vcpu_sp_to_nw", per_vcpu),
    Case::default_set("msg_send2_nw_to_sp", msg_send2_nw_to_sp),
    Case::default_set("msg_send2_sp_to_nw_and_sp", msg_send2_from_sp),
    Case::default_set("msg_send_v1_0_and_poll", msg_send_v1_0),
    Case::default_set(
        "msg_send2_to_sp_running_elsewhere",
        msg_send2_running_elsewhere,
    ),
    Case::default_set("notify_sri_then_nw_runs_the_receiver", nw_runs_receiver),
    Case::default_set("notify_run_keeps_unread_message", run_keeps_unread_message),
    // The v1.0 fixture set (partitions/pkg-sp/layout-v1.0.json), in a boot of its own that
    // xtask runs (fixtures.rs).
    Case::any_set("msg_send_poll_v1_0_sps", v1_0_sps).on_request(),
];

/// The schedule-receiver interrupt FFA_FEATURES reports (Hafnium's SGI 8).
const SRI: u32 = 8;
const OK: u64 = status::OK as u64;
const NW: EndpointId = EndpointId(0);

fn err(code: ErrorCode) -> u64 {
    u64::from(status::ffa_error(code.to_i32()))
}

/// A direct request (REQ_64) to `dst` with payload `words`; returns the response words.
fn ask(dst: EndpointId, words: &[u64]) -> Result<[u64; 5], Failure> {
    let mut a = [0u64; 7];
    a[0] = u64::from(dst);
    for (s, w) in a[2..].iter_mut().zip(words) {
        *s = *w;
    }
    let r = call(FuncId::MsgSendDirectReq64, &a);
    if r.w(0) != FuncId::MsgSendDirectResp64.raw() || r.w(1) != u32::from(dst) << 16 {
        fail!(
            "request to {dst:#06x}: want DIRECT_RESP_64, got {}",
            Shown(&r)
        )
    }
    Ok(core::array::from_fn(|i| r.x(3 + i)))
}

/// Has pkg-sp make the FF-A call `fid` with x1..x3 = `args` (RAW_CALL over REQ_64); returns
/// the reply's x0..x3.
fn pkg_raw(fid: FuncId, args: [u64; 3]) -> Result<[u64; 4], Failure> {
    sp_raw(id::PKG_SP, fid, args)
}

/// [`pkg_raw`] through any SP that runs test-protocol's RAW_CALL.
fn sp_raw(sp: EndpointId, fid: FuncId, args: [u64; 3]) -> Result<[u64; 4], Failure> {
    let [a, b, c] = args;
    let r = ask(sp, &[cmd::RAW_CALL.into(), fid.raw().into(), a, b, c])?;
    check_eq!(r[0], OK, "RAW_CALL status");
    Ok([r[1], r[2], r[3], r[4]])
}

fn pair(sender: EndpointId, receiver: EndpointId) -> u64 {
    u64::from(sender) << 16 | u64::from(receiver)
}

/// Checks a reply pkg-sp got (x0..x3) is FFA_ERROR `code`.
fn raw_error(x: &[u64; 4], code: ErrorCode, what: &str) -> Outcome {
    check!(
        x[0] as u32 == FuncId::Error32.raw() && x[2] as u32 == code.to_i32() as u32,
        "{what}: pkg-sp got w0 {:#x} w2 {:#x}, want FFA_ERROR {code:?}",
        x[0],
        x[2]
    );
    Ok(())
}

fn raw_success(x: &[u64; 4], what: &str) -> Result<u64, Failure> {
    check!(
        x[0] as u32 == FuncId::Success32.raw(),
        "{what}: pkg-sp got w0 {:#x} w2 {:#x}, want FFA_SUCCESS",
        x[0],
        x[2]
    );
    Ok(x[2])
}

/// Takes the SRI if it is pending on this core (and clears it).
fn sri_taken() -> bool {
    arch::take_pending_sgi(SRI)
}

/// FFA_NOTIFICATION_INFO_GET_64: the (endpoint, vCPU count) lists, or the error code.
fn info_get() -> Result<Result<heapless::Vec<(EndpointId, u8), 20>, ErrorCode>, Failure> {
    let r = call(FuncId::NotificationInfoGet64, &[]);
    if let Some(Ok(code)) = r.as_error() {
        return Ok(Err(code));
    }
    let Ok(Interface::Success { args, .. }) = Interface::decode(&r, Version::V1_2) else {
        fail!(
            "FFA_NOTIFICATION_INFO_GET_64: want FFA_SUCCESS, got {}",
            Shown(&r)
        )
    };
    let Ok(p) = InfoGet::parse(&args) else {
        fail!(
            "FFA_NOTIFICATION_INFO_GET_64: malformed answer {}",
            Shown(&r)
        )
    };
    let mut v = heapless::Vec::new();
    for l in p.lists() {
        let _ = v.push((l.endpoint, l.vcpu_count));
    }
    Ok(Ok(v))
}

/// After a notification or message (`what`): the SRI was raised on this core (taken here) and
/// FFA_NOTIFICATION_INFO_GET lists `entry` (endpoint, vCPU count).
fn sri_then_listed(entry: (EndpointId, u8), what: &str) -> Outcome {
    check!(sri_taken(), "no SRI after {what}");
    let lists = info_get()?;
    check!(
        matches!(&lists, Ok(l) if l.contains(&entry)),
        "INFO_GET after {what} does not list {:#06x} with {} vCPUs: {lists:?}",
        entry.0,
        entry.1
    );
    Ok(())
}

/// What a scheduler does with the SRI (FF-A v1.2 chapter 10, the receiver's scheduler): take
/// it, ask FFA_NOTIFICATION_INFO_GET who has something pending, and FFA_RUN each listed
/// partition (waiting in FFA_MSG_WAIT, its notifications global), whose run ends with
/// FFA_MSG_WAIT; then INFO_GET has nothing more. Returns how many partitions it ran.
fn schedule() -> Result<u32, Failure> {
    check!(sri_taken(), "no SRI");
    let lists = match info_get()? {
        Ok(l) => l,
        Err(e) => fail!("INFO_GET after the SRI: {e:?}"),
    };
    let mut ran = 0;
    for (ep, vcpus) in lists {
        check!(ep.is_secure(), "INFO_GET lists {ep:#06x}");
        check_eq!(vcpus, 0, "the listed notifications are global");
        let r = call(FuncId::Run32, &[u64::from(ep) << 16]);
        check!(
            r.w(0) == FuncId::MsgWait32.raw() && (1..8).all(|i| r.x(i) == 0),
            "FFA_RUN of {ep:#06x}: want FFA_MSG_WAIT, got {}",
            Shown(&r)
        );
        ran += 1;
    }
    check_eq!(
        info_get()?,
        Err(ErrorCode::NoData),
        "INFO_GET after the runs"
    );
    Ok(ran)
}

/// The normal world sends echo `payload` (MSG_SEND2, offset 40), then its scheduler loop
/// (`schedule`) runs echo, whose run must report "RX buffer full" from a VM.
fn send2_then_scheduler_runs_echo(payload: u64) -> Outcome {
    let [runs, ..] = run_log()?;
    let _ = sri_taken();
    nw_message(id::ECHO, NW, 40, 8, payload)?;
    expect_success(&send2(), "MSG_SEND2 NW -> echo")?;
    check_eq!(schedule()?, 1, "partitions run");
    check_eq!(
        run_log()?,
        [runs + 1, 0, 0, 1 << 32],
        "echo's run got \"RX buffer full\" from a VM (hypervisor bitmap)"
    );
    Ok(())
}

/// The normal world sends `payload` to echo with FFA_MSG_SEND2 (header of 40 bytes, 8-byte
/// payload at `offset`), and echo reads it back (MSG_READ): "RX buffer full" from a VM (the
/// hypervisor framework bitmap, as Hafnium), sender, size, payload.
fn nw_send2_echo_reads(offset: u32, payload: u64, what: &str) -> Outcome {
    nw_message(id::ECHO, NW, offset, 8, payload)?;
    expect_success(&send2(), what)?;
    check_eq!(
        ask(id::ECHO, &[cmd::MSG_READ.into()])?,
        [OK, 1 << 32, NW.into(), 8, payload],
        "echo reads the message of {what}"
    );
    Ok(())
}

fn bitmap_create(vcpus: u64) -> Regs {
    call(FuncId::NotificationBitmapCreate, &[0, vcpus])
}

fn bitmap_destroy() -> Regs {
    call(FuncId::NotificationBitmapDestroy, &[0])
}

fn nw_get(flags: u64) -> Regs {
    call(FuncId::NotificationGet, &[0, flags])
}

/// Runs `body` with the normal world's notification bitmap (one vCPU) created, destroying it
/// afterwards whatever happened.
fn with_bitmap(body: fn() -> Outcome) -> Outcome {
    expect_success(&bitmap_create(1), "FFA_NOTIFICATION_BITMAP_CREATE")?;
    let r = body();
    // Leave nothing pending behind.
    let _ = nw_get(0b0101);
    let d = bitmap_destroy();
    r?;
    expect_success(&d, "FFA_NOTIFICATION_BITMAP_DESTROY at the end").map(|_| ())
}

/// Runs `body` with the normal world's RX/TX pair mapped (FFA_RXTX_MAP_64 of the memory
/// cases' pages), unmapping it afterwards.
fn with_mailbox(body: fn() -> Outcome) -> Outcome {
    expect_success(
        &call(FuncId::RxTxMap64, &[NW_TX, NW_RX, 1]),
        "FFA_RXTX_MAP_64",
    )?;
    let r = body();
    if r.is_err() {
        // A case that failed half-way may have left a message in echo's or fault's RX buffer:
        // read and release it, so that the cases after this one start from empty buffers.
        let _ = ask(id::ECHO, &[cmd::MSG_READ.into()]);
        let _ = ask(id::FAULT, &[cmd::MSG_READ.into()]);
    }
    let _ = call(FuncId::RxRelease, &[]);
    let u = call(FuncId::RxTxUnmap, &[0]);
    r?;
    expect_success(&u, "FFA_RXTX_UNMAP at the end").map(|_| ())
}

// ---------------------------------------------------------------------------------------------

fn features_and_bitmaps() -> Outcome {
    // Linux's probe: FFA_FEATURES(NOTIFICATION_BITMAP_CREATE), the SRI's interrupt ID, the NPI.
    expect_success(
        &call(
            FuncId::Features,
            &[FuncId::NotificationBitmapCreate.raw().into()],
        ),
        "FFA_FEATURES(BITMAP_CREATE)",
    )?;
    check_eq!(
        expect_success(&call(FuncId::Features, &[2]), "FFA_FEATURES(SRI)")?,
        SRI,
        "SRI interrupt ID"
    );
    // Input properties exist for function IDs only (Hafnium `ffa_features_feature`).
    expect_error(
        &call(FuncId::Features, &[2, 1]),
        ErrorCode::NotSupported,
        "FFA_FEATURES(SRI) with input properties",
    )?;
    expect_error(
        &call(FuncId::Features, &[1]),
        ErrorCode::NotSupported,
        "FFA_FEATURES(NPI): S-EL0 partitions and the NW have none",
    )?;
    expect_error(&bitmap_create(0), ErrorCode::InvalidParameters, "0 vCPUs")?;
    expect_error(
        &call(FuncId::NotificationBitmapCreate, &[id::ECHO.into(), 1]),
        ErrorCode::InvalidParameters,
        "bitmap for an SP ID",
    )?;
    expect_error(
        &bitmap_destroy(),
        ErrorCode::Denied,
        "destroy before create",
    )?;
    expect_success(&bitmap_create(2), "BITMAP_CREATE(0, 2)")?;
    expect_error(&bitmap_create(2), ErrorCode::Denied, "second BITMAP_CREATE")?;
    expect_success(&bitmap_destroy(), "BITMAP_DESTROY")?;
    // Nothing pending anywhere: INFO_GET has no data.
    check_eq!(
        info_get()?,
        Err(ErrorCode::NoData),
        "INFO_GET with nothing pending"
    );
    Ok(())
}

fn nw_to_sp() -> Outcome {
    const BIT: u64 = 1 << 5;
    let _ = sri_taken();
    // Nothing bound: DENIED. fault has no notification-support: DENIED too.
    let set = |to: EndpointId, flags: u64, bitmap: u64| {
        call(FuncId::NotificationSet, &[pair(NW, to), flags, bitmap, 0])
    };
    expect_error(&set(id::ECHO, 0, BIT), ErrorCode::Denied, "SET before BIND")?;
    expect_error(&set(id::FAULT, 0, BIT), ErrorCode::Denied, "SET to fault")?;
    check_eq!(
        ask(id::ECHO, &[cmd::NOTIFY_BIND.into(), NW.into(), BIT, 0])?,
        [OK, 0, 0, 0, 0],
        "echo binds the NW"
    );
    expect_error(
        &set(id::ECHO, 0b10, BIT),
        ErrorCode::InvalidParameters,
        "NW delays the SRI",
    )?;
    check!(!sri_taken(), "an SRI before any notification was set");
    expect_success(&set(id::ECHO, 0, BIT), "NOTIFICATION_SET NW -> echo")?;
    sri_then_listed((id::ECHO, 0), "NOTIFICATION_SET")?;
    check_eq!(info_get()?, Err(ErrorCode::NoData), "INFO_GET lists once");
    check_eq!(
        ask(id::ECHO, &[cmd::NOTIFY_UNBIND.into(), NW.into(), BIT])?,
        [err(ErrorCode::Denied), 0, 0, 0, 0],
        "echo unbinds a pending notification"
    );
    check_eq!(
        ask(id::ECHO, &[cmd::NOTIFY_GET.into(), 0b0011])?,
        [OK, 0, BIT, 0, 0],
        "echo gets the NW's notification in its VM bitmap"
    );
    check_eq!(
        ask(id::ECHO, &[cmd::NOTIFY_UNBIND.into(), NW.into(), BIT])?,
        [OK, 0, 0, 0, 0],
        "echo unbinds"
    );
    Ok(())
}

fn sp_to_nw() -> Outcome {
    with_bitmap(|| {
        const BIT: u64 = 1 << 7;
        let bind =
            |sender: EndpointId| call(FuncId::NotificationBind, &[pair(sender, NW), 0, BIT, 0]);
        // pkg-sp has no `notify` grant for the normal world: DENIED.
        expect_error(
            &bind(id::PKG_SP),
            ErrorCode::Denied,
            "bind pkg-sp (no grant)",
        )?;
        expect_error(
            &bind(NW),
            ErrorCode::InvalidParameters,
            "bind the NW to itself",
        )?;
        expect_success(&bind(id::ECHO), "bind echo -> NW")?;
        expect_error(&bind(id::ECHO), ErrorCode::Denied, "bind twice")?;
        let _ = sri_taken();
        check_eq!(
            ask(id::ECHO, &[cmd::NOTIFY_SET.into(), NW.into(), BIT, 0])?,
            [OK, 0, 0, 0, 0],
            "echo sets"
        );
        sri_then_listed((NW, 0), "echo's NOTIFICATION_SET")?;
        expect_error(
            &nw_get(0b0010),
            ErrorCode::InvalidParameters,
            "NW asks its VM bitmap",
        )?;
        let g = nw_get(0b0101);
        expect_success(&g, "NOTIFICATION_GET")?;
        check_eq!(
            (u64::from(g.w(2)) | u64::from(g.w(3)) << 32, g.w(6)),
            (BIT, 0),
            "NW's SP and SPM bitmaps"
        );
        // Delayed SRI: raised on the way back to the normal world, once.
        check_eq!(
            ask(id::ECHO, &[cmd::NOTIFY_SET.into(), NW.into(), BIT, 0b10])?,
            [OK, 0, 0, 0, 0],
            "echo sets with the SRI delayed"
        );
        check!(sri_taken(), "no delayed SRI after echo's request returned");
        expect_error(
            &bitmap_destroy(),
            ErrorCode::Denied,
            "destroy with a pending notification",
        )?;
        expect_success(&nw_get(0b0101), "NOTIFICATION_GET")?;
        expect_success(
            &call(FuncId::NotificationUnbind, &[pair(id::ECHO, NW), 0, BIT, 0]),
            "unbind echo",
        )?;
        Ok(())
    })
}

fn sp_to_sp() -> Outcome {
    const BIT: u64 = 1 << 2;
    // pkg-sp binds echo, echo sets, pkg-sp gets.
    raw_success(
        &pkg_raw(
            FuncId::NotificationBind,
            [pair(id::ECHO, id::PKG_SP), 0, BIT],
        )?,
        "pkg-sp binds echo",
    )?;
    let _ = sri_taken();
    check_eq!(
        ask(
            id::ECHO,
            &[cmd::NOTIFY_SET.into(), id::PKG_SP.into(), BIT, 0]
        )?,
        [OK, 0, 0, 0, 0],
        "echo -> pkg-sp"
    );
    sri_then_listed((id::PKG_SP, 0), "echo -> pkg-sp")?;
    let g = pkg_raw(FuncId::NotificationGet, [id::PKG_SP.into(), 0b0001, 0])?;
    check_eq!(raw_success(&g, "pkg-sp gets")?, BIT, "pkg-sp's SP bitmap");
    // Capability denials: pkg-sp has no grant for echo; fault has none at all; echo may not
    // bind fault as a sender; the SPMC is no sender.
    raw_error(
        &pkg_raw(
            FuncId::NotificationSet,
            [pair(id::PKG_SP, id::ECHO), 0, BIT],
        )?,
        ErrorCode::Denied,
        "pkg-sp -> echo (no grant)",
    )?;
    check_eq!(
        ask(
            id::ECHO,
            &[cmd::NOTIFY_BIND.into(), id::FAULT.into(), BIT, 0]
        )?,
        [err(ErrorCode::Denied), 0, 0, 0, 0],
        "echo binds fault (fault has no grant)"
    );
    check_eq!(
        ask(
            id::ECHO,
            &[cmd::NOTIFY_SET.into(), id::RELAY.into(), BIT, 0]
        )?,
        [err(ErrorCode::Denied), 0, 0, 0, 0],
        "echo -> relay (no notification-support)"
    );
    raw_error(
        &pkg_raw(
            FuncId::NotificationSet,
            [pair(id::ECHO, id::PKG_SP), 0, BIT],
        )?,
        ErrorCode::InvalidParameters,
        "pkg-sp sets as echo",
    )?;
    raw_success(
        &pkg_raw(
            FuncId::NotificationUnbind,
            [pair(id::ECHO, id::PKG_SP), 0, BIT],
        )?,
        "pkg-sp unbinds",
    )?;
    check!(!sri_taken(), "an SRI without a notification");
    Ok(())
}

fn per_vcpu() -> Outcome {
    const BIT: u64 = 1 << 11;
    expect_success(&bitmap_create(2), "BITMAP_CREATE with 2 vCPUs")?;
    let r = (|| -> Outcome {
        expect_success(
            &call(FuncId::NotificationBind, &[pair(id::ECHO, NW), 1, BIT, 0]),
            "bind echo per vCPU",
        )?;
        let set = |flags: u64| ask(id::ECHO, &[cmd::NOTIFY_SET.into(), NW.into(), BIT, flags]);
        check_eq!(
            set(0)?,
            [err(ErrorCode::InvalidParameters), 0, 0, 0, 0],
            "a global set of a per-vCPU binding"
        );
        check_eq!(
            set(1 | 2 << 16)?,
            [err(ErrorCode::InvalidParameters), 0, 0, 0, 0],
            "vCPU 2 of a 2-vCPU VM"
        );
        let _ = sri_taken();
        check_eq!(set(1 | 1 << 16)?, [OK, 0, 0, 0, 0], "echo sets for vCPU 1");
        sri_then_listed((NW, 1), "a per-vCPU set")?;
        let get = |vcpu: u64| call(FuncId::NotificationGet, &[vcpu << 16, 0b0001]);
        let g0 = get(0);
        expect_success(&g0, "GET on vCPU 0")?;
        check_eq!(g0.w(2), 0, "vCPU 0 sees nothing");
        let g1 = get(1);
        expect_success(&g1, "GET on vCPU 1")?;
        check_eq!(u64::from(g1.w(2)), BIT, "vCPU 1 gets its notification");
        expect_success(
            &call(FuncId::NotificationUnbind, &[pair(id::ECHO, NW), 0, BIT, 0]),
            "unbind",
        )?;
        Ok(())
    })();
    let d = bitmap_destroy();
    r?;
    expect_success(&d, "BITMAP_DESTROY").map(|_| ())
}

/// Writes a message from the normal world into its TX buffer: a v1.2 header (40 bytes; the
/// driver speaks v1.2) with `offset` and `size` as given, and `payload` at `offset`.
fn nw_message(
    receiver: EndpointId,
    sender: EndpointId,
    offset: u32,
    size: u32,
    payload: u64,
) -> Outcome {
    let mut h = MessageHeader::new(sender, receiver, size, Version::V1_2);
    h.offset = offset;
    let mut b = [0u8; 48];
    let Some(n) = h.write(Version::V1_2, &mut b) else {
        fail!("header does not fit")
    };
    check!(dram::write_bytes(NW_TX, &b[..n]), "write the header");
    if (offset as usize) < 0xFF8 {
        check!(
            dram::write_bytes(NW_TX + u64::from(offset & !3), &payload.to_le_bytes()),
            "write the payload"
        );
    }
    Ok(())
}

fn send2() -> Regs {
    call(FuncId::MsgSend2, &[0, 0])
}

fn msg_send2_nw_to_sp() -> Outcome {
    with_mailbox(|| {
        const PAYLOAD: u64 = 0x1122_3344_5566_7788;
        // Refusals, each leaving echo's RX buffer empty.
        for (receiver, sender, offset, size, code, what) in [
            (
                EndpointId(0x8077),
                NW,
                40,
                8,
                ErrorCode::InvalidParameters,
                "no such receiver",
            ),
            (
                id::ECHO,
                EndpointId(5),
                40,
                8,
                ErrorCode::InvalidParameters,
                "forged sender",
            ),
            (NW, NW, 40, 8, ErrorCode::InvalidParameters, "to itself"),
            (
                id::ECHO,
                NW,
                20,
                8,
                ErrorCode::InvalidParameters,
                "offset inside the v1.2 header",
            ),
            (
                id::ECHO,
                NW,
                40,
                0x1000,
                ErrorCode::InvalidParameters,
                "larger than the buffers",
            ),
            (
                id::RELAY,
                NW,
                40,
                8,
                ErrorCode::Denied,
                "relay does not accept indirect messages",
            ),
        ] {
            nw_message(receiver, sender, offset, size, PAYLOAD)?;
            expect_error(&send2(), code, what)?;
        }
        expect_error(
            &call(FuncId::MsgSend2, &[0, 0b10]),
            ErrorCode::InvalidParameters,
            "NW delays the SRI",
        )?;
        let _ = sri_taken();
        nw_message(id::ECHO, NW, 40, 8, PAYLOAD)?;
        expect_success(&send2(), "MSG_SEND2 NW -> echo")?;
        sri_then_listed((id::ECHO, 0), "MSG_SEND2")?;
        expect_error(&send2(), ErrorCode::Busy, "MSG_SEND2 to a full RX buffer")?;
        // w1 of FFA_RX_RELEASE is a hypervisor's: echo naming itself is INVALID_PARAMETERS
        // (Hafnium `api_ffa_rx_release`) and keeps the message.
        let r = sp_raw(id::ECHO, FuncId::RxRelease, [id::ECHO.into(), 0, 0])?;
        raw_error(
            &r,
            ErrorCode::InvalidParameters,
            "echo's RX_RELEASE naming itself",
        )?;
        // echo reads it: "RX buffer full" from a VM is in the hypervisor bitmap (Hafnium).
        check_eq!(
            ask(id::ECHO, &[cmd::MSG_READ.into()])?,
            [OK, 1 << 32, NW.into(), 8, PAYLOAD],
            "echo reads the message"
        );
        nw_send2_echo_reads(48, !PAYLOAD, "MSG_SEND2 after echo released its RX buffer")?;
        let _ = sri_taken();
        Ok(())
    })
}

fn msg_send2_from_sp() -> Outcome {
    with_mailbox(|| {
        // No notification bitmap for VM 0: the normal world could never be told of the
        // message, DENIED (docs/abi-status.md), its RX buffer untouched.
        check!(dram::write_bytes(NW_RX, &[0xEE; 8]), "RX");
        check_eq!(
            ask(id::ECHO, &[cmd::MSG_SEND2.into(), NW.into(), 1, 0])?,
            [err(ErrorCode::Denied), 0, 0, 0, 0],
            "echo -> NW without its notification bitmap"
        );
        check_eq!(
            dram::read_u32(NW_RX),
            Some(0xEEEE_EEEE),
            "the NW's RX buffer after a refused message"
        );
        check!(!sri_taken(), "an SRI for a refused message");
        with_bitmap(|| {
            const PAYLOAD: u64 = 0x0BAD_CAFE_F00D_0001;
            let _ = sri_taken();
            check_eq!(
                ask(id::ECHO, &[cmd::MSG_SEND2.into(), NW.into(), PAYLOAD, 0])?,
                [OK, 0, 0, 0, 0],
                "echo -> NW"
            );
            check!(sri_taken(), "no SRI after echo's MSG_SEND2");
            let mut hdr = [0u8; 40];
            for (i, b) in hdr.iter_mut().enumerate() {
                *b = (dram::read_u32(NW_RX + (i as u64 & !3)).unwrap_or(0) >> (8 * (i % 4))) as u8;
            }
            let h = MessageHeader::parse(&hdr);
            check_eq!(
                h.map(|h| (h.sender.0, h.receiver.0, h.offset, h.size)),
                Some((id::ECHO.0, NW.0, 40, 8)),
                "header in the NW's RX buffer"
            );
            let lo = dram::read_u32(NW_RX + 40).unwrap_or(0);
            let hi = dram::read_u32(NW_RX + 44).unwrap_or(0);
            check_eq!(u64::from(lo) | u64::from(hi) << 32, PAYLOAD, "payload");
            let g = nw_get(0b0100);
            expect_success(&g, "NOTIFICATION_GET(SPM)")?;
            check_eq!(g.w(6), 1, "RX buffer full in the NW's SPM bitmap");
            // Full until released; then acquired by the NW, still closed to the SPMC.
            check_eq!(
                ask(id::ECHO, &[cmd::MSG_SEND2.into(), NW.into(), 1, 0])?,
                [err(ErrorCode::Busy), 0, 0, 0, 0],
                "echo -> NW while its RX is full"
            );
            expect_success(&call(FuncId::RxRelease, &[]), "RX_RELEASE")?;
            expect_success(&call(FuncId::RxAcquire, &[0]), "RX_ACQUIRE")?;
            expect_error(
                &call(FuncId::RxAcquire, &[0]),
                ErrorCode::Denied,
                "RX_ACQUIRE twice",
            )?;
            check_eq!(
                ask(id::ECHO, &[cmd::MSG_SEND2.into(), NW.into(), 1, 0])?,
                [err(ErrorCode::Busy), 0, 0, 0, 0],
                "echo -> NW while the NW holds its RX"
            );
            expect_success(&call(FuncId::RxRelease, &[]), "RX_RELEASE after acquire")?;
            // SP -> SP: echo -> fault (granted), read by fault.
            check_eq!(
                ask(
                    id::ECHO,
                    &[cmd::MSG_SEND2.into(), id::FAULT.into(), PAYLOAD, 0]
                )?,
                [OK, 0, 0, 0, 0],
                "echo -> fault"
            );
            check_eq!(
                ask(id::FAULT, &[cmd::MSG_READ.into()])?,
                [OK, 1, id::ECHO.into(), 8, PAYLOAD],
                "fault reads echo's message (SPM bitmap)"
            );
            // Denials: fault has no grant; relay takes no indirect messages; pkg-sp has no
            // RX buffer (BUSY).
            check_eq!(
                ask(id::FAULT, &[cmd::MSG_SEND2.into(), id::ECHO.into(), 1, 0])?,
                [err(ErrorCode::Denied), 0, 0, 0, 0],
                "fault -> echo (no grant)"
            );
            check_eq!(
                ask(id::ECHO, &[cmd::MSG_SEND2.into(), id::RELAY.into(), 1, 0])?,
                [err(ErrorCode::Denied), 0, 0, 0, 0],
                "echo -> relay"
            );
            check_eq!(
                ask(id::ECHO, &[cmd::MSG_SEND2.into(), id::PKG_SP.into(), 1, 0])?,
                [err(ErrorCode::Busy), 0, 0, 0, 0],
                "echo -> pkg-sp, which has no RX buffer"
            );
            let _ = sri_taken();
            Ok(())
        })
    })
}

/// FF-A's BUSY for FFA_MSG_SEND2 means "the receiver's RX buffer is not free", nothing else
/// (Hafnium's `vm_is_mailbox_busy`): echo, running a SPIN request on a secondary core (its
/// direct requests from here are BUSY meanwhile), gets the normal world's message in its free
/// RX buffer, and reads it once its request is done.
fn msg_send2_running_elsewhere() -> Outcome {
    with_mailbox(|| {
        use crate::stress::{self, JOBS, JOB_SPIN_ECHO};
        use core::sync::atomic::Ordering;
        /// 200 ms of the 62.5 MHz counter: long enough to send while echo still spins.
        const TICKS: u64 = 12_500_000;
        const PAYLOAD: u64 = 0x5EC0_0C0D_E2E2_0002;
        let up = stress::up_cores();
        let Some(&other) = up.first() else {
            fail!("no secondary core is up (run with -smp 2 or more)");
        };
        nw_message(id::ECHO, NW, 40, 8, PAYLOAD)?;
        let before = stress::post(other, JOB_SPIN_ECHO, TICKS);
        crate::arch::sev();
        let done = || JOBS[other].done.load(Ordering::Acquire) != before;
        // echo runs on `other` once a direct request from here is BUSY.
        let served = [u64::from(id::ECHO), 0, cmd::SERVED.into(), 0, 0, 0, 0];
        let running = crate::arch::wait_until(5_000, || {
            let r = call(FuncId::MsgSendDirectReq64, &served);
            r.w(0) == FuncId::Error32.raw() && r.w(2) == ErrorCode::Busy.to_u32()
        });
        let sent = running.then(send2);
        let spinning = !done();
        // Whatever happened, echo's request ends before anything else is checked.
        let finished = crate::arch::wait_until(10_000, done);
        let _ = sri_taken();
        check!(running, "echo never ran on core {other}");
        let Some(sent) = sent else {
            fail!("no MSG_SEND2 sent")
        };
        expect_success(&sent, "MSG_SEND2 NW -> echo running on another core")?;
        check!(
            spinning,
            "echo's SPIN on core {other} ended before the MSG_SEND2: nothing shown"
        );
        check!(finished, "core {other} did not finish echo's SPIN");
        check_eq!(
            JOBS[other].words[0].load(Ordering::Acquire),
            u64::from(FuncId::MsgSendDirectResp64.raw()),
            "the answer to echo's SPIN on core {other}"
        );
        check_eq!(
            ask(id::ECHO, &[cmd::MSG_READ.into()])?,
            [OK, 1 << 32, NW.into(), 8, PAYLOAD],
            "echo reads the message it got while running"
        );
        Ok(())
    })
}

/// The v1.0 FFA_MSG_SEND is for v1.0 callers and v1.0 receivers only: gone for a v1.2 caller
/// (NOT_SUPPORTED), and refused (DENIED) towards echo, a v1.2 partition that has no
/// FFA_MSG_POLL and would never learn of the message; its RX buffer stays free (a MSG_SEND2
/// afterwards is delivered). v1.0 SPs receive it: `msg_send_poll_v1_0_sps`.
fn msg_send_v1_0() -> Outcome {
    with_mailbox(|| {
        let send = |size: u64| call(FuncId::MsgSend, &[pair(NW, id::ECHO), 0, size, 0]);
        // v1.1 replaced FFA_MSG_SEND and FFA_MSG_POLL: gone for a v1.2 caller.
        expect_error(&send(8), ErrorCode::NotSupported, "MSG_SEND at v1.2")?;
        expect_error(
            &call(FuncId::Features, &[FuncId::MsgSend.raw().into()]),
            ErrorCode::NotSupported,
            "FEATURES(MSG_SEND) at v1.2",
        )?;
        check_eq!(
            ask(
                id::ECHO,
                &[cmd::RAW_CALL.into(), FuncId::MsgPoll.raw().into()]
            )?,
            [
                OK,
                u64::from(FuncId::Error32.raw()),
                0,
                u64::from(ErrorCode::NotSupported.to_i32() as u32),
                0
            ],
            "MSG_POLL from a v1.2 SP"
        );
        check_eq!(
            crate::ffa::version(Version::V1_0.encode()),
            Version::V1_2.encode(),
            "FFA_VERSION(1.0)"
        );
        let r = (|| -> Outcome {
            expect_success(
                &call(FuncId::Features, &[FuncId::MsgSend.raw().into()]),
                "FEATURES(MSG_SEND) at v1.0",
            )?;
            check!(
                dram::write_bytes(NW_TX, &0x7654_3210_FEDC_BA98u64.to_le_bytes()),
                "TX"
            );
            expect_error(
                &send(0),
                ErrorCode::InvalidParameters,
                "MSG_SEND of 0 bytes",
            )?;
            expect_error(
                &send(0x1001),
                ErrorCode::InvalidParameters,
                "MSG_SEND beyond TX",
            )?;
            expect_error(
                &call(FuncId::MsgSend, &[pair(NW, id::RELAY), 0, 8, 0]),
                ErrorCode::Denied,
                "MSG_SEND to relay",
            )?;
            expect_error(
                &send(8),
                ErrorCode::Denied,
                "MSG_SEND to echo, a v1.2 SP without FFA_MSG_POLL",
            )?;
            Ok(())
        })();
        check_eq!(
            crate::ffa::version(Version::V1_2.encode()),
            Version::V1_2.encode(),
            "FFA_VERSION(1.2)"
        );
        r?;
        with_bitmap(|| {
            nw_send2_echo_reads(40, 0x5A5A_0101, "MSG_SEND2 after the refused v1.0 MSG_SEND")?;
            let _ = sri_taken();
            Ok(())
        })
    })
}

/// echo's RUN_LOG: \[runs, SP bitmap, VM bitmap, SPM | hypervisor << 32\] of its last run.
fn run_log() -> Result<[u64; 4], Failure> {
    let r = ask(id::ECHO, &[cmd::RUN_LOG.into()])?;
    check_eq!(r[0], OK, "RUN_LOG status");
    Ok([r[1], r[2], r[3], r[4]])
}

/// What a scheduler does with the SRI (FF-A v1.2 chapter 10, the receiver's scheduler): take
/// it, ask FFA_NOTIFICATION_INFO_GET who has notifications pending, and FFA_RUN each listed
/// partition, which waits in FFA_MSG_WAIT; echo is entered with FFA_RUN, reads its
/// notifications with FFA_NOTIFICATION_GET and waits again, and the FFA_RUN returns
/// FFA_MSG_WAIT. The same for an indirect message: the run reads "RX buffer full" and its
/// FFA_MSG_WAIT hands the RX buffer back.
fn nw_runs_receiver() -> Outcome {
    const BIT: u64 = 1 << 9;
    let _ = sri_taken();
    let [runs, ..] = run_log()?;
    check_eq!(
        ask(id::ECHO, &[cmd::NOTIFY_BIND.into(), NW.into(), BIT, 0])?,
        [OK, 0, 0, 0, 0],
        "echo binds the NW"
    );
    let r = (|| -> Outcome {
        expect_success(
            &call(FuncId::NotificationSet, &[pair(NW, id::ECHO), 0, BIT, 0]),
            "NOTIFICATION_SET NW -> echo",
        )?;
        check_eq!(schedule()?, 1, "partitions run");
        check_eq!(
            run_log()?,
            [runs + 1, 0, BIT, 0],
            "echo's run: [runs, SP, VM, SPM | HYP << 32] bitmaps it got"
        );
        // Nothing pending now: a run gets empty bitmaps.
        check!(
            call(FuncId::Run32, &[u64::from(id::ECHO) << 16]).w(0) == FuncId::MsgWait32.raw(),
            "FFA_RUN of echo with nothing pending"
        );
        check_eq!(run_log()?, [runs + 2, 0, 0, 0], "echo's empty run");
        Ok(())
    })();
    let u = ask(id::ECHO, &[cmd::NOTIFY_UNBIND.into(), NW.into(), BIT])?;
    r?;
    check_eq!(u, [OK, 0, 0, 0, 0], "echo unbinds");
    with_mailbox(|| {
        const PAYLOAD: u64 = 0x5EED_0000_0000_0012;
        send2_then_scheduler_runs_echo(PAYLOAD)?;
        // Its FFA_MSG_WAIT handed the RX buffer back: the next message is accepted.
        nw_send2_echo_reads(40, !PAYLOAD, "MSG_SEND2 after the run's FFA_MSG_WAIT")?;
        let _ = sri_taken();
        Ok(())
    })
}

/// FF-A v1.2 FFA_MSG_WAIT w2 bit 0 ("retain RX buffer ownership") on QEMU: echo, run by the
/// normal world after an indirect message (the scheduler loop), keeps its RX buffer and the
/// unread message over its FFA_MSG_WAIT when told to (RUN_KEEP_RX; sp-rt's `RxOnWait::Retain`):
/// a second message is BUSY, echo reads the first later in a direct request, and then a new one
/// is accepted. Without it (the default) the run's FFA_MSG_WAIT hands the buffer back and the
/// message is gone for echo (`notify_sri_then_nw_runs_the_receiver`).
fn run_keeps_unread_message() -> Outcome {
    with_mailbox(|| {
        const PAYLOAD: u64 = 0x5EED_0000_0000_0017;
        check_eq!(
            ask(id::ECHO, &[cmd::RUN_KEEP_RX.into(), 1])?,
            [OK, 0, 0, 0, 0],
            "echo keeps RX in its runs"
        );
        let r = (|| -> Outcome {
            send2_then_scheduler_runs_echo(PAYLOAD)?;
            // Its FFA_MSG_WAIT kept the buffer: another message is BUSY, the first stays.
            nw_message(id::ECHO, NW, 48, 8, !PAYLOAD)?;
            expect_error(
                &send2(),
                ErrorCode::Busy,
                "MSG_SEND2 while echo keeps its RX buffer",
            )?;
            // The run took the notification: MSG_READ's own GET finds none, the message is there.
            check_eq!(
                ask(id::ECHO, &[cmd::MSG_READ.into()])?,
                [OK, 0, NW.into(), 8, PAYLOAD],
                "echo reads the message its run kept"
            );
            nw_send2_echo_reads(
                48,
                !PAYLOAD,
                "MSG_SEND2 after echo released the kept buffer",
            )?;
            let _ = sri_taken();
            Ok(())
        })();
        let off = ask(id::ECHO, &[cmd::RUN_KEEP_RX.into(), 0])?;
        r?;
        check_eq!(
            off,
            [OK, 0, 0, 0, 0],
            "echo hands RX back in its runs again"
        );
        Ok(())
    })
}

/// The notification bit the normal world binds for fault before it is aborted.
const ABORT_BIT: u64 = 1 << 13;

/// Leaves state pending for fault just before `fault_touching_other_sp_contained` aborts it:
/// a notification from the normal world, and echo's indirect message with "RX buffer full".
/// Nobody asks INFO_GET in between, so without the clean-up INFO_GET would still list fault
/// afterwards ([`aborted_sp_state_dropped`] checks it does not).
pub fn leave_pending_for_fault() -> Outcome {
    check_eq!(
        ask(
            id::FAULT,
            &[cmd::NOTIFY_BIND.into(), NW.into(), ABORT_BIT, 0]
        )?,
        [OK, 0, 0, 0, 0],
        "fault binds the NW"
    );
    expect_success(
        &call(
            FuncId::NotificationSet,
            &[pair(NW, id::FAULT), 0, ABORT_BIT, 0],
        ),
        "NOTIFICATION_SET NW -> fault",
    )?;
    check_eq!(
        ask(id::ECHO, &[cmd::MSG_SEND2.into(), id::FAULT.into(), 7, 0])?,
        [OK, 0, 0, 0, 0],
        "echo -> fault"
    );
    let _ = sri_taken();
    Ok(())
}

/// After fault was aborted with a notification and a message pending (issue 12): INFO_GET does
/// not list it, and everything towards it gets ABORTED: the normal world's SET, FFA_MSG_SEND2
/// and v1.0 FFA_MSG_SEND, its BIND of fault as a sender, echo's SET and FFA_MSG_SEND2; no SRI
/// is raised. The normal world may still bind and notify echo.
pub fn aborted_sp_state_dropped() -> Outcome {
    let _ = sri_taken();
    let lists = info_get()?;
    check!(
        !matches!(&lists, Ok(l) if l.iter().any(|(ep, _)| *ep == id::FAULT)),
        "INFO_GET lists the aborted fault: {lists:?}"
    );
    expect_error(
        &call(
            FuncId::NotificationSet,
            &[pair(NW, id::FAULT), 0, ABORT_BIT, 0],
        ),
        ErrorCode::Aborted,
        "NOTIFICATION_SET NW -> aborted fault",
    )?;
    let aborted = [err(ErrorCode::Aborted), 0, 0, 0, 0];
    check_eq!(
        ask(
            id::ECHO,
            &[cmd::NOTIFY_SET.into(), id::FAULT.into(), ABORT_BIT, 0]
        )?,
        aborted,
        "echo's NOTIFICATION_SET -> aborted fault"
    );
    check_eq!(
        ask(id::ECHO, &[cmd::MSG_SEND2.into(), id::FAULT.into(), 8, 0])?,
        aborted,
        "echo's MSG_SEND2 -> aborted fault (its RX buffer was full)"
    );
    with_bitmap(|| {
        expect_error(
            &call(
                FuncId::NotificationBind,
                &[pair(id::FAULT, NW), 0, ABORT_BIT, 0],
            ),
            ErrorCode::Aborted,
            "the NW binds the aborted fault as a sender",
        )
        .map(|_| ())
    })?;
    with_mailbox(|| {
        nw_message(id::FAULT, NW, 40, 8, 9)?;
        expect_error(
            &send2(),
            ErrorCode::Aborted,
            "MSG_SEND2 NW -> aborted fault",
        )?;
        check_eq!(
            crate::ffa::version(Version::V1_0.encode()),
            Version::V1_2.encode(),
            "FFA_VERSION(1.0)"
        );
        let r = call(FuncId::MsgSend, &[pair(NW, id::FAULT), 0, 8, 0]);
        check_eq!(
            crate::ffa::version(Version::V1_2.encode()),
            Version::V1_2.encode(),
            "FFA_VERSION(1.2)"
        );
        expect_error(&r, ErrorCode::Aborted, "v1.0 MSG_SEND NW -> aborted fault").map(|_| ())
    })?;
    check!(!sri_taken(), "an SRI for a refused notification or message");
    // Notifications to the living go on.
    const BIT: u64 = 1 << 14;
    check_eq!(
        ask(id::ECHO, &[cmd::NOTIFY_BIND.into(), NW.into(), BIT, 0])?,
        [OK, 0, 0, 0, 0],
        "echo binds the NW"
    );
    expect_success(
        &call(FuncId::NotificationSet, &[pair(NW, id::ECHO), 0, BIT, 0]),
        "NOTIFICATION_SET NW -> echo",
    )?;
    check!(sri_taken(), "no SRI for echo");
    check_eq!(
        ask(id::ECHO, &[cmd::NOTIFY_GET.into(), 0b0010])?,
        [OK, 0, BIT, 0, 0],
        "echo gets it"
    );
    check_eq!(
        ask(id::ECHO, &[cmd::NOTIFY_UNBIND.into(), NW.into(), BIT])?,
        [OK, 0, 0, 0, 0],
        "echo unbinds"
    );
    let _ = info_get()?;
    Ok(())
}

/// FF-A v1.0 indirect messaging between v1.0 endpoints on QEMU (the v1.0 fixture set: pkg-sp
/// and echo built for FF-A v1.0, pkg-sp granted `indirect-messages` to echo): the normal world
/// (at v1.0) sends to pkg-sp with FFA_MSG_SEND and pkg-sp receives it with FFA_MSG_POLL; pkg-sp
/// sends to echo with FFA_MSG_SEND and echo polls it; every error the spec names: a full RX
/// buffer (BUSY), a wrong receiver (no such endpoint, the normal world, the sender itself, a
/// forged source: INVALID_PARAMETERS), no grant (DENIED), nothing to poll (RETRY).
fn v1_0_sps() -> Outcome {
    const PKG: EndpointId = id::PKG_SP;
    const ECHO: EndpointId = id::ECHO;
    const A: u64 = 0x0123_4567_89AB_CDEF;
    const B: u64 = 0x7766_5544_3322_1100;
    let send = |from: EndpointId, to: EndpointId, word: u64| {
        ask(from, &[cmd::MSG_SEND_V1_0.into(), to.into(), word])
    };
    let poll = |at: EndpointId| ask(at, &[cmd::MSG_POLL_V1_0.into()]);
    let st = |code: ErrorCode| [err(code), 0, 0, 0, 0];
    // Both are v1.0 SPs: MSG_POLL is theirs.
    for sp in [PKG, ECHO] {
        let f = sp_raw(sp, FuncId::Features, [FuncId::MsgPoll.raw().into(), 0, 0])?;
        raw_success(&f, "FFA_FEATURES(MSG_POLL) from a v1.0 SP")?;
    }
    check_eq!(poll(PKG)?, st(ErrorCode::Retry), "pkg-sp polls an empty RX");
    // The normal world at v1.0 -> pkg-sp.
    with_mailbox(|| {
        check_eq!(
            crate::ffa::version(Version::V1_0.encode()),
            Version::V1_2.encode(),
            "FFA_VERSION(1.0)"
        );
        let r = (|| -> Outcome {
            check!(dram::write_bytes(NW_TX, &A.to_le_bytes()), "TX");
            let send = |to: EndpointId| call(FuncId::MsgSend, &[pair(NW, to), 0, 8, 0]);
            expect_success(&send(PKG), "MSG_SEND NW -> pkg-sp")?;
            expect_error(&send(PKG), ErrorCode::Busy, "MSG_SEND to a full RX buffer")?;
            expect_error(
                &send(EndpointId(0x8077)),
                ErrorCode::InvalidParameters,
                "MSG_SEND to no such endpoint",
            )?;
            Ok(())
        })();
        check_eq!(
            crate::ffa::version(Version::V1_2.encode()),
            Version::V1_2.encode(),
            "FFA_VERSION(1.2)"
        );
        r
    })?;
    check_eq!(
        poll(PKG)?,
        [OK, NW.into(), 8, A, 0],
        "pkg-sp polls the NW's message"
    );
    check_eq!(poll(PKG)?, st(ErrorCode::Retry), "pkg-sp polls again");
    // pkg-sp -> echo.
    check_eq!(
        send(PKG, ECHO, B)?,
        [OK, 0, 0, 0, 0],
        "MSG_SEND pkg-sp -> echo"
    );
    check_eq!(
        send(PKG, ECHO, !B)?,
        st(ErrorCode::Busy),
        "MSG_SEND pkg-sp -> echo while echo's RX is full"
    );
    check_eq!(
        poll(ECHO)?,
        [OK, PKG.into(), 8, B, 0],
        "echo polls pkg-sp's message"
    );
    check_eq!(
        send(PKG, ECHO, !B)?,
        [OK, 0, 0, 0, 0],
        "MSG_SEND pkg-sp -> echo after echo released its RX"
    );
    check_eq!(poll(ECHO)?, [OK, PKG.into(), 8, !B, 0], "echo polls again");
    // Refusals.
    for (from, to, code, what) in [
        (
            PKG,
            EndpointId(0x8077),
            ErrorCode::InvalidParameters,
            "no such endpoint",
        ),
        (PKG, NW, ErrorCode::InvalidParameters, "the normal world"),
        (PKG, PKG, ErrorCode::InvalidParameters, "itself"),
        (ECHO, PKG, ErrorCode::Denied, "echo -> pkg-sp (no grant)"),
    ] {
        let got = send(from, to, 1)?;
        check!(
            got == st(code),
            "MSG_SEND {what}: got {got:x?}, want {code:?}"
        );
    }
    let forged = sp_raw(PKG, FuncId::MsgSend, [pair(ECHO, PKG), 0, 8])?;
    raw_error(&forged, ErrorCode::InvalidParameters, "MSG_SEND as echo")?;
    check_eq!(poll(ECHO)?, st(ErrorCode::Retry), "nothing reached echo");
    check_eq!(poll(PKG)?, st(ErrorCode::Retry), "nothing reached pkg-sp");
    Ok(())
}
