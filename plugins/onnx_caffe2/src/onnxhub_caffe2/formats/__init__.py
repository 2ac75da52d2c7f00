"""Caffe2 file formats, read without Caffe2: ``netdef`` (NetDef protobufs, binary and text)."""
