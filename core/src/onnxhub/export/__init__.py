"""The exporter kit: what every framework -> ONNX exporter shares.

- ``Exporter`` (``exporter.py``): ``export`` built on ``export_streaming``, the opset
  window (``min_opset``/``max_opset``), ``check_supported`` (every unknown op at once),
  ``with_initializers``;
- ``GraphBuilder`` (``builder.py``): fresh names, constants, nodes, shapes, the
  opset-aware forms of ``forms.py`` and ``finish`` (model + streamed weights);
- ``parse_shapes`` (``shapes.py``): the ``--input-shape`` option.

The names load lazily: ``builder`` imports onnx and numpy, ``shapes`` and ``exporter`` do not.
"""

_WHERE = {"GraphBuilder": "builder", "Exporter": "exporter", "check_supported": "exporter",
          "with_initializers": "exporter", "parse_shapes": "shapes"}


def __getattr__(name):
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_WHERE)
