"""minilm: the neural language models that taught computers to turn words into vectors, in NumPy."""

__version__ = "0.1.0"
