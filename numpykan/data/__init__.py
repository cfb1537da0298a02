"""Data: toy functions and ``create_dataset``, MNIST from IDX files, pictures as coordinate datasets."""
