/* codec_key: C of the CFFI module for python/zlmdb/_cffi/codec_key.py. */
