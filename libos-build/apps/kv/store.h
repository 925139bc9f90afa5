/* SPDX-License-Identifier: MIT */
/* kv's in-memory store: a chained hash table that grows, keys and values copied on malloc. */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stddef.h>

#define KV_KEY_MAX 64
#define KV_VALUE_MAX 1024

struct kv_entry;

struct kv_store {
    struct kv_entry **buckets;
    size_t nbuckets;
    size_t count;
};

int kv_store_init(struct kv_store *store);
/* 0, or -FC_ENOMEM (the store is unchanged). */
int kv_set(struct kv_store *store, const char *key, size_t key_len, const char *value,
           size_t value_len);
/* The value and its length, or NULL if absent. */
const char *kv_get(const struct kv_store *store, const char *key, size_t key_len, size_t *len);
int kv_del(struct kv_store *store, const char *key, size_t key_len); /* 1 deleted, 0 absent */

#endif
