"""Weights-bearing networks shared by checks and feature extractors.

Each module builds one family of networks, applies its documented preprocessing contract, and
loads weights only through :mod:`anatscore.weights`. Tests build the same architectures with
random weights.
"""
