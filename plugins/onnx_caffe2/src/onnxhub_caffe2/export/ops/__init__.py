"""Op functions, one module per family; importing the package registers them on ``TABLE``."""

from . import elementwise, nn, tensor  # noqa: F401
