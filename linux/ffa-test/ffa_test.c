// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Linux lane's test module (cargo xtask linux): binds to the project's test partitions on
 * the arm_ffa bus and exercises the SPMC through Linux's own FF-A ops (ffa_dev->ops), the way a
 * real client driver does. One line per check, "ffa-test: check <name> ... ok" or
 * "... FAILED: <why>", then "ffa-test: N passed, N failed". The request words are the ones of
 * partitions/test-protocol (echo's commands).
 */
#include <linux/arm_ffa.h>
#include <linux/cpu.h>
#include <linux/gfp.h>
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/smp.h>
#include <linux/uuid.h>
#include <linux/version.h>
#include <linux/workqueue.h>

#include "ffa_test.h"

#define ECHO_ID 0x8001
#define RELAY_ID 0x8002
#define CMD_WHO 0xC0DE0007u
#define CMD_MEM_RW 0xC0DE0201u
#define CMD_SPIN 0xC0DE0B01u
#define STATUS_OK 0u

/* partitions/test-protocol uuid::{ECHO, RELAY, FAULT, PKG_SP} */
static const struct ffa_device_id ffa_test_ids[] = {
	{ UUID_INIT(0x2f2e7c3a, 0x6c59, 0x4b1e, 0x9d, 0x8f, 0x01, 0xec, 0x40, 0x00, 0x00, 0x01) },
	{ UUID_INIT(0x2f2e7c3a, 0x6c59, 0x4b1e, 0x9d, 0x8f, 0x01, 0xec, 0x40, 0x00, 0x00, 0x02) },
	{ UUID_INIT(0x2f2e7c3a, 0x6c59, 0x4b1e, 0x9d, 0x8f, 0x01, 0xec, 0x40, 0x00, 0x00, 0x03) },
	{ UUID_INIT(0x2f2e7c3a, 0x6c59, 0x4b1e, 0x9d, 0x8f, 0x01, 0xec, 0x40, 0x00, 0x00, 0x04) },
	{}
};

static struct ffa_device *echo, *relay;
static int passed, failed;

void report(const char *name, int ok, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (ok) {
		passed++;
		pr_info("ffa-test: check %s ... ok\n", name);
		return;
	}
	failed++;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_info("ffa-test: check %s ... FAILED: %pV\n", name, &vaf);
	va_end(args);
}

static int ffa_test_probe(struct ffa_device *dev)
{
	pr_info("ffa-test: bound to partition 0x%04x uuid %pUb\n", dev->vm_id, &dev->uuid);
	if (dev->vm_id == ECHO_ID && !echo)
		echo = dev;
	if (dev->vm_id == RELAY_ID && !relay)
		relay = dev;
	return 0;
}

static void ffa_test_remove(struct ffa_device *dev)
{
	if (dev == echo)
		echo = NULL;
	if (dev == relay)
		relay = NULL;
}

static struct ffa_driver ffa_test_driver = {
	.name = "ffa-test",
	.probe = ffa_test_probe,
	.remove = ffa_test_remove,
	.id_table = ffa_test_ids,
};

/* A direct request whose word 0 is no command comes back unchanged. */
static void check_echo(const char *name, u64 base)
{
	struct ffa_send_direct_data d = {
		.data0 = base + 1, .data1 = base + 2, .data2 = base + 3,
		.data3 = base + 4, .data4 = base + 5,
	};
	struct ffa_send_direct_data want = d;
	int rc = echo->ops->msg_ops->sync_send_receive(echo, &d);

	if (rc) {
		report(name, 0, "sync_send_receive returned %d", rc);
		return;
	}
	report(name, !memcmp(&d, &want, sizeof(d)),
	       "sent %llx %llx %llx %llx %llx, got %llx %llx %llx %llx %llx",
	       want.data0, want.data1, want.data2, want.data3, want.data4,
	       d.data0, d.data1, d.data2, d.data3, d.data4);
}

/* Which message kind reached echo (its WHO command): 32 or 64, and from which endpoint. */
static void check_who(const char *name, u64 kind)
{
	struct ffa_send_direct_data d = { .data0 = CMD_WHO };
	int rc = echo->ops->msg_ops->sync_send_receive(echo, &d);

	if (rc) {
		report(name, 0, "sync_send_receive returned %d", rc);
		return;
	}
	report(name, d.data0 == STATUS_OK && d.data1 == ECHO_ID && d.data3 == kind,
	       "WHO answered status %llx, id %llx, sender %llx, kind %llu (want kind %llu)",
	       d.data0, d.data1, d.data2, d.data3, kind);
}

/*
 * Shares or lends one page to echo, which retrieves it, reads the first u32, writes another
 * there and relinquishes it (test-protocol MEM_RW); then Linux reclaims the page and reads it.
 */
static void check_mem(const char *name, bool lend)
{
	const struct ffa_mem_ops *mem = echo->ops->mem_ops;
	struct ffa_mem_region_attributes attr = {
		.receiver = ECHO_ID,
		.attrs = FFA_MEM_RW,
	};
	struct ffa_mem_ops_args args = {
		.use_txbuf = true,
		.nattrs = 1,
		.attrs = &attr,
	};
	struct ffa_send_direct_data d = {};
	struct scatterlist sg;
	struct page *page;
	u32 *word;
	u32 before = lend ? 0x1E4D0001 : 0x54A2E001, after = before + 0x100;
	int rc, rrc;

	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!page) {
		report(name, 0, "no page");
		return;
	}
	word = page_address(page);
	*word = before;
	sg_init_table(&sg, 1);
	sg_set_page(&sg, page, PAGE_SIZE, 0);
	args.sg = &sg;
	rc = lend ? mem->memory_lend(&args) : mem->memory_share(&args);
	if (rc) {
		report(name, 0, "memory_%s returned %d", lend ? "lend" : "share", rc);
		__free_page(page);
		return;
	}
	d.data0 = CMD_MEM_RW;
	d.data1 = lower_32_bits(args.g_handle);
	d.data2 = upper_32_bits(args.g_handle);
	d.data3 = 0; /* the owner: Linux's own endpoint ID, 0 under an SPMD (FFA_ID_GET) */
	d.data4 = after;
	rc = echo->ops->msg_ops->sync_send_receive(echo, &d);
	rrc = mem->memory_reclaim(args.g_handle, 0);
	if (rc || rrc) {
		report(name, 0, "request returned %d, reclaim of handle %llx returned %d", rc,
		       args.g_handle, rrc);
	} else {
		report(name, d.data0 == STATUS_OK && d.data1 == before && d.data2 == 1 &&
			     READ_ONCE(*word) == after,
		       "echo answered status %llx, read %llx (want %x), pages %llu; page holds %x (want %x)",
		       d.data0, d.data1, before, d.data2, READ_ONCE(*word), after);
	}
	/* Reclaim failed: the page may still be mapped for echo, never give it back to Linux. */
	if (!rrc)
		__free_page(page);
}

static int direct_on_this_cpu(void *arg)
{
	struct ffa_send_direct_data *d = arg;

	return echo->ops->msg_ops->sync_send_receive(echo, d);
}

/* CPU 1 goes off (the SPMC gets the CPU_OFF framework message) and on again (warm entry
 * through its secondary entry point), then serves a direct request on that CPU. */
static void check_cpu_off_on(void)
{
	struct ffa_send_direct_data d = { .data0 = 0x0FF0, .data4 = 0x0FF4 };
	int rc;

	if (num_possible_cpus() < 2) {
		report("cpu1_offline_online", 0, "only %u CPU", num_possible_cpus());
		return;
	}
	rc = remove_cpu(1);
	if (rc || cpu_online(1)) {
		report("cpu1_offline_online", 0, "remove_cpu(1) returned %d", rc);
		return;
	}
	rc = add_cpu(1);
	if (rc || !cpu_online(1)) {
		report("cpu1_offline_online", 0, "add_cpu(1) returned %d", rc);
		return;
	}
	rc = smp_call_on_cpu(1, direct_on_this_cpu, &d, false);
	report("cpu1_offline_online", !rc && d.data0 == 0x0FF0 && d.data4 == 0x0FF4,
	       "direct request on CPU 1 returned %d, words %llx .. %llx", rc, d.data0, d.data4);
}

/*
 * A request that runs long in echo (test-protocol SPIN: 250 ms of the 62.5 MHz counter, no
 * FF-A call) must not stall Linux's timers on the CPU that sent it: echo is signalled
 * (ns-interrupts-action 2), so Linux's timer interrupt preempts it, the SPMC returns
 * FFA_INTERRUPT, the interrupt is taken, and the driver resumes echo with FFA_RUN until the
 * response comes. A 5 ms hrtimer pinned to that CPU counts the ticks it delivers while the
 * request is in flight; a core held by the SP would deliver at most one, after the SP answered.
 */
#define LONG_SPIN_TICKS (62500000ull / 4)
#define LONG_TICK_MS 5

struct long_request {
	struct hrtimer timer;
	atomic_t in_flight;
	atomic_t ticks;
	int cpu;
	bool other_cpu;
	struct ffa_send_direct_data d;
};

static enum hrtimer_restart long_request_tick(struct hrtimer *t)
{
	struct long_request *lr = container_of(t, struct long_request, timer);

	if (atomic_read(&lr->in_flight))
		atomic_inc(&lr->ticks);
	if (smp_processor_id() != lr->cpu)
		lr->other_cpu = true;
	hrtimer_forward_now(t, ms_to_ktime(LONG_TICK_MS));
	return HRTIMER_RESTART;
}

static int long_request_on_this_cpu(void *arg)
{
	struct long_request *lr = arg;
	int rc;

	lr->cpu = smp_processor_id();
	lr->d = (struct ffa_send_direct_data){ .data0 = CMD_SPIN, .data1 = LONG_SPIN_TICKS };
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
	/* hrtimer_setup replaced hrtimer_init + .function in 6.13 (hrtimer_init gone in 6.16). */
	hrtimer_setup(&lr->timer, long_request_tick, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED);
#else
	hrtimer_init(&lr->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED);
	lr->timer.function = long_request_tick;
#endif
	atomic_set(&lr->in_flight, 1);
	hrtimer_start(&lr->timer, ms_to_ktime(LONG_TICK_MS), HRTIMER_MODE_REL_PINNED);
	rc = echo->ops->msg_ops->sync_send_receive(echo, &lr->d);
	atomic_set(&lr->in_flight, 0);
	hrtimer_cancel(&lr->timer);
	return rc;
}

static void check_long_request_preempted(void)
{
	static struct long_request lr;
	int rc = smp_call_on_cpu(0, long_request_on_this_cpu, &lr, false);
	int ticks = atomic_read(&lr.ticks);

	if (rc) {
		report("long_request_preempted", 0, "sync_send_receive returned %d", rc);
		return;
	}
	/* SPIN answers [OK, counter at start, counter at end]. */
	report("long_request_preempted",
	       lr.d.data0 == STATUS_OK && lr.d.data2 - lr.d.data1 >= LONG_SPIN_TICKS &&
		       ticks >= 10 && !lr.other_cpu,
	       "echo answered status %llx after %llu ticks (want %llu); %d timer ticks on CPU %d while in flight (want >= 10)%s",
	       lr.d.data0, lr.d.data2 - lr.d.data1, LONG_SPIN_TICKS, ticks, lr.cpu,
	       lr.other_cpu ? ", one on another CPU" : "");
}

static int __init ffa_test_init(void)
{
	int rc = ffa_register(&ffa_test_driver);

	if (rc) {
		pr_info("ffa-test: registering the driver failed: %d\n", rc);
		return rc;
	}
	if (!echo) {
		report("echo_bound", 0, "no arm_ffa device with echo's UUID and ID 0x%x", ECHO_ID);
	} else {
		report("echo_bound", 1, "");
		/* Linux's devices start in 64-bit mode; mode_32bit_set cannot be undone. */
		check_echo("direct_req_64", 0xA5A5A5A500000000ull);
		check_who("direct_req_64_kind", 64);
		check_mem("mem_share_retrieve_write_reclaim", false);
		check_mem("mem_lend_retrieve_write_reclaim", true);
		ffa_test_notifications(echo, relay);
		check_cpu_off_on();
		check_long_request_preempted();
		echo->ops->msg_ops->mode_32bit_set(echo);
		check_echo("direct_req_32", 0x32000000);
		check_who("direct_req_32_kind", 32);
	}
	pr_info("ffa-test: %d passed, %d failed\n", passed, failed);
	return 0;
}

static void __exit ffa_test_exit(void)
{
	ffa_unregister(&ffa_test_driver);
}

module_init(ffa_test_init);
module_exit(ffa_test_exit);
MODULE_DESCRIPTION("rust-spmc Linux lane: FF-A checks through Linux's FF-A ops");
MODULE_LICENSE("GPL");
