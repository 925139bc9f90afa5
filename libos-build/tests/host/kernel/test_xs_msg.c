/* SPDX-License-Identifier: MIT */
/* Xenstore message encoding and reply parsing. */
#include <string.h>

#include <fc/errno.h>
#include <fc/xs_msg.h>

#include "kcheck.h"

static unsigned char buf[FC_XS_HEADER_SIZE + FC_XS_PAYLOAD_MAX + 64];

int main(void)
{
    struct fc_xs_header h;

    const char *read_parts[] = {"control/shutdown"};
    long n = fc_xs_encode(buf, sizeof(buf), 2, 7, 0, read_parts, 1, 1);
    KCHECK(n == FC_XS_HEADER_SIZE + 17);
    KCHECK(fc_xs_decode_header(buf, &h) == 0);
    KCHECK(h.type == 2 && h.req_id == 7 && h.tx_id == 0 && h.len == 17);
    KCHECK(memcmp(buf + FC_XS_HEADER_SIZE, "control/shutdown\0", 17) == 0);

    /* XS_WRITE: the value is not NUL-terminated */
    const char *write_parts[] = {"data/x", "42"};
    n = fc_xs_encode(buf, sizeof(buf), 11, 8, 5, write_parts, 2, 0);
    KCHECK(n == FC_XS_HEADER_SIZE + 9);
    KCHECK(fc_xs_decode_header(buf, &h) == 0 && h.len == 9 && h.tx_id == 5);
    KCHECK(memcmp(buf + FC_XS_HEADER_SIZE, "data/x\00042", 9) == 0);

    /* empty value: just the path and separator */
    const char *empty_parts[] = {"control/shutdown", ""};
    n = fc_xs_encode(buf, sizeof(buf), 11, 9, 0, empty_parts, 2, 0);
    KCHECK(n == FC_XS_HEADER_SIZE + 17);

    /* payload limits */
    static char big[FC_XS_PAYLOAD_MAX + 10];
    memset(big, 'a', sizeof(big) - 1);
    const char *big_parts[] = {big};
    KCHECK(fc_xs_encode(buf, sizeof(buf), 2, 1, 0, big_parts, 1, 1) == -FC_E2BIG);
    big[FC_XS_PAYLOAD_MAX - 1] = 0; /* exactly 4096 bytes with its NUL */
    KCHECK(fc_xs_encode(buf, sizeof(buf), 2, 1, 0, big_parts, 1, 1) ==
           FC_XS_HEADER_SIZE + FC_XS_PAYLOAD_MAX);
    KCHECK(fc_xs_encode(buf, 20, 2, 1, 0, read_parts, 1, 1) == -FC_E2BIG);
    const char *null_parts[] = {NULL};
    KCHECK(fc_xs_encode(buf, sizeof(buf), 2, 1, 0, null_parts, 1, 1) == -FC_EINVAL);

    /* a header claiming too much payload is a protocol error */
    unsigned char bad[16] = {16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x10, 0, 0};
    KCHECK(fc_xs_decode_header(bad, &h) == -FC_EPROTO);

    KCHECK(fc_xs_error_to_errno("ENOENT", 7) == -FC_ENOENT);
    KCHECK(fc_xs_error_to_errno("EACCES", 6) == -FC_EACCES);
    KCHECK(fc_xs_error_to_errno("EAGAIN", 7) == -FC_EAGAIN);
    KCHECK(fc_xs_error_to_errno("ENOENTX", 8) == -FC_EIO);
    KCHECK(fc_xs_error_to_errno("ENO", 3) == -FC_EIO);

    char path[32], token[16];
    const char ev[] = "control/shutdown\0fc:shutdown";
    KCHECK(fc_xs_split_watch_event(ev, sizeof(ev), path, sizeof(path), token, sizeof(token)) == 0);
    KCHECK(strcmp(path, "control/shutdown") == 0 && strcmp(token, "fc:shutdown") == 0);
    KCHECK(fc_xs_split_watch_event("nonul", 5, path, sizeof(path), token, sizeof(token)) ==
           -FC_EPROTO);
    KCHECK(fc_xs_split_watch_event(ev, sizeof(ev), path, 8, token, sizeof(token)) ==
           -FC_ENAMETOOLONG);
    return kcheck_summary("kernel xs_msg");
}
