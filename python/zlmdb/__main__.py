"""``python -m zlmdb``: the zlmdb command (see zlmdb._cli and docs/cli.md)."""
import sys

from zlmdb._cli import main

sys.exit(main())
