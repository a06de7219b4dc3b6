/* fsync_probe: how fast can N small new files be made durable, by strategy?
 *
 *   fsync_probe DIR COUNT SIZE STRATEGY [THREADS]
 *
 * Creates COUNT files of SIZE bytes in DIR (20 subdirectories, as the
 * benchmark's 2,000-file case) and makes them durable with STRATEGY:
 *   each     write+fsync one file at a time            (what bpatch does today)
 *   naive    each + rename over itself + dir fsync    (the naive loop's cost)
 *   late     write all, then fsync each in order
 *   sfr      write all, sync_file_range(WRITE) each, then fsync each
 *   syncfs   write all, one syncfs() of the filesystem
 *   threads  write all, fsync them from THREADS threads (default 16)
 * then fsyncs the 20 directories once (except naive) and prints seconds.
 * A measurement tool for the benchmark's recommendations, not a peer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int* fds;
static int count, next_fd;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char* what) {
  perror(what);
  exit(1);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void* fsync_worker(void* arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    int i = next_fd++;
    pthread_mutex_unlock(&lock);
    if (i >= count) return NULL;
    if (fsync(fds[i]) != 0) die("fsync");
  }
}

static void fsync_dir(const char* path) {
  int d = open(path, O_RDONLY | O_DIRECTORY);
  if (d < 0 || fsync(d) != 0) die("fsync dir");
  close(d);
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr,
            "usage: fsync_probe DIR COUNT SIZE each|naive|late|sfr|syncfs|threads [THREADS]\n");
    return 2;
  }
  const char *dir = argv[1], *how = argv[4];
  count = atoi(argv[2]);
  size_t size = (size_t)atol(argv[3]);
  int threads = argc > 5 ? atoi(argv[5]) : 16;
  char *buf = malloc(size), path[4096], sub[4096], tmp[4200];
  for (size_t i = 0; i < size; ++i) buf[i] = (char)(rand() & 0xff);
  fds = calloc((size_t)count, sizeof *fds);
  for (int d = 0; d < 20; ++d) {
    snprintf(sub, sizeof sub, "%s/d%02d", dir, d);
    mkdir(sub, 0755);
  }
  int deferred = strcmp(how, "each") != 0 && strcmp(how, "naive") != 0;
  double t0 = now();
  for (int i = 0; i < count; ++i) {
    snprintf(sub, sizeof sub, "%s/d%02d", dir, i % 20);
    snprintf(path, sizeof path, "%s/f%05d", sub, i);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die("open");
    if (write(fd, buf, size) != (ssize_t)size) die("write");
    buf[i % size] ^= 1;
    fds[i] = fd;
    if (deferred) continue;
    if (fsync(fd) != 0) die("fsync");
    if (strcmp(how, "naive") == 0) {
      if (rename(tmp, path) != 0) die("rename");
      fsync_dir(sub);
    }
  }
  if (strcmp(how, "late") == 0) {
    for (int i = 0; i < count; ++i)
      if (fsync(fds[i]) != 0) die("fsync");
  } else if (strcmp(how, "sfr") == 0) {
    for (int i = 0; i < count; ++i) sync_file_range(fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);
    for (int i = 0; i < count; ++i)
      if (fsync(fds[i]) != 0) die("fsync");
  } else if (strcmp(how, "syncfs") == 0) {
    if (syncfs(fds[0]) != 0) die("syncfs");
  } else if (strcmp(how, "threads") == 0) {
    pthread_t t[256];
    if (threads > 256) threads = 256;
    for (int i = 0; i < threads; ++i) pthread_create(&t[i], NULL, fsync_worker, NULL);
    for (int i = 0; i < threads; ++i) pthread_join(t[i], NULL);
  }
  if (strcmp(how, "naive") != 0)
    for (int d = 0; d < 20; ++d) {
      snprintf(sub, sizeof sub, "%s/d%02d", dir, d);
      fsync_dir(sub);
    }
  double t1 = now();
  for (int i = 0; i < count; ++i) close(fds[i]);
  printf("%-8s %d files of %zu bytes: %.3f s (%.2f ms/file)\n", how, count, size, t1 - t0,
         (t1 - t0) * 1000 / count);
  return 0;
}
