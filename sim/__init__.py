"""quietcar: a discrete-event simulator of railway quiet-carriage booking policy."""
__version__ = "0.1.0"
