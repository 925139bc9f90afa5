/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "proto.h"

static size_t reply(char *out, size_t cap, const char *text)
{
    int n = snprintf(out, cap, "%s\n", text);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* The word at line[*pos] (up to a space or the end); advances past one separating space. */
static size_t word(const char *line, size_t len, size_t *pos, const char **start)
{
    size_t begin = *pos, end = begin;
    while (end < len && line[end] != ' ')
        end++;
    *start = line + begin;
    *pos = end < len ? end + 1 : end;
    return end - begin;
}

static int valid_key(const char *key, size_t len)
{
    if (len == 0 || len > KV_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)key[i] <= ' ' || (unsigned char)key[i] >= 127)
            return 0;
    return 1;
}

static int is(const char *word, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(word, name, len) == 0;
}

size_t kv_execute(struct kv_store *store, const char *line, size_t len, char *out, size_t cap,
                  int *quit)
{
    size_t pos = 0;
    const char *cmd, *key;
    size_t cmd_len = word(line, len, &pos, &cmd);
    *quit = 0;

    if (is(cmd, cmd_len, "PING") && pos == len)
        return reply(out, cap, "PONG");
    if (is(cmd, cmd_len, "QUIT") && pos == len) {
        *quit = 1;
        return reply(out, cap, "BYE");
    }
    if (is(cmd, cmd_len, "COUNT") && pos == len) {
        int n = snprintf(out, cap, "COUNT %zu\n", store->count);
        return n < 0 ? 0 : (size_t)n;
    }
    int set = is(cmd, cmd_len, "SET"), get = is(cmd, cmd_len, "GET"), del = is(cmd, cmd_len, "DEL");
    if (!set && !get && !del)
        return reply(out, cap, "ERROR unknown command");

    size_t key_len = word(line, len, &pos, &key);
    if (!valid_key(key, key_len))
        return reply(out, cap, "ERROR bad key");
    if (set) {
        if (len - pos > KV_VALUE_MAX)
            return reply(out, cap, "ERROR value too long");
        if (key + key_len == line + len)
            return reply(out, cap, "ERROR SET needs a value");
        if (kv_set(store, key, key_len, line + pos, len - pos) < 0)
            return reply(out, cap, "ERROR out of memory");
        return reply(out, cap, "OK");
    }
    if (pos != len)
        return reply(out, cap, "ERROR extra words");
    if (del)
        return reply(out, cap, kv_del(store, key, key_len) ? "DELETED" : "NOT_FOUND");
    size_t value_len;
    const char *value = kv_get(store, key, key_len, &value_len);
    if (value == NULL)
        return reply(out, cap, "NOT_FOUND");
    int n = snprintf(out, cap, "VALUE %.*s\n", (int)value_len, value);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
