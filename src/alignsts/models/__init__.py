"""PyTorch modules of the neural engine (install with `pip install alignsts[neural]`)."""
