"""coder: code interview transcripts against a codebook, from the terminal."""

__version__ = "0.1.0"
