/* Zero-copy values (buffers=True) that stay readable for as long as they
 * live.
 *
 * LMDB hands out pointers into its memory map, and both mdb_env_close() and
 * mdb_env_set_mapsize() unmap it: a memoryview (or a NumPy array over one)
 * made straight from such a pointer faults when it is read after the
 * environment was closed, or after a map resize (which the ORM's growth=
 * does on its own).  So views are not made over LMDB's map at all.  Each
 * environment has a mapping keeper: the same data file mapped a second time,
 * read-only and shared, by us.  A view points at the same file offset in the
 * keeper's map and holds a reference to the keeper; the keeper unmaps when
 * the last view is gone.  Both maps show the same page-cache pages, so the
 * bytes are the same (LMDB writes through the file or, with writemap, its
 * own shared map of it).
 *
 * What this buys: closing the environment stays what it was (LMDB's file
 * handles, locks and reader slot are released at once, the same files can
 * be opened again in this process), resizing cannot pull memory from under
 * a view, and a forked child inherits views that still read.  What it
 * costs: a second reservation of address space of the map's size per
 * environment that hands out views, and the data file's disk space is held
 * while views of a deleted file live.  A view's bytes are the value's only
 * while its transaction is open: afterwards LMDB may reuse the page, and the
 * view then reads whatever the file holds there (never a fault).
 *
 * Values that are not in the map (pages a write transaction has dirtied,
 * which LMDB keeps in its own heap and frees at commit) are copied, so those
 * views own their bytes.
 */
#include <stdint.h>

#include "zpy.h"

static void mapping_dealloc(PyObject *op)
{
    zpy_Mapping *self = (zpy_Mapping *)op;
    PyTypeObject *tp = Py_TYPE(op);

    if (self->base)
        zlmdb__plat_unmap(self->base, self->size);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyType_Slot mapping_slots[] = {
    {Py_tp_dealloc, mapping_dealloc},
    {Py_tp_doc, (void *)"The map that an environment's zero-copy values point into."},
    {0, NULL}
};

PyType_Spec zpy_mapping_spec = {
    .name = "zlmdb._native._Mapping",
    .basicsize = sizeof(zpy_Mapping),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = mapping_slots,
};

/* A keeper for `env`, made from `v`, a value LMDB returned in a read-only
 * transaction (so inside its map).  Returns a new reference; its size is
 * 0 when the map cannot be found or mapped again (then views copy). */
static zpy_Mapping *mapping_make(zpy_state *st, zpy_Env *env, const MDB_val *v)
{
    zpy_Mapping *m = PyObject_New(zpy_Mapping, st->MappingType);
    mdb_filehandle_t fd;
    MDB_envinfo info;
    unsigned int flags = 0;
    zlmdb__plat_file_info sb;
    const char *lmdb_base;
    size_t off;
    void *base;

    if (m == NULL)
        return NULL;
    m->base = NULL;
    m->size = 0;
    m->lmdb_base = NULL;
    if (env->eng->env_get_fd(env->env, &fd) || env->eng->env_info(env->env, &info) ||
        env->eng->env_get_flags(env->env, &flags) || zlmdb__plat_fd_stat(fd, &sb) != 0)
        return m;
    /* Where LMDB's map of this file starts (it maps the data file from
     * offset 0 in one piece); NULL where the OS cannot tell us. */
    lmdb_base = zlmdb__plat_map_origin(v->mv_data, sb.ino);
    if (lmdb_base == NULL)
        return m;
    off = (size_t)((const char *)v->mv_data - lmdb_base);
    /* Sanity before trusting the arithmetic: the value lies inside the map
     * and the file, so reading it through our map cannot fault. */
    if (off + v->mv_size > info.me_mapsize || (uint64_t)(off + v->mv_size) > sb.size)
        return m;
    if (zlmdb__plat_map_readonly(fd, info.me_mapsize, (flags & MDB_NORDAHEAD) != 0, &base))
        return m;
    if (memcmp((char *)base + off, v->mv_data, v->mv_size) != 0) {
        zlmdb__plat_unmap(base, info.me_mapsize);
        return m;
    }
    m->base = base;
    m->size = info.me_mapsize;
    m->lmdb_base = lmdb_base;
    return m;
}

static PyObject *view_copy(const MDB_val *v)
{
    PyObject *b = PyBytes_FromStringAndSize((const char *)v->mv_data, (Py_ssize_t)v->mv_size);
    PyObject *mv;

    if (b == NULL)
        return NULL;
    mv = PyMemoryView_FromObject(b);
    Py_DECREF(b);
    return mv;
}

PyObject *zpy_view_new(zpy_Txn *t, const MDB_val *v)
{
    zpy_Env *env = t->env;
    zpy_Mapping *m = (zpy_Mapping *)env->mapping;
    size_t off;

    if (v->mv_size == 0)
        return PyMemoryView_FromMemory(zpy_absent, 0, PyBUF_READ);
    if (m == NULL) {
        /* Only a read-only transaction's values are surely in the map. */
        if (!(t->flags & ZPY_TXN_RDONLY))
            return view_copy(v);
        if ((m = mapping_make(zpy_state_of(t), env, v)) == NULL)
            return NULL;
        env->mapping = (PyObject *)m;
    }
    off = (size_t)((uintptr_t)v->mv_data - (uintptr_t)m->lmdb_base);
    if (off >= m->size || v->mv_size > m->size - off)
        return view_copy(v);
    return zpy_view_over((PyObject *)m, m->base + off, (Py_ssize_t)v->mv_size);
}
