"""Controlled renderings of real images used as synthetic ground truth.

:mod:`anatscore.synth.film` turns a native image into a photograph of a film on a light box,
a table or a monitor, and tiles slices into a multi-panel grid: the two layouts DALL-E 2 produced
when asked for a CT or MRI (Adams et al., 2022). The layout detectors are validated on these, and
``anatscore demo`` can use them to make its photo-of-film example.
"""
