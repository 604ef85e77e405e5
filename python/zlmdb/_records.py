"""Declared records: a value type the ORM encodes and decodes in C.

``zlmdb.MapUuidCbor(1, record=User)`` stores ``User`` objects with no
``marshal``/``parse``.  Python reads the declaration once, here: the
fields of a dataclass (slots or not) or of a class with ``__slots__`` and
annotations, in declaration order, each with a small type spec.  The C
codec (``zlmdb._native.RecordCodec``, src/ext/record.c) then does the work
of every record: it reads the attributes and writes the CBOR or JSON map
``{field: value, ...}`` in declaration order -- the very bytes
``cbor_dumps``/``json_dumpb`` write for a ``marshal`` returning that dict --
and builds the object straight from the stored bytes (without calling
``__init__``).

Supported annotations: ``int``, ``float``, ``str``, ``bytes``, ``bool``,
``uuid.UUID``, ``datetime.datetime``, ``datetime.date``, ``list[X]``,
``dict[str, X]``, ``X | None`` (``Optional[X]``), ``typing.Any`` and other
declared records (nested as CBOR/JSON maps).  JSON has no form for bytes,
UUIDs and datetimes, so JSON records refuse them.

Reading a stored record: unknown keys and values of the wrong type raise
:class:`RecordDecodeError`; a missing field takes its default (a dataclass
default or default_factory), an ``Optional`` field without default reads
as ``None``, any other missing field raises.
"""
import dataclasses
import datetime
import sys
import types
import typing
import uuid

from zlmdb._core import native as _native

__all__ = ("RecordDecodeError", "record_codec", "record_fields")


#: the C codec of one record type (src/ext/record.c)
RecordCodec = _native.RecordCodec


class RecordDecodeError(ValueError):
    """A stored value does not fit the map's declared record: an unknown
    key, a missing field, or a value of another type than declared."""


# Kinds: the numbers src/ext/record.c switches on (keep in step).
K_ANY, K_INT, K_FLOAT, K_STR, K_BYTES, K_BOOL, K_UUID, K_DATETIME, K_DATE, K_LIST, \
    K_DICT, K_RECORD = range(12)

_SCALARS = {int: K_INT, float: K_FLOAT, str: K_STR, bytes: K_BYTES, bool: K_BOOL,
            uuid.UUID: K_UUID, datetime.datetime: K_DATETIME, datetime.date: K_DATE}
_NOT_JSON = {K_BYTES: "bytes", K_UUID: "uuid.UUID", K_DATETIME: "datetime.datetime",
             K_DATE: "datetime.date"}

_REQUIRED, _DEFAULT, _FACTORY = 0, 1, 2


def record_fields(cls):
    """``[(name, annotation, default_kind, default)]`` of a record type, in
    declaration order; TypeError when ``cls`` is not a dataclass nor a
    class with ``__slots__`` and annotations."""
    if not isinstance(cls, type):
        raise TypeError("record= takes a class, not %r" % (cls,))
    hints = _hints(cls)
    if dataclasses.is_dataclass(cls):
        out = []
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                dk, dv = _DEFAULT, f.default
            elif f.default_factory is not dataclasses.MISSING:
                dk, dv = _FACTORY, f.default_factory
            else:
                dk, dv = _REQUIRED, None
            out.append((f.name, hints.get(f.name, f.type), dk, dv))
        return out
    slots = _all_slots(cls)
    if not slots:
        raise TypeError("record= takes a dataclass or a class with __slots__ and annotations;"
                        " %s is neither" % cls.__qualname__)
    out = []
    for name in hints:
        if name not in slots:
            continue
        out.append((name, hints[name], _REQUIRED, None))
    missing = [s for s in slots if s not in hints and s not in ("__dict__", "__weakref__")]
    if missing:
        raise TypeError("record %s: slot %r has no annotation" % (cls.__qualname__, missing[0]))
    if not out:
        raise TypeError("record %s declares no annotated slots" % cls.__qualname__)
    return out


def _all_slots(cls):
    names = []
    for base in reversed(cls.__mro__):
        s = base.__dict__.get("__slots__", ())
        if isinstance(s, str):
            s = (s,)
        names.extend(n for n in s if n not in names)
    return names


def _hints(cls):
    try:
        # annotations of the bases first: declaration order, base fields first
        return typing.get_type_hints(cls)
    except Exception as exc:   # unresolvable forward references, ...
        raise TypeError("record %s: cannot read its annotations (%s)"
                        % (cls.__qualname__, exc)) from None


def _spec(ann, fmt, where, seen):
    """(kind, optional, sub) for an annotation; TypeError when unsupported."""
    optional = False
    origin = typing.get_origin(ann)
    if origin is typing.Union or (sys.version_info >= (3, 10) and origin is types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(args) != 1:
            raise TypeError("%s: unsupported annotation %r (only X | None unions)" % (where, ann))
        optional, ann = True, args[0]
        origin = typing.get_origin(ann)
    if ann is typing.Any or ann is object:
        return (K_ANY, True, None)
    if ann in _SCALARS:
        kind = _SCALARS[ann]
        if fmt == "json" and kind in _NOT_JSON:
            raise TypeError("%s: JSON has no form for %s (use a CBOR map)"
                            % (where, _NOT_JSON[kind]))
        return (kind, optional, None)
    if origin in (list, typing.List):
        (item,) = typing.get_args(ann) or (typing.Any,)
        return (K_LIST, optional, _spec(item, fmt, where + "[]", seen))
    if origin in (dict, typing.Dict):
        args = typing.get_args(ann) or (str, typing.Any)
        if args[0] is not str:
            raise TypeError("%s: dict keys must be str, not %r" % (where, args[0]))
        return (K_DICT, optional, _spec(args[1], fmt, where + "[]", seen))
    if isinstance(ann, type) and (dataclasses.is_dataclass(ann) or "__slots__" in vars(ann)):
        if ann in seen:
            raise TypeError("%s: record %s contains itself" % (where, ann.__qualname__))
        return (K_RECORD, optional, record_codec(ann, fmt, where, seen | {ann}))
    raise TypeError("%s: unsupported annotation %r (int, float, str, bytes, bool, uuid.UUID, "
                    "datetime.datetime, datetime.date, list[X], dict[str, X], X | None, "
                    "Any or a declared record)" % (where, ann))


def record_codec(cls, fmt, label=None, seen=None):
    """The C codec (``zlmdb._native.RecordCodec``) of the record type
    ``cls`` for ``fmt`` ("cbor" or "json"); ``label`` names the map in
    error messages."""
    if fmt not in ("cbor", "json"):
        raise TypeError("records are stored as CBOR or JSON, not %r" % (fmt,))
    if label is None:
        label = cls.__qualname__ if isinstance(cls, type) else repr(cls)
    seen = seen or frozenset({cls})
    fields = []
    for name, ann, dk, dv in record_fields(cls):
        where = "%s field %r" % (label, name)
        spec = _spec(ann, fmt, where, seen)
        if spec[0] == K_ANY and dk == _REQUIRED:
            dk, dv = _DEFAULT, None         # Any includes None
        elif spec[1] and dk == _REQUIRED:
            dk, dv = _DEFAULT, None         # Optional without default: None
        descr = _slot_descriptor(cls, name)
        fields.append((name, spec, dk, dv, descr))
    return _native.RecordCodec(cls, fmt == "json", tuple(fields), label, RecordDecodeError)


def _slot_descriptor(cls, name):
    """The member descriptor of slot ``name`` (C reads and writes the slot at
    its offset), or None for an attribute in the instance dict."""
    for base in cls.__mro__:
        d = base.__dict__.get(name)
        if d is not None:
            return d if type(d) is types.MemberDescriptorType else None
    return None
