"""Read-only search over a library: query parsing, embedding, FAISS lookup, filters, ranking."""
