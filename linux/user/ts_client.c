// SPDX-License-Identifier: GPL-2.0-only
/*
 * ts-client: the Linux lane's Trusted Services client (issue 13). It reaches the project's ITS
 * and PS partitions through arm_tstee's /dev/teeN the way TS's libts does (its Linux RPC
 * caller, components/rpc/ts_rpc/caller/linux, and service locator): find the tee devices whose
 * implementation is TSTEE (TEE_IOC_VERSION; impl_caps = the partition's endpoint ID), open a
 * session with the service UUID on each until one hosts the service (TEE_IOC_OPEN_SESSION;
 * arm_tstee sends TS RPC SERVICE_INFO_GET), allocate shared memory (TEE_IOC_SHM_ALLOC: arm_tstee
 * shares it with FFA_MEM_SHARE and has the partition retrieve it) and call the service
 * (TEE_IOC_INVOKE: func = opcode, one VALUE_INOUT parameter a = shared memory ID, b = request
 * length; answer: ret = the PSA status, a = the response length). The requests are the
 * packed-c secure storage protocol (TS protocols/service/secure_storage/packed-c).
 *
 * Written for this project from those interfaces; no TS code. One line per check,
 * "lane: check NAME ... ok" or "... FAILED: why", then "ts-client: N passed, N failed".
 * Usage: ts-client ITS_ID PS_ID (the endpoint IDs the SP set gives ITS and PS);
 * ts-client --persist-set|--persist-check ITS_ID PS_ID: the reboot check (persistence()).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/tee.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef TEE_IMPL_ID_TSTEE
#define TEE_IMPL_ID_TSTEE 3 /* linux/tee.h from Linux 6.10 on */
#endif

/* Secure storage protocol (packed-c): opcodes, flags, support bits. */
#define OP_SET 0x100
#define OP_GET 0x101
#define OP_GET_INFO 0x102
#define OP_REMOVE 0x103
#define OP_CREATE 0x104
#define OP_SET_EXTENDED 0x105
#define OP_GET_SUPPORT 0x106
#define SUPPORT_SET_EXTENDED 1u

/* PSA status codes (PSA Certified Status code API / Storage API 1.0). */
#define PSA_SUCCESS 0
#define PSA_ERROR_NOT_SUPPORTED (-134)
#define PSA_ERROR_INVALID_ARGUMENT (-135)
#define PSA_ERROR_DOES_NOT_EXIST (-140)

#define MAX_TEE_DEVS 16
/* Allocate/free rounds of shared memory per service (more than any table holds). */
#define SHM_ROUNDS 40

struct service {
	const char *name;
	uint8_t uuid[16]; /* in the textual form's byte order, as libts passes it */
	uint16_t want_id;
	int ps;
};

struct tee_dev {
	char path[16];
	uint16_t endpoint;
};

struct session {
	int fd;
	uint32_t id;
	uint16_t endpoint;
};

struct shm {
	int id;
	uint8_t *buf;
	size_t size;
};

static struct tee_dev devs[MAX_TEE_DEVS];
static int ndevs, passed, failed;

static void check(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		printf("lane: check %s ... ok\n", name);
		return;
	}
	failed++;
	printf("lane: check %s ... FAILED: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Every /dev/teeN whose driver is arm_tstee, with the endpoint ID it reports in impl_caps. */
static void discover(void)
{
	for (int n = 0; n < MAX_TEE_DEVS; n++) {
		struct tee_ioctl_version_data v = { 0 };
		char path[16];
		int fd, rc;

		snprintf(path, sizeof(path), "/dev/tee%d", n);
		fd = open(path, O_RDWR);
		if (fd < 0)
			continue;
		rc = ioctl(fd, TEE_IOC_VERSION, &v);
		close(fd);
		if (rc || v.impl_id != TEE_IMPL_ID_TSTEE)
			continue;
		memcpy(devs[ndevs].path, path, sizeof(path));
		devs[ndevs].endpoint = (uint16_t)v.impl_caps;
		ndevs++;
	}
}

/* TEE_IOC_OPEN_SESSION on one device; returns 0 or the errno. */
static int open_session(const struct tee_dev *dev, const uint8_t uuid[16], struct session *s)
{
	struct tee_ioctl_open_session_arg arg;
	struct tee_ioctl_buf_data buf = { .buf_ptr = (uintptr_t)&arg, .buf_len = sizeof(arg) };
	int fd = open(dev->path, O_RDWR), e;

	if (fd < 0)
		return errno;
	memset(&arg, 0, sizeof(arg));
	memcpy(arg.uuid, uuid, 16);
	arg.num_params = 0;
	if (ioctl(fd, TEE_IOC_OPEN_SESSION, &buf)) {
		e = errno;
		close(fd);
		return e;
	}
	s->fd = fd;
	s->id = arg.session;
	s->endpoint = dev->endpoint;
	return 0;
}

/* libts's find_and_open_session: the first device that hosts the service. */
static int find_and_open_session(const uint8_t uuid[16], struct session *s)
{
	for (int i = 0; i < ndevs; i++)
		if (!open_session(&devs[i], uuid, s))
			return 0;
	return ENODEV;
}

static void close_session(struct session *s)
{
	struct tee_ioctl_close_session_arg arg = { .session = s->id };

	if (ioctl(s->fd, TEE_IOC_CLOSE_SESSION, &arg))
		printf("ts-client: TEE_IOC_CLOSE_SESSION failed: %s\n", strerror(errno));
	close(s->fd);
}

static int shm_alloc(struct session *s, size_t size, struct shm *m)
{
	struct tee_ioctl_shm_alloc_data d = { .size = size };
	int fd = ioctl(s->fd, TEE_IOC_SHM_ALLOC, &d), e;

	if (fd < 0)
		return errno;
	m->buf = mmap(NULL, d.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	e = errno;
	close(fd);
	if (m->buf == MAP_FAILED)
		return e;
	m->size = d.size;
	m->id = d.id;
	return 0;
}

/* Unmapping drops the last reference: arm_tstee relinquishes (TS RPC) and reclaims. */
static void shm_free(struct shm *m)
{
	munmap(m->buf, m->size);
}

/*
 * One service call with the request in m->buf[0..req_len]: returns 0 and sets *status (the
 * PSA status the partition answered) and *resp_len, or the errno of TEE_IOC_INVOKE.
 */
static int invoke(struct session *s, uint16_t opcode, struct shm *m, size_t req_len,
		  int32_t *status, size_t *resp_len)
{
	struct {
		struct tee_ioctl_invoke_arg arg;
		struct tee_ioctl_param param[1];
	} b;
	struct tee_ioctl_buf_data buf = { .buf_ptr = (uintptr_t)&b, .buf_len = sizeof(b) };

	memset(&b, 0, sizeof(b));
	b.arg.func = opcode;
	b.arg.session = s->id;
	b.arg.num_params = 1;
	b.param[0].attr = TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_INOUT;
	b.param[0].a = m ? (uint64_t)m->id : 0;
	b.param[0].b = req_len;
	if (ioctl(s->fd, TEE_IOC_INVOKE, &buf))
		return errno;
	*status = (int32_t)b.arg.ret;
	*resp_len = (size_t)b.param[0].a;
	return 0;
}

/* Request encoders (packed little-endian structs); each returns the request length. */
static size_t req_set(uint8_t *p, uint64_t uid, uint32_t flags, const uint8_t *data, size_t n)
{
	put_u64(p, uid);
	put_u64(p + 8, n);
	put_u32(p + 16, flags);
	memcpy(p + 20, data, n);
	return 20 + n;
}

static size_t req_get(uint8_t *p, uint64_t uid, uint64_t offset, uint64_t size)
{
	put_u64(p, uid);
	put_u64(p + 8, offset);
	put_u64(p + 16, size);
	return 24;
}

static size_t req_uid(uint8_t *p, uint64_t uid)
{
	put_u64(p, uid);
	return 8;
}

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static char name_buf[64];

static const char *nm(const struct service *sv, const char *what)
{
	snprintf(name_buf, sizeof(name_buf), "ts_%s_%s", sv->name, what);
	return name_buf;
}

/* Calls `opcode` and checks the PSA status; returns 1 if the call went through. */
static int call_expect(const struct service *sv, const char *what, struct session *s,
		       uint16_t opcode, struct shm *m, size_t req_len, int32_t want,
		       size_t *resp_len)
{
	int32_t status = 0;
	size_t len = 0;
	int e = invoke(s, opcode, m, req_len, &status, &len);

	if (e) {
		check(nm(sv, what), 0, "TEE_IOC_INVOKE(0x%x) failed: %s", opcode, strerror(e));
		return 0;
	}
	if (resp_len)
		*resp_len = len;
	if (status != want) {
		check(nm(sv, what), 0, "opcode 0x%x answered PSA status %d, want %d", opcode,
		      status, want);
		return 0;
	}
	return 1;
}

static void storage_checks(const struct service *sv, const struct service *other)
{
	const uint64_t uid = 0x7A5E0001, big_uid = 0x7A5E0002, ext_uid = 0x7A5E0003;
	uint8_t data[16], big[6000];
	struct session s, o;
	struct shm m;
	size_t len = 0;
	int e;

	e = find_and_open_session(sv->uuid, &s);
	if (e) {
		check(nm(sv, "session"), 0, "no tee device hosts the service (%s)", strerror(e));
		return;
	}
	check(nm(sv, "session"), s.endpoint == sv->want_id,
	      "the service answered on partition 0x%04x, want 0x%04x", s.endpoint, sv->want_id);
	/* The other partition must refuse this service UUID (SERVICE_INFO_GET). */
	for (int i = 0; i < ndevs; i++) {
		if (devs[i].endpoint != other->want_id)
			continue;
		e = open_session(&devs[i], sv->uuid, &o);
		if (!e)
			close_session(&o);
		check(nm(sv, "not_on_other_partition"), e == ENODEV,
		      "a session with %s's UUID on 0x%04x %s", sv->name, other->want_id,
		      e ? strerror(e) : "opened");
	}
	e = shm_alloc(&s, 2 * 4096, &m);
	if (e) {
		check(nm(sv, "shm_alloc"), 0, "TEE_IOC_SHM_ALLOC of 8 KiB failed: %s", strerror(e));
		close_session(&s);
		return;
	}

	/* Leftovers of an earlier run (once storage persists) would change the answers. */
	for (uint64_t u = uid; u <= ext_uid; u++) {
		int32_t st;

		(void)invoke(&s, OP_REMOVE, &m, req_uid(m.buf, u), &st, &len);
	}

	/* SET, then GET it all, GET a part, GET_INFO. */
	pattern(data, sizeof(data), sv->ps ? 0x50 : 0x17);
	if (call_expect(sv, "set", &s, OP_SET, &m, req_set(m.buf, uid, 0, data, sizeof(data)),
			PSA_SUCCESS, NULL))
		check(nm(sv, "set"), 1, "");
	if (call_expect(sv, "get", &s, OP_GET, &m, req_get(m.buf, uid, 0, 64), PSA_SUCCESS, &len))
		check(nm(sv, "get"), len == sizeof(data) && !memcmp(m.buf, data, sizeof(data)),
		      "got %zu bytes (want %zu), first %02x %02x (want %02x %02x)", len,
		      sizeof(data), m.buf[0], m.buf[1], data[0], data[1]);
	if (call_expect(sv, "get_part", &s, OP_GET, &m, req_get(m.buf, uid, 4, 8), PSA_SUCCESS,
			&len))
		check(nm(sv, "get_part"), len == 8 && !memcmp(m.buf, data + 4, 8),
		      "got %zu bytes (want 8) at offset 4, first %02x (want %02x)", len, m.buf[0],
		      data[4]);
	if (call_expect(sv, "get_info", &s, OP_GET_INFO, &m, req_uid(m.buf, uid), PSA_SUCCESS,
			&len))
		check(nm(sv, "get_info"),
		      len == 20 && get_u64(m.buf) == sizeof(data) &&
			      get_u64(m.buf + 8) == sizeof(data) && get_u32(m.buf + 16) == 0,
		      "response %zu bytes: capacity %llu, size %llu, flags 0x%x (want 20 bytes, 16, 16, 0)",
		      len, (unsigned long long)get_u64(m.buf),
		      (unsigned long long)get_u64(m.buf + 8), get_u32(m.buf + 16));

	/* The other service keeps its own objects: the same UID does not exist there. */
	e = find_and_open_session(other->uuid, &o);
	if (e) {
		check(nm(sv, "separate_from_other"), 0, "no session with %s: %s", other->name,
		      strerror(e));
	} else {
		struct shm om;

		e = shm_alloc(&o, 4096, &om);
		if (e) {
			check(nm(sv, "separate_from_other"), 0, "SHM_ALLOC: %s", strerror(e));
		} else {
			if (call_expect(sv, "separate_from_other", &o, OP_GET_INFO, &om,
					req_uid(om.buf, uid), PSA_ERROR_DOES_NOT_EXIST, NULL))
				check(nm(sv, "separate_from_other"), 1, "");
			shm_free(&om);
		}
		close_session(&o);
	}

	/* An object larger than a page, through the two-page shared memory. */
	pattern(big, sizeof(big), sv->ps ? 0x33 : 0x99);
	if (call_expect(sv, "large_object", &s, OP_SET, &m,
			req_set(m.buf, big_uid, 0, big, sizeof(big)), PSA_SUCCESS, NULL)) {
		memset(m.buf, 0, m.size);
		if (call_expect(sv, "large_object", &s, OP_GET, &m,
				req_get(m.buf, big_uid, 0, sizeof(big)), PSA_SUCCESS, &len))
			check(nm(sv, "large_object"),
			      len == sizeof(big) && !memcmp(m.buf, big, sizeof(big)),
			      "GET returned %zu bytes (want %zu)%s", len, sizeof(big),
			      len == sizeof(big) ? " that differ from what was set" : "");
	}

	/* PSA argument checks: UID 0 is invalid. */
	if (call_expect(sv, "uid_zero_invalid", &s, OP_SET, &m,
			req_set(m.buf, 0, 0, data, sizeof(data)), PSA_ERROR_INVALID_ARGUMENT, NULL))
		check(nm(sv, "uid_zero_invalid"), 1, "");

	/* GET_SUPPORT: PS offers SET_EXTENDED, ITS nothing. */
	if (call_expect(sv, "get_support", &s, OP_GET_SUPPORT, &m, 0, PSA_SUCCESS, &len))
		check(nm(sv, "get_support"),
		      len == 4 && get_u32(m.buf) == (sv->ps ? SUPPORT_SET_EXTENDED : 0),
		      "response %zu bytes, support 0x%x (want 4 bytes, 0x%x)", len, get_u32(m.buf),
		      sv->ps ? SUPPORT_SET_EXTENDED : 0);

	/* PS: CREATE with a capacity, SET_EXTENDED into it; ITS: CREATE is not supported. */
	put_u64(m.buf, ext_uid);
	put_u64(m.buf + 8, 32);
	put_u32(m.buf + 16, 0);
	if (!sv->ps) {
		if (call_expect(sv, "create_not_supported", &s, OP_CREATE, &m, 20,
				PSA_ERROR_NOT_SUPPORTED, NULL))
			check(nm(sv, "create_not_supported"), 1, "");
	} else if (call_expect(sv, "create_set_extended", &s, OP_CREATE, &m, 20, PSA_SUCCESS,
			       NULL)) {
		put_u64(m.buf, ext_uid);
		put_u64(m.buf + 8, 0);
		put_u64(m.buf + 16, 8);
		memcpy(m.buf + 24, data, 8);
		if (call_expect(sv, "create_set_extended", &s, OP_SET_EXTENDED, &m, 32, PSA_SUCCESS,
				NULL) &&
		    call_expect(sv, "create_set_extended", &s, OP_GET_INFO, &m,
				req_uid(m.buf, ext_uid), PSA_SUCCESS, &len))
			check(nm(sv, "create_set_extended"),
			      len == 20 && get_u64(m.buf) == 32 && get_u64(m.buf + 8) == 8,
			      "GET_INFO: capacity %llu, size %llu (want 32, 8)",
			      (unsigned long long)get_u64(m.buf),
			      (unsigned long long)get_u64(m.buf + 8));
		(void)call_expect(sv, "create_set_extended", &s, OP_REMOVE, &m,
				  req_uid(m.buf, ext_uid), PSA_SUCCESS, NULL);
	}

	/* REMOVE, after which the object is gone for GET, GET_INFO and REMOVE. */
	if (call_expect(sv, "remove", &s, OP_REMOVE, &m, req_uid(m.buf, uid), PSA_SUCCESS, NULL))
		check(nm(sv, "remove"), 1, "");
	if (call_expect(sv, "get_after_remove", &s, OP_GET, &m, req_get(m.buf, uid, 0, 16),
			PSA_ERROR_DOES_NOT_EXIST, NULL) &&
	    call_expect(sv, "get_after_remove", &s, OP_GET_INFO, &m, req_uid(m.buf, uid),
			PSA_ERROR_DOES_NOT_EXIST, NULL) &&
	    call_expect(sv, "get_after_remove", &s, OP_REMOVE, &m, req_uid(m.buf, uid),
			PSA_ERROR_DOES_NOT_EXIST, NULL))
		check(nm(sv, "get_after_remove"), 1, "");
	(void)call_expect(sv, "large_object_remove", &s, OP_REMOVE, &m, req_uid(m.buf, big_uid),
			  PSA_SUCCESS, NULL);

	shm_free(&m);

	/*
	 * Shared memory is given back: each allocation shares a page and has the partition
	 * retrieve it, each free relinquishes and reclaims it. A leak on either side (the SP's
	 * table of retrieved regions holds 16, the SPMC's share table is bounded too) makes an
	 * allocation fail within these rounds; each round also uses the fresh memory once.
	 */
	for (int round = 0; round < SHM_ROUNDS; round++) {
		int32_t st = 0;

		e = shm_alloc(&s, 4096, &m);
		if (e) {
			check(nm(sv, "shm_given_back"), 0, "TEE_IOC_SHM_ALLOC failed in round %d: %s",
			      round, strerror(e));
			break;
		}
		e = invoke(&s, OP_GET_INFO, &m, req_uid(m.buf, uid), &st, &len);
		shm_free(&m);
		if (e || st != PSA_ERROR_DOES_NOT_EXIST) {
			check(nm(sv, "shm_given_back"), 0, "round %d: GET_INFO %s, PSA status %d", round,
			      e ? strerror(e) : "ok", st);
			break;
		}
		if (round == SHM_ROUNDS - 1)
			check(nm(sv, "shm_given_back"), 1, "");
	}
	close_session(&s);
}

/*
 * Persistence across a reboot of the machine (ITS and PS keep their objects in the secure
 * flash, each in its own partition of the block storage SP): `ts-client --persist-set` stores
 * PERSIST_UID on the service, `--persist-check` in the next boot reads it back, compares and
 * removes it. Each service stores its own pattern under the same UID, so a mix-up of the two
 * partitions shows.
 */
#define PERSIST_UID 0x7A5E00F0ull
#define PERSIST_LEN 100

static void persistence(const struct service *sv, int set)
{
	char name[64];
	uint8_t want[PERSIST_LEN];
	struct session s;
	struct shm m;
	int32_t st = 0;
	size_t len = 0;
	int e;

	snprintf(name, sizeof(name), "%s", nm(sv, set ? "persist_set" : "persisted_across_reboot"));
	pattern(want, sizeof(want), sv->ps ? 0xA7 : 0xC5);
	e = find_and_open_session(sv->uuid, &s);
	if (e) {
		check(name, 0, "no tee device hosts %s (%s)", sv->name, strerror(e));
		return;
	}
	e = shm_alloc(&s, 4096, &m);
	if (e) {
		check(name, 0, "TEE_IOC_SHM_ALLOC failed: %s", strerror(e));
		close_session(&s);
		return;
	}
	if (set) {
		e = invoke(&s, OP_SET, &m, req_set(m.buf, PERSIST_UID, 0, want, sizeof(want)), &st,
			   &len);
		check(name, !e && st == PSA_SUCCESS, "SET: %s, PSA status %d",
		      e ? strerror(e) : "ok", st);
	} else {
		e = invoke(&s, OP_GET, &m, req_get(m.buf, PERSIST_UID, 0, sizeof(want)), &st, &len);
		check(name, !e && st == PSA_SUCCESS && len == sizeof(want) && !memcmp(m.buf, want, len),
		      "GET after the reboot: %s, PSA status %d, %zu bytes (want 0, %zu bytes as set)",
		      e ? strerror(e) : "ok", st, len, sizeof(want));
		e = invoke(&s, OP_REMOVE, &m, req_uid(m.buf, PERSIST_UID), &st, &len);
		check(nm(sv, "persisted_remove"), !e && st == PSA_SUCCESS,
		      "REMOVE: %s, PSA status %d", e ? strerror(e) : "ok", st);
	}
	shm_free(&m);
	close_session(&s);
}

static int parse_id(const char *s, uint16_t *id)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end || v == 0 || v > 0xFFFF)
		return -1;
	*id = (uint16_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct service its = {
		.name = "its",
		/* dc1eef48-b17a-4ccf-ac8b-dfcff7711b14 */
		.uuid = { 0xdc, 0x1e, 0xef, 0x48, 0xb1, 0x7a, 0x4c, 0xcf,
			  0xac, 0x8b, 0xdf, 0xcf, 0xf7, 0x71, 0x1b, 0x14 },
	};
	struct service ps = {
		.name = "ps",
		/* 751bf801-3dde-4768-a514-0f10aeed1790 */
		.uuid = { 0x75, 0x1b, 0xf8, 0x01, 0x3d, 0xde, 0x47, 0x68,
			  0xa5, 0x14, 0x0f, 0x10, 0xae, 0xed, 0x17, 0x90 },
		.ps = 1,
	};
	int have_its = 0, have_ps = 0, mode = 0; /* 1: --persist-set, 2: --persist-check */

	if (argc == 4 && !strcmp(argv[1], "--persist-set"))
		mode = 1;
	else if (argc == 4 && !strcmp(argv[1], "--persist-check"))
		mode = 2;
	if (argc != 3 + !!mode || parse_id(argv[1 + !!mode], &its.want_id) ||
	    parse_id(argv[2 + !!mode], &ps.want_id)) {
		fprintf(stderr, "usage: ts-client [--persist-set|--persist-check] ITS_ENDPOINT_ID "
				"PS_ENDPOINT_ID (e.g. 0x8005 0x8006)\n");
		return 2;
	}
	discover();
	if (mode) {
		persistence(&its, mode == 1);
		persistence(&ps, mode == 1);
		printf("ts-client: %d passed, %d failed\n", passed, failed);
		return failed ? 1 : 0;
	}
	for (int i = 0; i < ndevs; i++) {
		have_its |= devs[i].endpoint == its.want_id;
		have_ps |= devs[i].endpoint == ps.want_id;
	}
	check("ts_tee_devices", have_its && have_ps,
	      "%d arm_tstee device(s); ITS 0x%04x %s, PS 0x%04x %s", ndevs, its.want_id,
	      have_its ? "found" : "missing", ps.want_id, have_ps ? "found" : "missing");
	storage_checks(&its, &ps);
	storage_checks(&ps, &its);
	printf("ts-client: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
