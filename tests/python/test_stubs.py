"""The type stubs (python/zlmdb/**/*.pyi) against the runtime.

`make typecheck` runs mypy's stubtest, which compares names, classes and
every signature Python can introspect.  The C types of zlmdb.lmdb (like
py-lmdb's) have no introspectable signatures, so stubtest cannot see their
parameters; these tests can, by calling: every keyword a stub names must be
accepted by the C parser, every positional-only one refused as a keyword,
and the positional count must be exactly the stub's.  They also keep the
generated Map* stubs in step with the MAPS table, the aio forwarders in
step with the methods they forward, and run the typed usage file.

Parsing the stubs needs only `ast`, so this runs in `make test` without the
type checkers installed.
"""
import ast
import builtins
import importlib
import inspect
import os
import subprocess
import sys

import pytest

import zlmdb
import zlmdb.lmdb as lmdb
import zlmdb.lmdb.aio
import zlmdb.lmdb.tool
from zlmdb import codec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG = os.path.join(ROOT, "python", "zlmdb")
TYPING = os.path.join(ROOT, "tests", "typing")

STUBS = {
    "zlmdb": "__init__.pyi",
    "zlmdb._database": "_database.pyi",
    "zlmdb._flatbuffers": "_flatbuffers.pyi",
    "zlmdb._maps": "_maps.pyi",
    "zlmdb._pmap": "_pmap.pyi",
    "zlmdb._schema": "_schema.pyi",
    "zlmdb.codec": "codec.pyi",
    "zlmdb.lmdb": "lmdb/__init__.pyi",
    "zlmdb.lmdb.aio": "lmdb/aio.pyi",
    "zlmdb.lmdb.tool": "lmdb/tool.pyi",
}


# -- reading the stubs -----------------------------------------------------------

def _parse(module):
    with open(os.path.join(PKG, STUBS[module])) as f:
        return ast.parse(f.read())


def _names(body):
    """Public-or-not names a stub body defines: {name: node}.  For an
    overloaded function the last definition (the general one) wins."""
    out = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                # `import x as x` re-exports x from a stub; other imports do not
                if alias.asname is not None and alias.asname == alias.name:
                    out[alias.asname] = node
    return out


def _stub_all(module):
    for node in _parse(module).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None)
                                             for t in node.targets] == ["__all__"]:
            return list(ast.literal_eval(node.value))
    return None


def _stub_class(module, name):
    node = _names(_parse(module).body)[name]
    assert isinstance(node, ast.ClassDef), name
    return node


def _params(fn):
    """[(name, kind, default source)] of a stub function, without self/cls."""
    a = fn.args
    out = []
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for i, (arg, default) in enumerate(zip(positional, defaults)):
        kind = "posonly" if i < len(a.posonlyargs) else "either"
        out.append((arg.arg, kind, ast.unparse(default) if default else None))
    if a.vararg:
        out.append((a.vararg.arg, "varargs", None))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, "kwonly", ast.unparse(default) if default else None))
    if a.kwarg:
        out.append((a.kwarg.arg, "varkw", None))
    if out and out[0][0] in ("self", "cls"):
        out = out[1:]
    return out


def _public(name):
    return not name.startswith("_") or name == "__version__"


# -- names -----------------------------------------------------------------------

@pytest.mark.parametrize("module", sorted(STUBS))
def test_stub_all_is_the_runtime_all(module):
    mod = importlib.import_module(module)
    runtime = getattr(mod, "__all__", None)
    if runtime is None:
        assert _stub_all(module) is None
    else:
        assert sorted(_stub_all(module)) == sorted(runtime)


@pytest.mark.parametrize("module", sorted(STUBS))
def test_every_runtime_public_name_is_in_the_stub(module):
    mod = importlib.import_module(module)
    stub = _names(_parse(module).body)
    if hasattr(mod, "__all__"):
        runtime = set(mod.__all__)
    else:
        # Without __all__: what the module itself defines (not what it imports).
        runtime = {n for n, v in vars(mod).items() if _public(n)
                   and not inspect.ismodule(v)
                   and getattr(v, "__module__", module) == module}
    assert sorted(runtime - set(stub)) == []


@pytest.mark.parametrize("module", sorted(STUBS))
def test_every_stub_public_name_exists_at_runtime(module):
    mod = importlib.import_module(module)
    stub = [n for n in _names(_parse(module).body) if _public(n)]
    missing = [n for n in stub if not hasattr(mod, n)]
    assert missing == []


CLASSES = [
    ("zlmdb.lmdb", "Environment"), ("zlmdb.lmdb", "Transaction"), ("zlmdb.lmdb", "Cursor"),
    ("zlmdb.lmdb", "_Database"), ("zlmdb.codec", "KeyCodec"), ("zlmdb.codec", "CBORTag"),
    ("zlmdb.codec", "CBORSimpleValue"), ("zlmdb.codec", "CBORDecodeError"),
    ("zlmdb._pmap", "PersistentMap"), ("zlmdb._pmap", "PersistentMapIterator"),
    ("zlmdb._database", "Database"), ("zlmdb._database", "Transaction"),
    ("zlmdb._database", "TransactionStats"), ("zlmdb._schema", "Schema"),
    ("zlmdb.lmdb.aio", "AsyncEnvironment"), ("zlmdb.lmdb.aio", "AsyncTransaction"),
    ("zlmdb.lmdb.aio", "AsyncCursor"),
]

# Left out of the stubs on purpose (see tests/typing/stubtest-allowlist.txt).
NOT_IN_STUBS = {("zlmdb._pmap", "PersistentMap"): {"__len__", "__iter__"}}


@pytest.mark.parametrize("module,name", CLASSES)
def test_class_members_match(module, name):
    cls = getattr(importlib.import_module(module), name)
    stub = {n for n in _names(_stub_class(module, name).body) if _public(n)}
    # Public attributes the class itself (and its non-builtin bases) defines.
    runtime = set()
    described = {getattr(importlib.import_module(m), n) for m, n in CLASSES} - {cls}
    for klass in cls.__mro__:
        if getattr(builtins, klass.__name__, None) is klass:
            continue        # object, ValueError, ...: not ours to describe
        if klass.__module__ == "collections.abc" or klass in described:
            continue        # described by the standard library's or their own stub
        runtime |= {n for n in vars(klass) if _public(n)}
    if issubclass(cls, BaseException):
        runtime -= set(dir(BaseException))
    assert sorted(runtime - stub) == []
    # Attributes a stub declares may be set per instance (in __init__).
    attrs = {n for n, node in _names(_stub_class(module, name).body).items()
             if isinstance(node, ast.AnnAssign)}
    assert sorted(stub - attrs - runtime - NOT_IN_STUBS.get((module, name), set())) == []
    if attrs - runtime:
        instance = INSTANCES[name]()
        try:
            assert sorted(n for n in attrs if not hasattr(instance, n)) == []
        finally:
            if isinstance(instance, zlmdb.Database):
                instance.close()


INSTANCES = {
    "CBORDecodeError": lambda: codec.CBORDecodeError("bad", 3),
    "TransactionStats": zlmdb.TransactionStats,
    "Database": zlmdb.Database,
}


def test_c_types_that_cannot_be_subclassed_are_final():
    for module, name in CLASSES:
        cls = getattr(importlib.import_module(module), name)
        node = _stub_class(module, name)
        final = any(ast.unparse(d) in ("final", "typing.final") for d in node.decorator_list)
        subclassable = True
        try:
            type("Sub", (cls,), {})
        except TypeError:
            subclassable = False
        assert final == (not subclassable), name


# -- C signatures, by calling ----------------------------------------------------

ARITY_WORDS = ("unrecognized keyword argument", "unexpected keyword argument",
               "takes no keyword arguments", "too many positional arguments",
               "takes no arguments", "takes exactly", "takes at most",
               "positional argument", "positional-only", "invalid keyword argument")


def _call_error(func, *args, **kwargs):
    """The TypeError message func(*args, **kwargs) raises, or None."""
    try:
        func(*args, **kwargs)
    except TypeError as exc:
        return str(exc)
    except Exception:   # an LMDB or value error: the arguments were parsed
        return None
    return None


def _is_arity_error(msg):
    return msg is not None and any(w in msg for w in ARITY_WORDS)


@pytest.fixture
def objects(tmp_path):
    """factory(kind) -> a fresh object of that kind, in a fresh environment."""
    envs = []

    def make(kind):
        env = lmdb.open(str(tmp_path / ("e%d" % len(envs))), map_size=1 << 22, max_dbs=4)
        envs.append(env)
        if kind == "Environment":
            return env
        if kind == "_Database":
            return env.open_db(b"db")
        txn = env.begin(write=True)
        if kind == "Transaction":
            return txn
        if kind == "Cursor":
            return txn.cursor()
        if kind == "KeyCodec":
            return codec.KeyCodec("oid")
        raise AssertionError(kind)
    yield make
    for env in envs:
        env.close()


# (stub module, class or None, callable name): the C callables whose
# signatures only a call can reveal.
C_CALLABLES = (
    [("zlmdb.lmdb", None, n) for n in ("version", "enable_drop_gil")]
    + [("zlmdb.lmdb", c, "__new__") for c in ("Environment", "Transaction", "Cursor")]
    + [("zlmdb.lmdb", c, n) for c in ("Environment", "Transaction", "Cursor", "_Database")
       for n in sorted(n for n in _names(_stub_class("zlmdb.lmdb", c).body)
                       if not n.startswith("_"))]
    + [("zlmdb.codec", "KeyCodec", n) for n in ("__new__", "encode", "encode_prefix", "decode")]
)


def _target(objects, module, cls, name):
    if cls is None:
        return getattr(importlib.import_module(module), name)
    if name == "__new__":
        return getattr(importlib.import_module(module), cls)
    return getattr(objects(cls), name)


def _stub_fn(module, cls, name):
    body = _parse(module).body if cls is None else _stub_class(module, cls).body
    return _names(body)[name]


@pytest.mark.parametrize("module,cls,name", C_CALLABLES,
                         ids=["%s.%s" % (c or m, n) for m, c, n in C_CALLABLES])
def test_c_signature_matches_stub(objects, module, cls, name):
    params = _params(_stub_fn(module, cls, name))
    kinds = {k for _, k, _ in params}
    if "varkw" not in kinds:
        for i, (pname, kind, _) in enumerate(params):
            # The required arguments before this one go by position, the
            # ones after it by keyword, so only `pname` is on trial.
            args = [None for _n, k, d in params[:i] if d is None and k in ("posonly", "either")]
            kwargs = {n: None for n, k, d in params[i + 1:] if d is None and k != "posonly"}
            kwargs[pname] = None
            msg = _call_error(_target(objects, module, cls, name), *args, **kwargs)
            if kind == "posonly":
                assert _is_arity_error(msg), "%s accepts %s= as a keyword" % (name, pname)
            elif kind in ("either", "kwonly"):
                assert not _is_arity_error(msg), "%s(%s=): %s" % (name, pname, msg)
        required = [None for _n, k, d in params if d is None and k in ("posonly", "either")]
        msg = _call_error(_target(objects, module, cls, name), *required, no_such_argument=None)
        assert _is_arity_error(msg), "%s accepts any keyword" % name
    if "varargs" not in kinds:
        npos = sum(1 for _, k, _ in params if k in ("posonly", "either"))
        msg = _call_error(_target(objects, module, cls, name), *[None] * (npos + 1))
        assert _is_arity_error(msg), "%s takes more than %d positionals" % (name, npos)
        if npos:
            msg = _call_error(_target(objects, module, cls, name), *[None] * npos)
            assert not _is_arity_error(msg), "%s(%d positionals): %s" % (name, npos, msg)


def test_documented_signatures_match_stub():
    # The codec functions carry __text_signature__: compare it exactly.
    for name in ("cbor_dumps", "cbor_loads", "json_dumps", "json_dumpb", "json_loads"):
        sig = inspect.signature(getattr(codec, name))
        runtime = [(p.name, {"POSITIONAL_ONLY": "posonly", "KEYWORD_ONLY": "kwonly",
                             "POSITIONAL_OR_KEYWORD": "either"}[p.kind.name],
                    None if p.default is p.empty else repr(p.default))
                   for p in sig.parameters.values()]
        assert _params(_stub_fn("zlmdb.codec", None, name)) == runtime


# -- aio: the forwarders take what the methods they forward take -----------------

AIO = [("AsyncEnvironment", "Environment"), ("AsyncTransaction", "Transaction"),
       ("AsyncCursor", "Cursor")]


@pytest.mark.parametrize("wrapper,wrapped", AIO)
def test_aio_forwarders_have_the_wrapped_signatures(wrapper, wrapped):
    sync = _names(_stub_class("zlmdb.lmdb", wrapped).body)
    checked = 0
    for name, fn in _names(_stub_class("zlmdb.lmdb.aio", wrapper).body).items():
        if name.startswith("_") or name not in sync:
            continue
        assert _params(fn) == _params(sync[name]), name
        runtime = getattr(getattr(zlmdb.lmdb.aio, wrapper), name)
        assert isinstance(fn, ast.AsyncFunctionDef) == inspect.iscoroutinefunction(runtime), \
            name
        checked += 1
    # every public method of the wrapped type is forwarded
    wrapped_methods = {n for n in sync if not n.startswith("_")}
    wrapper_methods = {n for n in _names(_stub_class("zlmdb.lmdb.aio", wrapper).body)}
    assert sorted(wrapped_methods - wrapper_methods) == []
    assert checked == len(wrapped_methods)


# -- the Map* classes ------------------------------------------------------------

def test_maps_stub_is_generated_from_the_table():
    sys.path.insert(0, TYPING)
    try:
        import gen_maps_stub
    finally:
        sys.path.remove(TYPING)
    assert gen_maps_stub.read_maps() == zlmdb.MAPS
    with open(gen_maps_stub.MAPS_PYI) as f:
        assert f.read() == gen_maps_stub.render(), \
            "stale: run python tests/typing/gen_maps_stub.py"


def test_map_stub_constructors_match_runtime():
    stub = _names(_parse("zlmdb._maps").body)
    for name, _key, _value in zlmdb.MAPS:
        runtime = inspect.signature(getattr(zlmdb, name).__init__)
        expected = [(p.name, "either", repr(p.default))
                    for p in list(runtime.parameters.values())[1:]]
        init = _names(stub[name].body)["__init__"]
        assert _params(init) == expected, name


def test_maps_are_subscriptable_at_run_time():
    # what the generic stubs let users write must run
    class Users(zlmdb.MapOidCbor[dict]):
        pass
    assert Users.__mro__[1] is zlmdb.MapOidCbor
    assert isinstance(zlmdb.MapOidPickle[list](1), zlmdb.MapOidPickle)


# -- the typed usage file runs ---------------------------------------------------

def test_typed_usage_runs():
    proc = subprocess.run([sys.executable, os.path.join(TYPING, "typed_usage.py")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "typed usage ran" in proc.stdout


def test_package_ships_the_stubs():
    for rel in list(STUBS.values()) + ["py.typed"]:
        assert os.path.exists(os.path.join(os.path.dirname(zlmdb.__file__), rel)), rel
