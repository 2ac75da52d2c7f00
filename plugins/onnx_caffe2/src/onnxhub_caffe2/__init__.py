"""onnxhub plugin for Caffe2: read init_net/predict_net NetDefs without Caffe2."""
