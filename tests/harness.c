/* harness.c -- see harness.h. */
#include "harness.h"

#if TH_HOSTED
#if defined(_WIN32)
#include <io.h>
#define TH_RAW_WRITE(buf, len) _write(1, buf, (unsigned)(len))
#else
#include <unistd.h>
#define TH_RAW_WRITE(buf, len) write(1, buf, len)
#endif
#endif

#define TH_MAX_REPORTED 40 /* failures printed in full; the rest are only counted */

static unsigned long th_passed;
static unsigned long th_failed;
static const char *th_current = "";

#if TH_HOSTED
static size_t th_len(const char *s) {
  size_t n = 0;
  while (s[n] != '\0')
    n++;
  return n;
}

void th_write(const char *text) {
  size_t left = th_len(text);
  while (left > 0) {
    long done = (long)TH_RAW_WRITE(text, left);
    if (done <= 0)
      return;
    text += done;
    left -= (size_t)done;
  }
}
#endif

/* Decimal text of v in buf (at least 21 bytes); returns buf. */
static char *th_utoa(uintmax_t v, char *buf) {
  char tmp[24];
  size_t n = 0, i;
  do {
    tmp[n++] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v != 0);
  for (i = 0; i < n; i++)
    buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return buf;
}

void th_note_u(const char *label, uintmax_t value) {
  char num[24];
  th_write(label);
  th_write(" ");
  th_write(th_utoa(value, num));
  th_write("\n");
}

void th_section(const char *name) { th_current = name; }

static void th_report(const char *expr, const char *file, int line) {
  char num[24];
  th_write("FAIL ");
  th_write(file);
  th_write(":");
  th_write(th_utoa((uintmax_t)(line < 0 ? 0 : line), num));
  if (th_current[0] != '\0') {
    th_write(" [");
    th_write(th_current);
    th_write("]");
  }
  th_write(": ");
  th_write(expr);
  th_write("\n");
}

int th_check(int ok, const char *expr, const char *file, int line) {
  if (ok) {
    th_passed++;
    return 1;
  }
  th_failed++;
  if (th_failed <= TH_MAX_REPORTED)
    th_report(expr, file, line);
  return 0;
}

int th_check_cmp(uintmax_t a, enum th_op op, uintmax_t b, const char *expr, const char *file,
                 int line) {
  int ok = 0;
  switch (op) {
  case TH_EQ: ok = a == b; break;
  case TH_NE: ok = a != b; break;
  case TH_LT: ok = a < b; break;
  case TH_LE: ok = a <= b; break;
  case TH_GT: ok = a > b; break;
  case TH_GE: ok = a >= b; break;
  }
  if (!th_check(ok, expr, file, line) && th_failed <= TH_MAX_REPORTED) {
    char num[24];
    th_write("     left = ");
    th_write(th_utoa(a, num));
    th_write(", right = ");
    th_write(th_utoa(b, num));
    th_write("\n");
  }
  return ok;
}

unsigned long th_failures(void) { return th_failed; }

int th_finish(void) {
  char num[24];
  if (th_failed > TH_MAX_REPORTED)
    th_write("(only the first failures were printed)\n");
  if (th_passed + th_failed == 0) {
    th_write("no checks ran: counted as a failure\n");
    th_failed = 1;
  }
  th_write(th_utoa(th_passed, num));
  th_write(" passed, ");
  th_write(th_utoa(th_failed, num));
  th_write(" failed\n");
  return th_failed == 0 ? 0 : 1;
}
