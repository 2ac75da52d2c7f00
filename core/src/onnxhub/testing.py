"""Helpers for plugin authors' tests.

```python
from onnxhub.testing import assert_matches_reference
assert_matches_reference("myrt", "model.onnx", rtol=1e-4, atol=1e-5)
```
"""

from __future__ import annotations

import numpy as np


def random_inputs(model, seed: int = 0, dims: dict[str, int] | None = None) -> dict:
    """Inputs made from the model's declared types and shapes (dynamic dims from ``dims``, else 1)."""
    from .inputs import random_inputs as _random
    from .modelio import load_model

    return _random(load_model(model), dims or {}, seed=seed)


def assert_matches_reference(backend: str, model, inputs: dict | None = None, *, rtol: float = 1e-4,
                             atol: float = 1e-5, device: str = "cpu", seed: int = 0) -> dict:
    """Run ``model`` on ``backend`` and on the reference backend; assert the outputs agree.

    Returns ``{output_name: array}`` from ``backend``. Inputs default to
    ``random_inputs(model, seed)``.
    """
    from . import api
    from .modelio import load_model

    proto = load_model(model)
    feeds = inputs if inputs is not None else random_inputs(proto, seed)
    got = api.run(proto, dict(feeds), backend=backend, device=device)
    want = api.run(proto, dict(feeds), backend="reference")
    for name, expected in want.items():
        actual = np.asarray(got[name])
        expected = np.asarray(expected)
        assert actual.shape == expected.shape, f"output {name!r}: shape {actual.shape} != reference {expected.shape}"
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol,
                                   err_msg=f"output {name!r} of backend {backend!r} differs from reference")
    return got
