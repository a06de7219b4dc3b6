/* naive_per_file: the per-file crash-safe loop a transaction of many small
 * edits is measured against.
 *
 *   naive_per_file ROOT LIST
 *
 * LIST has one edit a line: "relative/path offset hexbytes". For each line:
 * read the file, overwrite the bytes in memory, write a temp file beside it,
 * fsync it, rename it over the file, fsync the directory. Each file is safe on
 * its own; the set is not atomic (a crash leaves some files old, some new).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char* what, const char* path) {
  fprintf(stderr, "naive_per_file: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: naive_per_file ROOT LIST\n");
    return 2;
  }
  FILE* list = fopen(argv[2], "r");
  if (!list) die("open", argv[2]);
  char rel[2048], hex[8192];
  unsigned long long offset;
  while (fscanf(list, "%2047s %llu %8191s", rel, &offset, hex) == 3) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", argv[1], rel);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int in = open(path, O_RDONLY);
    if (in < 0) die("open", path);
    struct stat st;
    if (fstat(in, &st) != 0) die("stat", path);
    size_t size = (size_t)st.st_size;
    char* buf = malloc(size ? size : 1);
    size_t got = 0;
    while (got < size) {
      ssize_t n = read(in, buf + got, size - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) die("read", path);
      got += (size_t)n;
    }
    close(in);
    size_t len = strlen(hex) / 2;
    if (offset + len > size) {
      fprintf(stderr, "naive_per_file: edit past the end of %s\n", path);
      return 1;
    }
    for (size_t i = 0; i < len; ++i)
      buf[offset + i] = (char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, st.st_mode & 07777);
    if (out < 0) die("create", tmp);
    size_t put = 0;
    while (put < size) {
      ssize_t n = write(out, buf + put, size - put);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) die("write", tmp);
      put += (size_t)n;
    }
    if (fsync(out) != 0) die("fsync", tmp);
    if (close(out) != 0) die("close", tmp);
    if (rename(tmp, path) != 0) die("rename", tmp);
    const char* dir = dirname(path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || fsync(dfd) != 0) die("fsync directory", dir);
    close(dfd);
    free(buf);
  }
  fclose(list);
  return 0;
}
