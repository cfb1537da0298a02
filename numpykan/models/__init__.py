"""Layers and models: base functions, the KAN layer, KAN, MLP, what they share, checkpoints."""
