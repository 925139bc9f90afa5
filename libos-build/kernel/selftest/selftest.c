/* SPDX-License-Identifier: MIT */
/*
 * fc-selftest: an app linked straight onto the kernel (no lib/) to exercise it on real Xen.
 * The command line picks the mode: hello | exit N | counter [ms] | memtouch MiB [ms] |
 * fault | panic | spin | alloc | xs.
 */
#include <fc/kernel.h>

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static int word_is(const char *s, const char *w)
{
    while (*w)
        if (*s++ != *w++)
            return 0;
    return *s == 0 || *s == ' ' || *s == '\t';
}

static const char *next_word(const char *s)
{
    while (*s && *s != ' ' && *s != '\t')
        s++;
    return skip_spaces(s);
}

static unsigned long parse_ulong(const char *s, unsigned long fallback)
{
    if (*s < '0' || *s > '9')
        return fallback;
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long)(*s++ - '0');
    return v;
}

__attribute__((noreturn)) static int counter(unsigned long interval_ms)
{
    for (unsigned long n = 0;; n++) {
        fc_kprintf("counter %lu mono_ms=%lu\n", n, (unsigned long)(fc_monotonic_ns() / 1000000));
        fc_sleep_ns(interval_ms * 1000000ULL);
    }
}

static uint64_t checksum(const uint64_t *p, unsigned long words)
{
    uint64_t sum = 0;
    for (unsigned long i = 0; i < words; i++)
        sum = (sum ^ p[i]) * 0x100000001b3ULL;
    return sum;
}

static int memtouch(unsigned long mib, unsigned long interval_ms)
{
    unsigned long pages = mib * 256;
    uint64_t *p = fc_pages_alloc(pages);
    if (!p) {
        fc_kprintf("memtouch: cannot allocate %lu MiB\n", mib);
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (unsigned long i = 0; i < pages * 512; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = x;
    }
    uint64_t expected = checksum(p, pages * 512);
    fc_kprintf("memtouch %lu MiB sum=0x%lx in-use=%lu KiB\n", mib, expected,
               fc_mm_pages_in_use() * 4);
    for (unsigned long round = 0;; round++) {
        fc_sleep_ns(interval_ms * 1000000ULL);
        uint64_t sum = checksum(p, pages * 512);
        if (sum != expected) {
            fc_kprintf("memtouch CORRUPT round %lu sum=0x%lx expected 0x%lx\n", round, sum,
                       expected);
            return 3;
        }
        fc_kprintf("memtouch ok round %lu sum=0x%lx\n", round, sum);
    }
}

__attribute__((noreturn)) static int spin(void)
{
    uint64_t next = fc_monotonic_ns();
    for (unsigned long n = 0;; n++) {
        if (fc_monotonic_ns() >= next) {
            fc_kprintf("spin %lu\n", n);
            next += 1000000000ULL;
        }
    }
}

static int alloc_cycle(void)
{
    unsigned long before = fc_mm_pages_in_use();
    for (int i = 0; i < 50; i++) {
        void *p = fc_pages_alloc(256);
        if (!p)
            return 1;
        fc_pages_free(p, 256);
    }
    unsigned long after = fc_mm_pages_in_use();
    fc_kprintf("alloc pages in use before=%lu after=%lu\n", before, after);
    return before == after ? 0 : 1;
}

static int xs_test(void)
{
    char buf[64], path[128], token[32];
    int failures = 0;
    if (fc_xs_write("data/selftest", "value-1") < 0 || fc_xs_read("data/selftest", buf, sizeof(buf)) != 7 ||
        fc_kstrcmp(buf, "value-1"))
        failures++, fc_kprintf("xs: write/read failed\n");
    if (fc_xs_read("data/does-not-exist", buf, sizeof(buf)) != -FC_ENOENT)
        failures++, fc_kprintf("xs: missing key not ENOENT\n");
    long tx = fc_xs_transaction_start();
    if (tx <= 0 || fc_xs_write_tx(tx, "data/selftest-tx", "in-tx") < 0 ||
        fc_xs_transaction_end(tx, 1) < 0 || fc_xs_read("data/selftest-tx", buf, sizeof(buf)) != 5)
        failures++, fc_kprintf("xs: transaction failed (tx %ld)\n", tx);
    if (fc_xs_watch("data/selftest", "tok1") < 0)
        failures++, fc_kprintf("xs: watch failed\n");
    fc_xs_write("data/selftest", "value-2");
    int events = 0;
    for (int i = 0; i < 50 && events < 2; i++) {
        int r = fc_xs_read_watch(path, sizeof(path), token, sizeof(token));
        if (r == 1)
            events++;
        else
            fc_sleep_ns(10000000ULL);
    }
    if (events < 2)
        failures++, fc_kprintf("xs: expected 2 watch events, got %d\n", events);
    fc_kprintf("xs %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}

int fc_libc_start(void)
{
    const char *cmd = skip_spaces(fc_cmdline());
    const char *arg = next_word(cmd);
    if (!*cmd || word_is(cmd, "hello")) {
        fc_kprintf("hello from fc-selftest\n");
        return 0;
    }
    if (word_is(cmd, "exit"))
        return (int)parse_ulong(arg, 0);
    if (word_is(cmd, "counter"))
        return counter(parse_ulong(arg, 500));
    if (word_is(cmd, "memtouch"))
        return memtouch(parse_ulong(arg, 4), parse_ulong(next_word(arg), 1000));
    if (word_is(cmd, "fault")) {
        volatile int *volatile null_page = 0;
        null_page[2] = 1;
        return 0;
    }
    if (word_is(cmd, "panic"))
        fc_panic("selftest asked for a panic");
    if (word_is(cmd, "spin"))
        return spin();
    if (word_is(cmd, "alloc"))
        return alloc_cycle();
    if (word_is(cmd, "xs"))
        return xs_test();
    fc_kprintf("fc-selftest: unknown mode '%s'\n", cmd);
    return 2;
}
