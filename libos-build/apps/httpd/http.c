/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <fc/errno.h>

#include "http.h"

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive prefix match of a header line. */
static int header_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (len < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)line[i]) != name[i])
            return 0;
    return 1;
}

/* Does the header value (after the colon) contain token, case-insensitively? */
static int value_has(const char *value, size_t len, const char *token)
{
    size_t n = strlen(token);
    for (size_t i = 0; i + n <= len; i++) {
        size_t j = 0;
        while (j < n && lower((unsigned char)value[i + j]) == token[j])
            j++;
        if (j == n)
            return 1;
    }
    return 0;
}

/* End of the head: index just past "\r\n\r\n" (or "\n\n"), or 0 if not there yet. */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static int parse_request_line(const char *line, size_t len, struct http_request *req, int *minor)
{
    size_t i = 0, m = 0, p = 0;
    while (i < len && line[i] != ' ') {
        if (m + 1 >= HTTP_METHOD_MAX || line[i] < 'A' || line[i] > 'Z')
            return -FC_EINVAL;
        req->method[m++] = line[i++];
    }
    req->method[m] = '\0';
    if (m == 0 || i >= len || line[i++] != ' ' || i >= len || line[i] != '/')
        return -FC_EINVAL;
    while (i < len && line[i] != ' ') {
        if (p + 1 >= HTTP_PATH_MAX || (unsigned char)line[i] <= ' ' || line[i] == 127)
            return -FC_EINVAL;
        req->path[p++] = line[i++];
    }
    req->path[p] = '\0';
    if (i >= len || line[i++] != ' ')
        return -FC_EINVAL;
    if (len - i != 8 || memcmp(line + i, "HTTP/1.", 7) != 0 || line[i + 7] < '0' ||
        line[i + 7] > '9')
        return -FC_EINVAL;
    *minor = line[i + 7] - '0';
    return 0;
}

long http_parse_request(const char *buf, size_t len, size_t cap, struct http_request *req)
{
    size_t end = head_end(buf, len);
    if (end == 0)
        return len >= cap ? -FC_E2BIG : 0;

    memset(req, 0, sizeof(*req));
    int minor = 0, first = 1, close = 0, keep = 0;
    size_t pos = 0;
    while (pos < end) {
        size_t eol = pos;
        while (buf[eol] != '\n')
            eol++;
        size_t line_len = eol - pos;
        if (line_len > 0 && buf[eol - 1] == '\r')
            line_len--;
        const char *line = buf + pos;
        pos = eol + 1;
        if (line_len == 0)
            break; /* the blank line */
        if (first) {
            if (parse_request_line(line, line_len, req, &minor) < 0)
                return -FC_EINVAL;
            first = 0;
        } else if (header_is(line, line_len, "connection:")) {
            close |= value_has(line + 11, line_len - 11, "close");
            keep |= value_has(line + 11, line_len - 11, "keep-alive");
        } else if (header_is(line, line_len, "content-length:") ||
                   header_is(line, line_len, "transfer-encoding:")) {
            req->has_body = 1;
        }
    }
    if (first)
        return -FC_EINVAL; /* a head that is only a blank line */
    req->keep_alive = minor >= 1 ? !close : keep;
    return (long)end;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    default: return "Internal Server Error";
    }
}

long http_response_head(char *out, size_t cap, int status, const char *content_type,
                        size_t body_len, int keep_alive)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\nServer: flexcapsule-httpd\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                     status, http_reason(status), content_type, body_len,
                     keep_alive ? "keep-alive" : "close");
    return n < 0 || (size_t)n >= cap ? -FC_ENOSPC : n;
}
