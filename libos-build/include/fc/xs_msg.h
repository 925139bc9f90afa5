/* SPDX-License-Identifier: MIT */
/* Xenstore wire messages: encoding requests and parsing replies (pure, host-testable). */
#ifndef FC_XS_MSG_H
#define FC_XS_MSG_H

#include <stddef.h>
#include <stdint.h>

#define FC_XS_HEADER_SIZE 16
#define FC_XS_PAYLOAD_MAX 4096

struct fc_xs_header {
    uint32_t type;
    uint32_t req_id;
    uint32_t tx_id;
    uint32_t len;
};

/* Builds header + payload (the parts joined, each part followed by NUL unless it is the
 * last part and `last_nul` is 0). Returns total message length or -E2BIG / -EINVAL. */
long fc_xs_encode(void *out, size_t out_cap, uint32_t type, uint32_t req_id, uint32_t tx_id,
                  const char *const *parts, size_t nparts, int last_nul);

/* Parses a header; returns 0 or -EPROTO if the payload length is impossible. */
int fc_xs_decode_header(const void *buf, struct fc_xs_header *hdr);

/* Maps an XS_ERROR payload ("ENOENT") to a negative errno; unknown -> -EIO. */
int fc_xs_error_to_errno(const char *payload, size_t len);

/* Splits a XS_WATCH_EVENT payload "path\0token\0" into NUL-terminated copies.
 * Returns 0, or -EPROTO if malformed, -ENAMETOOLONG if a buffer is too small. */
int fc_xs_split_watch_event(const char *payload, size_t len, char *path, size_t path_cap,
                            char *token, size_t token_cap);

#endif
