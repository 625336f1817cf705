// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ffa-call: the integrator's client in Linux (issue 14). User space (linux/user/ffa_call.c,
 * `ffa-call` in the lane's initramfs) names any partition on the arm_ffa bus by ID or UUID and
 * gives the payload words; this module sends the direct request through Linux's own FF-A ops
 * (the ones every FF-A client driver uses), optionally after sharing pages with the partition,
 * and returns the answer. It binds to no partition, so it never competes with arm_tstee or the
 * lane's test module for a device.
 */
#include <linux/arm_ffa.h>
#include <linux/device.h>
#include <linux/gfp.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/version.h>

#include "ffa_call_uapi.h"

/* One call at a time: the requests are synchronous anyway and the shadow device is shared. */
static DEFINE_MUTEX(ffa_call_lock);

struct find_key {
	bool by_uuid;
	u16 id;
	uuid_t uuid;
};

static int match_partition(struct device *dev, const void *data)
{
	const struct find_key *key = data;
	struct ffa_device *fdev = to_ffa_dev(dev);

	/* Linux's own endpoint (ID 0, nil UUID) is on the bus too; it is no partition. */
	if (fdev->vm_id == 0)
		return 0;
	if (key->by_uuid)
		return uuid_equal(&fdev->uuid, &key->uuid);
	return fdev->vm_id == key->id;
}

/*
 * The partition's device on the arm_ffa bus (a reference to put), or NULL. With several UUIDs
 * per partition (a v1.2 driver lists one device per UUID) the first device found serves.
 */
static struct ffa_device *find_partition(const struct find_key *key)
{
	struct device *dev = bus_find_device(&ffa_bus_type, NULL, key, match_partition);

	return dev ? to_ffa_dev(dev) : NULL;
}

/*
 * Shares `n` separate pages (so the transaction has `n` constituents) read-write with `id`;
 * u32 word i of the memory is fill + i. On success the pages are in `pages` and the handle in
 * `*handle`.
 */
static int share_pages(const struct ffa_ops *ops, u16 id, u32 n, u32 fill,
		       struct page **pages, u64 *handle)
{
	struct ffa_mem_region_attributes attr = { .receiver = id, .attrs = FFA_MEM_RW };
	struct ffa_mem_ops_args args = { .use_txbuf = true, .nattrs = 1, .attrs = &attr };
	struct scatterlist *sg;
	u32 i, j, word = 0;
	int rc;

	sg = kcalloc(n, sizeof(*sg), GFP_KERNEL);
	if (!sg)
		return -ENOMEM;
	sg_init_table(sg, n);
	for (i = 0; i < n; i++) {
		u32 *p;

		pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!pages[i]) {
			rc = -ENOMEM;
			goto free;
		}
		p = page_address(pages[i]);
		for (j = 0; j < PAGE_SIZE / sizeof(u32); j++)
			p[j] = fill + word++;
		sg_set_page(&sg[i], pages[i], PAGE_SIZE, 0);
	}
	args.sg = sg;
	rc = ops->mem_ops->memory_share(&args);
	if (!rc) {
		*handle = args.g_handle;
		kfree(sg);
		return 0;
	}
	pr_info("ffa-call: memory_share of %u page(s) with 0x%04x returned %d\n", n, id, rc);
free:
	for (i = 0; i < n && pages[i]; i++)
		__free_page(pages[i]);
	kfree(sg);
	return rc;
}

/*
 * Sends the request. Linux's FF-A ops take the message kind from the device (mode_32bit,
 * which mode_32bit_set turns on for good: arm_tstee does that to its devices). So the request
 * goes through a private copy of the partition's identity instead of the bus device: in Linux
 * 6.12, drivers/firmware/arm_ffa/driver.c ffa_sync_send_receive() and ffa_sync_send_receive2()
 * read only dev->vm_id and dev->mode_32bit; in 7.3 ffa_sync_send_receive2() reads dev->vm_id and
 * dev->uuid (the protocol UUID, an argument in 6.12), which the copy carries. The bus device is never modified, so a call from
 * here cannot change how another driver talks to the same partition.
 */
static int send(struct ffa_device *part, struct ffa_call_arg *a)
{
	const struct ffa_msg_ops *msg = part->ops->msg_ops;
	struct ffa_device *shadow;
	int rc, i;

	shadow = kzalloc(sizeof(*shadow), GFP_KERNEL);
	if (!shadow)
		return -ENOMEM;
	shadow->vm_id = part->vm_id;
	shadow->uuid = part->uuid;
	shadow->ops = part->ops;
	shadow->mode_32bit = a->kind == FFA_CALL_REQ32;
	if (a->kind == FFA_CALL_REQ2) {
		struct ffa_send_direct_data2 d2;
		uuid_t protocol;

		BUILD_BUG_ON(sizeof(d2.data) != sizeof(a->words));
		import_uuid(&protocol, a->uuid);
		memcpy(d2.data, a->words, sizeof(d2.data));
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
		/* Later drivers take the protocol UUID from the device (7.x: dev->uuid). */
		shadow->uuid = protocol;
		rc = msg->sync_send_receive2(shadow, &d2);
#else
		rc = msg->sync_send_receive2(shadow, &protocol, &d2);
#endif
		if (!rc)
			memcpy(a->answer, d2.data, sizeof(a->answer));
	} else {
		struct ffa_send_direct_data d = {
			.data0 = a->words[0], .data1 = a->words[1], .data2 = a->words[2],
			.data3 = a->words[3], .data4 = a->words[4],
		};

		rc = msg->sync_send_receive(shadow, &d);
		if (!rc) {
			a->answer[0] = d.data0;
			a->answer[1] = d.data1;
			a->answer[2] = d.data2;
			a->answer[3] = d.data3;
			a->answer[4] = d.data4;
			/* SMC32: only w3..w7 carry the answer; the upper halves are not part of it. */
			if (a->kind == FFA_CALL_REQ32)
				for (i = 0; i < 5; i++)
					a->answer[i] = lower_32_bits(a->answer[i]);
		}
	}
	kfree(shadow);
	return rc;
}

static int validate(const struct ffa_call_arg *a)
{
	int i;

	if (a->kind != FFA_CALL_REQ32 && a->kind != FFA_CALL_REQ64 && a->kind != FFA_CALL_REQ2)
		return -EINVAL;
	if (a->flags & ~FFA_CALL_BY_UUID || a->share_pages > FFA_CALL_MAX_PAGES)
		return -EINVAL;
	if (!a->share_pages && (a->handle_lo || a->handle_hi))
		return -EINVAL;
	if ((a->handle_lo | a->handle_hi) >> FFA_CALL_WORDS)
		return -EINVAL;
	for (i = 0; i < FFA_CALL_WORDS; i++) {
		/* REQ_32/64 carry words 0..4; REQ_32's words are 32 bits. */
		if (a->kind != FFA_CALL_REQ2 && i >= 5 && a->words[i])
			return -EINVAL;
		if (a->kind == FFA_CALL_REQ32 && a->words[i] >> 32)
			return -EINVAL;
	}
	return 0;
}

static long call(struct ffa_call_arg *a)
{
	struct page *pages[FFA_CALL_MAX_PAGES] = {};
	struct find_key key = { .by_uuid = a->flags & FFA_CALL_BY_UUID, .id = a->id };
	struct ffa_device *part;
	int rc, rrc = 0, i;

	rc = validate(a);
	if (rc)
		return rc;
	import_uuid(&key.uuid, a->uuid);
	part = find_partition(&key);
	if (!part)
		return -ENODEV;
	a->called_id = part->vm_id;
	a->ffa_version = part->ops->info_ops->api_version_get();
	/*
	 * DIRECT_REQ2 is FF-A v1.2; Linux 6.12's driver speaks v1.1 and then refuses REQ2 itself
	 * (-EOPNOTSUPP, as for an FFA_ERROR NOT_SUPPORTED): say why instead.
	 */
	if (a->kind == FFA_CALL_REQ2 && a->ffa_version < FFA_PACK_VERSION_INFO(1, 2)) {
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	if (a->share_pages) {
		rc = share_pages(part->ops, part->vm_id, a->share_pages, a->fill, pages, &a->handle);
		if (rc)
			goto out;
		for (i = 0; i < FFA_CALL_WORDS; i++) {
			if (a->handle_lo & BIT(i))
				a->words[i] = lower_32_bits(a->handle);
			if (a->handle_hi & BIT(i))
				a->words[i] = upper_32_bits(a->handle);
		}
	}
	rc = send(part, a);
	if (a->share_pages) {
		const u32 *p = page_address(pages[0]);

		for (i = 0; i < FFA_CALL_MEM_WORDS; i++)
			a->mem_after[i] = READ_ONCE(p[i]);
		rrc = part->ops->mem_ops->memory_reclaim(a->handle, 0);
		if (rrc) {
			/* Still shared: the pages must never go back to Linux's allocator. */
			pr_err("ffa-call: reclaim of handle 0x%llx returned %d; %u page(s) leaked on purpose\n",
			       a->handle, rrc, a->share_pages);
		} else {
			for (i = 0; i < a->share_pages; i++)
				__free_page(pages[i]);
		}
	}
out:
	put_device(&part->dev);
	return rc ? rc : rrc;
}

static long ffa_call_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	struct ffa_call_arg a;
	long rc;

	if (cmd != FFA_CALL_IOC_SEND)
		return -ENOTTY;
	if (copy_from_user(&a, (void __user *)uarg, sizeof(a)))
		return -EFAULT;
	memset(a.answer, 0, sizeof(a.answer));
	memset(a.mem_after, 0, sizeof(a.mem_after));
	a.handle = 0;
	a.called_id = 0;
	mutex_lock(&ffa_call_lock);
	rc = call(&a);
	mutex_unlock(&ffa_call_lock);
	/* The handle and called_id are useful even when the request failed. */
	if (copy_to_user((void __user *)uarg, &a, sizeof(a)))
		return -EFAULT;
	return rc;
}

static const struct file_operations ffa_call_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = ffa_call_ioctl,
};

static struct miscdevice ffa_call_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ffa-call",
	.fops = &ffa_call_fops,
	.mode = 0600,
};

static int __init ffa_call_init(void)
{
	int rc = misc_register(&ffa_call_dev);

	if (!rc)
		pr_info("ffa-call: /dev/ffa-call ready\n");
	return rc;
}

static void __exit ffa_call_exit(void)
{
	misc_deregister(&ffa_call_dev);
}

module_init(ffa_call_init);
module_exit(ffa_call_exit);
MODULE_DESCRIPTION("rust-spmc: /dev/ffa-call, direct requests from user space to any FF-A partition");
MODULE_LICENSE("GPL");
