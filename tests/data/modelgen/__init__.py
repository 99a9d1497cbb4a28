"""Generator of the project's own tiny test models (see tests/data/make_models.py).

Only `tests/data/make_models.py` uses this package. torch is imported lazily, by the training
step alone; everything else needs only the standard library, numpy and gguf.
"""
