# SPDX-License-Identifier: MIT
# Toolchain and flags for FlexCapsule OS (x86-64 Xen PV). Included by the top Makefile.

CC ?= gcc
LD := ld
OBJCOPY := objcopy

# Xen public headers (Debian libxen-dev). Only xen/ is made visible, not all of /usr/include.
XEN_INCLUDE_DIR ?= /usr/include/xen
XEN_INTERFACE_VERSION := 0x00040e00

GCC_INCLUDE := $(shell $(CC) -print-file-name=include)
LIBGCC := $(shell $(CC) -print-libgcc-file-name)

# Shared by kernel, lib and apps: freestanding, no red zone (Xen bounces events onto
# our stack), static addresses (we are linked at 0).
BASE_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -nostdinc -isystem $(GCC_INCLUDE) -fno-builtin \
	-fno-pic -fno-pie -mno-red-zone -mcmodel=small -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	-fno-strict-aliasing -D__XEN_INTERFACE_VERSION__=$(XEN_INTERFACE_VERSION)
# -MMD -MP: every object also records the headers it read (out/obj/**/*.d), so editing a header
# rebuilds what uses it; a stale object once disagreed with the others on a struct's layout.
BASE_CPPFLAGS := -I$(FC_LIBOS_DIR)/include -isystem $(FC_LIBOS_DIR)/out/include -MMD -MP

# The kernel never touches SSE/x87 state: the event upcall does not save it.
KERNEL_CFLAGS := $(BASE_CFLAGS) -mgeneral-regs-only

LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments \
	-T $(FC_LIBOS_DIR)/arch/x86_64/kernel.lds

# Per-app image defaults; apps/<app>/image.mk may set APP_MEMORY_MIB / APP_CMDLINE.
DEFAULT_MEMORY_MIB := 8
IMAGE_STORE := /var/lib/flexcapsule/images
