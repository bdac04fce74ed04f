"""What the classroom view shows, in words and colours: seat codes, palette, glyphs, the
metrics on the panels, station and seat names, and how numbers are written."""
from __future__ import annotations

from ..model.onboard import ENDERS
from ..model.params import KINDS, SEATS_PER_ROW
from ..present import labels

# --- what is shown, in words and colours ---------------------------------------------------
EMPTY, OPTED_IN, OVERFLOW, INFANT = range(4)
OCCUPANTS: tuple[str, ...] = ("empty seat", "chose quiet", "did not choose it", "family with a baby")
SEAT_LETTERS = "ABCDF"  # 3 + 2 across the aisle, as on Chinese second-class seat maps

# Okabe-Ito palette (readable with every common colour-vision deficiency); kinds are told
# apart by their glyph, never by colour alone.
OCCUPANT_COLOURS = ("#f4f4f4", "#56b4e9", "#e69f00", "#cc79a7")
NOISE = "#d55e00"
STAFF = "#0072b2"
KIND_GLYPH = {"call": "\u260e", "talk": "\u263a", "media": "\u266b", "child": "\u2639"}
# the kinds and enders in English words, from the one table of labels (the lesson page says the same)
KIND_WORDS = {k: en for k, (en, _) in labels.KIND_WORDS.items()}
ENDER_WORDS = {w: en for w, (en, _) in labels.ENDER_WORDS.items()}
ENDER_COLOURS = {"self": "#999999", "peer": "#009e73", "staff": STAFF, "alighting": "#f0e442"}
STATION_NAMES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# The metrics the panels show, by their stable output names (as the CLI reports them).
SHOWN: tuple[str, ...] = ("violations_per_100_pax_h", "noisy_time_share", "disturbed_pax_min_per_pax_h",
                          *(f"ended_by.{w}" for w in ENDERS), *(f"violation_mix.{k}" for k in KINDS))
LIVE_KEYS: tuple[str, ...] = ("starts", *(f"starts_{k}" for k in KINDS), *(f"ended_{w}" for w in ENDERS),
                              "ended_count", "ended_min", "noisy_min", "car_min", "pax_min",
                              "disturbed_pax_min", "noisy_starts", "complaints", "interventions")


def station(k: int) -> str:
    """The name shown for stop k (A, B, C, ...; the model's stops have no names)."""
    return STATION_NAMES[k] if k < len(STATION_NAMES) else f"S{k}"


def seat_label(seat: int) -> str:
    """Seat number as on a ticket: row (from 1) and letter, e.g. seat 32 -> '7C'."""
    return f"{seat // SEATS_PER_ROW + 1}{SEAT_LETTERS[seat % SEATS_PER_ROW]}"


def _pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.0f} %"


def _fmt(x: float, digits: int = 3) -> str:
    return "-" if x != x else f"{x:.{digits}g}"
