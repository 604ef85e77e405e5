/* zlmdb._native.verify(): libzlmdb's offline verifier for zlmdb.lmdb.verify.
 *
 * A function, not a type: it converts its arguments, runs the verifier with
 * the GIL released (a large file takes seconds, and the verifier touches no
 * Python object), and returns what the report holds.  The exception py-lmdb
 * raises when nothing can be verified, VerifyError, is a plain Exception
 * defined in zlmdb/lmdb/verify.py as py-lmdb defines it in lmdb/verify.py
 * (not a zlmdb.lmdb.Error, so not in errors.c's table): this function hands
 * back its message, and verify.py raises it. */
#include <errno.h>

#include "zpy.h"

/* The page states as two bitmaps (reachable, free) of one bit per page up
 * to the last in use, page p at bit p % 8 of byte p / 8. */
static PyObject *page_states(const zlmdb_verify_report *report, uint64_t npages)
{
    PyObject *live, *freed;
    uint64_t pg, nbytes = (npages + 7) / 8;
    char *l, *f;

    if (nbytes > (uint64_t)PY_SSIZE_T_MAX)
        return PyErr_NoMemory();
    live = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)nbytes);
    freed = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)nbytes);
    if (live == NULL || freed == NULL) {
        Py_XDECREF(live);
        Py_XDECREF(freed);
        return NULL;
    }
    l = PyBytes_AS_STRING(live);
    f = PyBytes_AS_STRING(freed);
    memset(l, 0, (size_t)nbytes);
    memset(f, 0, (size_t)nbytes);
    for (pg = 0; pg < npages; pg++) {
        unsigned state = zlmdb_verify_report_page_state(report, pg);
        if (state & ZLMDB_VERIFY_PAGE_REACHABLE)
            l[pg >> 3] |= (char)(1 << (pg & 7));
        if (state & ZLMDB_VERIFY_PAGE_FREE)
            f[pg >> 3] |= (char)(1 << (pg & 7));
    }
    return Py_BuildValue("(NN)", live, freed);
}

static PyObject *summary_dict(const zlmdb_verify_summary *s)
{
    return Py_BuildValue(
        "{s:s,s:I,s:I,s:I,s:I,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:O}",
        "lib_version", s->lmdb_major ? "1.0" : "0.9",
        "data_version", s->data_version,
        "page_header_size", s->page_header_size,
        "page_size", s->page_size,
        "meta_page", s->meta_page,
        "txnid", (unsigned long long)s->txnid,
        "last_pgno", (unsigned long long)s->last_pgno,
        "map_size", (unsigned long long)s->map_size,
        "file_size", (unsigned long long)s->file_size,
        "pages_reachable", (unsigned long long)s->pages_reachable,
        "pages_free", (unsigned long long)s->pages_free,
        "branch_pages", (unsigned long long)s->branch_pages,
        "leaf_pages", (unsigned long long)s->leaf_pages,
        "overflow_pages", (unsigned long long)s->overflow_pages,
        "entries", (unsigned long long)s->entries,
        "databases", (unsigned long long)s->databases,
        "complete", s->complete ? Py_True : Py_False);
}

static PyObject *report_tuple(const zlmdb_verify_report *report, int want_pages)
{
    zlmdb_verify_summary sum = ZLMDB_VERIFY_SUMMARY_INIT;
    PyObject *problems = NULL, *info = NULL, *pages = NULL, *result = NULL;
    size_t i, n = zlmdb_verify_report_problem_count(report);

    zlmdb_verify_report_summary(report, &sum);
    if ((problems = PyList_New((Py_ssize_t)n)) == NULL)
        goto done;
    for (i = 0; i < n; i++) {
        const char *text = zlmdb_verify_report_problem(report, i);
        /* ASCII in practice: names carry keys as printable ASCII or hex. */
        PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace");
        if (s == NULL)
            goto done;
        PyList_SET_ITEM(problems, (Py_ssize_t)i, s);
    }
    if ((info = summary_dict(&sum)) == NULL)
        goto done;
    if (want_pages) {
        if ((pages = page_states(report, sum.last_pgno + 1)) == NULL)
            goto done;
    } else {
        pages = Py_NewRef(Py_None);
    }
    result = PyTuple_Pack(4, Py_None, problems, info, pages);
done:
    Py_XDECREF(problems);
    Py_XDECREF(info);
    Py_XDECREF(pages);
    return result;
}

PyDoc_STRVAR(verify_doc,
"verify(source, file_size=0, max_problems=0, pages=False)\n--\n\n"
"Verify an LMDB data file without opening it through LMDB.\n\n"
"source is a file descriptor open for reading (read with pread(), its\n"
"offset untouched) or a bytes-like image of the file.  file_size, when not\n"
"0, is the number of bytes of a descriptor to consider; max_problems, when\n"
"not 0, the cap on recorded problems (default 200).  Returns a tuple\n"
"(message, problems, info, pages): message is None, or says why nothing\n"
"could be verified (then the rest are None); problems is a list of str;\n"
"info a dict of what was found (format, page size, counts); pages, with\n"
"pages=True, two bitmaps (reachable, free) as bytes, page p at bit p % 8\n"
"of byte p // 8.  Raises OSError when the file cannot be read.");

static PyObject *verify_call(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"source", "file_size", "max_problems", "pages", NULL};
    zpy_state *st = PyModule_GetState(module);
    zlmdb_verify_options opts = ZLMDB_VERIFY_OPTIONS_INIT;
    zlmdb_verify_report *report = NULL;
    PyObject *source, *size_obj = NULL, *result;
    Py_ssize_t max_problems = 0;
    Py_buffer view;
    int pages = 0, fd, rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|Onp:verify", kwlist, &source, &size_obj,
                                     &max_problems, &pages))
        return NULL;
    if (size_obj && size_obj != Py_None) {
        opts.file_size = PyLong_AsUnsignedLongLong(size_obj);
        if (opts.file_size == (unsigned long long)-1 && PyErr_Occurred())
            return NULL;
    }
    if (max_problems < 0) {
        PyErr_SetString(PyExc_ValueError, "max_problems must not be negative");
        return NULL;
    }
    opts.max_problems = (size_t)max_problems;
    if (PyLong_Check(source)) {
        long lfd = PyLong_AsLong(source);
        if (lfd == -1 && PyErr_Occurred())
            return NULL;
        if (lfd < 0 || lfd > INT_MAX) {
            PyErr_SetString(PyExc_ValueError, "source is not a file descriptor");
            return NULL;
        }
        fd = (int)lfd;
        Py_BEGIN_ALLOW_THREADS
        rc = zlmdb_verify_fd(fd, &opts, &report);
        Py_END_ALLOW_THREADS
    } else {
        if (PyObject_GetBuffer(source, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        /* The view keeps the bytes alive and unresized meanwhile. */
        Py_BEGIN_ALLOW_THREADS
        rc = zlmdb_verify_buffer(view.buf, (size_t)view.len, &opts, &report);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&view);
    }
    switch (rc) {
    case ZLMDB_OK:
    case ZLMDB_VERIFY_FAILED:
        result = report_tuple(report, pages);
        zlmdb_verify_report_free(report);
        return result;
    case ZLMDB_VERIFY_UNSUPPORTED:
        return Py_BuildValue("(sOOO)", zlmdb_error_last(), Py_None, Py_None, Py_None);
    case ZLMDB_ENOMEM:
    case ZLMDB_EINVAL:
        return zpy_err_lib(st, PyExc_ValueError, rc, NULL, NULL);
    default:
        if (rc > 0) {          /* an errno: OSError picks the subclass */
            errno = rc;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        zpy_err_lib(st, PyExc_RuntimeError, rc, "verify", NULL);
        return NULL;
    }
}

static PyMethodDef verify_methods[] = {
    {"verify", (PyCFunction)(void (*)(void))verify_call, METH_VARARGS | METH_KEYWORDS,
     verify_doc},
    {NULL, NULL, 0, NULL}
};

int zpy_verify_add(PyObject *module)
{
    return PyModule_AddFunctions(module, verify_methods);
}
