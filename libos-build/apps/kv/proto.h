/* SPDX-License-Identifier: MIT */
/*
 * kv's line protocol, one request per line ("\n" or "\r\n"), one reply line each:
 *   SET key value...  -> OK                  (the value is the rest of the line)
 *   GET key           -> VALUE value | NOT_FOUND
 *   DEL key           -> DELETED | NOT_FOUND
 *   COUNT             -> COUNT n
 *   PING              -> PONG
 *   QUIT              -> BYE, then the server closes
 *   anything else     -> ERROR reason
 * Keys are 1-64 printable bytes without spaces; values at most 1024 bytes.
 */
#ifndef KV_PROTO_H
#define KV_PROTO_H

#include <stddef.h>

#include "store.h"

#define KV_LINE_MAX (KV_KEY_MAX + KV_VALUE_MAX + 8)
#define KV_REPLY_MAX (KV_VALUE_MAX + 16)

/* Runs one request line (without its newline); writes the reply line into out (cap >=
 * KV_REPLY_MAX) and returns its length. *quit becomes 1 for QUIT. */
size_t kv_execute(struct kv_store *store, const char *line, size_t len, char *out, size_t cap,
                  int *quit);

#endif
