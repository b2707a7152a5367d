"""Evaluation: does a pruning method keep the right rows? Methods, noise, downstream models, results.

:mod:`~dprune.evaluation.methods` pairs score columns with pruners,
:mod:`~dprune.evaluation.runner` trains a downstream model on each selection and tests
it, :mod:`~dprune.evaluation.results` writes the tables and the plot, and
:mod:`~dprune.evaluation.noise` flips labels to test how well pruning finds them.
"""
