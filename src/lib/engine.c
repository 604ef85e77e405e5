/* The LMDB engines of this build, and the choice of one per environment.
 *
 * The engines' tables (engines/engine_table.c) are compiled beside each
 * engine's sources; CMake says which exist: ZLMDB_ENGINE_V09 and
 * ZLMDB_ENGINE_V10 for the pinned pair, ZLMDB_ENGINE_ONE for the single
 * engine of a system or local-source build. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common_int.h"
#include "platform.h"

#if ZLMDB_ENGINE_V09
extern const zlmdb_engine zlmdb__engine_v09;
#endif
#if ZLMDB_ENGINE_V10
extern const zlmdb_engine zlmdb__engine_v10;
#endif
#if ZLMDB_ENGINE_ONE
extern const zlmdb_engine zlmdb__engine_one;
#endif

/* Oldest first: the first is the default for new environments. */
static const zlmdb_engine *const engines[] = {
#if ZLMDB_ENGINE_V09
    &zlmdb__engine_v09,
#endif
#if ZLMDB_ENGINE_V10
    &zlmdb__engine_v10,
#endif
#if ZLMDB_ENGINE_ONE
    &zlmdb__engine_one,
#endif
};
#define NENGINES (sizeof(engines) / sizeof(engines[0]))

const zlmdb_engine *zlmdb__engine_default(void)
{
    return engines[0];
}

/* The newest engine knows every LMDB return code of the older ones. */
const zlmdb_engine *zlmdb__engine_newest(void)
{
    return engines[NENGINES - 1];
}

static const char *line_name(int lib_version)
{
    return lib_version == ZLMDB_LIB_VERSION_1_0 ? "LMDB 1.0 (data format v3)"
                                                : "LMDB 0.9 (data format v1)";
}

int zlmdb_engine_get(int lib_version, const zlmdb_engine **out)
{
    size_t i;
    char have[64] = "";

    if (!out)
        return zlmdb__error_set(ZLMDB_EINVAL, "zlmdb_engine_get: out is required");
    if (lib_version == ZLMDB_LIB_VERSION_AUTO) {
        *out = engines[0];
        return ZLMDB_OK;
    }
    for (i = 0; i < NENGINES; i++) {
        if (engines[i]->lib_version == lib_version) {
            *out = engines[i];
            return ZLMDB_OK;
        }
        snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%d.%d",
                 i ? ", " : "", engines[i]->major, engines[i]->minor);
    }
    return zlmdb__error_set(ZLMDB_NOTFOUND,
                            "lib_version=%d: this build has no LMDB %d.x engine (it has %s)",
                            lib_version, lib_version, have);
}

/* Where the meta page's magic and format version sit.  The page header is
 * pgno (a pointer-sized word), pad, flags, lower/upper, and on LMDB 1.0 a
 * transaction id (a size_t); the meta begins right after it. */
#define META_MAGIC 0xBEEFC0DEu
#define SWAPPED_MAGIC 0xDEC0EFBEu

static uint32_t u32_at(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Classify the first bytes of a data file: 0 or 1 (a lib_version), or
 * ZLMDB_BAD_FORMAT with the message set. */
static int classify(const char *file, const unsigned char *buf, size_t got)
{
    /* 64-bit: the header is 16 bytes on 0.9 and 24 on 1.0. */
    static const size_t native09 = 2 * sizeof(size_t);
    static const size_t native10 = 3 * sizeof(size_t);
    size_t off;

    if (got >= native09 + 8 && u32_at(buf + native09) == META_MAGIC &&
        u32_at(buf + native09 + 4) == 1)
        return ZLMDB_LIB_VERSION_0_9;
    if (got >= native10 + 8 && u32_at(buf + native10) == META_MAGIC &&
        u32_at(buf + native10 + 4) == 3)
        return ZLMDB_LIB_VERSION_1_0;
    for (off = 8; off + 8 <= got && off <= 32; off += 4) {
        uint32_t magic = u32_at(buf + off), ver = u32_at(buf + off + 4);
        if (magic == SWAPPED_MAGIC)
            return zlmdb__error_set(ZLMDB_BAD_FORMAT,
                                    "%s: an LMDB file of the other byte order; LMDB files "
                                    "are not portable between byte orders (dump and "
                                    "load it on a machine of this one)", file);
        if (magic != META_MAGIC)
            continue;
        if (ver == 2)
            return zlmdb__error_set(ZLMDB_BAD_FORMAT,
                                    "%s: LMDB data format v2, a development format before "
                                    "LMDB 1.0 (written by e.g. lmdb-js); no released LMDB "
                                    "reads it", file);
        if (ver != 1 && ver != 3)
            return zlmdb__error_set(ZLMDB_BAD_FORMAT,
                                    "%s: LMDB data format v%u; this build reads v1 "
                                    "(LMDB 0.9) and v3 (LMDB 1.0)", file, (unsigned)ver);
        return zlmdb__error_set(ZLMDB_BAD_FORMAT,
                                "%s: an LMDB data format v%u file laid out for another "
                                "word size (%u-bit); LMDB files are not portable between "
                                "word sizes", file, (unsigned)ver,
                                /* header = pointer + 8 bytes (+ a size_t on 1.0) */
                                (ver == 1 ? (unsigned)(off - 8) : (unsigned)(off - 8) / 2) * 8);
    }
    if (got < native09 + 8)
        return zlmdb__error_set(ZLMDB_BAD_FORMAT,
                                "%s: %u bytes, too short for an LMDB meta page: not an "
                                "LMDB data file, or a truncated one", file, (unsigned)got);
    return zlmdb__error_set(ZLMDB_BAD_FORMAT,
                            "%s: not an LMDB data file (no LMDB meta page: it begins "
                            "%02x %02x %02x %02x %02x %02x %02x %02x)", file, buf[0], buf[1],
                            buf[2], buf[3], buf[4], buf[5], buf[6], buf[7]);
}

int zlmdb_engine_detect(const char *path, unsigned int env_flags, int *lib_version_out)
{
    char file[4096];
    unsigned char buf[64];
    zlmdb__plat_fd fd;
    size_t got;
    int n, rc, err;

    if (!path || !lib_version_out)
        return zlmdb__error_set(ZLMDB_EINVAL, "zlmdb_engine_detect: path and "
                                "lib_version_out are required");
    *lib_version_out = ZLMDB_LIB_VERSION_AUTO;
    n = (env_flags & MDB_NOSUBDIR) ? snprintf(file, sizeof(file), "%s", path)
                                   : snprintf(file, sizeof(file), "%s/data.mdb", path);
    if (n < 0 || (size_t)n >= sizeof(file))
        return zlmdb__error_set(ENAMETOOLONG, "%s: path too long", path);
    if ((err = zlmdb__plat_open_readonly(file, &fd))) {
        if (err == ENOENT || err == ENOTDIR)
            return ZLMDB_OK;          /* nothing there yet: a new environment */
        return zlmdb__error_set(err, "%s: %s", file, strerror(err));
    }
    err = zlmdb__plat_pread(fd, buf, sizeof(buf), 0, &got);
    zlmdb__plat_close(fd);
    if (err)
        return zlmdb__error_set(err, "%s: %s", file, strerror(err));
    if (got == 0)
        return ZLMDB_OK;              /* created, never written: new */
    rc = classify(file, buf, got);
    if (rc == ZLMDB_BAD_FORMAT)
        return rc;
    *lib_version_out = rc;
    return ZLMDB_OK;
}

int zlmdb_engine_for_path(const char *path, unsigned int env_flags, int lib_version,
                          const zlmdb_engine **out)
{
    int found, rc;

    if (!out)
        return zlmdb__error_set(ZLMDB_EINVAL, "zlmdb_engine_for_path: out is required");
    if (lib_version != ZLMDB_LIB_VERSION_AUTO && lib_version != ZLMDB_LIB_VERSION_0_9 &&
        lib_version != ZLMDB_LIB_VERSION_1_0)
        return zlmdb_engine_get(lib_version, out);
    rc = zlmdb_engine_detect(path, env_flags, &found);
    if (rc == ZLMDB_BAD_FORMAT || rc == ZLMDB_EINVAL || rc == ENAMETOOLONG)
        return rc;
    /* Unreadable (permissions and the like): LMDB will report it, with
     * the engine asked for. */
    if (rc != ZLMDB_OK || found == ZLMDB_LIB_VERSION_AUTO)
        return zlmdb_engine_get(lib_version, out);
    if (lib_version != ZLMDB_LIB_VERSION_AUTO && lib_version != found)
        return zlmdb__error_set(ZLMDB_FORMAT_MISMATCH,
                                "%s: the environment was written by %s, but lib_version=%d "
                                "asks for %s; open it without lib_version (or with "
                                "lib_version=%d), or convert it with `zlmdb migrate`",
                                path, line_name(found), lib_version, line_name(lib_version),
                                found);
    return zlmdb_engine_get(found, out);
}
