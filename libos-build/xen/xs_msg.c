/* SPDX-License-Identifier: MIT */
/* Xenstore wire format: requests are a 16-byte header plus NUL-separated strings. */
#include <fc/errno.h>
#include <fc/xs_msg.h>

static size_t bounded_strlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    /* The ring protocol is host-endian; x86 is little-endian. */
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

long fc_xs_encode(void *out, size_t out_cap, uint32_t type, uint32_t req_id, uint32_t tx_id,
                  const char *const *parts, size_t nparts, int last_nul)
{
    unsigned char *o = out;
    size_t len = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (!parts[i])
            return -FC_EINVAL;
        size_t n = bounded_strlen(parts[i], FC_XS_PAYLOAD_MAX + 1);
        len += n + ((i + 1 < nparts || last_nul) ? 1 : 0);
        if (len > FC_XS_PAYLOAD_MAX)
            return -FC_E2BIG;
    }
    if (FC_XS_HEADER_SIZE + len > out_cap)
        return -FC_E2BIG;
    put_u32(o, type);
    put_u32(o + 4, req_id);
    put_u32(o + 8, tx_id);
    put_u32(o + 12, (uint32_t)len);
    size_t at = FC_XS_HEADER_SIZE;
    for (size_t i = 0; i < nparts; i++) {
        for (const char *s = parts[i]; *s; s++)
            o[at++] = (unsigned char)*s;
        if (i + 1 < nparts || last_nul)
            o[at++] = 0;
    }
    return (long)at;
}

int fc_xs_decode_header(const void *buf, struct fc_xs_header *hdr)
{
    const unsigned char *p = buf;
    hdr->type = get_u32(p);
    hdr->req_id = get_u32(p + 4);
    hdr->tx_id = get_u32(p + 8);
    hdr->len = get_u32(p + 12);
    return hdr->len > FC_XS_PAYLOAD_MAX ? -FC_EPROTO : 0;
}

static int str_equal(const char *a, size_t alen, const char *b)
{
    size_t i = 0;
    for (; i < alen && b[i]; i++)
        if (a[i] != b[i])
            return 0;
    return i == alen && b[i] == 0;
}

int fc_xs_error_to_errno(const char *payload, size_t len)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {
        {"EINVAL", FC_EINVAL}, {"EACCES", FC_EACCES},     {"EEXIST", FC_EEXIST},
        {"EISDIR", FC_EISDIR}, {"ENOENT", FC_ENOENT},     {"ENOMEM", FC_ENOMEM},
        {"ENOSPC", FC_ENOSPC}, {"EIO", FC_EIO},           {"ENOTEMPTY", FC_ENOTEMPTY},
        {"ENOSYS", FC_ENOSYS}, {"EROFS", FC_EROFS},       {"EBUSY", FC_EBUSY},
        {"EAGAIN", FC_EAGAIN}, {"EISCONN", FC_EISCONN},   {"E2BIG", FC_E2BIG},
        {"EPERM", FC_EPERM},
    };
    size_t n = bounded_strlen(payload, len);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (str_equal(payload, n, names[i].name))
            return -names[i].value;
    return -FC_EIO;
}

int fc_xs_split_watch_event(const char *payload, size_t len, char *path, size_t path_cap,
                            char *token, size_t token_cap)
{
    size_t plen = bounded_strlen(payload, len);
    if (plen == len)
        return -FC_EPROTO;
    const char *tok = payload + plen + 1;
    size_t tlen = bounded_strlen(tok, len - plen - 1);
    if (plen + 1 > path_cap || tlen + 1 > token_cap)
        return -FC_ENAMETOOLONG;
    for (size_t i = 0; i < plen; i++)
        path[i] = payload[i];
    path[plen] = 0;
    for (size_t i = 0; i < tlen; i++)
        token[i] = tok[i];
    token[tlen] = 0;
    return 0;
}
