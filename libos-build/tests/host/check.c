/* SPDX-License-Identifier: MIT */
/* Counters behind CHECK(). */
#include "check.h"

unsigned long check_passed;
unsigned long check_failed;
