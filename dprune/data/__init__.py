"""Datasets in: loading from examples, files, URLs and the Hub; label mappings."""

from dprune.data.loading import ROW_ID, example_path, list_examples, load_dataset

__all__ = ["ROW_ID", "example_path", "list_examples", "load_dataset"]
