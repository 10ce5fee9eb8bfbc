// Shifts one process's wall clock by the number of milliseconds written in the file named by
// CLOCK_SHIFT_FILE, re-read every 20 ms, so a test can jump a running agent's clock minutes forward
// and back without touching the machine's. Monotonic clocks are left alone, as a real jump of the
// wall clock leaves them.
//
// Why not libfaketime: its constructor calls setenv, which moves `environ` before the Swift runtime
// finds argv through it, and every Swift program then starts without arguments
// (swiftlang/swift#76080).
//
// Loaded with LD_PRELOAD; built by the tests (ClockShift.swift) with the toolchain's clang.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static _Atomic long long shift_ms;
static _Atomic long long next_read_ns;

static clock_gettime_fn real_clock_gettime(void) {
    static _Atomic(clock_gettime_fn) real;
    clock_gettime_fn fn = atomic_load(&real);
    if (!fn) {
        fn = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
        atomic_store(&real, fn);
    }
    return fn;
}

static long long current_shift(void) {
    struct timespec now;
    if (real_clock_gettime()(CLOCK_MONOTONIC, &now) != 0) return atomic_load(&shift_ms);
    long long ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    if (ns < atomic_load(&next_read_ns)) return atomic_load(&shift_ms);
    atomic_store(&next_read_ns, ns + 20000000LL);
    const char *path = getenv("CLOCK_SHIFT_FILE");
    if (!path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return atomic_load(&shift_ms);
    char text[32];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n > 0) {
        text[n] = 0;
        atomic_store(&shift_ms, strtoll(text, NULL, 10));
    }
    return atomic_load(&shift_ms);
}

static void shift(struct timespec *ts) {
    long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + current_shift() * 1000000LL;
    ts->tv_sec = (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    int result = real_clock_gettime()(id, ts);
    if (result == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) shift(ts);
    return result;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    (void)tz;
    struct timespec ts;
    int result = clock_gettime(CLOCK_REALTIME, &ts);
    if (result == 0) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
