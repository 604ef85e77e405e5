"""py-lmdb's argument conventions for the CFFI binding's methods.

The extension parses arguments itself (src/ext/argspec.c), so its errors
read "too many positional arguments.", "unrecognized keyword argument" and
"duplicate argument: <name>", and None for any argument means its default.
The binding's methods are plain Python functions whose parameters all
default to None; ``api`` gives them the extension's messages when Python's
own binding of the call fails, at no cost when it succeeds.  The helpers
convert arguments as the extension's parse_one() does.
"""
import functools
import operator

from zlmdb._lmdb_cffi import ffi

INT_MAX = 2 ** 31 - 1
SIZE_MAX = 2 ** 64 - 1


def _binding_error(names, args, kwargs):
    """The extension's TypeError for a call it would refuse, or None."""
    if len(args) > len(names):
        return TypeError("too many positional arguments.")
    for kw in kwargs:
        try:
            idx = names.index(kw)
        except ValueError:
            return TypeError("unrecognized keyword argument")
        if idx < len(args):
            return TypeError("duplicate argument: %s" % kw)
    return None


def api(fn):
    """Method decorator: the extension's messages for a wrong call of
    ``fn`` (every parameter after ``self``, in order, is an argument)."""
    code = fn.__code__
    names = code.co_varnames[1:code.co_argcount]

    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except TypeError as exc:
            # Only a failed binding of the call itself has no frame of fn.
            if exc.__traceback__ is not None and exc.__traceback__.tb_next is None:
                better = _binding_error(names, args, kwargs)
                if better is not None:
                    raise better from None
            raise
    return method


def flag(value, default):
    """A bool argument: None is the default, else its truth."""
    if value is None:
        return default
    return bool(value)


def unsigned(value, default, limit):
    """An int argument in 0..limit (ZPY_ARG_INT, ZPY_ARG_SIZE)."""
    if value is None:
        return default
    if value.__class__ is not int:
        if value.__class__ is bool:
            return int(value)
        if not value >= 0:
            raise OverflowError("Integer argument must be >= 0")
        if not value <= limit:
            raise OverflowError("Integer argument exceeds limit.")
        return operator.index(value)
    if value < 0:
        raise OverflowError("Integer argument must be >= 0")
    if value > limit:
        raise OverflowError("Integer argument exceeds limit.")
    return value


def buf(value):
    """A key or value argument as something a ``const char *`` parameter
    takes: bytes as they are, any other buffer through ffi.from_buffer
    (which keeps it pinned while the result lives), str refused."""
    if value.__class__ is bytes:
        return value
    if isinstance(value, str) and value.__class__ is str:
        raise TypeError("Won't implicitly convert Unicode to bytes; use .encode()")
    try:
        return ffi.from_buffer(value)
    except TypeError:
        raise TypeError("a bytes-like object is required, not '%s'"
                        % type(value).__name__) from None
