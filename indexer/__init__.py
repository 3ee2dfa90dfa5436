"""Owns the library on disk: scanning, decoding, the SQLite catalog, encoders and the FAISS index.

Nothing outside this package writes to a library.
"""
