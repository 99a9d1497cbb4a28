"""Generator of the project's own tiny test models (see tests/data/make_models.py).

`tests/data/make_models.py` uses this package; bench/standin.py shares its gpt-oss header
keys (`gguf_models.add_gptoss_hparams`). torch is imported lazily, by the training
step alone; everything else needs only the standard library, numpy and gguf.
"""
