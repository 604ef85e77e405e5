"""FlatBuffers support names of upstream zlmdb's API.

Upstream bundles a copy of the FlatBuffers runtime; zlmdb uses the
`flatbuffers` package from PyPI instead (an optional dependency, needed
only by the FlatBuffers maps), so these helpers make sure it is there.
"""
import importlib

__all__ = ("load_flatbuffers", "setup_flatbuffers_import",
           "check_autobahn_flatbuffers_version_in_sync")


def load_flatbuffers():
    """The FlatBuffers runtime module, or ImportError saying what to install."""
    try:
        return importlib.import_module("flatbuffers")
    except ImportError as exc:
        raise ImportError("zlmdb's FlatBuffers maps need the 'flatbuffers' package: "
                          "pip install flatbuffers") from exc


def setup_flatbuffers_import():
    """Make sure ``import flatbuffers`` works for generated FlatBuffers code
    (with zlmdb that is the installed `flatbuffers` package); returns it."""
    return load_flatbuffers()


def check_autobahn_flatbuffers_version_in_sync():
    """The FlatBuffers runtime version, when autobahn's bundled runtime has
    the same one; RuntimeError when they differ, ImportError without
    autobahn."""
    fb = load_flatbuffers()
    autobahn_fb = importlib.import_module("autobahn.flatbuffers")
    ours, theirs = fb.__version__, autobahn_fb.__version__
    if ours != theirs:
        raise RuntimeError("FlatBuffers runtime mismatch: zlmdb uses %r, autobahn bundles %r"
                           % (ours, theirs))
    return ours
