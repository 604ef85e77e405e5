"""The ORM schema and checks shared by the ORM reliability systems.

An `Accounts` table (MapOidCbor) carries two unique indexes kept by the ORM:
`by_email` (MapStringOid, nullable) and `by_handle` (MapStringOid).  A
`Journal` table (MapOidCbor, no index) and a `Meta` map (MapStringOid, the commit marker) sit
beside it.  `index_problems()` is the one consistency check: every index entry
names an existing record whose field has that value, and every record has its
index entries.
"""
import zlmdb

ACCOUNTS_OID = "3b0c7a52-6c0e-4f0d-9d43-8f3f4f0a1c01"
JOURNAL_OID = "3b0c7a52-6c0e-4f0d-9d43-8f3f4f0a1c02"
META_OID = "3b0c7a52-6c0e-4f0d-9d43-8f3f4f0a1c03"
EMAIL_SLOT = 200
HANDLE_SLOT = 201


class Account:
    __slots__ = ("oid", "email", "handle", "balance", "n")

    def __init__(self, oid, email, handle, balance, n):
        self.oid, self.email, self.handle, self.balance, self.n = oid, email, handle, balance, n

    def marshal(self):
        return {"oid": self.oid, "email": self.email, "handle": self.handle,
                "balance": self.balance, "n": self.n}

    @staticmethod
    def parse(d):
        return Account(d["oid"], d["email"], d["handle"], d["balance"], d["n"])

    def as_tuple(self):
        return (self.oid, self.email, self.handle, self.balance, self.n)


@zlmdb.table(ACCOUNTS_OID, marshal=Account.marshal, parse=Account.parse)
class Accounts(zlmdb.MapOidCbor):
    pass


@zlmdb.table(JOURNAL_OID, marshal=dict, parse=dict)
class Journal(zlmdb.MapOidCbor):
    pass


@zlmdb.table(META_OID)
class Meta(zlmdb.MapStringOid):
    pass


class Handles:
    """The open tables of one Database."""

    def __init__(self, db):
        self.db = db
        self.accounts = db.attach_table(Accounts)
        self.journal = db.attach_table(Journal)
        self.meta = db.attach_table(Meta)
        self.by_email = zlmdb.MapStringOid(EMAIL_SLOT)
        self.by_handle = zlmdb.MapStringOid(HANDLE_SLOT)
        self.accounts.attach_index("by_email", self.by_email, lambda a: a.email, nullable=True)
        self.accounts.attach_index("by_handle", self.by_handle, lambda a: a.handle)


def open_db(path, sync=True, growth=False, maxsize=64 << 20, readonly=False):
    kw = {"maxsize": maxsize, "sync": sync, "readonly": readonly}
    if growth:
        kw.update(growth=2.0, initial_size=256 << 10)
    return Handles(zlmdb.Database(path, **kw))


def index_problems(h, txn, limit=5):
    """Disagreements between Accounts and its two indexes, at most `limit`."""
    problems = []
    records = {oid: acc for oid, acc in h.accounts.select(txn)}
    for name, imap, field in (("by_email", h.by_email, "email"),
                              ("by_handle", h.by_handle, "handle")):
        entries = dict(imap.select(txn))
        for ik, oid in entries.items():
            acc = records.get(oid)
            if acc is None:
                problems.append("%s[%r] -> %r: no such record" % (name, ik, oid))
            elif getattr(acc, field) != ik:
                problems.append("%s[%r] -> %r whose %s is %r" % (name, ik, oid, field,
                                                                  getattr(acc, field)))
        for oid, acc in records.items():
            v = getattr(acc, field)
            if v is not None and entries.get(v) != oid:
                problems.append("record %r has no %s entry for %r" % (oid, name, v))
        if imap.count(txn) != len(entries):
            problems.append("%s: count() %d != scanned %d" % (name, imap.count(txn),
                                                              len(entries)))
    if h.accounts.count(txn) != len(records):
        problems.append("Accounts: count() %d != scanned %d" % (h.accounts.count(txn),
                                                                len(records)))
    return problems[:limit]


def snapshot(h, txn):
    """Everything the ORM can see, as plain comparable values."""
    return {
        "accounts": {oid: acc.as_tuple() for oid, acc in h.accounts.select(txn)},
        "by_email": dict(h.by_email.select(txn)),
        "by_handle": dict(h.by_handle.select(txn)),
        "journal": dict(h.journal.select(txn)),
        "meta": dict(h.meta.select(txn)),
    }
