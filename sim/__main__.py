"""``python -m sim`` works like ``quietcar``."""
from .cli import main

main(prog_name="quietcar")
