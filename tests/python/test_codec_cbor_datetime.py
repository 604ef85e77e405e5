"""CBOR datetimes and UUIDs: the bytes equal cbor2's for every aware
datetime, whichever path writes them (fixed offsets are formatted in C,
other tzinfo kinds through isoformat()), and UUIDs of every width."""
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import cbor2
from hypothesis import given, settings, strategies as st

from zlmdb.codec import cbor_dumps, cbor_loads

offsets = st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59, seconds=-59),
                        max_value=dt.timedelta(hours=23, minutes=59, seconds=59))
fixed = offsets.map(dt.timezone)
zones = st.sampled_from([ZoneInfo("Europe/Berlin"), ZoneInfo("Europe/Amsterdam"),
                         ZoneInfo("Africa/Monrovia"), ZoneInfo("Asia/Kolkata"), ZoneInfo("UTC")])


@settings(max_examples=2000, deadline=None)
@given(st.datetimes(timezones=st.one_of(fixed, zones, st.just(dt.timezone.utc))))
def test_aware_datetimes_encode_as_cbor2_does(d):
    assert cbor_dumps(d) == cbor2.dumps(d)
    assert cbor_dumps({"at": [d]}) == cbor2.dumps({"at": [d]})


def test_zero_offsets_are_written_z_even_with_seconds():
    # cbor2 replaces "+00:00" by "Z" in isoformat(): "+00:00:07" becomes "Z:07".
    for tz, text in [(dt.timezone.utc, "Z"), (dt.timezone(dt.timedelta(0)), "Z"),
                     (dt.timezone(dt.timedelta(seconds=7)), "Z:07"),
                     (dt.timezone(dt.timedelta(microseconds=5)), "Z:00.000005"),
                     (dt.timezone(dt.timedelta(microseconds=-5)), "-00:00:00.000005"),
                     (dt.timezone(dt.timedelta(hours=2)), "+02:00")]:
        d = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=tz)
        assert cbor_dumps(d) == cbor2.dumps(d)
        assert cbor_dumps(d)[-len(text):] == text.encode()


class _Sub(dt.datetime):
    def isoformat(self, *a, **k):          # a subclass keeps its own formatting
        return "2000-01-01T00:00:00+00:00"


def test_a_datetime_subclass_is_formatted_by_its_own_isoformat():
    d = _Sub(2024, 5, 6, tzinfo=dt.timezone.utc)
    assert cbor_dumps(d) == b"\xc0\x742000-01-01T00:00:00Z"


@given(st.integers(min_value=0, max_value=(1 << 128) - 1))
def test_uuids_of_every_width(n):
    u = uuid.UUID(int=n)
    assert cbor_dumps(u) == cbor2.dumps(u)
    assert cbor_loads(cbor_dumps(u)) == u
