"""Evaluation: does a pruning method keep the right rows? Methods, noise, downstream models, results."""
