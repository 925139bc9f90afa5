/* SPDX-License-Identifier: MIT */
/* The fake kernel for host tests; see fake_kernel.h for what each part does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fc/api.h>

#include "fake_kernel.h"

#define PAGE_SIZE 4096u
#define DEFAULT_PAGE_LIMIT (1024u * 1024u * 1024u / PAGE_SIZE) /* a 1 GiB domain */

/* ---- pages ---- */

struct page_block {
    void *start;
    size_t npages;
};

static struct page_block *blocks;
static size_t block_count;
static size_t block_capacity;
static size_t pages_in_use;
static size_t page_limit;

static void die(const char *what)
{
    fprintf(stderr, "FAKE KERNEL: %s\n", what);
    fflush(NULL);
    abort();
}

void *fc_pages_alloc(size_t npages)
{
    if (npages == 0)
        die("fc_pages_alloc(0)");
    size_t limit = page_limit != 0 ? page_limit : DEFAULT_PAGE_LIMIT;
    if (npages > limit || pages_in_use + npages > limit)
        return NULL;
    void *start = aligned_alloc(PAGE_SIZE, npages * PAGE_SIZE);
    if (start == NULL)
        return NULL;
    memset(start, 0, npages * PAGE_SIZE);
    if (block_count == block_capacity) {
        block_capacity = block_capacity ? block_capacity * 2 : 64;
        blocks = realloc(blocks, block_capacity * sizeof(*blocks));
        if (blocks == NULL)
            die("out of host memory tracking pages");
    }
    blocks[block_count++] = (struct page_block){ start, npages };
    pages_in_use += npages;
    return start;
}

void fc_pages_free(void *p, size_t npages)
{
    for (size_t i = 0; i < block_count; i++) {
        if (blocks[i].start != p)
            continue;
        if (blocks[i].npages != npages) {
            fprintf(stderr, "FAKE KERNEL: fc_pages_free(%p, %zu) but %zu pages were allocated\n",
                    p, npages, blocks[i].npages);
            die("page count mismatch");
        }
        memset(p, 0xa5, npages * PAGE_SIZE); /* poison: stale pointers read garbage */
        free(p);
        blocks[i] = blocks[--block_count];
        pages_in_use -= npages;
        return;
    }
    fprintf(stderr, "FAKE KERNEL: fc_pages_free(%p, %zu) of pages never allocated\n", p, npages);
    die("bad fc_pages_free");
}

size_t fake_pages_in_use(void) { return pages_in_use; }
size_t fake_page_allocations(void) { return block_count; }
void fake_set_page_limit(size_t max_pages_in_use) { page_limit = max_pages_in_use; }

/* ---- console ---- */

static char *console;
static size_t console_len;
static size_t console_capacity;
static int console_echo;

void fake_console_echo(int on) { console_echo = on; }

void fc_console_write(const char *buf, size_t len)
{
    if (console_echo) {
        fwrite(buf, 1, len, stdout);
        fflush(stdout);
    }
    if (console_len + len + 1 > console_capacity) {
        console_capacity = (console_len + len + 1) * 2;
        console = realloc(console, console_capacity);
        if (console == NULL)
            die("out of host memory capturing the console");
    }
    memcpy(console + console_len, buf, len);
    console_len += len;
    console[console_len] = '\0';
}

long fc_console_read(char *buf, size_t len)
{
    (void)buf;
    (void)len;
    return 0;
}

const char *fake_console_text(void) { return console ? console : ""; }
void fake_console_reset(void) { console_len = 0; if (console) console[0] = '\0'; }

/* ---- clocks ---- */

static uint64_t monotonic_ns = 1000000;
static const uint64_t wallclock_at_boot_ns = 1780000000ull * 1000000000ull;

static void apply_timed_xenstore_write(void);
static void apply_timed_corruption(void);

static void apply_timed_events(void)
{
    apply_timed_xenstore_write();
    apply_timed_corruption();
}

uint64_t fc_monotonic_ns(void)
{
    monotonic_ns += 1000;
    apply_timed_events();
    return monotonic_ns;
}

uint64_t fc_wallclock_ns(void) { return wallclock_at_boot_ns + fc_monotonic_ns(); }

void fc_sleep_ns(uint64_t ns)
{
    monotonic_ns += ns;
    apply_timed_events();
}

void fc_poll(void) { apply_timed_events(); }

/* FC_FAKE_CORRUPT_AT_NS: once, flip a byte in the middle of the largest page block, as a
 * migration that lost a dirty page would. */
static void apply_timed_corruption(void)
{
    static int applied;
    const char *at = getenv("FC_FAKE_CORRUPT_AT_NS");
    if (applied || at == NULL || monotonic_ns < strtoull(at, NULL, 10) || block_count == 0)
        return;
    applied = 1;
    size_t largest = 0;
    for (size_t i = 1; i < block_count; i++)
        if (blocks[i].npages > blocks[largest].npages)
            largest = i;
    unsigned char *victim = blocks[largest].start;
    victim[blocks[largest].npages * PAGE_SIZE / 2] ^= 0x40;
}

/* ---- xenstore ---- */

#define XS_KEYS 32
static char xs_keys[XS_KEYS][128];
static char xs_values[XS_KEYS][256];
static int xs_loaded;

static int xs_find(const char *path)
{
    for (int i = 0; i < XS_KEYS; i++)
        if (xs_keys[i][0] != '\0' && strcmp(xs_keys[i], path) == 0)
            return i;
    return -1;
}

static void xs_store(const char *path, const char *value)
{
    int slot = xs_find(path);
    for (int i = 0; slot < 0 && i < XS_KEYS; i++)
        if (xs_keys[i][0] == '\0')
            slot = i;
    if (slot < 0 || strlen(path) >= sizeof(xs_keys[0]) || strlen(value) >= sizeof(xs_values[0]))
        die("fake xenstore full or key/value too long");
    strcpy(xs_keys[slot], path);
    strcpy(xs_values[slot], value);
}

/* "key=value" from the environment into the table. */
static void xs_store_assignment(const char *assignment)
{
    char key[128];
    const char *eq = strchr(assignment, '=');
    if (eq == NULL || (size_t)(eq - assignment) >= sizeof(key))
        die("fake xenstore assignment must be key=value");
    memcpy(key, assignment, (size_t)(eq - assignment));
    key[eq - assignment] = '\0';
    xs_store(key, eq + 1);
}

static void xs_load(void)
{
    if (xs_loaded)
        return;
    xs_loaded = 1;
    const char *preset = getenv("FC_FAKE_XS");
    if (preset != NULL)
        xs_store_assignment(preset);
}

static void apply_timed_xenstore_write(void)
{
    static int applied;
    const char *timed = getenv("FC_FAKE_XS_AT");
    if (applied || timed == NULL)
        return;
    char *rest;
    unsigned long long at_ns = strtoull(timed, &rest, 10);
    if (*rest != ':')
        die("FC_FAKE_XS_AT must be <ns>:key=value");
    if (monotonic_ns >= at_ns) {
        applied = 1;
        xs_load();
        xs_store_assignment(rest + 1);
    }
}

int fc_xs_read(const char *path, char *buf, size_t len)
{
    xs_load();
    int slot = xs_find(path);
    if (slot < 0)
        return -ENOENT;
    size_t value_len = strlen(xs_values[slot]);
    if (value_len + 1 > len)
        return -E2BIG;
    memcpy(buf, xs_values[slot], value_len + 1);
    return (int)value_len;
}

int fc_xs_write(const char *path, const char *value)
{
    xs_load();
    xs_store(path, value);
    if (getenv("FC_FAKE_XS_TRACE") != NULL)
        fprintf(stderr, "xs-write %s=%s\n", path, value);
    return 0;
}

int fc_xs_watch(const char *path, const char *token)
{
    (void)path;
    (void)token;
    return 0;
}

/* ---- domain ---- */

static const char *cmdline;

void fake_set_cmdline(const char *line) { cmdline = line; }

const char *fc_cmdline(void)
{
    if (cmdline != NULL)
        return cmdline;
    const char *from_env = getenv("FC_FAKE_CMDLINE");
    return from_env != NULL ? from_env : "";
}

int fc_domid(void) { return 7; }

void fc_exit(int status)
{
    fflush(NULL);
    exit(status);
}

void fc_panic(const char *message)
{
    fprintf(stderr, "fc_panic: %s\n", message);
    fflush(NULL);
    _Exit(FAKE_PANIC_STATUS);
}
