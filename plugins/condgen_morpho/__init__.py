"""Morpho-MNIST: stroke thickness, slant, width, height and area measured from grayscale digit images.

``condgen_morpho.measure`` measures any stack of grayscale images (numpy,
scipy and scikit-image only); ``condgen_morpho.cache`` keeps the
measurements beside the data, keyed by the images' hash and the measurement
version.
"""
