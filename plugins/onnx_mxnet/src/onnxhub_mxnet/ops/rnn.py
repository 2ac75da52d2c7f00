"""Recurrent layers (MXNet's fused ``RNN`` op)."""
