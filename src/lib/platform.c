/* The platform layer's POSIX branch (platform.h says what each function
 * promises).  This is the one file of zlmdb that includes the OS's own
 * headers; the ones for a new OS go beside these, not in the callers. */
#define _GNU_SOURCE 1       /* glibc: strtod_l, newlocale */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"

/* -------------------------------------------------- processes and fork */

zlmdb__plat_pid zlmdb__plat_getpid(void)
{
    return getpid();
}

int zlmdb__plat_on_fork_child(void (*handler)(void))
{
    return pthread_atfork(NULL, NULL, handler);
}

/* ------------------------------------------------------------- clock */

int64_t zlmdb__plat_time_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ------------------------------------------------------------ numbers */

#if defined(__GLIBC__)
/* One "C" locale for the process, made on first use and never freed:
 * strtod_l only reads it, from any thread. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_make(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

int zlmdb__plat_strtod_c(const char *s, double *out)
{
    (void)pthread_once(&c_locale_once, c_locale_make);
    if (c_locale == (locale_t)0)
        return ENOSYS;
    *out = strtod_l(s, NULL, c_locale);
    return 0;
}
#else
/* Not every C library's strtod is correctly rounded: let the caller use
 * its own conversion. */
int zlmdb__plat_strtod_c(const char *s, double *out)
{
    (void)s;
    (void)out;
    return ENOSYS;
}
#endif

/* ------------------------------------------------------------- files */

int zlmdb__plat_open_readonly(const char *path, zlmdb__plat_fd *out)
{
    int fd;

    do
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno;
    *out = fd;
    return 0;
}

void zlmdb__plat_close(zlmdb__plat_fd fd)
{
    /* Read-only: nothing is lost when close() reports an error, and after
     * EINTR the descriptor is gone on Linux, so it is not retried. */
    (void)close(fd);
}

int zlmdb__plat_pread(zlmdb__plat_fd fd, void *buf, size_t len, uint64_t off,
                      size_t *got_out)
{
    ssize_t got;

    *got_out = 0;
    if (off > (uint64_t)INT64_MAX)
        return EINVAL;            /* beyond any off_t: no file is that long */
    do
        got = pread(fd, buf, len, (off_t)off);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return errno;
    *got_out = (size_t)got;
    return 0;
}

static void file_info(const struct stat *st, zlmdb__plat_file_info *out)
{
    out->kind = S_ISREG(st->st_mode)   ? ZLMDB__PLAT_FILE_REGULAR
                : S_ISDIR(st->st_mode) ? ZLMDB__PLAT_FILE_DIR
                                       : ZLMDB__PLAT_FILE_OTHER;
    out->size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
    out->dev = (uint64_t)st->st_dev;
    out->ino = (uint64_t)st->st_ino;
}

int zlmdb__plat_file_stat(const char *path, zlmdb__plat_file_info *out)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return errno;
    file_info(&st, out);
    return 0;
}

int zlmdb__plat_fd_stat(zlmdb__plat_fd fd, zlmdb__plat_file_info *out)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return errno;
    file_info(&st, out);
    return 0;
}

int zlmdb__plat_mkdir(const char *path, unsigned int mode)
{
    return mkdir(path, (mode_t)mode) == 0 ? 0 : errno;
}

/* ------------------------------------------------------- memory maps */

int zlmdb__plat_map_readonly(zlmdb__plat_fd fd, size_t size, int random_access,
                             void **base_out)
{
    void *base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

    if (base == MAP_FAILED)
        return errno;
    if (random_access)
        (void)madvise(base, size, MADV_RANDOM);   /* a hint: failure changes nothing */
    *base_out = base;
    return 0;
}

void zlmdb__plat_unmap(void *base, size_t size)
{
    (void)munmap(base, size);
}

#if defined(__linux__)
/* One unsigned number in `base` (10 or 16) at *s, then past it; 0 when no
 * digit is there.  By hand rather than sscanf/strtoull: glibc 2.38 and
 * newer headers bind those to new symbols (__isoc23_*), which would raise
 * the wheels' glibc floor above manylinux_2_34. */
static int read_number(const char **s, unsigned base, unsigned long long *out)
{
    const char *p = *s;
    unsigned long long v = 0;

    for (;; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        v = v * base + d;
    }
    if (p == *s)
        return 0;
    *s = p;
    *out = v;
    return 1;
}

/* "start-end perms offset major:minor inode ..." of one maps line. */
static int parse_map_line(const char *p, unsigned long long *start, unsigned long long *end,
                          unsigned long long *offset, unsigned long long *inode)
{
    unsigned long long dev;

    if (!read_number(&p, 16, start) || *p++ != '-' || !read_number(&p, 16, end) ||
        *p++ != ' ')
        return 0;
    while (*p && *p != ' ')
        p++;                    /* the permissions */
    if (*p++ != ' ' || !read_number(&p, 16, offset) || *p++ != ' ' ||
        !read_number(&p, 16, &dev) || *p++ != ':' || !read_number(&p, 16, &dev) ||
        *p++ != ' ')
        return 0;
    return read_number(&p, 10, inode);
}

/* Linux lists this process's maps, with the file offset and inode of each,
 * in /proc/self/maps; one line per map, in address order. */
const char *zlmdb__plat_map_origin(const void *p, uint64_t ino)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    const char *found = NULL;

    if (f == NULL)
        return NULL;             /* no /proc mounted */
    while (fgets(line, sizeof line, f)) {
        unsigned long long start, end, offset, inode;
        size_t n = strlen(line);

        if (n && line[n - 1] != '\n') {
            /* A long path: skip the rest of this line. */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
        }
        if (!parse_map_line(line, &start, &end, &offset, &inode))
            continue;
        if ((uintptr_t)p < start || (uintptr_t)p >= end)
            continue;
        /* The device number is not compared: on overlay filesystems the
         * kernel shows the lower layer's, not the one stat() reports. */
        if (inode == ino && inode != 0 && offset <= start)
            found = (const char *)(uintptr_t)(start - offset);
        break;
    }
    fclose(f);
    return found;
}
#else
/* No portable way to ask; the caller does without (zero-copy views copy).
 * A port can fill this in (macOS: mach_vm_region and proc_regionfilename). */
const char *zlmdb__plat_map_origin(const void *p, uint64_t ino)
{
    (void)p;
    (void)ino;
    return NULL;
}
#endif
