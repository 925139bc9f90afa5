/* SPDX-License-Identifier: MIT */
/* Grant table (v1) for the kernel's PV drivers: kernel-private. */
#ifndef FC_GNTTAB_H
#define FC_GNTTAB_H

#include <fc/kernel.h>
#include <xen/grant_table.h>

#define FC_GNTTAB_INVALID_REF ((grant_ref_t)~0U)

/* Sets up the table on first use (GNTTABOP_setup_table, frames mapped into our image) and
 * registers for suspend: the frames are unmapped before a suspend and the table is set up
 * again after it. After a resume in a new domain every grant is gone: callers re-grant
 * (their old references mean nothing, and are forgotten here too). 0 or -errno. */
int fc_gnttab_init(void);
/* Lets domain `dom` access our page `va` (read-only or writable). A reference, or -errno. */
long fc_gnttab_grant(domid_t dom, const void *va, int readonly);
/* Revokes access: 0, or -FC_EBUSY while the other side still has it mapped (the reference
 * then stays allocated; try again later). */
int fc_gnttab_end(grant_ref_t ref);

#endif
