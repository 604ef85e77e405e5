/* Fuzz target: declared-record decoding (src/ext/record.c) on arbitrary
 * bytes, through the extension itself.
 *
 * The record decoder builds Python objects, so this target embeds CPython:
 * the extension's sources are compiled into the binary (instrumented like
 * the library) and registered as the built-in module zlmdb._native before
 * the interpreter starts; the Python package comes from the source tree.
 * Two maps with declared records cover every field kind (int, float, str,
 * bytes, bool, UUID, datetime, date, list, dict, Optional, Any, a nested
 * record and a list of them): a MapUuidCbor and a MapUuidJson, declared in
 * fuzz/record_decode_setup.py.  The first input byte picks the map, the
 * rest is the stored value.
 *
 * Checked for each input: decoding returns a record or raises ValueError
 * (RecordDecodeError is one), RecursionError or MemoryError, never anything
 * else and never a crash; a decoded record encodes again (or, for what an Any
 * field holds, refuses with TypeError, ValueError or RecursionError), that
 * encoding decodes again, and the record so decoded encodes to the very
 * same bytes.  decode() (which tries record.c's fast paths first) and the
 * pull reader alone (_decode_pull) must give the same record or the same
 * error and message, and so must cbor_loads/json_loads and their pull
 * readers alone. */
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
PyMODINIT_FUNC PyInit__native(void);
const char *__asan_default_options(void);

/* CPython keeps caches and interned objects for its whole life, which the
 * leak checker would report after every input. */
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

/* The records and maps live in fuzz/record_decode_setup.py, which also
 * writes the seed corpus. */
static const char SETUP[] =
    "import sys\n"
    "sys.path[:0] = [PACKAGE_DIR, FUZZ_DIR]\n"
    "from record_decode_setup import MAPS, ALLOWED, pull_agrees\n";

static PyObject *maps, *allowed, *agrees;

static void die(const char *what)
{
    fprintf(stderr, "record_decode_fuzz: %s\n", what);
    if (PyErr_Occurred())
        PyErr_Print();
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    PyPreConfig pre;
    PyConfig config;
    PyObject *main_mod, *globals, *dir, *r;

    (void)argc;
    (void)argv;
    if (PyImport_AppendInittab("zlmdb._native", PyInit__native) < 0)
        die("cannot register zlmdb._native");
    /* plain malloc, so ASan sees every Python allocation */
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.allocator = PYMEM_ALLOCATOR_MALLOC;
    if (PyStatus_Exception(Py_PreInitialize(&pre)))
        die("cannot pre-initialize Python");
    PyConfig_InitIsolatedConfig(&config);
    if (PyStatus_Exception(PyConfig_SetBytesString(&config, &config.home,
                                                   ZLMDB_FUZZ_PYTHONHOME)) ||
        PyStatus_Exception(Py_InitializeFromConfig(&config)))
        die("cannot start Python");
    PyConfig_Clear(&config);
    main_mod = PyImport_AddModule("__main__");
    globals = main_mod ? PyModule_GetDict(main_mod) : NULL;
    if (globals == NULL)
        die("cannot prepare __main__");
    dir = PyUnicode_FromString(ZLMDB_FUZZ_PACKAGE_DIR);
    if (dir == NULL || PyDict_SetItemString(globals, "PACKAGE_DIR", dir) < 0)
        die("cannot prepare __main__");
    Py_DECREF(dir);
    dir = PyUnicode_FromString(ZLMDB_FUZZ_DIR);
    if (dir == NULL || PyDict_SetItemString(globals, "FUZZ_DIR", dir) < 0)
        die("cannot prepare __main__");
    Py_DECREF(dir);
    r = PyRun_String(SETUP, Py_file_input, globals, globals);
    if (r == NULL)
        die("the set-up code failed");
    Py_DECREF(r);
    maps = PyDict_GetItemString(globals, "MAPS");
    allowed = PyDict_GetItemString(globals, "ALLOWED");
    agrees = PyDict_GetItemString(globals, "pull_agrees");
    if (maps == NULL || allowed == NULL || agrees == NULL)
        die("the set-up code made no MAPS/ALLOWED/pull_agrees");
    Py_INCREF(maps);
    Py_INCREF(allowed);
    Py_INCREF(agrees);
    return 0;
}

/* An exception that decoding may raise: clear it; anything else aborts. */
static void expect_allowed(const char *step)
{
    if (!PyErr_ExceptionMatches(allowed)) {
        fprintf(stderr, "record_decode_fuzz: %s raised an exception outside ALLOWED\n", step);
        PyErr_Print();
        abort();
    }
    PyErr_Clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    PyObject *map, *value, *rec, *again, *rec2, *again2;

    if (size < 2)
        return 0;
    map = PyTuple_GET_ITEM(maps, data[0] & 1);
    value = PyBytes_FromStringAndSize((const char *)data + 1, (Py_ssize_t)size - 1);
    if (value == NULL)
        die("cannot make the input bytes");
    {
        PyObject *same = PyObject_CallFunction(agrees, "iO", data[0] & 1, value);
        if (same == NULL)
            die("pull_agrees raised");
        if (same != Py_True)
            die("the fast path and the pull reader disagree on this input");
        Py_DECREF(same);
    }
    rec = PyObject_CallMethod(map, "decode_value", "O", value);
    Py_DECREF(value);
    if (rec == NULL) {
        expect_allowed("decode_value");
        return 0;
    }
    if (rec == Py_None)
        die("decode_value returned None for a non-empty value");
    again = PyObject_CallMethod(map, "encode_value", "O", rec);
    if (again == NULL) {
        /* an Any field may hold what the decoder reads but the encoder
         * refuses (a CBOR simple value, a chain of tags deeper than the
         * encoder's nesting limit): a clear error is fine */
        if (!PyErr_ExceptionMatches(PyExc_TypeError) &&
            !PyErr_ExceptionMatches(PyExc_ValueError) &&
            !PyErr_ExceptionMatches(PyExc_RecursionError))
            die("encoding a decoded record raised an unexpected exception");
        PyErr_Clear();
        Py_DECREF(rec);
        return 0;
    }
    rec2 = PyObject_CallMethod(map, "decode_value", "O", again);
    if (rec2 == NULL)
        die("a record's own encoding does not decode");
    again2 = PyObject_CallMethod(map, "encode_value", "O", rec2);
    if (again2 == NULL)
        die("a record decoded from its own encoding does not encode");
    /* the encoding is a fixed point: a decoded record holds what was read */
    if (PyBytes_GET_SIZE(again) != PyBytes_GET_SIZE(again2) ||
        memcmp(PyBytes_AS_STRING(again), PyBytes_AS_STRING(again2),
               (size_t)PyBytes_GET_SIZE(again)) != 0)
        die("encode(decode(encode(record))) differs from encode(record)");
    Py_DECREF(rec);
    Py_DECREF(again);
    Py_DECREF(rec2);
    Py_DECREF(again2);
    return 0;
}
