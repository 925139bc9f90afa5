/* SPDX-License-Identifier: MIT */
/*
 * memtouch: a memory-dirtying load with its own integrity check, to exercise live migration.
 *
 *   memtouch [--mib N] [--rate R] [--passes P]   (defaults 4 MiB, 4 MiB/s, forever; P=0 forever)
 *   4 MiB fits the default 8 MiB app VM, so memtouch runs at every size the migration benchmark tries.
 *
 * Pass 0 fills N MiB with a pattern that depends on the pass number and the word's position.
 * Every later pass walks the buffer at R MiB/s: it reads each word (adding it to a running
 * checksum of the previous pass's contents) and writes the new pass's value. At the end of the
 * pass the checksum read back must equal the checksum written one pass earlier; if a migration
 * lost or corrupted a dirty page, it will not:
 *   memtouch pass P ok checksum=0x...        or
 *   memtouch CHECKSUM MISMATCH pass=P expected=0x... got=0x...   and exit status 3.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <fc/api.h>
#include <fc/libc/options.h>

#define EXIT_USAGE 2
#define EXIT_NO_MEMORY 1
#define EXIT_MISMATCH 3
#define MIB (1024ull * 1024ull)
#define CHUNK_WORDS (64u * 1024u / sizeof(uint64_t)) /* rate control and event service step */

/*
 * The value of word `index` in pass `pass`: a multiply-xorshift mix, so it differs for every
 * pass and word and no pass's checksum can equal another's by linearity.
 */
static uint64_t pattern(uint64_t pass, uint64_t index)
{
    uint64_t x = index + pass * 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Order-sensitive (moved data is caught too) and non-linear in the words. */
static uint64_t checksum_add(uint64_t sum, uint64_t word)
{
    return (((sum << 5) | (sum >> 59)) ^ word) * 0x100000001b3ull;
}

struct pacing {
    uint64_t start_ns;
    uint64_t rate_mib;
};

/* Sleeps until `bytes_done` is no further ahead than the rate allows. */
static void pace(const struct pacing *pacing, uint64_t bytes_done)
{
    uint64_t due_ns = pacing->start_ns + (bytes_done / 1024u) * 1000000000ull / (pacing->rate_mib * 1024u);
    uint64_t now = fc_monotonic_ns();
    if (now < due_ns)
        fc_sleep_ns(due_ns - now);
    else
        fc_poll(); /* running behind: still let the kernel answer a suspend request */
}

/* One pass: returns the checksum of what was there before (when verifying) and stores the
 * checksum of what it wrote in *written. */
static uint64_t run_pass(uint64_t *words, uint64_t nwords, uint64_t pass, uint64_t rate_mib,
                         uint64_t *written)
{
    struct pacing pacing = { fc_monotonic_ns(), rate_mib };
    uint64_t read_sum = 0, write_sum = 0;
    for (uint64_t start = 0; start < nwords; start += CHUNK_WORDS) {
        uint64_t end = start + CHUNK_WORDS < nwords ? start + CHUNK_WORDS : nwords;
        for (uint64_t i = start; i < end; i++) {
            read_sum = checksum_add(read_sum, words[i]);
            uint64_t value = pattern(pass, i);
            words[i] = value;
            write_sum = checksum_add(write_sum, value);
        }
        pace(&pacing, end * sizeof(uint64_t));
    }
    *written = write_sum;
    return read_sum;
}

int main(int argc, char **argv)
{
    unsigned long long mib = 4, rate = 4, passes = 0;
    const struct fc_option options[] = {
        { "mib", &mib, 1, 1024 * 1024 },
        { "rate", &rate, 1, 1024 * 1024 },
        { "passes", &passes, 0, UINT64_MAX },
    };
    if (fc_options_parse(argc, argv, options, sizeof(options) / sizeof(options[0])) != argc) {
        printf("usage: memtouch [--mib N] [--rate MIB_PER_S] [--passes P]\n");
        return EXIT_USAGE;
    }

    uint64_t nwords = mib * MIB / sizeof(uint64_t);
    uint64_t *words = malloc(mib * MIB);
    if (words == NULL) {
        printf("memtouch: cannot allocate %llu MiB\n", mib);
        return EXIT_NO_MEMORY;
    }
    printf("memtouch: %llu MiB at %llu MiB/s\n", mib, rate);

    uint64_t expected = 0;
    run_pass(words, nwords, 0, rate, &expected);
    printf("memtouch filled %llu MiB checksum=0x%016llx\n", mib, (unsigned long long)expected);

    for (uint64_t pass = 1; passes == 0 || pass <= passes; pass++) {
        uint64_t written;
        uint64_t found = run_pass(words, nwords, pass, rate, &written);
        if (found != expected) {
            printf("memtouch CHECKSUM MISMATCH pass=%llu expected=0x%016llx got=0x%016llx\n",
                   (unsigned long long)pass, (unsigned long long)expected,
                   (unsigned long long)found);
            return EXIT_MISMATCH;
        }
        printf("memtouch pass %llu ok checksum=0x%016llx\n", (unsigned long long)pass,
               (unsigned long long)found);
        expected = written;
    }
    free(words);
    return 0;
}
