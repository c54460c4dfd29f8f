"""Readers that turn each supported data set into encoded records (see `..records`)."""
