"""Melody sources turned into a frame-level target F0 on the front-end grid."""
