/* Replays fuzz inputs without libFuzzer: every file named on the command
 * line, or found directly inside a named directory, is passed once to
 * LLVMFuzzerTestOneInput.  A plain gcc build thereby runs the corpus as a
 * regression test (a crash or sanitizer report fails it). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    size_t got;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        fprintf(stderr, "%s: cannot size\n", path);
        return -1;
    }
    /* An exact-size heap copy, so ASan catches any read past the input. */
    buf = malloc(n ? (size_t)n : 1);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int i, failed = 0;

    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed = 1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            if (d == NULL) {
                perror(argv[i]);
                failed = 1;
                continue;
            }
            while ((e = readdir(d)) != NULL) {
                char path[4096];
                struct stat fst;
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                if (stat(path, &fst) != 0 || !S_ISREG(fst.st_mode))
                    continue;
                if (run_file(path) == 0)
                    count++;
                else
                    failed = 1;
            }
            closedir(d);
        } else {
            if (run_file(argv[i]) == 0)
                count++;
            else
                failed = 1;
        }
    }
    printf("replayed %zu inputs\n", count);
    return failed;
}
