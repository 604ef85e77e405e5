# Type stubs for zlmdb._flatbuffers (the optional `flatbuffers` package).
from types import ModuleType

__all__ = ("load_flatbuffers", "setup_flatbuffers_import",
           "check_autobahn_flatbuffers_version_in_sync")

def load_flatbuffers() -> ModuleType: ...
def setup_flatbuffers_import() -> ModuleType: ...
# The FlatBuffers runtime version when autobahn bundles the same one.
def check_autobahn_flatbuffers_version_in_sync() -> str: ...
