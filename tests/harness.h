/*
  harness.h -- a tiny check harness for the portable-dlmalloc tests.

  Every CHECK records whether it held; a failing check prints its expression, file and line.
  th_finish() prints the summary line "N passed, N failed" that CI reads, and returns the exit
  status (0 only when at least one check ran and none failed).

  All output goes through th_write().  harness.c defines it with write(1, ...) on hosted builds
  (TH_HOSTED, the default); a UEFI application or a bare-metal image builds with TH_HOSTED=0 and
  supplies its own th_write().  The harness never allocates and uses no stdio.
*/
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#ifndef TH_HOSTED
#define TH_HOSTED 1
#endif

/* Write a NUL-terminated string to the test log. */
void th_write(const char *text);

/* Write "label value\n" (value in decimal). */
void th_note_u(const char *label, uintmax_t value);

/* Name the group of checks that follows; failure messages mention it. */
void th_section(const char *name);

/* Record one check; returns ok so that a test can stop early: if (!CHECK(p)) return; */
int th_check(int ok, const char *expr, const char *file, int line);

/* Record a comparison of two unsigned values; a failure also prints both values. */
enum th_op { TH_EQ, TH_NE, TH_LT, TH_LE, TH_GT, TH_GE };
int th_check_cmp(uintmax_t a, enum th_op op, uintmax_t b, const char *expr, const char *file,
                 int line);

/* Print "N passed, N failed" and return the process exit status. */
int th_finish(void);

/* Number of checks that failed so far. */
unsigned long th_failures(void);

#define CHECK(expr) th_check(!!(expr), #expr, __FILE__, __LINE__)
#define TH_CMP_(a, op, b, text) \
  th_check_cmp((uintmax_t)(a), op, (uintmax_t)(b), text, __FILE__, __LINE__)
#define CHECK_EQ(a, b) TH_CMP_(a, TH_EQ, b, #a " == " #b)
#define CHECK_NE(a, b) TH_CMP_(a, TH_NE, b, #a " != " #b)
#define CHECK_LT(a, b) TH_CMP_(a, TH_LT, b, #a " < " #b)
#define CHECK_LE(a, b) TH_CMP_(a, TH_LE, b, #a " <= " #b)
#define CHECK_GT(a, b) TH_CMP_(a, TH_GT, b, #a " > " #b)
#define CHECK_GE(a, b) TH_CMP_(a, TH_GE, b, #a " >= " #b)

/* Pointer helpers used by many tests. */
#define TH_ALIGNED(p, a) ((((uintptr_t)(p)) & ((uintptr_t)(a) - 1u)) == 0)

#endif /* TESTS_HARNESS_H */
