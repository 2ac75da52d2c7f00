"""The whole plugin contract of onnxhub.

A plugin is a module named by an entry point in the group ``onnxhub``:

```toml
# pyproject.toml of your distribution
[project.entry-points.onnxhub]
myframework = "onnxhub_myframework.plugin"
```

and implements any of the hooks below with the ``onnxhub.hookimpl`` marker:

```python
from onnxhub import hookimpl, BackendSpec

@hookimpl
def register_backends(register):
    register(BackendSpec(name="myframework", summary="...",
                         target="onnxhub_myframework.backend:MyBackend"))
```

Rules that apply to every hook:

- The plugin module, and the hooks themselves, import nothing but ``onnxhub``
  (and the standard library). Frameworks, onnx and numpy are imported only by the
  ``target`` objects, when an adapter is actually used. Listing, discovery and
  ``--help`` must stay fast and work when the framework is absent.
- Hooks are called once per process, the first time the registry is needed, one
  plugin at a time. If a hook raises, the plugin is recorded as broken (shown by
  ``onnxhub plugins``) and none of what it registered is kept; other plugins keep
  working.
- Names are global: registering a name another plugin already registered is an
  error naming both plugins, and the later plugin is recorded as broken.
- ``register`` validates the spec and raises ``TypeError``/``ValueError`` for
  anything malformed.
"""

import pluggy

hookspec = pluggy.HookspecMarker("onnxhub")


@hookspec
def register_backends(register):
    """Register execution backends.

    Called at discovery. ``BackendSpec.target`` must name an
    ``onnx.backend.base.Backend``-compatible class: ``prepare(model, device="CPU",
    **options) -> BackendRep`` whose ``run(inputs)`` takes a list of arrays in
    graph-input order (or a dict by name) and returns the outputs in graph-output
    order; ``supports_device(device) -> bool``; ``run_model(model, inputs, device)``.
    Devices arrive as ``"CPU"``/``"CUDA"`` from ONNX's test suite and in lower case
    from onnxhub; accept both. ``prepare`` raises ``onnxhub.errors.UnsupportedModel``
    for IR/opset versions it cannot take and ``UnsupportedOperator`` for ops it lacks.
    ``BackendSpec.devices`` should list only devices usable on this machine; find
    them without importing the framework (files, ``importlib.util.find_spec``).

    :param register: call ``register(BackendSpec(...))`` once per backend.
    :return: nothing.
    """


@hookspec
def register_importers(register):
    """Register importers (ONNX model -> framework files).

    Called at discovery. The target's ``import_model(model, output_dir, **options)``
    receives a checked ``onnx.ModelProto`` (external data already loaded safely) and
    an empty staging folder; it writes the framework's files there and returns their
    paths. onnxhub moves them into place atomically, so a failure leaves nothing.
    Options arrive only when the user gives them: ``input_shapes`` (``{name: [dims]}``,
    from ``--input-shape``, already parsed and checked) and any ``--option KEY=VALUE``
    (the value JSON-decoded when it parses: ``3``, ``true``, ``"text"``). Raise
    ``UsageError`` for an option you do not know, ``UnsupportedOperator`` for ops
    outside your table (all of them in one error), ``UnsupportedModel`` for a type or
    opset the framework cannot represent.

    Running the written files (``onnxhub convert --verify``): a target may also offer
    ``run_files(files, inputs) -> [array, ...]``. ``files`` are the paths
    ``import_model`` returned (moved into place), ``inputs`` maps the ONNX graph's
    input names to numpy arrays; it loads the files with the real framework (in its
    runtime worker when the importer names a ``runtime``) exactly as a user would, runs
    them once and returns the outputs in the ONNX graph's output order (or a dict by
    output name). ``onnxhub convert --verify`` compares them with the source
    framework's ``run_files`` on the same inputs. Raise ``RuntimeNotInstalled`` when
    the framework's runtime is missing.

    :param register: call ``register(ImporterSpec(...))`` once per importer.
    :return: nothing.
    """


@hookspec
def register_exporters(register):
    """Register exporters (framework files -> ONNX model).

    Called at discovery. The target's ``export(files, opset=17, **options)`` gets
    the user's file paths and returns an ``onnx.ModelProto`` that passes
    ``onnx.checker`` and ONNX's strict shape inference; onnxhub checks both, and that
    every ``--input-shape`` name is a graph input (``modelio.check_exported``), and
    writes it atomically. Exporters must work
    without the framework installed. Raise ``onnxhub.errors.InvalidModel`` for
    corrupt input, ``UnsupportedOperator`` for ops outside the table (all of them in
    one error) and ``UsageError`` for an opset outside the exporter's window or a bad
    option. ``ExporterSpec.patterns`` lets ``onnxhub export`` pick the exporter by
    file name. Options arrive only when the user gives them: ``input_shapes``
    (``{name: [dims]}`` from ``--input-shape``, parsed and checked once by the CLI; a
    Python caller may pass the CLI's ``["NAME=1,3,224,224"]`` form too, which
    ``onnxhub.export.parse_shapes`` accepts), ``static_batch`` (``True``: keep the
    first dimension fixed) and any ``--option KEY=VALUE`` (JSON-decoded value).

    Streaming export: a target may also offer ``export_streaming(files, opset,
    **options) -> (model, [(name, array)])``, the model without initializers plus
    the weights as numpy arrays in graph order (views on the framework's files are
    fine: nothing is copied before it is written). ``onnxhub export`` then checks the
    graph with every weight declared as a typed graph input (no data copied;
    ``modelio.check_exported``) and writes the model followed by one initializer at a
    time (``modelio.save_streaming``; protobuf merges the pieces), so peak memory is
    the model structure plus one tensor rather than the whole model twice. Graph
    outputs must carry their types, as ``export`` would give them. ``export_model()``
    and ``convert`` still call ``export``. ``onnxhub.export.Exporter`` gives both
    methods from one ``build``, and ``GraphBuilder.finish`` returns this pair.

    Running the source files (``onnxhub convert --verify``): a target may also offer
    ``run_files(files, inputs) -> [array, ...]``, the user's files loaded and run once
    by the real framework (in its runtime worker: exporting never needs the framework,
    running does), ``inputs`` mapping the exported ONNX graph's input names to numpy
    arrays, outputs returned in the exported graph's output order (or a dict by output
    name). ``onnxhub convert --verify`` runs it on seeded random inputs and compares
    with the target framework's run of the converted files.

    Inventories (``onnxhub convert FOLDER``): files matching ``patterns`` are grouped
    into models by the target's optional ``group_files(paths) -> [[path, ...], ...]``
    (one list per model, the files ``export`` takes; files in no list are ignored).
    Without it, files in one folder whose ``*`` in a pattern matched the same text are
    one model (``a/init_net.pb`` with ``a/predict_net.pb``; ``x.model`` alone).

    :param register: call ``register(ExporterSpec(...))`` once per exporter.
    :return: nothing.
    """


@hookspec
def register_runtimes(register):
    """Register isolated runtimes (managed virtual environments) a plugin needs.

    Called at discovery. ``onnxhub runtime install NAME`` builds the environment from
    the spec; backends and converters that name the runtime run their framework in
    a worker process inside it (see ``onnxhub.runtime``).

    :param register: call ``register(RuntimeSpec(...))`` once per runtime.
    :return: nothing.
    """
