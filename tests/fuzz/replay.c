/*
  replay.c -- run fuzz_api.c's LLVMFuzzerTestOneInput once on each file of the directories (or
  the files) named on the command line, without libFuzzer: any build, any compiler.

  CTest runs it as fuzz.replay.<variant> over fuzz/corpus (the seeds) and fuzz/regressions
  (every input the fuzzer ever failed on), so a failure once found stays fixed.  A failed check
  in the target traps and custom_abort exits with 86, either of which fails the test.  Prints
  how many inputs and API operations it ran; at least one input must have been read.
*/
#define _DEFAULT_SOURCE 1
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern unsigned long long fuzz_api_operations, fuzz_api_refusals;

static unsigned long inputs;

/* Run the target on one file; 0 on a read error. */
static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *data = NULL;
  size_t size = 0, cap = 0, got;
  if (f == NULL) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 0;
  }
  do {
    if (size == cap) {
      uint8_t *more = (uint8_t *)realloc(data, cap = cap * 2 + 4096);
      if (more == NULL) {
        free(data);
        fclose(f);
        return 0;
      }
      data = more;
    }
    got = fread(data + size, 1, cap - size, f);
    size += got;
  } while (got != 0);
  fclose(f);
  printf("replay: %s (%lu bytes)\n", path, (unsigned long)size);
  fflush(stdout);
  LLVMFuzzerTestOneInput(data, size);
  free(data);
  inputs++;
  return 1;
}

/* A directory: every regular file in it except README*. */
static int replay_path(const char *path) {
  struct stat st;
  DIR *d;
  struct dirent *e;
  int ok = 1;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: no such file or directory: %s\n", path);
    return 0;
  }
  if (!S_ISDIR(st.st_mode))
    return replay_file(path);
  d = opendir(path);
  if (d == NULL)
    return 0;
  while ((e = readdir(d)) != NULL) {
    char full[4096];
    if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0)
      continue;
    snprintf(full, sizeof full, "%s/%s", path, e->d_name);
    if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
      ok &= replay_file(full);
  }
  closedir(d);
  return ok;
}

int main(int argc, char **argv) {
  int i, ok = 1;
  for (i = 1; i < argc; i++)
    ok &= replay_path(argv[i]);
  printf("replay: %lu inputs, %llu API operations (%llu refused: map failures)\n", inputs,
         fuzz_api_operations, fuzz_api_refusals);
  if (!ok || inputs == 0) {
    fprintf(stderr, "replay: FAILED (%s)\n", ok ? "no input" : "unreadable input");
    return 1;
  }
  return 0;
}
