// SPDX-License-Identifier: GPL-2.0-only
/*
 * ffa-call: sends one FF-A direct request from Linux user space to a partition, through
 * /dev/ffa-call (linux/ffa-call), and prints the answer the way `cargo xtask call` does.
 * Built static for the Linux lane's initramfs by `cargo xtask linux`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ffa_call_uapi.h"

static const char usage[] =
	"usage: ffa-call [--req32|--req64|--req2] [--share PAGES [--fill WORD]] SP [WORD...]\n"
	"\n"
	"Sends one direct request to the partition SP through Linux's FF-A driver (/dev/ffa-call,\n"
	"module ffa-call.ko) and prints the answer's payload words, or the error.\n"
	"  SP       endpoint ID (0x8001) or UUID (2f2e7c3a-6c59-4b1e-9d8f-01ec40000001) of a\n"
	"           partition on the arm_ffa bus (/sys/bus/arm_ffa/devices/*/partition_id, uuid);\n"
	"           with --req2 a UUID is also the protocol UUID (x2/x3), otherwise nil is sent\n"
	"  WORD     payload words 0.. (w3..w7 for REQ_32/64, at most 5; x4..x17 for REQ2, at\n"
	"           most 14): 0x-hex or decimal; with --share, `hlo` and `hhi` stand for the\n"
	"           memory handle's low and high 32 bits\n"
	"  --req32, --req64 (default), --req2   FFA_MSG_SEND_DIRECT_REQ_32 / _64 / REQ2\n"
	"  --share N  first share N pages (at most 16) read-write with SP (FFA_MEM_SHARE through\n"
	"           Linux's memory_share); u32 word i of the memory is FILL + i; after the answer\n"
	"           the first 8 u32 words of the memory are printed and the memory is reclaimed\n"
	"  --fill W the first u32 word of the shared memory (default 0)\n"
	"Exit status: 0 answered, 1 the call failed, 2 bad arguments.\n";

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || !*s || *end || *s == '-' ? -1 : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The textual form 8-4-4-4-12 to the 16 bytes in that order (as Linux's uuid_t holds them). */
static int parse_uuid(const char *s, uint8_t out[16])
{
	int n = 0;

	if (strlen(s) != 36)
		return -1;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return 0;
}

static const char *ffa_error_of(int e)
{
	switch (e) {
	case EOPNOTSUPP: return "NOT_SUPPORTED";
	case EINVAL: return "INVALID_PARAMETERS (or a bad argument)";
	case ENOMEM: return "NO_MEMORY";
	case EBUSY: return "BUSY";
	case EINTR: return "INTERRUPTED";
	case EACCES: return "DENIED";
	case EAGAIN: return "RETRY";
	case ECANCELED: return "ABORTED";
	case ENODATA: return "NO_DATA";
	default: return NULL;
	}
}

int main(int argc, char **argv)
{
	struct ffa_call_arg a = { .kind = FFA_CALL_REQ64 };
	const char *sp = NULL;
	int nwords = 0, i, fd;
	uint64_t v;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			fputs(usage, stdout);
			return 0;
		} else if (!sp && !strcmp(o, "--req32")) {
			a.kind = FFA_CALL_REQ32;
		} else if (!sp && !strcmp(o, "--req64")) {
			a.kind = FFA_CALL_REQ64;
		} else if (!sp && !strcmp(o, "--req2")) {
			a.kind = FFA_CALL_REQ2;
		} else if (!sp && (!strcmp(o, "--share") || !strcmp(o, "--fill"))) {
			if (i + 1 >= argc || parse_u64(argv[i + 1], &v)) {
				fprintf(stderr, "ffa-call: %s needs a number\n", o);
				return 2;
			}
			i++;
			if (o[2] == 's') {
				if (v < 1 || v > FFA_CALL_MAX_PAGES) {
					fprintf(stderr, "ffa-call: --share takes 1..%d pages, not %s\n",
						FFA_CALL_MAX_PAGES, argv[i]);
					return 2;
				}
				a.share_pages = (uint32_t)v;
			} else {
				if (v > UINT32_MAX) {
					fprintf(stderr, "ffa-call: --fill is a u32, not %s\n", argv[i]);
					return 2;
				}
				a.fill = (uint32_t)v;
			}
		} else if (!sp && o[0] == '-' && o[1] == '-') {
			fprintf(stderr, "ffa-call: unknown option %s\n%s", o, usage);
			return 2;
		} else if (!sp) {
			sp = o;
		} else {
			int max = a.kind == FFA_CALL_REQ2 ? FFA_CALL_WORDS : 5;

			if (nwords >= max) {
				fprintf(stderr, "ffa-call: at most %d words for this message kind\n", max);
				return 2;
			}
			if (!strcmp(o, "hlo") || !strcmp(o, "hhi")) {
				if (!a.share_pages) {
					fprintf(stderr, "ffa-call: `%s` needs --share\n", o);
					return 2;
				}
				if (o[1] == 'l')
					a.handle_lo |= 1u << nwords;
				else
					a.handle_hi |= 1u << nwords;
				nwords++;
				continue;
			}
			if (parse_u64(o, &v)) {
				fprintf(stderr, "ffa-call: word %d: `%s` is not a number\n", nwords, o);
				return 2;
			}
			if (a.kind == FFA_CALL_REQ32 && v > UINT32_MAX) {
				fprintf(stderr, "ffa-call: word %d: %s does not fit REQ_32's 32 bits\n",
					nwords, o);
				return 2;
			}
			a.words[nwords++] = v;
		}
	}
	if (!sp) {
		fputs(usage, stderr);
		return 2;
	}
	if (strchr(sp, '-')) {
		if (parse_uuid(sp, a.uuid)) {
			fprintf(stderr, "ffa-call: `%s` is neither an endpoint ID nor a UUID\n", sp);
			return 2;
		}
		a.flags |= FFA_CALL_BY_UUID;
	} else {
		if (parse_u64(sp, &v) || v == 0 || v > 0xFFFF) {
			fprintf(stderr, "ffa-call: `%s` is neither an endpoint ID nor a UUID\n", sp);
			return 2;
		}
		a.id = (uint16_t)v;
	}
	fd = open("/dev/ffa-call", O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "ffa-call: cannot open /dev/ffa-call (%s): is ffa-call.ko loaded?\n",
			strerror(errno));
		return 1;
	}
	if (ioctl(fd, FFA_CALL_IOC_SEND, &a)) {
		int e = errno;
		const char *ffa = ffa_error_of(e);

		if (e == EPROTONOSUPPORT)
			fprintf(stderr, "ffa-call: DIRECT_REQ2 needs FF-A v1.2, but Linux's FF-A driver "
				"negotiated v%u.%u with the firmware\n", a.ffa_version >> 16,
				a.ffa_version & 0xFFFF);
		else if (e == ENODEV)
			fprintf(stderr, "ffa-call: no partition %s on the arm_ffa bus (see "
				"/sys/bus/arm_ffa/devices/*/partition_id and uuid)\n", sp);
		else if (ffa)
			fprintf(stderr, "ffa-call: the call to %s (0x%04x) failed: %s (Linux's FF-A "
				"driver reports FFA_ERROR %s this way)\n", sp, a.called_id,
				strerror(e), ffa);
		else
			fprintf(stderr, "ffa-call: the call to %s (0x%04x) failed: %s\n", sp,
				a.called_id, strerror(e));
		close(fd);
		return 1;
	}
	close(fd);
	printf("answer from 0x%04x: [", a.called_id);
	for (i = 0; i < (a.kind == FFA_CALL_REQ2 ? FFA_CALL_WORDS : 5); i++)
		printf("%s0x%llx", i ? ", " : "", (unsigned long long)a.answer[i]);
	printf("]\n");
	if (a.share_pages) {
		printf("shared memory afterwards (first %d words): [", FFA_CALL_MEM_WORDS);
		for (i = 0; i < FFA_CALL_MEM_WORDS; i++)
			printf("%s0x%x", i ? ", " : "", a.mem_after[i]);
		printf("]\n");
	}
	return 0;
}
