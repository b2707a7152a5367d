"""Language models: the KenLM tools, training a model and loading it."""
