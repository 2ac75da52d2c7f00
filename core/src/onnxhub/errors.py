"""One error hierarchy for everything onnxhub raises on purpose.

The command line turns any ``OnnxHubError`` into a one-line message and exit code 2
(``CheckFailed``: exit 1); anything else is a bug and shows a traceback.
"""


class OnnxHubError(Exception):
    """Base of every error onnxhub raises on purpose."""

    exit_code = 2


class UsageError(OnnxHubError):
    """The command or call was given arguments that cannot work."""


class PluginError(OnnxHubError):
    """A plugin failed to load, registered something invalid, or is not installed."""


class InvalidModel(OnnxHubError):
    """An input file is missing, corrupt, truncated or fails ``onnx.checker``."""


class UnsupportedModel(OnnxHubError):
    """The model's IR version or opset is newer than the backend accepts."""


class UnsupportedOperator(OnnxHubError):
    """A converter or backend has no implementation for an operator."""

    def __init__(self, op_type, *, opset=None, node=None, domain="", where=""):
        self.op_type, self.opset, self.node, self.domain = op_type, opset, node, domain
        qualified = f"{domain}::{op_type}" if domain and domain != "ai.onnx" else op_type
        parts = [f"unsupported operator {qualified}"]
        if opset is not None:
            parts.append(f"at opset {opset}")
        if node:
            parts.append(f"(node {node!r})")
        if where:
            parts.append(f"in {where}")
        super().__init__(" ".join(parts))


class RuntimeNotInstalled(OnnxHubError):
    """A backend or converter needs an isolated runtime that is not installed."""


class WorkerCrashed(OnnxHubError):
    """A runtime worker exited, hung past its timeout, or wrote a malformed frame."""

    def __init__(self, message, stderr_tail=""):
        self.stderr_tail = stderr_tail
        if stderr_tail:
            message = f"{message}; stderr tail: {stderr_tail.strip()[-400:]!r}"
        super().__init__(message)


class CheckFailed(OnnxHubError):
    """A check ran and its result was negative (verify mismatch, pass rate too low)."""

    exit_code = 1
