"""Training: losses, the edge regularizer, optimizers (SGD, Adam, AdamW, L-BFGS), the fit loop, gradient checks."""
