/*
  hostile_table.c -- the cases of docs/hostile-input.md side by side: the default build, the
  FOOTERS build, the preloaded drop-in and the C library's own allocator.

  Usage: hostile_table [--check] [--known-gap <case>]... <death_default> <death_footers>
                       <death_plain> <libdlmalloc.so>

  Each case is one run of a test_death program (tests/test_death.c) in a child process:
  death_default and death_footers (the test variants, with the instrumented port), and
  death_plain (the same cases under the standard names) once with LD_PRELOAD=<libdlmalloc.so>
  and once with nothing preloaded.  The outcome of a run is what the program's end shows:
    "abort: <reason>"   custom_abort's line, the drop-in's "dlmalloc[...]: " report or the C
                        library's message before SIGABRT (address and source line removed)
    "NULL"              a size case refused with NULL
    "not detected"      the program went on (with what it saw, e.g. the forged block handed
                        out)
    "SIGSEGV", "signal N", "timeout"
    "n/a"               the case does not exist there (no mspaces or no bulk_free in the C
                        library)
  The table goes to standard output in Markdown.  With --check the exit status is 1 when the
  drop-in is weaker than the C library on a case: the C library aborts and the drop-in does not
  (a case named with --known-gap, documented as such, is reported but does not fail); and when
  any run did not end within its time, which is reported as such.
  POSIX only (fork, exec, pipes).
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct hostile_case {
  const char *name;
  const char *what;
};

/* In the order of docs/hostile-input.md: issue 16's points, then the earlier cases. */
static const struct hostile_case cases[] = {
    {"comalloc_wrap", "independent_comalloc({SIZE_MAX/2, SIZE_MAX/2, 64})"},
    {"cache_link_overwrite", "use after free: an address written into a freed 40-byte block"},
    {"cache_tag_overwrite", "use after free: a freed block's second word cleared, freed again"},
    {"racing_double_free", "two threads free one block at once (up to 3000 tries)"},
    {"uaf_tree_link", "use after free: a freed 20000-byte block's tree links overwritten"},
    {"uaf_tree_size_shrunk", "use after free: a freed 20000-byte block's size made 64, then malloc(200)"},
    {"uaf_link_to_hole", "use after free: a freed 40-byte block's link set to a page no one may read"},
    {"double_free_mapped", "double free of a directly mapped 1 MiB block"},
    {"forged_chunk_mmap", "free of a chunk forged in a page mapped between heap regions"},
    {"forged_chunk_thread_stack", "free of a chunk forged on a thread's stack"},
    {"free_segment_record", "free of the record a segment keeps at its end (Linux)"},
    {"free_segment_record_remote", "the same, by another thread"},
    {"free_mspace_block", "free() of an mspace's block (inside the heap's address range)"},
    {"mspace_wrong_owner_in_range", "mspace_free(a, block of b)"},
    {"mspace_call_destroyed", "mspace_malloc on a destroyed mspace"},
    {"mspace_destroy_twice", "destroy_mspace twice"},
    {"mspace_free_destroyed_block", "mspace_free(destroyed mspace, its block)"},
    {"mspace_free_itself", "mspace_free(m, m): the mspace's own handle"},
    {"mspace_free_inner", "mspace_free(outer, an mspace made in outer's block)"},
    {"mspace_free_nested_block", "mspace_free(outer, a block of an mspace made in its block)"},
    {"free_nested_mspace_block", "free() of a block of an mspace made in a block of the heap"},
    {"mspace_bulk_free_nested_block",
     "mspace_bulk_free(outer, a block of an mspace made in its block)"},
    {"free_destroyed_mspace_block", "free() of a destroyed mspace's block"},
    {"bulk_free_duplicate", "bulk_free of an array holding a pointer twice"},
    {"bulk_free_freed", "bulk_free of an array holding a freed block"},
    {"bulk_free_stack", "bulk_free of an array holding a stack address"},
    {"bulk_free_merged_duplicate", "bulk_free of three neighbours, then the middle one again"},
    {"unsafe_unlink", "forged free chunk in a live block + one word past it, free the next"},
    {"overflow1x63_next", "one byte 0x63 past a block (dlmalloc's flags kept); free next"},
    {"overflow1x61_next", "one byte 0x61 past a block (glibc's flags kept); free next"},
    {"double_free", "double free of a 100-byte block"},
    {"double_free_large", "double free of a 20000-byte block"},
    {"realloc_freed", "realloc of a freed block"},
    {"free_stack", "free of a stack address"},
    {"free_global", "free of an address in a global array"},
    {"free_interior_16", "free of a block's address + 16"},
    {"overflow1_next", "one byte 'A' past a block, then free the next block"},
    {"overflow8_both", "eight bytes 'A' past a block, free the next, then the block"},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

enum column { COL_DEFAULT, COL_FOOTERS, COL_DROPIN, COL_LIBC, N_COLUMNS };
static const char *const column_names[N_COLUMNS] = {"default", "FOOTERS", "drop-in", "glibc"};

#define TIMEOUT_SECONDS 120

/* Read all of fd into buf (NUL-terminated, truncated to size - 1), then close fd. */
static void read_all(int fd, char *buf, size_t size) {
  size_t used = 0;
  for (;;) {
    char scratch[512];
    ssize_t n = read(fd, used + 1 < size ? buf + used : scratch,
                     used + 1 < size ? size - 1 - used : sizeof scratch);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (used + 1 < size)
      used += (size_t)n;
  }
  buf[used] = 0;
  close(fd);
}

/* The reason in a report line: from after "custom_abort: " or "dlmalloc[...]: " (or the
   whole line), without the " 0x<address>" and " [malloc.c:N]" that follow it. */
static void reason_of(const char *line, char *out, size_t size) {
  const char *start = line, *end, *mark;
  if ((mark = strstr(line, "custom_abort: ")) != NULL)
    start = mark + strlen("custom_abort: ");
  else if (strncmp(line, "dlmalloc[", 9) == 0 && (mark = strstr(line, "]: ")) != NULL)
    start = mark + 3;
  end = start + strlen(start);
  if ((mark = strstr(start, " [malloc.c:")) != NULL)
    end = mark;
  if ((mark = strstr(start, " 0x")) != NULL && mark < end)
    end = mark;
  snprintf(out, size, "%.*s", (int)(end - start), start);
}

/* The last non-empty line of text, copied into line. */
static void last_line(const char *text, char *line, size_t size) {
  const char *end = text + strlen(text), *start;
  while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
    end--;
  start = end;
  while (start > text && start[-1] != '\n')
    start--;
  snprintf(line, size, "%.*s", (int)(end - start), start);
}

/* Run program case, LD_PRELOAD=preload if not NULL, and describe how it ended in outcome. */
static void run_case(const char *program, const char *name, const char *preload, char *outcome,
                     size_t size) {
  int out_pipe[2], err_pipe[2], status;
  static char out[1 << 14], err[1 << 14];
  char line[512], reason[512];
  pid_t child;
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
    snprintf(outcome, size, "(pipe failed)");
    return;
  }
  child = fork();
  if (child == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    if (preload != NULL)
      setenv("LD_PRELOAD", preload, 1);
    else
      unsetenv("LD_PRELOAD");
    alarm(TIMEOUT_SECONDS);
    execl(program, program, name, (char *)NULL);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  /* stdout first: the programs write little to it, and everything else to stderr */
  read_all(out_pipe[0], out, sizeof out);
  read_all(err_pipe[0], err, sizeof err);
  while (waitpid(child, &status, 0) < 0 && errno == EINTR)
    continue;
  last_line(err, line, sizeof line);
  reason_of(line, reason, sizeof reason);
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
    case 86: /* test_port.c's custom_abort */
      snprintf(outcome, size, "abort: %s", reason);
      return;
    case 1: { /* not detected; the program's first line says what it saw */
      char seen[512];
      size_t n = strcspn(out, "\n");
      if (n >= sizeof seen)
        n = sizeof seen - 1;
      memcpy(seen, out, n);
      seen[n] = 0;
      if (strstr(seen, "went unnoticed") != NULL || seen[0] == 0)
        snprintf(outcome, size, "not detected");
      else
        snprintf(outcome, size, "not detected (%s)", seen);
      return;
    }
    case 5:
      snprintf(outcome, size, "NULL");
      return;
    case 2:
      snprintf(outcome, size, "n/a");
      return;
    default:
      snprintf(outcome, size, "exit %d", WEXITSTATUS(status));
      return;
    }
  }
  switch (WTERMSIG(status)) {
  case SIGABRT:
    snprintf(outcome, size, line[0] != 0 ? "abort: %s" : "SIGABRT", reason);
    return;
  case SIGSEGV:
    snprintf(outcome, size, "SIGSEGV");
    return;
  case SIGALRM:
    snprintf(outcome, size, "timeout");
    return;
  default:
    snprintf(outcome, size, "signal %d", WTERMSIG(status));
  }
}

/* Markdown table cell: '|' escaped. */
static void put_cell(const char *text) {
  fputs(" ", stdout);
  for (; *text != 0; text++) {
    if (*text == '|')
      fputc('\\', stdout);
    fputc(*text, stdout);
  }
  fputs(" |", stdout);
}

static int detected(const char *outcome) {
  return strncmp(outcome, "abort", 5) == 0 || strcmp(outcome, "NULL") == 0;
}

int main(int argc, char **argv) {
  int check = 0, failed = 0, n_gaps = 0, g;
  size_t i;
  const char *programs[N_COLUMNS], *dropin, *gaps[N_CASES];
  for (;;) {
    if (argc > 1 && strcmp(argv[1], "--check") == 0) {
      check = 1;
      argv++;
      argc--;
    } else if (argc > 2 && strcmp(argv[1], "--known-gap") == 0 && n_gaps < (int)N_CASES) {
      gaps[n_gaps++] = argv[2];
      argv += 2;
      argc -= 2;
    } else
      break;
  }
  if (argc != 5) {
    fprintf(stderr, "usage: hostile_table [--check] [--known-gap <case>]... <death_default> "
                    "<death_footers> <death_plain> <libdlmalloc.so>\n");
    return 2;
  }
  programs[COL_DEFAULT] = argv[1];
  programs[COL_FOOTERS] = argv[2];
  programs[COL_DROPIN] = argv[3];
  programs[COL_LIBC] = argv[3];
  dropin = argv[4];

  fputs("| case | what it does |", stdout);
  for (i = 0; i < N_COLUMNS; i++)
    printf(" %s |", column_names[i]);
  fputs("\n|---|---|", stdout);
  for (i = 0; i < N_COLUMNS; i++)
    fputs("---|", stdout);
  fputs("\n", stdout);
  fflush(stdout);
  for (i = 0; i < N_CASES; i++) {
    char outcome[N_COLUMNS][600];
    size_t c;
    for (c = 0; c < N_COLUMNS; c++)
      run_case(programs[c], cases[i].name, c == COL_DROPIN ? dropin : NULL, outcome[c],
               sizeof outcome[c]);
    printf("| `%s` |", cases[i].name);
    put_cell(cases[i].what);
    for (c = 0; c < N_COLUMNS; c++)
      put_cell(outcome[c]);
    fputs("\n", stdout);
    fflush(stdout);
    for (c = 0; c < N_COLUMNS; c++)
      if (strcmp(outcome[c], "timeout") == 0) { /* a hang, or a machine far too loaded */
        fprintf(stderr, "hostile_table: %s: a run did not end in time (column %u)\n",
                cases[i].name, (unsigned)c + 1u);
        failed = 1;
      }
    if (detected(outcome[COL_LIBC]) && !detected(outcome[COL_DROPIN]) &&
        strcmp(outcome[COL_DROPIN], "timeout") != 0) {
      int known = 0;
      for (g = 0; g < n_gaps; g++)
        known |= strcmp(gaps[g], cases[i].name) == 0;
      fprintf(stderr, "hostile_table: %s: the drop-in is weaker than the C library%s\n",
              cases[i].name, known ? " (a documented known gap)" : "");
      failed |= !known;
    }
  }
  return check && failed ? 1 : 0;
}
