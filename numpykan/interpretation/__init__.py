"""Interpretation: the symbolic library and fits, formula edges in a network, plots."""
