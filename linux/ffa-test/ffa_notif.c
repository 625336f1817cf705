// SPDX-License-Identifier: GPL-2.0-only
/*
 * Notifications and indirect messaging through Linux's own FF-A ops (issue 12):
 *  - a notification from echo reaches this module through Linux's notifier API: the SPMC
 *    raises the schedule-receiver interrupt, the driver asks FFA_NOTIFICATION_INFO_GET and
 *    FFA_NOTIFICATION_GET, and calls the callback notify_request registered;
 *  - a notification from Linux to echo (notify_send), which echo fetches;
 *  - an indirect message (FFA_MSG_SEND2 through indirect_send) that echo reads back;
 *  - Linux as echo's scheduler: after a notification to echo, the SRI makes the driver call
 *    the callback sched_recv_cb_register gave for echo, which runs echo with cpu_ops->run
 *    (FFA_RUN); echo reads its notifications and waits again (FFA_MSG_WAIT ends the run).
 * echo's side is partitions/test-protocol's NOTIFY_*, MSG_READ and RUN_LOG commands.
 *
 * Order as a real scheduler: after Linux notifies echo or sends it a message, the checks wait
 * until the driver's SRI work has asked FFA_NOTIFICATION_INFO_GET and named echo (the
 * sched_recv callback) before echo reads. Were echo to read first, that INFO_GET would find
 * nothing new (NO_DATA, as TF-A's SPMD and Hafnium answer it too: FFA_ERROR, w2 = -9
 * zero-extended in x2), and Linux 6.12 logs that as "Notification Info fetch failed
 * 0x84000060 (0xfffffff7)": its driver.c compares the 64-bit a2 with a sign-extended -9
 * (fixed upstream by 3e282f41585c, "Explicitly cast return value from
 * NOTIFICATION_INFO_GET", not in Debian's 6.12.118). The lane fails on that line, so it
 * catches an SRI raised with nothing new pending.
 *  - from Linux 6.15 on (the backports lane's 7.x): an indirect message from echo to Linux
 *    (echo's FFA_MSG_SEND2 into Linux's RX buffer, "RX buffer full" in the SPM framework
 *    bitmap, the SRI), received through the driver's framework notifications: the callback
 *    fwk_notify_request registered for echo's device gets the payload; the driver finds it by
 *    the header's sender ID (and UUID), copies it and releases the RX buffer itself.
 * Linux 6.12 cannot receive an SP's FFA_MSG_SEND2 (no framework-notification handler):
 * docs/integrator-guide.md says why.
 */
#include <linux/compiler.h>
#include <linux/completion.h>
#include <linux/jiffies.h>
#include <linux/string.h>
#include <linux/version.h>

#include "ffa_test.h"

#define CMD_MSG_SEND2 0xC0DE0901u
#define CMD_MSG_READ 0xC0DE0902u
#define CMD_NOTIFY_BIND 0xC0DE0903u
#define CMD_NOTIFY_UNBIND 0xC0DE0904u
#define CMD_NOTIFY_SET 0xC0DE0905u
#define CMD_NOTIFY_GET 0xC0DE0906u
#define CMD_RUN_LOG 0xC0DE1101u
#define STATUS_OK 0u
#define NW_ID 0 /* Linux's own endpoint under an SPMD (FFA_ID_GET) */

#define FROM_ECHO_ID 3 /* the notification echo sends us */
#define TO_ECHO_ID 4 /* the notification we send echo */
#define RUN_ECHO_ID 5 /* the notification after which we run echo */

static DECLARE_COMPLETION(got_notification);
static int got_id = -1;

static void on_notification(int notify_id, void *data)
{
	got_id = notify_id;
	complete(&got_notification);
}

static int ask(struct ffa_device *echo, struct ffa_send_direct_data *d)
{
	return echo->ops->msg_ops->sync_send_receive(echo, d);
}

static DECLARE_COMPLETION(echo_named);

static void on_echo_named(u16 vcpu, bool is_per_vcpu, void *data)
{
	complete(&echo_named);
}

/* Before a send to echo: be told when the driver's INFO_GET names echo. */
static int watch_echo_named(struct ffa_device *echo)
{
	reinit_completion(&echo_named);
	return echo->ops->notifier_ops->sched_recv_cb_register(echo, on_echo_named, NULL);
}

/* After the send (if it succeeded): wait until INFO_GET named echo; stop watching. */
static bool echo_was_named(struct ffa_device *echo, bool sent)
{
	unsigned long left = sent ? wait_for_completion_timeout(&echo_named,
								 msecs_to_jiffies(5000)) : 0;

	echo->ops->notifier_ops->sched_recv_cb_unregister(echo);
	return left != 0;
}

static void check_receive(struct ffa_device *echo)
{
	const struct ffa_notifier_ops *n = echo->ops->notifier_ops;
	struct ffa_send_direct_data d = {
		.data0 = CMD_NOTIFY_SET, .data1 = NW_ID, .data2 = BIT(FROM_ECHO_ID),
	};
	unsigned long left;
	int rc;

	rc = n->notify_request(echo, false, on_notification, NULL, FROM_ECHO_ID);
	if (rc) {
		report("notification_sp_to_linux", 0, "notify_request returned %d", rc);
		return;
	}
	rc = ask(echo, &d);
	if (rc || d.data0 != STATUS_OK) {
		report("notification_sp_to_linux", 0, "echo's NOTIFICATION_SET: rc %d status %llx",
		       rc, d.data0);
	} else {
		left = wait_for_completion_timeout(&got_notification, msecs_to_jiffies(5000));
		report("notification_sp_to_linux", left && got_id == FROM_ECHO_ID,
		       "callback %s (notification %d)", left ? "ran" : "never ran", got_id);
	}
	rc = n->notify_relinquish(echo, FROM_ECHO_ID);
	report("notification_relinquish", rc == 0, "notify_relinquish returned %d", rc);
}

static void check_send(struct ffa_device *echo)
{
	const struct ffa_notifier_ops *n = echo->ops->notifier_ops;
	struct ffa_send_direct_data d = {
		.data0 = CMD_NOTIFY_BIND, .data1 = NW_ID, .data2 = BIT(TO_ECHO_ID),
	};
	bool named = false;
	int rc = ask(echo, &d);

	if (rc || d.data0 != STATUS_OK) {
		report("notification_linux_to_sp", 0, "echo's NOTIFICATION_BIND: rc %d status %llx",
		       rc, d.data0);
		return;
	}
	rc = watch_echo_named(echo);
	if (!rc) {
		rc = n->notify_send(echo, TO_ECHO_ID, false, 0);
		named = echo_was_named(echo, !rc);
	}
	memset(&d, 0, sizeof(d));
	d.data0 = CMD_NOTIFY_GET;
	d.data1 = 0x2; /* VM bitmap */
	if (!rc)
		rc = ask(echo, &d);
	report("notification_linux_to_sp",
	       !rc && named && d.data0 == STATUS_OK && d.data2 == BIT(TO_ECHO_ID),
	       "sched_recv_cb_register/notify_send/echo's GET: rc %d, INFO_GET %s echo, status %llx, VM bitmap %llx",
	       rc, named ? "named" : "never named", d.data0, d.data2);
	memset(&d, 0, sizeof(d));
	d.data0 = CMD_NOTIFY_UNBIND;
	d.data1 = NW_ID;
	d.data2 = BIT(TO_ECHO_ID);
	rc = ask(echo, &d);
	report("notification_sp_unbinds", !rc && d.data0 == STATUS_OK,
	       "echo's NOTIFICATION_UNBIND: rc %d status %llx", rc, d.data0);
}

static void check_indirect(struct ffa_device *echo)
{
	u64 payload = 0x4c494e5558214d53ull; /* "SM!XUNIL" */
	struct ffa_send_direct_data d = { .data0 = CMD_MSG_READ };
	bool named;
	int rc = watch_echo_named(echo);

	if (rc) {
		report("indirect_msg_send2_to_sp", 0, "sched_recv_cb_register returned %d", rc);
		return;
	}
	rc = echo->ops->msg_ops->indirect_send(echo, &payload, sizeof(payload));
	/* INFO_GET names echo for its pending framework notification ("RX buffer full"). */
	named = echo_was_named(echo, !rc);
	if (rc) {
		report("indirect_msg_send2_to_sp", 0, "indirect_send returned %d", rc);
		return;
	}
	rc = ask(echo, &d);
	/* "RX buffer full" from a VM: bit 0 of the hypervisor framework bitmap (word 1 bit 32). */
	report("indirect_msg_send2_to_sp",
	       !rc && named && d.data0 == STATUS_OK && d.data1 == BIT_ULL(32) &&
		       d.data2 == NW_ID && d.data3 == sizeof(payload) && d.data4 == payload,
	       "INFO_GET %s echo; echo's MSG_READ: rc %d status %llx, framework %llx, sender %llx, size %llu, payload %llx",
	       named ? "named" : "never named", rc, d.data0, d.data1, d.data2, d.data3, d.data4);
}

static DECLARE_COMPLETION(ran_echo);
static int run_rc = -1;
static int run_calls;
static bool sent; /* the notification was set: a run from now on must see it */

/*
 * The scheduler's part: the driver names echo after the SRI (INFO_GET); give it the CPU. Only
 * a run after the notification was sent completes the check.
 */
static void on_sched_recv(u16 vcpu, bool is_per_vcpu, void *cb_data)
{
	struct ffa_device *echo = cb_data;
	bool after_send = READ_ONCE(sent);

	run_calls++;
	run_rc = echo->ops->cpu_ops->run(echo, vcpu);
	if (after_send)
		complete(&ran_echo);
}

static void check_sched_recv_run(struct ffa_device *echo)
{
	const struct ffa_notifier_ops *n = echo->ops->notifier_ops;
	struct ffa_send_direct_data d = { .data0 = CMD_RUN_LOG };
	u64 runs_before;
	unsigned long left;
	int rc = ask(echo, &d);

	if (rc || d.data0 != STATUS_OK) {
		report("sched_recv_runs_sp", 0, "echo's RUN_LOG: rc %d status %llx", rc, d.data0);
		return;
	}
	runs_before = d.data1;
	memset(&d, 0, sizeof(d));
	d.data0 = CMD_NOTIFY_BIND;
	d.data1 = NW_ID;
	d.data2 = BIT(RUN_ECHO_ID);
	rc = ask(echo, &d);
	if (rc || d.data0 != STATUS_OK) {
		report("sched_recv_runs_sp", 0, "echo's NOTIFICATION_BIND: rc %d status %llx", rc,
		       d.data0);
		return;
	}
	rc = n->sched_recv_cb_register(echo, on_sched_recv, echo);
	if (rc) {
		report("sched_recv_runs_sp", 0, "sched_recv_cb_register returned %d", rc);
	} else {
		WRITE_ONCE(sent, true);
		rc = n->notify_send(echo, RUN_ECHO_ID, false, 0);
		left = rc ? 0 : wait_for_completion_timeout(&ran_echo, msecs_to_jiffies(5000));
		n->sched_recv_cb_unregister(echo);
		memset(&d, 0, sizeof(d));
		d.data0 = CMD_RUN_LOG;
		if (left)
			rc = ask(echo, &d);
		/* RUN_LOG: runs, then what the run's GET returned: SP, VM, framework bitmaps. */
		report("sched_recv_runs_sp",
		       left && !rc && run_rc == 0 && d.data0 == STATUS_OK &&
			       d.data1 > runs_before && d.data2 == 0 &&
			       d.data3 == BIT(RUN_ECHO_ID) && d.data4 == 0,
		       "notify_send/callback/run: rc %d, callback %s (%d calls), run returned %d; echo's RUN_LOG: status %llx runs %llu (before %llu) SP %llx VM %llx fwk %llx",
		       rc, left ? "ran" : "never ran", run_calls, run_rc, d.data0, d.data1,
		       runs_before, d.data2, d.data3, d.data4);
	}
	memset(&d, 0, sizeof(d));
	d.data0 = CMD_NOTIFY_UNBIND;
	d.data1 = NW_ID;
	d.data2 = BIT(RUN_ECHO_ID);
	rc = ask(echo, &d);
	if (rc || d.data0 != STATUS_OK)
		report("sched_recv_runs_sp", 0, "echo's NOTIFICATION_UNBIND: rc %d status %llx", rc,
		       d.data0);
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
/*
 * Framework notifications (upstream 285a5ea0f542, v6.15): "RX buffer full" hands an indirect
 * message to the callback registered for its sender's device (notification ID 0).
 */
#define FWK_RX_BUFFER_FULL 0

struct fwk_receiver {
	const char *name;
	struct completion got;
	int calls;
	u64 payload;
};

static struct fwk_receiver from_echo = { .name = "echo" };
static struct fwk_receiver from_other = { .name = "the other partition" };

/* The driver passes the payload it copied out of the RX buffer (freed after the call). */
static void on_message(int notify_id, void *cb_data, void *buf)
{
	struct fwk_receiver *r = cb_data;

	/* echo's MSG_SEND2 carries 8 bytes: word 2 of the request, little-endian. */
	memcpy(&r->payload, buf, sizeof(r->payload));
	r->calls++;
	complete(&r->got);
}

/* echo sends `payload` to Linux (test-protocol MSG_SEND2); Linux's driver must hand it to the
 * callback of echo's device only. */
static void check_receive_indirect(struct ffa_device *echo, struct ffa_device *other)
{
	const struct ffa_notifier_ops *n = echo->ops->notifier_ops;
	u64 payload = 0x21534d4f52464f45ull; /* "EOFROMS!" */
	struct ffa_send_direct_data d = {
		.data0 = CMD_MSG_SEND2, .data1 = NW_ID, .data2 = payload,
	};
	unsigned long left = 0;
	int rc, rc_other = -ENODEV;

	init_completion(&from_echo.got);
	init_completion(&from_other.got);
	rc = n->fwk_notify_request(echo, on_message, &from_echo, FWK_RX_BUFFER_FULL);
	if (rc) {
		report("indirect_msg_send2_from_sp", 0, "fwk_notify_request returned %d", rc);
		return;
	}
	/* A receiver for another partition's messages, which must stay silent. */
	if (other)
		rc_other = n->fwk_notify_request(other, on_message, &from_other,
						 FWK_RX_BUFFER_FULL);
	rc = ask(echo, &d);
	if (!rc && d.data0 == STATUS_OK)
		left = wait_for_completion_timeout(&from_echo.got, msecs_to_jiffies(5000));
	report("indirect_msg_send2_from_sp",
	       !rc && d.data0 == STATUS_OK && left && from_echo.calls == 1 &&
		       from_echo.payload == payload && rc_other == 0 && from_other.calls == 0,
	       "echo's MSG_SEND2 to 0x%x: rc %d status %llx; echo's callback %s (%d calls), payload %llx (want %llx); callback for 0x%x registered %d, called %d times",
	       NW_ID, rc, d.data0, left ? "ran" : "never ran", from_echo.calls,
	       from_echo.payload, payload, other ? other->vm_id : 0, rc_other,
	       from_other.calls);
	/*
	 * The driver released its RX buffer after copying the message: echo's second message is
	 * delivered (a full buffer would make it BUSY).
	 */
	reinit_completion(&from_echo.got);
	memset(&d, 0, sizeof(d));
	d.data0 = CMD_MSG_SEND2;
	d.data1 = NW_ID;
	d.data2 = ~payload;
	rc = ask(echo, &d);
	left = (!rc && d.data0 == STATUS_OK) ?
		wait_for_completion_timeout(&from_echo.got, msecs_to_jiffies(5000)) : 0;
	report("indirect_msg_send2_from_sp_rx_released",
	       !rc && d.data0 == STATUS_OK && left && from_echo.payload == ~payload,
	       "echo's second MSG_SEND2: rc %d status %llx; callback %s, payload %llx (want %llx)",
	       rc, d.data0, left ? "ran" : "never ran", from_echo.payload, ~payload);
	rc = n->fwk_notify_relinquish(echo, FWK_RX_BUFFER_FULL);
	if (other && rc_other == 0)
		rc_other = n->fwk_notify_relinquish(other, FWK_RX_BUFFER_FULL);
	report("fwk_notify_relinquish", rc == 0 && rc_other == 0,
	       "fwk_notify_relinquish returned %d (echo), %d (other)", rc, rc_other);
}
#endif

void ffa_test_notifications(struct ffa_device *echo, struct ffa_device *other)
{
	check_receive(echo);
	check_send(echo);
	check_indirect(echo);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
	check_receive_indirect(echo, other);
#endif
	check_sched_recv_run(echo);
}
