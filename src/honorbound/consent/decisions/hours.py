"""Calling hours and call caps as tables: per area code (200-999) and per state index, so a
campaign list of a million numbers asks the contact rules once per (minute, area code)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from honorbound.consent import calling_hours
from honorbound.consent.decisions.model import STATES
from honorbound.consent.rules import ContactRules

CapTable = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


class HoursTables:
    """The contact rules' calling hours and caps, precomputed; one per engine."""

    def __init__(self, rules: ContactRules) -> None:
        self.rules = rules
        self._area_tables: dict[tuple[int, str], npt.NDArray[np.bool_]] = {}
        self.area_caps = self._cap_table()
        self.state_caps = self._state_cap_table()

    def _cap_table(self) -> CapTable:
        """Call cap and window (seconds) per area code; 0: no cap."""
        caps = np.zeros(1000, dtype=np.int64)
        windows = np.zeros(1000, dtype=np.int64)
        for npa in range(200, 1000):
            cap = calling_hours.cap_for(
                self.rules, calling_hours.states_for_area_code(f"{npa:03d}")
            )
            if cap is not None:
                caps[npa], windows[npa] = cap[0], int(cap[1].total_seconds())
        return caps, windows

    def _state_cap_table(self) -> CapTable:
        """Call cap and window per state index (see STATES; 0, unknown, has none)."""
        caps = np.zeros(len(STATES), dtype=np.int64)
        windows = np.zeros(len(STATES), dtype=np.int64)
        for k, state in enumerate(STATES):
            cap = calling_hours.cap_for(self.rules, frozenset({state})) if state else None
            if cap is not None:
                caps[k], windows[k] = cap[0], int(cap[1].total_seconds())
        return caps, windows

    def area_open(self, at: int, channel: str) -> npt.NDArray[np.bool_]:
        """Allowed-now per area code for one instant (cached by the minute)."""
        minute = at - at % 60
        cached = self._area_tables.get((minute, channel))
        if cached is not None:
            return cached
        when = dt.datetime.fromtimestamp(minute, dt.UTC)
        table = np.zeros(1000, dtype=bool)
        for npa in range(200, 1000):
            code = f"{npa:03d}"
            table[npa] = calling_hours.allowed_at(
                self.rules,
                when,
                calling_hours.zones_for_area_code(code),
                calling_hours.states_for_area_code(code),
                channel,
            )
        if len(self._area_tables) > 256:
            self._area_tables.clear()
        self._area_tables[(minute, channel)] = table
        return table

    def state_open(self, minute: int, state: str, channel: str) -> bool:
        return calling_hours.allowed_at(
            self.rules,
            dt.datetime.fromtimestamp(minute, dt.UTC),
            calling_hours.zones_for_state(state),
            frozenset({state}),
            channel,
        )

    def open_at(self, minute: int, npa: str, channel: str) -> bool:
        return calling_hours.allowed_at(
            self.rules,
            dt.datetime.fromtimestamp(minute, dt.UTC),
            calling_hours.zones_for_area_code(npa),
            calling_hours.states_for_area_code(npa),
            channel,
        )
