# Type stubs for zlmdb: the object layer (Database, @table, Schema, Map*).
from types import ModuleType
from typing import Final

from zlmdb import codec as codec
from zlmdb import lmdb as lmdb
from zlmdb._database import TABLES_BY_UUID as TABLES_BY_UUID
from zlmdb._database import Database as Database
from zlmdb._database import Transaction as Transaction
from zlmdb._database import TransactionStats as TransactionStats
from zlmdb._database import table as table
from zlmdb._flatbuffers import (
    check_autobahn_flatbuffers_version_in_sync as check_autobahn_flatbuffers_version_in_sync,
)
from zlmdb._flatbuffers import setup_flatbuffers_import as setup_flatbuffers_import
from zlmdb._maps import MAP_CLASSES as MAP_CLASSES
from zlmdb._maps import MAPS as MAPS
from zlmdb._maps import MapSlotUuidUuid as MapSlotUuidUuid
from zlmdb._maps import MapUuidString as MapUuidString
from zlmdb._maps import MapUuidOid as MapUuidOid
from zlmdb._maps import MapUuidUuid as MapUuidUuid
from zlmdb._maps import MapUuidUuidCbor as MapUuidUuidCbor
from zlmdb._maps import MapUuidTimestampBytes32 as MapUuidTimestampBytes32
from zlmdb._maps import MapUint64TimestampUuid as MapUint64TimestampUuid
from zlmdb._maps import MapUuidUuidUuid as MapUuidUuidUuid
from zlmdb._maps import MapUuidTimestampUuid as MapUuidTimestampUuid
from zlmdb._maps import MapUuidStringUuid as MapUuidStringUuid
from zlmdb._maps import MapUuidUuidStringUuid as MapUuidUuidStringUuid
from zlmdb._maps import MapUuidUuidUuidStringUuid as MapUuidUuidUuidStringUuid
from zlmdb._maps import MapUuidUuidUuidUuid as MapUuidUuidUuidUuid
from zlmdb._maps import MapUuidUuidUuidUuidUuid as MapUuidUuidUuidUuidUuid
from zlmdb._maps import MapUuidStringOid as MapUuidStringOid
from zlmdb._maps import MapUuidUuidSet as MapUuidUuidSet
from zlmdb._maps import MapUuidJson as MapUuidJson
from zlmdb._maps import MapUuidCbor as MapUuidCbor
from zlmdb._maps import MapUuidPickle as MapUuidPickle
from zlmdb._maps import MapUuidFlatBuffers as MapUuidFlatBuffers
from zlmdb._maps import MapUuidTimestampFlatBuffers as MapUuidTimestampFlatBuffers
from zlmdb._maps import MapTimestampFlatBuffers as MapTimestampFlatBuffers
from zlmdb._maps import MapTimestampUuidFlatBuffers as MapTimestampUuidFlatBuffers
from zlmdb._maps import MapUuidTimestampUuidFlatBuffers as MapUuidTimestampUuidFlatBuffers
from zlmdb._maps import MapUint16UuidTimestampFlatBuffers as MapUint16UuidTimestampFlatBuffers
from zlmdb._maps import MapUuidBytes20Uint8FlatBuffers as MapUuidBytes20Uint8FlatBuffers
from zlmdb._maps import MapUuidBytes20Uint8UuidFlatBuffers as MapUuidBytes20Uint8UuidFlatBuffers
from zlmdb._maps import (
    MapUuidBytes20Bytes20Uint8UuidFlatBuffers as MapUuidBytes20Bytes20Uint8UuidFlatBuffers,
)
from zlmdb._maps import MapTimestampUuidStringFlatBuffers as MapTimestampUuidStringFlatBuffers
from zlmdb._maps import MapTimestampBytes32FlatBuffers as MapTimestampBytes32FlatBuffers
from zlmdb._maps import MapTimestampStringFlatBuffers as MapTimestampStringFlatBuffers
from zlmdb._maps import MapUuidTimestampCbor as MapUuidTimestampCbor
from zlmdb._maps import MapTimestampUuidCbor as MapTimestampUuidCbor
from zlmdb._maps import MapStringTimestampCbor as MapStringTimestampCbor
from zlmdb._maps import MapTimestampStringCbor as MapTimestampStringCbor
from zlmdb._maps import MapStringString as MapStringString
from zlmdb._maps import MapStringOid as MapStringOid
from zlmdb._maps import MapStringOidOid as MapStringOidOid
from zlmdb._maps import MapStringUuid as MapStringUuid
from zlmdb._maps import MapStringStringUuid as MapStringStringUuid
from zlmdb._maps import MapStringStringStringUuid as MapStringStringStringUuid
from zlmdb._maps import MapStringJson as MapStringJson
from zlmdb._maps import MapStringCbor as MapStringCbor
from zlmdb._maps import MapStringPickle as MapStringPickle
from zlmdb._maps import MapStringFlatBuffers as MapStringFlatBuffers
from zlmdb._maps import MapOidString as MapOidString
from zlmdb._maps import MapOidOid as MapOidOid
from zlmdb._maps import MapOidUuid as MapOidUuid
from zlmdb._maps import MapOidJson as MapOidJson
from zlmdb._maps import MapOidCbor as MapOidCbor
from zlmdb._maps import MapOidPickle as MapOidPickle
from zlmdb._maps import MapOidFlatBuffers as MapOidFlatBuffers
from zlmdb._maps import MapOidOidFlatBuffers as MapOidOidFlatBuffers
from zlmdb._maps import MapOid3FlatBuffers as MapOid3FlatBuffers
from zlmdb._maps import MapOidOidSet as MapOidOidSet
from zlmdb._maps import MapOidStringOid as MapOidStringOid
from zlmdb._maps import MapOidOidOid as MapOidOidOid
from zlmdb._maps import MapOidTimestampOid as MapOidTimestampOid
from zlmdb._maps import MapOidTimestampFlatBuffers as MapOidTimestampFlatBuffers
from zlmdb._maps import MapOidTimestampStringOid as MapOidTimestampStringOid
from zlmdb._maps import MapBytes32Uuid as MapBytes32Uuid
from zlmdb._maps import MapBytes32Timestamp as MapBytes32Timestamp
from zlmdb._maps import MapBytes32Bytes32 as MapBytes32Bytes32
from zlmdb._maps import MapBytes32FlatBuffers as MapBytes32FlatBuffers
from zlmdb._maps import MapBytes32UuidFlatBuffers as MapBytes32UuidFlatBuffers
from zlmdb._maps import MapUuidBytes32FlatBuffers as MapUuidBytes32FlatBuffers
from zlmdb._maps import MapUuidUuidStringFlatBuffers as MapUuidUuidStringFlatBuffers
from zlmdb._maps import MapUuidUuidFlatBuffers as MapUuidUuidFlatBuffers
from zlmdb._maps import MapUuidStringFlatBuffers as MapUuidStringFlatBuffers
from zlmdb._maps import MapBytes32Bytes32FlatBuffers as MapBytes32Bytes32FlatBuffers
from zlmdb._maps import MapBytes32StringFlatBuffers as MapBytes32StringFlatBuffers
from zlmdb._maps import MapBytes20Bytes20 as MapBytes20Bytes20
from zlmdb._maps import MapBytes20Bytes20Timestamp as MapBytes20Bytes20Timestamp
from zlmdb._maps import MapBytes20TimestampBytes20 as MapBytes20TimestampBytes20
from zlmdb._maps import MapBytes20TimestampUuid as MapBytes20TimestampUuid
from zlmdb._maps import MapBytes20Uuid as MapBytes20Uuid
from zlmdb._maps import MapBytes20Bytes16 as MapBytes20Bytes16
from zlmdb._maps import MapBytes20FlatBuffers as MapBytes20FlatBuffers
from zlmdb._maps import MapBytes16FlatBuffers as MapBytes16FlatBuffers
from zlmdb._maps import MapBytes16TimestampUuid as MapBytes16TimestampUuid
from zlmdb._maps import MapBytes16TimestampUuidFlatBuffers as MapBytes16TimestampUuidFlatBuffers
from zlmdb._maps import MapBytes20Bytes20FlatBuffers as MapBytes20Bytes20FlatBuffers
from zlmdb._maps import MapBytes20StringFlatBuffers as MapBytes20StringFlatBuffers
from zlmdb._maps import MapBytes20Numpy as MapBytes20Numpy
from zlmdb._maps import MapUuidNumpy as MapUuidNumpy
from zlmdb._maps import MapStringNumpy as MapStringNumpy
from zlmdb._maps import MapOidNumpy as MapOidNumpy
from zlmdb._maps import MapTimestampNumpy as MapTimestampNumpy
from zlmdb._pmap import IndexSpec as IndexSpec
from zlmdb._pmap import NullValueConstraint as NullValueConstraint
from zlmdb._pmap import PersistentMap as PersistentMap
from zlmdb._records import RecordDecodeError as RecordDecodeError
from zlmdb._pmap import PersistentMapIterator as PersistentMapIterator
from zlmdb._schema import Schema as Schema

__version__: Final[str]

#: the FlatBuffers runtime (the optional `flatbuffers` package), imported on
#: first access; ImportError saying what to install when it is missing
flatbuffers: ModuleType

__all__ = (
    "__version__", "flatbuffers", "setup_flatbuffers_import",
    "check_autobahn_flatbuffers_version_in_sync", "codec", "lmdb", "Schema",
    "Database", "Transaction", "TransactionStats", "table",
    "NullValueConstraint",
    "IndexSpec",
    "RecordDecodeError",
    "MapSlotUuidUuid",
    "MapUuidString",
    "MapUuidOid",
    "MapUuidUuid",
    "MapUuidUuidCbor",
    "MapUuidTimestampBytes32",
    "MapUint64TimestampUuid",
    "MapUuidUuidUuid",
    "MapUuidTimestampUuid",
    "MapUuidStringUuid",
    "MapUuidUuidStringUuid",
    "MapUuidUuidUuidStringUuid",
    "MapUuidUuidUuidUuid",
    "MapUuidUuidUuidUuidUuid",
    "MapUuidStringOid",
    "MapUuidUuidSet",
    "MapUuidJson",
    "MapUuidCbor",
    "MapUuidPickle",
    "MapUuidFlatBuffers",
    "MapUuidTimestampFlatBuffers",
    "MapTimestampFlatBuffers",
    "MapTimestampUuidFlatBuffers",
    "MapUuidTimestampUuidFlatBuffers",
    "MapUint16UuidTimestampFlatBuffers",
    "MapUuidBytes20Uint8FlatBuffers",
    "MapUuidBytes20Uint8UuidFlatBuffers",
    "MapUuidBytes20Bytes20Uint8UuidFlatBuffers",
    "MapTimestampUuidStringFlatBuffers",
    "MapTimestampBytes32FlatBuffers",
    "MapTimestampStringFlatBuffers",
    "MapUuidTimestampCbor",
    "MapTimestampUuidCbor",
    "MapStringTimestampCbor",
    "MapTimestampStringCbor",
    "MapStringString",
    "MapStringOid",
    "MapStringOidOid",
    "MapStringUuid",
    "MapStringStringUuid",
    "MapStringStringStringUuid",
    "MapStringJson",
    "MapStringCbor",
    "MapStringPickle",
    "MapStringFlatBuffers",
    "MapOidString",
    "MapOidOid",
    "MapOidUuid",
    "MapOidJson",
    "MapOidCbor",
    "MapOidPickle",
    "MapOidFlatBuffers",
    "MapOidOidFlatBuffers",
    "MapOid3FlatBuffers",
    "MapOidOidSet",
    "MapOidStringOid",
    "MapOidOidOid",
    "MapOidTimestampOid",
    "MapOidTimestampFlatBuffers",
    "MapOidTimestampStringOid",
    "MapBytes32Uuid",
    "MapBytes32Timestamp",
    "MapBytes32Bytes32",
    "MapBytes32FlatBuffers",
    "MapBytes32UuidFlatBuffers",
    "MapUuidBytes32FlatBuffers",
    "MapUuidUuidStringFlatBuffers",
    "MapUuidUuidFlatBuffers",
    "MapUuidStringFlatBuffers",
    "MapBytes32Bytes32FlatBuffers",
    "MapBytes32StringFlatBuffers",
    "MapBytes20Bytes20",
    "MapBytes20Bytes20Timestamp",
    "MapBytes20TimestampBytes20",
    "MapBytes20TimestampUuid",
    "MapBytes20Uuid",
    "MapBytes20Bytes16",
    "MapBytes20FlatBuffers",
    "MapBytes16FlatBuffers",
    "MapBytes16TimestampUuid",
    "MapBytes16TimestampUuidFlatBuffers",
    "MapBytes20Bytes20FlatBuffers",
    "MapBytes20StringFlatBuffers",
    "MapBytes20Numpy",
    "MapUuidNumpy",
    "MapStringNumpy",
    "MapOidNumpy",
    "MapTimestampNumpy",
)
