"""Built-in execution backends and the small base every onnxhub backend can share."""
