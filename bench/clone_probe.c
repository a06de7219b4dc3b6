/* clone_probe: what would a reflink-aware shadow cost on XFS/btrfs?
 *
 *   clone_probe SRC DST EDITS copy|clone|clonehash|clonemmap|cfr|cfrhash|hashonly
 *
 * EDITS is naive_copy_pwrite's record list (offset:u64le length:u32le bytes).
 * Builds DST = SRC with the records written over it, fsyncs DST, prints seconds:
 *   copy       read/write copy through a 1 MiB buffer (what bpatch's
 *              ShadowFile does today, minus the hashing)
 *   clone      FICLONE the whole file, pwrite the records
 *   clonehash  clone, plus the XXH3-128 of the new content that bpatch records
 *              in its manifest, read from SRC's (warm) page cache for the
 *              unchanged ranges
 *   clonemmap  clonehash, reading SRC through mmap (no copy into a buffer)
 *   cfr        copy_file_range (an in-kernel copy where there are no
 *              reflinks, e.g. ext4), pwrite the records
 *   cfrhash    cfr plus the post-image hash as in clonehash
 *   hashonly   only that hash, with pread (no DST written)
 * A measurement tool for the benchmark's recommendations, not a peer.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

enum { kBuf = 1 << 20, kMaxEdits = 100000 };

static void die(const char* what) {
  perror(what);
  exit(1);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t offs[kMaxEdits];
static uint32_t lens[kMaxEdits];
static char* datas[kMaxEdits];

static const char* mapped;  // SRC mapped (clonemmap), else NULL

static void hash_range(XXH3_state_t* h, int fd, uint64_t at, uint64_t n, char* buf) {
  if (mapped) {
    XXH3_128bits_update(h, mapped + at, (size_t)n);
    return;
  }
  while (n > 0) {
    size_t k = n < kBuf ? (size_t)n : kBuf;
    if (pread(fd, buf, k, (off_t)at) != (ssize_t)k) die("pread");
    XXH3_128bits_update(h, buf, k);
    at += k;
    n -= k;
  }
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(
        stderr,
        "usage: clone_probe SRC DST EDITS copy|clone|clonehash|clonemmap|cfr|cfrhash|hashonly\n");
    return 2;
  }
  const char* mode = argv[4];
  FILE* e = fopen(argv[3], "rb");
  if (!e) die("edits");
  int n = 0;
  while (n < kMaxEdits && fread(&offs[n], 8, 1, e) == 1) {
    if (fread(&lens[n], 4, 1, e) != 1) die("edits");
    datas[n] = malloc(lens[n]);
    if (fread(datas[n], 1, lens[n], e) != lens[n]) die("edits");
    ++n;
  }
  fclose(e);
  char* buf = malloc(kBuf);
  double t0 = now();
  int src = open(argv[1], O_RDONLY);
  if (src < 0) die("open src");
  struct stat st;
  fstat(src, &st);
  int dst = -1;
  if (strcmp(mode, "hashonly") != 0) {
    dst = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (dst < 0) die("open dst");
  }
  if (strcmp(mode, "copy") == 0) {
    ssize_t k;
    off_t at = 0;
    while ((k = pread(src, buf, kBuf, at)) > 0) {
      if (pwrite(dst, buf, (size_t)k, at) != k) die("write");
      at += k;
    }
  } else if (strncmp(mode, "cfr", 3) == 0) {
    loff_t in = 0, out = 0;
    while (in < st.st_size) {
      ssize_t k = copy_file_range(src, &in, dst, &out, (size_t)(st.st_size - in), 0);
      if (k <= 0) die("copy_file_range");
    }
  } else if (dst >= 0) {
    if (ioctl(dst, FICLONE, src) != 0) die("FICLONE");
  }
  if (dst >= 0)
    for (int i = 0; i < n; ++i)
      if (pwrite(dst, datas[i], lens[i], (off_t)offs[i]) != (ssize_t)lens[i]) die("pwrite");
  if (strcmp(mode, "clonemmap") == 0) {
    mapped = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, src, 0);
    if (mapped == MAP_FAILED) die("mmap");
  }
  if (strcmp(mode, "clonehash") == 0 || strcmp(mode, "hashonly") == 0 || mapped ||
      strcmp(mode, "cfrhash") == 0) {
    XXH3_state_t* h = XXH3_createState();
    XXH3_128bits_reset(h);
    uint64_t at = 0;
    for (int i = 0; i < n; ++i) {  // records are sorted and disjoint
      hash_range(h, src, at, offs[i] - at, buf);
      XXH3_128bits_update(h, datas[i], lens[i]);
      at = offs[i] + lens[i];
    }
    hash_range(h, src, at, (uint64_t)st.st_size - at, buf);
    XXH128_hash_t d = XXH3_128bits_digest(h);
    fprintf(stderr, "xxh3 %016llx%016llx\n", (unsigned long long)d.high64,
            (unsigned long long)d.low64);
    XXH3_freeState(h);
  }
  if (dst >= 0 && fsync(dst) != 0) die("fsync");
  double t1 = now();
  printf("%-9s %lld MiB, %d edits: %.3f s\n", mode, (long long)(st.st_size >> 20), n, t1 - t0);
  return 0;
}
