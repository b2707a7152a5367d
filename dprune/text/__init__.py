"""Text: normalization and transformer embeddings."""
