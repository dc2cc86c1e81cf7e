"""`shipload demo`: a bundled chess.com-shaped sample, served by a local API, loaded by the chess source."""
