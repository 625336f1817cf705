/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * The ioctl interface of /dev/ffa-call (linux/ffa-call, the integrator's client module): one
 * FF-A direct request from Linux user space to any partition on the arm_ffa bus, optionally
 * after sharing pages with it. Shared by the module and the user-space tool linux/user/ffa_call.c.
 */
#ifndef FFA_CALL_UAPI_H
#define FFA_CALL_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Message kinds (ffa_call_arg.kind). */
#define FFA_CALL_REQ32 32 /* FFA_MSG_SEND_DIRECT_REQ_32: words 0..4 = w3..w7 */
#define FFA_CALL_REQ64 64 /* FFA_MSG_SEND_DIRECT_REQ_64: words 0..4 = x3..x7 */
#define FFA_CALL_REQ2 2   /* FFA_MSG_SEND_DIRECT_REQ2: words 0..13 = x4..x17, uuid in x2/x3 */

#define FFA_CALL_WORDS 14
#define FFA_CALL_MAX_PAGES 16
#define FFA_CALL_MEM_WORDS 8

/* ffa_call_arg.flags */
#define FFA_CALL_BY_UUID (1u << 0) /* find the partition by uuid, not by id */

struct ffa_call_arg {
	/* in */
	__u16 id;            /* partition ID (without FFA_CALL_BY_UUID) */
	__u16 kind;          /* FFA_CALL_REQ32 / REQ64 / REQ2 */
	__u32 flags;
	__u8 uuid[16];       /* the partition's UUID (FFA_CALL_BY_UUID); REQ2's protocol UUID */
	__u32 share_pages;   /* 0, or pages to share read-write with the partition first */
	__u32 fill;          /* u32 word i of the shared memory starts as fill + i */
	__u32 handle_lo;     /* bit i: word i := the memory handle's low 32 bits */
	__u32 handle_hi;     /* bit i: word i := the memory handle's high 32 bits */
	__u64 words[FFA_CALL_WORDS];
	/* out */
	__u16 called_id;     /* the partition the request went to */
	__u16 reserved;
	__u32 ffa_version;   /* the FF-A version Linux's driver negotiated (major << 16 | minor) */
	__u64 handle;        /* the share's handle (reclaimed before the ioctl returns) */
	__u32 mem_after[FFA_CALL_MEM_WORDS]; /* first u32 words of the memory after the answer */
	__u64 answer[FFA_CALL_WORDS];
};

/* Returns 0 with the answer, or -1 with errno: ENODEV no such partition on the bus, EINVAL a
 * bad argument, EPROTONOSUPPORT REQ2 asked of a driver that negotiated FF-A below v1.2, or what Linux's FF-A driver made of the FFA_ERROR (its ffa_to_linux_errno:
 * NOT_SUPPORTED EOPNOTSUPP, INVALID_PARAMETERS EINVAL, NO_MEMORY ENOMEM, BUSY EBUSY,
 * INTERRUPTED EINTR, DENIED EACCES, RETRY EAGAIN, ABORTED ECANCELED). */
#define FFA_CALL_IOC_SEND _IOWR('F', 0xC1, struct ffa_call_arg)

#endif
