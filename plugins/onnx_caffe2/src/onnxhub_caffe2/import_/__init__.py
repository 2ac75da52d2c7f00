"""ONNX -> Caffe2 NetDefs (init_net.pb + predict_net.pb), in pure Python."""
