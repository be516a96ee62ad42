"""Every text the pages show has a Japanese translation, and the formats a shop expects."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from segmentry.language.catalog import ATTRIBUTES, FUNCTIONS
from segmentry.web import messages
from segmentry.web.format import Formatter
from segmentry.web.routes.builder import PICKER_NAMES

WEB = Path(messages.__file__).parent
# Ids used with a variable: KPI keys, run statuses, picker attributes, chart titles, login error.
DYNAMIC = {"customers", "repeat_rate", "ltv", "aov", "revenue_30d", "running", "succeeded",
           "failed", "Revenue per day", "Wrong email or password.", *PICKER_NAMES}


def _used_ids() -> set[str]:
    pattern = re.compile(r"""_\((?:"([^"]+)"|'([^']+)')\)""")
    found: set[str] = set(DYNAMIC)
    for path in [*WEB.glob("templates/*.html"), WEB / "charts.py"]:
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    return found


def test_every_message_id_has_japanese() -> None:
    missing = sorted(_used_ids() - set(messages.JA))
    assert missing == []


def test_no_unused_entries() -> None:
    assert sorted(set(messages.JA) - _used_ids()) == []
    assert sorted(set(messages.EN) - _used_ids()) == []


def test_picker_names_exist_in_the_language() -> None:
    arguments = {g for f in FUNCTIONS.values() for g in f.arguments}
    assert set(PICKER_NAMES) == set(ATTRIBUTES) | set(FUNCTIONS) | arguments


def test_formats() -> None:
    ja = Formatter("ja", "JPY", "Asia/Tokyo")
    assert ja.money(Decimal("1234567.5")) == "¥1,234,568"
    assert ja.money(Decimal("-300")) == "-¥300"
    assert ja.percent(Decimal("0.12345")) == "12.3%"
    assert ja.date(dt.date(2025, 1, 9)) == "2025年1月9日"
    assert Formatter("en", "JPY", "Asia/Tokyo").date(dt.date(2025, 1, 9)) == "9 Jan 2025"
    # 2025-01-09 20:30 UTC is the 10th in Tokyo.
    assert ja.timestamp(dt.datetime(2025, 1, 9, 20, 30)) == "2025-01-10 05:30"
    assert ja.money(None) == ja.percent(None) == "–"
