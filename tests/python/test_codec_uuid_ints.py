"""UUIDs' 128-bit ints are read and made from CPython's int digits on 3.11
to 3.13 (src/ext/pyconv.c, checked against CPython's own conversion at
import): every bit length, through every codec that carries a UUID, gives
back the same int, and what is not a plain UUID takes the general path."""
import dataclasses
import random
import sys
import uuid

import pytest

from zlmdb import _records
from zlmdb.codec import KeyCodec, cbor_dumps, cbor_loads

pytestmark = pytest.mark.cpython_only

INTS = sorted({0, 1, 2**30 - 1, 2**30, 2**60, 2**64 - 1, 2**64, 2**90, 2**120 - 1, 2**120,
               2**127, 2**128 - 1}
              | {random.Random(n).getrandbits(n) | 1 << (n - 1) for n in range(1, 129)})


@dataclasses.dataclass
class Rec:
    u: uuid.UUID
    us: list[uuid.UUID]


def test_digit_paths_are_on_where_the_layout_is_known():
    from zlmdb import _native
    layouts = _native._codec_layouts()
    if (3, 11) <= sys.version_info[:2] <= (3, 13):
        assert layouts["u128"] is True
    else:
        assert layouts["u128"] is False


@pytest.mark.parametrize("i", INTS)
def test_uuid_ints_round_trip_through_every_codec(i):
    u = uuid.UUID(int=i)
    data = cbor_dumps(u)
    assert data[-16:] == i.to_bytes(16, "big")
    back = cbor_loads(data)
    assert back == u and type(back.int) is int and back.int == i and str(back) == str(u)
    kc = KeyCodec("uuid")
    assert kc.encode(u) == i.to_bytes(16, "big") and kc.decode(kc.encode(u)).int == i
    c = _records.record_codec(Rec, "cbor")
    r = c.decode(c.encode(Rec(u, [u, uuid.UUID(int=2**128 - 1 - i)])))
    assert r.u.int == i and r.us[1].int == 2**128 - 1 - i
    assert hash(r.u) == hash(u)


def test_uuid_subclasses_and_odd_ints_take_the_general_path():
    class MyUUID(uuid.UUID):
        pass

    class BigInt(int):
        pass

    u = MyUUID(int=2**100 + 3)
    assert cbor_loads(cbor_dumps(u)) == uuid.UUID(int=2**100 + 3)
    odd = uuid.UUID(int=5)
    object.__setattr__(odd, "int", BigInt(2**127 + 9))       # an int subclass
    assert cbor_dumps(odd)[-16:] == (2**127 + 9).to_bytes(16, "big")
    # out of range: the same error on every CPython (and on PyPy)
    for bad, msg in ((2**128, "int too big to convert"),
                     (-1, "can't convert negative int to unsigned")):
        object.__setattr__(odd, "int", bad)
        with pytest.raises(OverflowError, match=msg):
            cbor_dumps(odd)
