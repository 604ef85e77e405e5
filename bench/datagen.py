"""Deterministic benchmark data, identical in Python and in bench/raw_lmdb.c.

The contract (change both sides together; tests/README explain the check):

* ``fmix(z)`` is splitmix64's output function; the splitmix64 stream from
  ``seed`` yields ``fmix(seed + k * GOLDEN)`` for k = 1, 2, ... (mod 2**64).
* ``salt`` is the stream's first output, ``pad`` the first 84 bytes of its next
  11 outputs, each written big-endian.
* ``key(i) = be64(i) + be64(fmix(i ^ salt))`` (16 bytes): sorted key order is
  record order, and the low half looks random.
* ``value(i) = key(i) + pad`` (100 bytes).
* ``permutation(n, s)`` is Fisher-Yates over ``range(n)`` driven by the stream
  from ``s``: for j = n-1 down to 1, swap a[j] and a[next() % (j + 1)].
  Random writes use ``permutation(n, seed + 1)``, random reads
  ``permutation(n, seed + 2)``.

Only the standard library is used, so a child running in another virtualenv
(another Python version, even) can import this module.
"""

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1
KEY_SIZE = 16
VALUE_SIZE = 100


def fmix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def stream(seed):
    """Yield the splitmix64 sequence seeded with ``seed``."""
    state = seed & MASK64
    while True:
        state = (state + GOLDEN) & MASK64
        yield fmix(state)


def salt_and_pad(seed):
    gen = stream(seed)
    salt = next(gen)
    pad = b"".join(next(gen).to_bytes(8, "big") for _ in range(11))
    return salt, pad[: VALUE_SIZE - KEY_SIZE]


def keys(n, seed):
    """All n keys in sorted (record) order."""
    salt, _ = salt_and_pad(seed)
    # Inlined fmix: this runs 10**6 times per child and dominates setup.
    out = []
    append = out.append
    m = MASK64
    for i in range(n):
        z = i ^ salt
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        append(((i << 64) | (z ^ (z >> 31))).to_bytes(16, "big"))
    return out


def values(key_list, seed):
    """value(i) for each key(i) in ``key_list``."""
    _, pad = salt_and_pad(seed)
    return [k + pad for k in key_list]


def permutation(n, seed):
    a = list(range(n))
    state = seed & MASK64
    m = MASK64
    g = GOLDEN
    for j in range(n - 1, 0, -1):
        state = (state + g) & m
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        k = (z ^ (z >> 31)) % (j + 1)
        a[j], a[k] = a[k], a[j]
    return a


def fnv1a(data, h=0xCBF29CE484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return h


def digest(n, seed):
    """The same digest ``bench_raw_lmdb --digest`` prints (slow; for checks)."""
    ks = keys(n, seed)

    def perm_bytes(s):
        return b"".join(i.to_bytes(8, "big") for i in permutation(n, s))

    return {
        "keys": "%016x" % fnv1a(b"".join(ks)),
        "values": "%016x" % fnv1a(b"".join(values(ks, seed))),
        "put_order": "%016x" % fnv1a(perm_bytes(seed + 1)),
        "get_order": "%016x" % fnv1a(perm_bytes(seed + 2)),
    }
