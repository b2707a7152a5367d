"""Training dynamics: per-example records, the trainers that produce them, the callback."""
