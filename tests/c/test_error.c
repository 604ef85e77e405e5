/* Return codes: the band, the descriptions and the thread-local detail. */
#include <errno.h>
#include <pthread.h>

#include <lmdb.h>

#include "common_int.h"
#include "harness.h"

void test_error__own_codes_lie_in_the_band(void)
{
    static const int codes[] = {
        ZLMDB_ERROR, ZLMDB_EINVAL, ZLMDB_ENOMEM, ZLMDB_NOTFOUND, ZLMDB_BAD_TXN,
        ZLMDB_READONLY, ZLMDB_CLOSED, ZLMDB_ENCODE, ZLMDB_DECODE, ZLMDB_TRUNCATED,
        ZLMDB_KEY_TYPE, ZLMDB_KEY_RANGE, ZLMDB_UNIQUE, ZLMDB_NULL_KEY,
        ZLMDB_TOO_DEEP, ZLMDB_TOO_LARGE,
    };
    size_t i, j;

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        CHECK(codes[i] <= ZLMDB_ERRCODE_FIRST && codes[i] >= ZLMDB_ERRCODE_LAST);
        /* Clear of LMDB's band and of Berkeley DB's. */
        CHECK(codes[i] > MDB_LAST_ERRCODE || codes[i] < MDB_KEYEXIST);
        CHECK(codes[i] > -30800 || codes[i] < -30999);
        CHECK(strncmp(zlmdb_strerror(codes[i]), "ZLMDB_", 6) == 0);
        for (j = 0; j < i; j++)
            CHECK(codes[i] != codes[j]);
    }
}

void test_error__strerror_covers_lmdb_and_errno(void)
{
    CHECK(strstr(zlmdb_strerror(MDB_NOTFOUND), "MDB_NOTFOUND") != NULL);
    CHECK(strstr(zlmdb_strerror(MDB_MAP_FULL), "MDB_MAP_FULL") != NULL);
    CHECK_STR(zlmdb_strerror(ENOENT), strerror(ENOENT));
    CHECK(zlmdb_strerror(-30650) != NULL); /* unassigned code in our band */
    CHECK_STR(zlmdb_strerror(0), "Successful return: 0");
}

void test_error__detail_message_is_recorded_and_cleared(void)
{
    zlmdb_error_clear();
    CHECK(zlmdb_error_last() == NULL);
    CHECK_RC(zlmdb__error_set(ZLMDB_UNIQUE, "index '%s': duplicate key", "by_email"),
             ZLMDB_UNIQUE);
    CHECK_STR(zlmdb_error_last(), "index 'by_email': duplicate key");
    zlmdb_error_clear();
    CHECK(zlmdb_error_last() == NULL);
}

void test_error__long_detail_message_is_truncated_safely(void)
{
    char big[2000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    zlmdb__error_set(ZLMDB_ERROR, "%s", big);
    CHECK(zlmdb_error_last() != NULL);
    CHECK(strlen(zlmdb_error_last()) < sizeof(big) - 1);
    CHECK(zlmdb_error_last()[0] == 'x');
}

static void *other_thread(void *arg)
{
    (void)arg;
    /* A fresh thread has no message even when the main thread has one. */
    return (void *)(zlmdb_error_last() == NULL ? "clean" : NULL);
}

void test_error__detail_message_is_thread_local(void)
{
    pthread_t t;
    void *res = NULL;

    zlmdb__error_set(ZLMDB_ERROR, "main thread failure");
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
    CHECK(pthread_join(t, &res) == 0);
    CHECK(res != NULL);
    CHECK_STR(zlmdb_error_last(), "main thread failure");
}

void test_error__versions_agree_with_header(void)
{
    int major = -1, minor = -1, patch = -1, patched = -1;
    const char *text;

    CHECK(zlmdb_version(&major, &minor, &patch) == ZLMDB_VERSION_NUMBER);
    CHECK(major == ZLMDB_VERSION_MAJOR && minor == ZLMDB_VERSION_MINOR &&
          patch == ZLMDB_VERSION_PATCH);
    CHECK(zlmdb_version(NULL, NULL, NULL) == ZLMDB_VERSION_NUMBER);
    text = zlmdb_lmdb_version(&major, &minor, &patch, &patched);
    CHECK(text != NULL && strstr(text, "LMDB") != NULL);
    CHECK(major == MDB_VERSION_MAJOR && minor == MDB_VERSION_MINOR);
    CHECK(patched == ZLMDB_LMDB_PATCHED);
}
