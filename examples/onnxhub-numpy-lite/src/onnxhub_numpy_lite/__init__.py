"""Example third-party onnxhub plugin: a pure-numpy backend for about 20 common ops."""
