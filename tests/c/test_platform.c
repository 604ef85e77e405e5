/* The platform layer (src/lib/platform.h): each function against what the
 * OS itself says, so a port can run the same cases.  The test may use the
 * OS directly (threads, fork, stdio); the library may not. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "harness.h"

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return 0;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* ------------------------------------------------- mutex and condition */

typedef struct {
    zlmdb__plat_mutex mutex;
    zlmdb__plat_cond cond;
    int ready;        /**< set by the other thread, under the mutex */
    int seen;         /**< set by this thread once it saw `ready` */
} rendezvous;

static void *signal_ready(void *arg)
{
    rendezvous *r = arg;

    zlmdb__plat_mutex_lock(&r->mutex);
    r->ready = 1;
    zlmdb__plat_cond_broadcast(&r->cond);
    /* Wait for the answer too, so both directions of the pair are used. */
    while (!r->seen)
        zlmdb__plat_cond_wait(&r->cond, &r->mutex);
    zlmdb__plat_mutex_unlock(&r->mutex);
    return NULL;
}

void test_platform__cond_wakes_a_waiting_thread(void)
{
    rendezvous r;
    pthread_t th;

    r.ready = r.seen = 0;
    CHECK_OK(zlmdb__plat_mutex_init(&r.mutex));
    CHECK_OK(zlmdb__plat_cond_init(&r.cond));
    zlmdb__plat_mutex_lock(&r.mutex);
    CHECK(pthread_create(&th, NULL, signal_ready, &r) == 0);
    while (!r.ready)
        zlmdb__plat_cond_wait(&r.cond, &r.mutex);
    r.seen = 1;
    zlmdb__plat_cond_broadcast(&r.cond);
    zlmdb__plat_mutex_unlock(&r.mutex);
    CHECK(pthread_join(th, NULL) == 0);
    zlmdb__plat_cond_destroy(&r.cond);
    zlmdb__plat_mutex_destroy(&r.mutex);
}

/* ----------------------------------- try-lock, once, thread-local keys */

static zlmdb__plat_mutex shared_lock = ZLMDB__PLAT_MUTEX_INITIALIZER;
static zlmdb__plat_tls_key tls_key;
static zlmdb__plat_once_flag tls_once = ZLMDB__PLAT_ONCE_INIT;
static int once_runs, tls_freed, trylock_seen, create_rc = -1, set_rc = -1;

static void tls_free(void *v)
{
    tls_freed += *(int *)v;
}

static void make_key(void)
{
    once_runs++;
    create_rc = zlmdb__plat_tls_create(&tls_key, tls_free);
}

static void *thread_with_a_value(void *arg)
{
    static int value = 5;
    (void)arg;
    zlmdb__plat_once(&tls_once, make_key);
    set_rc = zlmdb__plat_tls_set(tls_key, &value);
    trylock_seen = zlmdb__plat_mutex_trylock(&shared_lock); /* held by the main thread */
    return NULL;
}

void test_platform__trylock_once_and_thread_local_destructor(void)
{
    pthread_t th;

    CHECK(zlmdb__plat_mutex_trylock(&shared_lock) == 1);
    zlmdb__plat_once(&tls_once, make_key);
    CHECK(pthread_create(&th, NULL, thread_with_a_value, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(once_runs == 1);          /* the second call did not run it again */
    CHECK(create_rc == 0 && set_rc == 0);
    CHECK(trylock_seen == 0);       /* the other thread could not take the lock */
    CHECK(tls_freed == 5);          /* the thread's value went to the destructor */
    zlmdb__plat_mutex_unlock(&shared_lock);
    CHECK(zlmdb__plat_mutex_trylock(&shared_lock) == 1);
    zlmdb__plat_mutex_unlock(&shared_lock);
}

/* ------------------------------------------------------ pid and fork */

static volatile int fork_handler_pid;

static void on_child(void)
{
    fork_handler_pid = (int)zlmdb__plat_getpid();
}

void test_platform__fork_handler_runs_in_the_child_with_its_pid(void)
{
    zlmdb__plat_pid parent = zlmdb__plat_getpid();
    pid_t child;
    int status = 0;

    CHECK(parent == getpid());
    CHECK_OK(zlmdb__plat_on_fork_child(on_child));
    fflush(NULL);
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        /* The handler ran before fork() returned here, and saw our pid. */
        int ok = fork_handler_pid == (int)getpid() && zlmdb__plat_getpid() == getpid() &&
                 zlmdb__plat_getpid() != parent;
        _exit(ok ? 0 : 1);
    }
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(fork_handler_pid == 0);          /* not in the parent */
}

/* ------------------------------------------------------------- clock */

void test_platform__time_is_wall_clock_nanoseconds(void)
{
    time_t before = time(NULL);
    int64_t ns = zlmdb__plat_time_ns();
    time_t after = time(NULL);

    CHECK(ns / 1000000000LL >= (int64_t)before - 1);
    CHECK(ns / 1000000000LL <= (int64_t)after + 1);
}

/* ------------------------------------------------------------ numbers */

void test_platform__strtod_c_is_exact_or_absent(void)
{
    double d = 0;
    int rc = zlmdb__plat_strtod_c("0.1000000000000000055511151231257827", &d);

    CHECK(rc == 0 || rc == ENOSYS);
    if (rc == 0) {
        CHECK(d == 0.1);
        CHECK_OK(zlmdb__plat_strtod_c("-2.5e-3", &d));
        CHECK(d == -2.5e-3);
        CHECK_OK(zlmdb__plat_strtod_c("1.7976931348623157e308", &d));
        CHECK(d == 1.7976931348623157e308);
    }
#if defined(__GLIBC__)
    CHECK(rc == 0);                        /* the fast path this build expects */
#endif
}

/* ------------------------------------------------------------- files */

void test_platform__files_open_read_and_stat(void)
{
    static const char text[] = "0123456789abcdef";
    zlmdb__plat_file_info info, by_path;
    zlmdb__plat_fd fd;
    char buf[32];
    size_t got = 99;

    CHECK(write_file("f", text, 16));
    CHECK_OK(zlmdb__plat_open_readonly("f", &fd));
    CHECK_OK(zlmdb__plat_pread(fd, buf, 4, 10, &got));
    CHECK(got == 4);
    CHECK_MEM(buf, "abcd", 4);
    CHECK_OK(zlmdb__plat_pread(fd, buf, sizeof buf, 12, &got));
    CHECK(got == 4);                       /* short near the end */
    CHECK_OK(zlmdb__plat_pread(fd, buf, sizeof buf, 16, &got));
    CHECK(got == 0);                       /* at the end */
    CHECK_OK(zlmdb__plat_pread(fd, buf, sizeof buf, 1000, &got));
    CHECK(got == 0);                       /* past it */
    CHECK_OK(zlmdb__plat_fd_stat(fd, &info));
    CHECK(info.kind == ZLMDB__PLAT_FILE_REGULAR);
    CHECK(info.size == 16);
    CHECK(info.ino != 0);
    zlmdb__plat_close(fd);

    CHECK_OK(zlmdb__plat_file_stat("f", &by_path));
    CHECK(by_path.dev == info.dev && by_path.ino == info.ino && by_path.size == 16);
    CHECK(link("f", "g") == 0);            /* a hard link: the same identity */
    CHECK_OK(zlmdb__plat_file_stat("g", &by_path));
    CHECK(by_path.dev == info.dev && by_path.ino == info.ino);

    CHECK_RC(zlmdb__plat_open_readonly("missing", &fd), ENOENT);
    CHECK_RC(zlmdb__plat_open_readonly("f/x", &fd), ENOTDIR);
    CHECK_RC(zlmdb__plat_file_stat("missing", &info), ENOENT);
}

void test_platform__mkdir_creates_once(void)
{
    zlmdb__plat_file_info info;

    CHECK_OK(zlmdb__plat_mkdir("d", 0755));
    CHECK_RC(zlmdb__plat_mkdir("d", 0755), EEXIST);
    CHECK_OK(zlmdb__plat_file_stat("d", &info));
    CHECK(info.kind == ZLMDB__PLAT_FILE_DIR);
    CHECK_RC(zlmdb__plat_mkdir("no/such/parent", 0755), ENOENT);
}

/* ------------------------------------------------------- memory maps */

void test_platform__map_shows_the_file_and_is_found_again(void)
{
    char text[8192];
    zlmdb__plat_file_info info;
    zlmdb__plat_fd fd;
    void *a = NULL, *b = NULL;
    const char *origin;
    size_t i;

    for (i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 26);
    CHECK(write_file("m", text, sizeof text));
    CHECK_OK(zlmdb__plat_open_readonly("m", &fd));
    CHECK_OK(zlmdb__plat_fd_stat(fd, &info));
    CHECK_OK(zlmdb__plat_map_readonly(fd, sizeof text, 0, &a));
    CHECK_OK(zlmdb__plat_map_readonly(fd, sizeof text, 1, &b));
    CHECK(a != b);
    CHECK_MEM(a, text, sizeof text);
    CHECK_MEM(b, text, sizeof text);

    /* What the zero-copy views need: from a pointer into a map, where the
     * map's file offset 0 is.  Only Linux can tell; elsewhere NULL. */
    origin = zlmdb__plat_map_origin((char *)a + 5000, info.ino);
#if defined(__linux__)
    CHECK(origin == (const char *)a);
    CHECK(zlmdb__plat_map_origin((char *)a + 5000, info.ino + 1) == NULL);
    CHECK(zlmdb__plat_map_origin(text, info.ino) == NULL);    /* not a map of it */
#else
    CHECK(origin == NULL || origin == (const char *)a);
#endif
    zlmdb__plat_unmap(a, sizeof text);
    zlmdb__plat_unmap(b, sizeof text);
    zlmdb__plat_close(fd);
    /* A map of a descriptor that is not open fails with an errno. */
    CHECK(zlmdb__plat_map_readonly(fd, sizeof text, 0, &a) == EBADF);
}
