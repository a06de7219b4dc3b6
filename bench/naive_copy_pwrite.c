/* naive_copy_pwrite: the straightforward crash-safe way to patch blocks of a
 * big file, the peer `bpatch apply` is measured against.
 *
 *   naive_copy_pwrite TARGET EDITS
 *
 * EDITS is a binary list of records: offset:u64le length:u32le bytes[length].
 * Copies TARGET to a temp file beside it with a plain read/write loop (1 MiB
 * buffer), pwrite()s every record, fsync()s the temp, renames it over TARGET
 * and fsync()s the directory. No hashing, no journal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char* what, const char* path) {
  fprintf(stderr, "naive_copy_pwrite: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static void write_all(int fd, const char* buf, size_t n, off_t at, const char* path) {
  while (n > 0) {
    ssize_t w = pwrite(fd, buf, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write", path);
    }
    buf += w;
    n -= (size_t)w;
    at += w;
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: naive_copy_pwrite TARGET EDITS\n");
    return 2;
  }
  const char* target = argv[1];
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", target);

  int in = open(target, O_RDONLY);
  if (in < 0) die("open", target);
  struct stat st;
  if (fstat(in, &st) != 0) die("stat", target);
  int out = mkstemp(tmp);
  if (out < 0) die("create", tmp);
  if (fchmod(out, st.st_mode & 07777) != 0) die("chmod", tmp);

  enum { kBuf = 1 << 20 };
  char* buf = malloc(kBuf);
  off_t at = 0;
  for (;;) {
    ssize_t n = read(in, buf, kBuf);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("read", target);
    }
    if (n == 0) break;
    write_all(out, buf, (size_t)n, at, tmp);
    at += n;
  }
  close(in);

  FILE* edits = fopen(argv[2], "rb");
  if (!edits) die("open", argv[2]);
  uint64_t offset;
  uint32_t length;
  while (fread(&offset, 8, 1, edits) == 1) {
    if (fread(&length, 4, 1, edits) != 1 || length > kBuf ||
        fread(buf, 1, length, edits) != length) {
      fprintf(stderr, "naive_copy_pwrite: truncated edit record in %s\n", argv[2]);
      return 1;
    }
    write_all(out, buf, length, (off_t)offset, tmp);
  }
  fclose(edits);

  if (fsync(out) != 0) die("fsync", tmp);
  if (close(out) != 0) die("close", tmp);
  if (rename(tmp, target) != 0) die("rename", tmp);
  char dir_buf[4096];
  snprintf(dir_buf, sizeof dir_buf, "%s", target);
  const char* dir = dirname(dir_buf);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd < 0 || fsync(dfd) != 0) die("fsync directory", dir);
  close(dfd);
  free(buf);
  return 0;
}
