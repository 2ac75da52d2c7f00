"""onnxhub plugin: OpenVINO as an execution backend.

``import openvino`` imports its model converter, which sends a usage event over the
network unless the user opted out in a file under ``~/intel``. onnxhub never phones
home: before anything here imports openvino, ``openvino_telemetry`` is marked
unimportable (``sys.modules`` entry ``None``), so OpenVINO takes its own no-op stub.
``ONNXHUB_OPENVINO_TELEMETRY=1`` leaves OpenVINO's telemetry as OpenVINO ships it.
"""

import os
import sys

if os.environ.get("ONNXHUB_OPENVINO_TELEMETRY", "") in ("", "0"):
    sys.modules.setdefault("openvino_telemetry", None)
