"""The operator table: one module per family, each converter registered by decorator.

Importing this package registers every op function on ``convert.TABLE``.
"""

from . import elementwise, nn, sequence, tensor  # noqa: F401
