# SPDX-License-Identifier: MIT
# memtouch's default --mib 16 needs 16 MiB of heap on top of the kernel; 32 MiB leaves room.
APP_MEMORY_MIB := 32
