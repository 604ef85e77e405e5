/* The C test runner: runs every registered case (or those whose name
 * contains argv[1]) in a forked child inside a fresh temporary directory and
 * prints one line per case plus the closing "N passed, N failed" line.
 * ZT_NOFORK=1 runs cases in-process, for a debugger. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "registry.h"

static char tmpdir[4096];
static int failures;

void zt_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (zlmdb_error_last())
        fprintf(stderr, " [detail: %s]", zlmdb_error_last());
    fputc('\n', stderr);
    failures++;
}

const char *zt_tmpdir(void) { return tmpdir; }
int zt_failures(void) { return failures; }

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static int run_case(const struct zt_case *c)
{
    const char *base = getenv("TMPDIR");
    char cwd[4096];
    int ok;

    snprintf(tmpdir, sizeof(tmpdir), "%s/zlmdb-ctest-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 0;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(tmpdir) != 0) {
        perror("chdir");
        return 0;
    }
    failures = 0;
    if (getenv("ZT_NOFORK")) {
        c->fn();
        ok = failures == 0;
    } else {
        int status = 0;
        pid_t pid;

        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            c->fn();
            fflush(NULL);
            _exit(failures == 0 ? 0 : 1);
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFSIGNALED(status))
            fprintf(stderr, "    killed by signal %d\n", WTERMSIG(status));
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    if (chdir(cwd) != 0)
        perror("chdir back");
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return ok;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    const struct zt_case *c;

    for (c = zt_cases; c->name; c++) {
        if (argc > 1 && strstr(c->name, argv[1]) == NULL)
            continue;
        if (run_case(c)) {
            passed++;
            printf("ok   %s\n", c->name);
        } else {
            failed++;
            printf("FAIL %s\n", c->name);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
