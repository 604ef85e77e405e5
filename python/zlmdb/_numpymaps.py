"""NumPy array values: a small header (dtype, shape) and the raw data.

Layout: b"ZNPY" | version (1 byte, 1) | len(dtype.str) (1 byte) | dtype.str
(ASCII, e.g. "<f8") | ndim (1 byte) | ndim x uint64 big-endian dims | the
array's bytes in C order.  Reading returns an array over the stored bytes
without copying them (a read-only view into the map with buffers=True).
"""
import struct

_MAGIC = b"ZNPY"
_VERSION = 1


def encode(value):
    import numpy as np
    arr = np.ascontiguousarray(value)
    if arr.dtype.hasobject:
        raise TypeError("arrays of Python objects cannot be stored (dtype %s)" % arr.dtype)
    dt = arr.dtype.str.encode("ascii")
    if len(dt) > 255 or arr.ndim > 255:
        raise ValueError("dtype or shape too large to store")
    head = _MAGIC + bytes((_VERSION, len(dt))) + dt + bytes((arr.ndim,))
    head += b"".join(struct.pack(">Q", d) for d in arr.shape)
    return head + arr.tobytes()


def decode(data):
    import numpy as np
    mv = memoryview(data)
    if len(mv) < 7 or bytes(mv[:4]) != _MAGIC or mv[4] != _VERSION:
        raise ValueError("stored value is not a zlmdb NumPy array")
    dlen = mv[5]
    pos = 6 + dlen
    if len(mv) < pos + 1:
        raise ValueError("truncated NumPy array header")
    dtype = np.dtype(bytes(mv[6:pos]).decode("ascii"))
    if dtype.hasobject:
        raise ValueError("stored NumPy array has an object dtype")
    ndim = mv[pos]
    pos += 1
    if len(mv) < pos + 8 * ndim:
        raise ValueError("truncated NumPy array header")
    shape = tuple(struct.unpack(">Q", bytes(mv[pos + 8 * i:pos + 8 * i + 8]))[0]
                  for i in range(ndim))
    pos += 8 * ndim
    count = 1
    for d in shape:
        count *= d
    if len(mv) - pos != count * dtype.itemsize:
        raise ValueError("stored NumPy array has %d data bytes, its header says %d"
                         % (len(mv) - pos, count * dtype.itemsize))
    return np.frombuffer(mv, dtype=dtype, count=count, offset=pos).reshape(shape)
