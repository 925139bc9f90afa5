/* SPDX-License-Identifier: MIT */
/* httpd's HTTP/1.x request parsing and response heads: pure, so the host tests run them. */
#ifndef HTTPD_HTTP_H
#define HTTPD_HTTP_H

#include <stddef.h>

#define HTTP_METHOD_MAX 8
#define HTTP_PATH_MAX 128

struct http_request {
    char method[HTTP_METHOD_MAX];
    char path[HTTP_PATH_MAX];
    int keep_alive; /* HTTP/1.1 unless "Connection: close"; HTTP/1.0 only if asked */
    int has_body;   /* Content-Length or Transfer-Encoding present: we serve no bodies */
};

/* Parses the request head at the start of buf. Returns the head's length when the blank line
 * has arrived, 0 when more bytes are needed (and len < cap), -FC_EINVAL when it is malformed,
 * -FC_E2BIG when a head does not fit in cap bytes. */
long http_parse_request(const char *buf, size_t len, size_t cap, struct http_request *req);

/* Writes a response head for body_len bytes of body; returns its length, or -FC_ENOSPC. */
long http_response_head(char *out, size_t cap, int status, const char *content_type,
                        size_t body_len, int keep_alive);

const char *http_reason(int status);

#endif
