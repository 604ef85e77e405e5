/* The platform layer: what zlmdb's own code needs from the operating system
 * beyond ISO C, behind one small internal API.  Not installed, not in
 * zlmdb.h, hidden like every other zlmdb__ symbol.
 *
 * Every other file of libzlmdb and of the extension includes this header
 * instead of <pthread.h>, <unistd.h>, <fcntl.h>, <sys/stat.h> or
 * <sys/mman.h>; only platform.c (and the inline wrappers below) call the
 * OS.  A port to another OS is a second branch here and in platform.c, not
 * a change to the callers: docs/architecture.md, "Platform layer", lists
 * what it must provide.  LMDB's own sources are not behind this layer; they
 * carry their own #ifdefs.
 *
 * Conventions: functions that can fail return 0 or an errno value (never -1
 * with errno), so a caller passes the code on unchanged as the error model
 * asks; interrupted system calls (EINTR) are retried here, never by callers.
 */
#ifndef ZLMDB_PLATFORM_H
#define ZLMDB_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  error "zlmdb: no platform layer for this OS yet; see docs/architecture.md, Platform layer"
#endif

/* ------------------------------------------------------------ POSIX */

/* Built and tested on Linux (glibc).  The branch uses POSIX.1-2008 only,
 * except where platform.c says otherwise (the map lookup, which is Linux's
 * /proc and degrades to "not found" elsewhere). */
#include <pthread.h>
#include <sys/types.h>

/* ---------------------------------------------------- mutex, condition */

/* A plain (non-recursive, process-private) mutex and a condition variable.
 * Lock, unlock, wait and broadcast cannot fail on a mutex that was
 * initialised and is used correctly, so they return nothing; only the
 * initialisers report an errno value. */
typedef pthread_mutex_t zlmdb__plat_mutex;
typedef pthread_cond_t zlmdb__plat_cond;
/* A mutex with static storage can be initialised with this instead. */
#define ZLMDB__PLAT_MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER

static inline int zlmdb__plat_mutex_init(zlmdb__plat_mutex *m)
{
    return pthread_mutex_init(m, NULL);
}
static inline void zlmdb__plat_mutex_destroy(zlmdb__plat_mutex *m)
{
    (void)pthread_mutex_destroy(m);
}
static inline void zlmdb__plat_mutex_lock(zlmdb__plat_mutex *m)
{
    (void)pthread_mutex_lock(m);
}
static inline void zlmdb__plat_mutex_unlock(zlmdb__plat_mutex *m)
{
    (void)pthread_mutex_unlock(m);
}
/* Lock `m` if no one holds it: 1 when locked, 0 when another holds it. */
static inline int zlmdb__plat_mutex_trylock(zlmdb__plat_mutex *m)
{
    return pthread_mutex_trylock(m) == 0;
}
static inline int zlmdb__plat_cond_init(zlmdb__plat_cond *c)
{
    return pthread_cond_init(c, NULL);
}
static inline void zlmdb__plat_cond_destroy(zlmdb__plat_cond *c)
{
    (void)pthread_cond_destroy(c);
}
/* Atomically unlock `m` and wait; `m` is locked again on return.  Wake-ups
 * may be spurious: wait in a loop on the condition. */
static inline void zlmdb__plat_cond_wait(zlmdb__plat_cond *c, zlmdb__plat_mutex *m)
{
    (void)pthread_cond_wait(c, m);
}
static inline void zlmdb__plat_cond_broadcast(zlmdb__plat_cond *c)
{
    (void)pthread_cond_broadcast(c);
}

/* ------------------------------------------------ thread-local storage */

/* A key for one pointer per thread, whose destructor runs with that
 * thread's non-NULL value when the thread ends.  Create it once (with
 * zlmdb__plat_once); 0 or an errno value. */
typedef pthread_key_t zlmdb__plat_tls_key;
typedef pthread_once_t zlmdb__plat_once_flag;
#define ZLMDB__PLAT_ONCE_INIT PTHREAD_ONCE_INIT

static inline void zlmdb__plat_once(zlmdb__plat_once_flag *flag, void (*fn)(void))
{
    (void)pthread_once(flag, fn);
}
static inline int zlmdb__plat_tls_create(zlmdb__plat_tls_key *key, void (*dtor)(void *))
{
    return pthread_key_create(key, dtor);
}
static inline int zlmdb__plat_tls_set(zlmdb__plat_tls_key key, void *value)
{
    return pthread_setspecific(key, value);
}

/* -------------------------------------------------- processes and fork */

typedef pid_t zlmdb__plat_pid;

/* This process's id (a system call each time; callers that test it on hot
 * paths cache it and refresh the cache from a fork handler). */
zlmdb__plat_pid zlmdb__plat_getpid(void);
/* Run `handler` in the child process after every fork(), before fork()
 * returns there.  Registrations cannot be undone, so register once per
 * process.  0, or an errno value (ENOMEM). */
int zlmdb__plat_on_fork_child(void (*handler)(void));

/* ------------------------------------------------------------- clock */

/* Wall-clock time in nanoseconds since 1970-01-01 UTC (it can step back
 * when the clock is set). */
int64_t zlmdb__plat_time_ns(void);

/* ------------------------------------------------------------ numbers */

/* The double nearest to the decimal number `s` (NUL-terminated, JSON
 * syntax, already validated), correctly rounded and read in the "C" locale
 * whatever the process's locale is: 0 and *out.  ENOSYS where the C library
 * offers no such function (glibc does); the caller then uses its own. */
int zlmdb__plat_strtod_c(const char *s, double *out);

/* ------------------------------------------------------------- files */

/* An open file: what LMDB's mdb_filehandle_t is on this OS. */
typedef int zlmdb__plat_fd;

enum {
    ZLMDB__PLAT_FILE_OTHER = 0,    /**< device, pipe, socket, ... */
    ZLMDB__PLAT_FILE_REGULAR = 1,
    ZLMDB__PLAT_FILE_DIR = 2
};

typedef struct {
    int kind;          /**< ZLMDB__PLAT_FILE_* */
    uint64_t size;     /**< bytes, for a regular file */
    uint64_t dev;      /**< with `ino`, the file's identity */
    uint64_t ino;      /**< 0 where the filesystem reports none */
} zlmdb__plat_file_info;

/* Open `path` for reading only; the descriptor is not inherited by
 * programs this process executes and never becomes a controlling terminal.
 * 0 and *out, or an errno value (ENOENT, ENOTDIR, EACCES, ...). */
int zlmdb__plat_open_readonly(const char *path, zlmdb__plat_fd *out);
void zlmdb__plat_close(zlmdb__plat_fd fd);
/* One read of up to `len` bytes at offset `off`, leaving the descriptor's
 * own offset alone.  *got_out is what was read: fewer than `len` near the
 * end of the file, 0 at or past it.  0, or an errno value. */
int zlmdb__plat_pread(zlmdb__plat_fd fd, void *buf, size_t len, uint64_t off,
                      size_t *got_out);
/* What `path` (following symbolic links) or an open file is.  0, or an
 * errno value. */
int zlmdb__plat_file_stat(const char *path, zlmdb__plat_file_info *out);
int zlmdb__plat_fd_stat(zlmdb__plat_fd fd, zlmdb__plat_file_info *out);
/* Create directory `path` with permission bits `mode` (less the umask).
 * 0, or an errno value (EEXIST when anything is there already). */
int zlmdb__plat_mkdir(const char *path, unsigned int mode);

/* ------------------------------------------------------- memory maps */

/* Map the first `size` bytes of `fd` read-only and shared, so the map
 * shows the file's current contents (the page cache's pages, as LMDB's own
 * map does).  `random_access` hints that read-ahead is wasted (LMDB's
 * MDB_NORDAHEAD).  0 and *base_out, or an errno value. */
int zlmdb__plat_map_readonly(zlmdb__plat_fd fd, size_t size, int random_access,
                             void **base_out);
void zlmdb__plat_unmap(void *base, size_t size);
/* The address of file offset 0 in the existing map of this process that
 * contains `p`, when that is a map of the file whose inode number is `ino`
 * (from zlmdb__plat_fd_stat); NULL when it is not, or when this OS gives no
 * way to tell (callers must then do without). */
const char *zlmdb__plat_map_origin(const void *p, uint64_t ino);

#endif
