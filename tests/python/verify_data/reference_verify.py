"""Run py-lmdb 3.0's own verifier over files, for the differential tests.

    python reference_verify.py LISTFILE

LISTFILE holds one path per line (directories are environments, files are
single-file data files).  Prints one JSON object: path -> {"errors": [...]}
or {"verify_error": "..."} or {"os_error": "..."}.  Run by
tests/python/pylmdb3_env.py.
"""
import json
import sys

from lmdb import verify


def main(listfile):
    out = {}
    with open(listfile) as fp:
        paths = [line.rstrip("\n") for line in fp if line.strip()]
    for path in paths:
        try:
            out[path] = {"errors": verify.verify(path)}
        except verify.VerifyError as exc:
            out[path] = {"verify_error": str(exc)}
        except OSError as exc:
            out[path] = {"os_error": type(exc).__name__}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
