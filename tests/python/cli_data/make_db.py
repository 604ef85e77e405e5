"""make_db.py DIR [--writemap]: the database the CLI tests run against."""
import sys
import uuid

import numpy as np

import zlmdb
import cli_schema as cs

path = sys.argv[1]
db = zlmdb.Database(path, maxsize=32 << 20, writemap="--writemap" in sys.argv)
s = cs.Schema.attach(db)
with db.begin(write=True) as txn:
    for i in range(1, cs.USER_COUNT + 1):
        s.users[txn, i] = {"oid": i, "name": "user%d" % i, "realm": i % 2,
                           "avatar": bytes([i, 0, 255]), "score": 1.5 * i}
    s.events[txn, (cs.EVENT_UUID, 1700000000123456789)] = {"what": "login", "n": [1, 2]}
    s.events[txn, (cs.EVENT_UUID, 1700000001000000000)] = {
        "what": "logout", "ratio": float("nan"), 3: "int key", "when": None}
    s.docs[txn, "readme"] = {"$ref": "#/x", "title": "Hello", "tags": ["a", "b"]}
    s.docs[txn, "grüße"] = {"text": "ünïcode ✓", "n": 1e300}
    for i in range(1, 4):
        s.scores[txn, i] = {"oid": i, "score": 10 * i}
    s.arrays[txn, "m"] = np.arange(6, dtype="<f8").reshape(2, 3)
    s.pickles[txn, 1] = {"a": (1, 2), "b": {3}}
    s.friends[txn, 1] = {2, 3, 5}
    s.pairs[txn, ("left", "right")] = uuid.UUID(int=7)
    s.packed[txn, 1] = {"payload": "x" * 200}
    s.links[txn, uuid.UUID(int=1)] = uuid.UUID(int=2)
db.close()
