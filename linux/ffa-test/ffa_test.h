/* SPDX-License-Identifier: GPL-2.0-only */
/* What the lane's test module's files share (ffa_test.c, ffa_notif.c). */
#ifndef FFA_TEST_H
#define FFA_TEST_H

#include <linux/arm_ffa.h>

/* One "ffa-test: check <name> ... ok|FAILED: <why>" line, counted in the module's summary. */
void report(const char *name, int ok, const char *fmt, ...);

/*
 * Notifications and indirect messaging with echo through Linux's notifier and msg ops;
 * `other` (may be NULL) is another partition's device, whose framework-notification callback
 * must not get echo's messages.
 */
void ffa_test_notifications(struct ffa_device *echo, struct ffa_device *other);

#endif
