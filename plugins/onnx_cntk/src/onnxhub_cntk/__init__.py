"""onnxhub plugin for Microsoft CNTK 2.7: read `.model` files without CNTK."""
