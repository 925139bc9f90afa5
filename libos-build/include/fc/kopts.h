/* SPDX-License-Identifier: MIT */
/*
 * Kernel options: the leading words of the domain command line of the form fc.NAME=VALUE
 * (e.g. "fc.ip=10.77.0.50/24 fc.gw=10.77.0.1 --port 80"). They are split off at boot and
 * the rest of the line goes to the app. The first word that is not such an option ends
 * them; values cannot contain spaces. Pure code (kernel/kopts.c), host-tested.
 */
#ifndef FC_KOPTS_H
#define FC_KOPTS_H

#include <stdint.h>

#define FC_KOPTS_MAX 16

struct fc_kopt {
    const char *name;  /* without the "fc." prefix */
    const char *value; /* may be empty ("fc.x=") */
};

/* Splits the options off `line`, in place (NULs replace the separators). Returns how many
 * were found, or -FC_E2BIG if there are more than `max`. *rest points into `line` at the
 * app's part, leading blanks skipped (possibly ""). */
int fc_kopts_split(char *line, struct fc_kopt *opts, int max, char **rest);
/* Value of the last option called `name`, or 0. */
const char *fc_kopts_find(const struct fc_kopt *opts, int n, const char *name);
/* "A.B.C.D" (exactly, no leading zeros beyond "0", each part <= 255) -> host order.
 * 0 or -FC_EINVAL. */
int fc_kopts_parse_ipv4(const char *text, uint32_t *out);
/* "A.B.C.D/N" (N in 0..32; "/N" optional, then N = 32) -> address and prefix length. */
int fc_kopts_parse_cidr(const char *text, uint32_t *ip, uint8_t *prefix_len);

#endif
