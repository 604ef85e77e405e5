"""writer.py DIR STOPFILE: add users (with their index entries) in
transactions of 10 until STOPFILE exists; prints the number written."""
import os
import sys

import zlmdb
import cli_schema as cs

path, stop = sys.argv[1], sys.argv[2]
db = zlmdb.Database(path, maxsize=256 << 20)
s = cs.Schema.attach(db)
oid = 1000
ready = stop + ".ready"
while not os.path.exists(stop):
    with db.begin(write=True) as txn:
        for _ in range(10):
            oid += 1
            s.users[txn, oid] = {"oid": oid, "name": "w%d" % oid, "realm": oid % 3,
                                 "avatar": b"", "score": 0.0}
    if not os.path.exists(ready):
        open(ready, "w").close()
db.close()
print(oid - 1000)
