"""Backbone trunks returning the four detection sources at strides 8, 16, 32, 64."""
