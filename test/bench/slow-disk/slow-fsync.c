/* A slow disk for benchmarks: LD_PRELOAD this into a process and every fsync and fdatasync it
 * makes waits SLOW_FSYNC_MS milliseconds more (what an SD card or a busy shared disk costs) in the
 * thread that called it, then does the real sync. Built by test/bench/slow-disk.ts. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void wait_extra(void) {
  const char *ms = getenv("SLOW_FSYNC_MS");
  long n = ms ? atol(ms) : 0;
  if (n <= 0) return;
  struct timespec t = { n / 1000, (n % 1000) * 1000000L };
  while (nanosleep(&t, &t) != 0) {}
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  wait_extra();
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  wait_extra();
  return real(fd);
}
