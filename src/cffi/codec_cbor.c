/* codec_cbor: C of the CFFI module for python/zlmdb/_cffi/codec_cbor.py. */
