"""mesaopt: a JAX experiment suite for learned optimization (mesa-optimization).

The layers, contracts and the legend of dimension letters used in array names are in
docs/architecture.md.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mesaopt")
except PackageNotFoundError:  # run from a source tree without installing
    __version__ = "0+unknown"
