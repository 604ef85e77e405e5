"""``python -m zlmdb.lmdb``: the LMDB command-line tool (see tool.py)."""
import sys

from zlmdb.lmdb import tool

if __name__ == "__main__":
    sys.exit(tool.main())
