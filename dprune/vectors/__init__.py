"""Vectors: k-means clustering over embeddings."""
