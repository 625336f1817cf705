# Sourced by /init (linux/init.sh) after the modules are loaded: the Linux lane's user-space
# checks. ts-client talks to ITS and PS through arm_tstee's /dev/teeN as TS's libts does
# (issue 13); ffa-call sends direct requests through /dev/ffa-call (issue 14's integrator
# client). Every check prints "lane: check NAME ... ok" or "... FAILED: why"; xtask's judge
# requires each name it knows (xtask/src/linux.rs, USER_CHECKS). /lane.env (written by xtask
# from the SP set) gives ECHO_ID, ECHO_UUID, FAULT_ID, ITS_ID and PS_ID.
. /lane.env

ts-client "$ITS_ID" "$PS_ID"
# An ITS object for the next boot of the machine (xtask boots Linux again on the same flash
# image and runs `ts-client --persist-check`).
ts-client --persist-set "$ITS_ID" "$PS_ID"

# expect NAME WANT COMMAND...: COMMAND's output (stdout; lines joined with "; ") must be WANT
# and its status 0.
expect() {
    name=$1 want=$2
    shift 2
    out=$("$@" 2>&1)
    status=$?
    got=$(printf '%s' "$out" | tr '\n' ';' | sed 's/;/; /g')
    if [ "$status" = 0 ] && [ "$got" = "$want" ]; then
        echo "lane: check $name ... ok"
    else
        echo "lane: check $name ... FAILED: \`$*\` exited $status and printed \`$got\`, want \`$want\`"
    fi
}

# expect_error NAME STATUS TEXT COMMAND...: COMMAND must exit with STATUS and say TEXT.
expect_error() {
    name=$1 want_status=$2 text=$3
    shift 3
    got=$("$@" 2>&1)
    status=$?
    case "$got" in
    *"$text"*) [ "$status" = "$want_status" ] && ok=1 || ok= ;;
    *) ok= ;;
    esac
    if [ -n "$ok" ]; then
        echo "lane: check $name ... ok"
    else
        echo "lane: check $name ... FAILED: \`$*\` exited $status and printed \`$got\`, want status $want_status and \`$text\`"
    fi
}

echo_id=$(printf '0x%04x' "$ECHO_ID")
# echo answers a request whose word 0 is no command with its words; its WHO command (word 0
# 0xC0DE0007, partitions/test-protocol) answers [OK, its ID, the sender (Linux: 0), the kind].
expect ffa_call_req64_echo "answer from $echo_id: [0x11, 0x22, 0x33, 0x44, 0x55]" \
    ffa-call "$ECHO_ID" 0x11 0x22 0x33 0x44 0x55
expect ffa_call_req64_who "answer from $echo_id: [0x0, $echo_id, 0x0, 0x40, 0x0]" \
    ffa-call --req64 "$ECHO_ID" 0xC0DE0007
expect ffa_call_req32_who_by_uuid "answer from $echo_id: [0x0, $echo_id, 0x0, 0x20, 0x0]" \
    ffa-call --req32 "$ECHO_UUID" 0xC0DE0007
# Linux 6.12's FF-A driver speaks v1.1 (it downgrades from the SPMC's v1.2), so it has no
# DIRECT_REQ2: the tool must say so. The 7.x driver (the backports lane) speaks v1.2 and sends
# it: echo's WHO answers kind 2. xtask requires the check its kernel's driver version gives.
if dmesg | grep -q "ARM FF-A: Driver version 1\.[2-9]"; then
    expect ffa_call_req2_who "answer from $echo_id: [0x0, $echo_id, 0x0, 0x2, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]" \
        ffa-call --req2 "$ECHO_UUID" 0xC0DE0007
else
    expect_error ffa_call_req2_refused_below_v1_2 1 \
        "DIRECT_REQ2 needs FF-A v1.2, but Linux's FF-A driver negotiated v1.1 with the firmware" \
        ffa-call --req2 "$ECHO_UUID" 0xC0DE0007
fi
# echo's MEM_RW: retrieves the page Linux shared (handle in words 1/2, owner 0 in word 3),
# answers [OK, the u32 it read, pages, constituents] and writes word 4 over the first u32.
expect ffa_call_share_mem_rw "answer from $echo_id: [0x0, 0x1234, 0x1, 0x1, 0x0]; shared memory afterwards (first 8 words): [0x5678, 0x1235, 0x1236, 0x1237, 0x1238, 0x1239, 0x123a, 0x123b]" \
    ffa-call --share 1 --fill 0x1234 "$ECHO_ID" 0xC0DE0201 hlo hhi 0 0x5678
# TS RPC VERSION to ITS (interface 0xFF, opcode 0; TS SPs take 32-bit requests only).
expect ffa_call_its_ts_rpc_version "answer from $(printf '0x%04x' "$ITS_ID"): [0xff0000, 0x1, 0x0, 0x0, 0x0]" \
    ffa-call --req32 "$ITS_ID" 0xFF0000
expect_error ffa_call_unknown_partition 1 "no partition 0x7ffe on the arm_ffa bus" \
    ffa-call 0x7ffe 1
# An FFA_ERROR through the tool: the fault SP executes an undefined instruction (its
# FAULT_UNDEF command 0xC0DE0F04), the SPMC aborts it and answers FFA_ERROR(ABORTED), which
# Linux's driver turns into ECANCELED. Nothing after this uses fault.
echo "lane: provoking on purpose: fault ($FAULT_ID) executes an undefined instruction; the SPMC's 'aborted' line below is expected"
expect_error ffa_call_ffa_error_aborted 1 \
    "failed: Operation canceled (Linux's FF-A driver reports FFA_ERROR ABORTED this way)" \
    ffa-call "$FAULT_ID" 0xC0DE0F04
