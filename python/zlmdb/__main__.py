"""``python -m zlmdb``: the zlmdb command (see zlmdb.cli and docs/cli.md)."""
from zlmdb.cli import main

main(prog_name="zlmdb")
