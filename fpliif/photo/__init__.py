"""Parsing photos: detect faces, crop them as the training crops look, parse, paste back."""
