/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fc/errno.h>

#include "store.h"

#define INITIAL_BUCKETS 64

struct kv_entry {
    struct kv_entry *next;
    size_t key_len, value_len;
    char *value;
    char key[]; /* key bytes; value is a separate allocation so SET can replace it */
};

/* FNV-1a: simple, and good enough for short text keys. */
static uint64_t hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return h;
}

int kv_store_init(struct kv_store *store)
{
    store->buckets = calloc(INITIAL_BUCKETS, sizeof(*store->buckets));
    store->nbuckets = store->buckets ? INITIAL_BUCKETS : 0;
    store->count = 0;
    return store->buckets ? 0 : -FC_ENOMEM;
}

static struct kv_entry **slot(const struct kv_store *store, const char *key, size_t key_len)
{
    struct kv_entry **at = &store->buckets[hash(key, key_len) & (store->nbuckets - 1)];
    while (*at && ((*at)->key_len != key_len || memcmp((*at)->key, key, key_len) != 0))
        at = &(*at)->next;
    return at;
}

/* Doubles the table when it is full on average; failure just keeps longer chains. */
static void grow(struct kv_store *store)
{
    size_t n = store->nbuckets * 2;
    struct kv_entry **fresh = calloc(n, sizeof(*fresh));
    if (fresh == NULL)
        return;
    for (size_t b = 0; b < store->nbuckets; b++) {
        struct kv_entry *e = store->buckets[b];
        while (e) {
            struct kv_entry *next = e->next;
            size_t i = hash(e->key, e->key_len) & (n - 1);
            e->next = fresh[i];
            fresh[i] = e;
            e = next;
        }
    }
    free(store->buckets);
    store->buckets = fresh;
    store->nbuckets = n;
}

int kv_set(struct kv_store *store, const char *key, size_t key_len, const char *value,
           size_t value_len)
{
    char *copy = malloc(value_len + 1);
    if (copy == NULL)
        return -FC_ENOMEM;
    memcpy(copy, value, value_len);
    copy[value_len] = '\0';

    struct kv_entry **at = slot(store, key, key_len);
    if (*at == NULL) {
        struct kv_entry *e = malloc(sizeof(*e) + key_len);
        if (e == NULL) {
            free(copy);
            return -FC_ENOMEM;
        }
        memcpy(e->key, key, key_len);
        e->key_len = key_len;
        e->value = NULL;
        e->next = NULL;
        *at = e;
        store->count++;
    }
    free((*at)->value);
    (*at)->value = copy;
    (*at)->value_len = value_len;
    if (store->count > store->nbuckets)
        grow(store);
    return 0;
}

const char *kv_get(const struct kv_store *store, const char *key, size_t key_len, size_t *len)
{
    struct kv_entry *e = *slot(store, key, key_len);
    if (e == NULL)
        return NULL;
    *len = e->value_len;
    return e->value;
}

int kv_del(struct kv_store *store, const char *key, size_t key_len)
{
    struct kv_entry **at = slot(store, key, key_len);
    struct kv_entry *e = *at;
    if (e == NULL)
        return 0;
    *at = e->next;
    free(e->value);
    free(e);
    store->count--;
    return 1;
}
