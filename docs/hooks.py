"""MkDocs hooks: pages generated from the code and data at build time.

- ``reference/cli.md`` from the argparse parser (``onnxhub.cli.reference``);
- ``conformance/index.md`` from the committed JSON reports in ``docs/conformance/``.
"""

from pathlib import Path

from mkdocs.structure.files import File


def on_pre_build(config):
    from onnxhub.conformance.scoreboard import main as scoreboard

    folder = Path(config["docs_dir"]) / "conformance"
    scoreboard([str(folder)])  # rewrites index.md from the JSON reports


def on_files(files, config):
    from onnxhub.cli.reference import markdown

    files.append(File.generated(config, "reference/cli.md", content=markdown()))
    return files
