"""surveyor: a retrieval-augmented literature survey engine."""
__version__ = "0.1.0"
