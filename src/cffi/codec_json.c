/* codec_json: C of the CFFI module for python/zlmdb/_cffi/codec_json.py. */
