"""One past e-mail campaign planted in the demo logs, with a known effect (issue 15's ground truth).

On the send day (the middle day of the span) every shopper with an event in the
:data:`LOOKBACK_DAYS` days before is sent the campaign, except a control group chosen by the
same hash as the warehouse's holdout (:func:`amazing_analytics.ml.decisions.experiments.
holdout_bucket`, share :data:`HOLDOUT_SHARE`). The simulated behaviour is that of treated
shoppers; each control shopper, with probability ``1 - 1 / CONVERSION_MULTIPLIER``, loses every
purchase in the :data:`WINDOW_DAYS` days from the send. So in expectation the treated convert
(and spend) exactly ``CONVERSION_MULTIPLIER`` times as often as the control group in the window,
whatever their baseline. The sends go to ``out/campaign_sends.csv`` (the warehouse reads them
through var campaign_sends_path) with a segment known at send time (bought before or not), and
the truth to ``out/ground_truth/campaign_uplift.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from amazing_analytics.ml.decisions.experiments import holdout_bucket

if TYPE_CHECKING:
    from amazing_analytics.generate.model import ShopModel
    from amazing_analytics.generate.month import MonthEvents

CAMPAIGN_ID = "demo_recent_visitors"
CAMPAIGN_TYPE = "recent_visitors"
#: Treated shoppers convert this many times as often as the control group in the window.
CONVERSION_MULTIPLIER = 1.4
#: Control share of the planted test.
HOLDOUT_SHARE = 0.2
#: The effect lasts this many days from the send day (the dbt var campaign_results_window_days).
WINDOW_DAYS = 14
#: Sent to shoppers with an event in this many days before the send day.
LOOKBACK_DAYS = 30
_PURCHASE = 3
#: The segment recorded with each send (known before it: bought anything before the send day).
SEGMENT_BUYERS, SEGMENT_NON_BUYERS = "Bought before", "Never bought before"


class PlantedCampaign:
    """Tracks who was active before the send and thins the control group's purchases after it."""

    def __init__(self, model: ShopModel, rng: np.random.Generator) -> None:
        calendar = model.calendar
        self.active = calendar.n_days >= LOOKBACK_DAYS + 2 * WINDOW_DAYS
        day = calendar.n_days // 2
        self.send_date = calendar.days[day]
        self.send_time = int(calendar.day_epoch[day])
        self.window_end = self.send_time + WINDOW_DAYS * 86_400
        self.user_ids = model.users.user_id
        self.last_before = np.full(model.users.size, -1, dtype=np.int64)
        self.bought_before = np.zeros(model.users.size, dtype=bool)
        self.rng = rng
        self.sent: np.ndarray | None = None  # internal user indexes, sorted by user_id
        self.control: np.ndarray | None = None  # bool per sent user
        self.thinned = np.zeros(model.users.size, dtype=bool)

    def apply(self, events: MonthEvents) -> MonthEvents:
        """Record activity before the send, decide the groups once, drop thinned purchases."""
        if not self.active:
            return events
        before = events.time < self.send_time
        if before.any():
            np.maximum.at(self.last_before, events.user[before], events.time[before])
            self.bought_before[events.user[before & (events.event_type == _PURCHASE)]] = True
        if self.sent is None and (events.time >= self.send_time).any():
            self._assign()
        if self.sent is None:
            return events
        drop = (
            (events.event_type == _PURCHASE)
            & (events.time >= self.send_time)
            & (events.time < self.window_end)
            & self.thinned[events.user]
        )
        return events.take(~drop) if drop.any() else events

    def _assign(self) -> None:
        recent = self.last_before >= self.send_time - LOOKBACK_DAYS * 86_400
        sent = np.flatnonzero(recent)
        sent = sent[np.argsort(self.user_ids[sent])]
        buckets = np.array([holdout_bucket(int(self.user_ids[i]), CAMPAIGN_ID) for i in sent])
        control = buckets < HOLDOUT_SHARE
        lose = self.rng.random(sent.size) < 1.0 - 1.0 / CONVERSION_MULTIPLIER
        self.thinned[sent[control & lose]] = True
        self.sent, self.control = sent, control

    def write(self, sends_path: Path, truth_path: Path) -> None:
        """``campaign_sends.csv`` (header only without a campaign) and ``campaign_uplift.csv``."""
        lines = ["campaign_id,campaign_type,send_date,user_id,group_name,segment_name"]
        treated = controls = 0
        if self.sent is not None and self.control is not None:
            for index, is_control in zip(self.sent.tolist(), self.control.tolist(), strict=True):
                group = "control" if is_control else "treatment"
                segment = SEGMENT_BUYERS if self.bought_before[index] else SEGMENT_NON_BUYERS
                lines.append(
                    f"{CAMPAIGN_ID},{CAMPAIGN_TYPE},{self.send_date},{self.user_ids[index]},"
                    f"{group},{segment}"
                )
            controls = int(self.control.sum())
            treated = int(self.control.size - controls)
        sends_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        truth = [
            "campaign_id,send_date,window_days,holdout_share,conversion_multiplier,"
            "treatment_users,control_users"
        ]
        if self.sent is not None:
            truth.append(
                f"{CAMPAIGN_ID},{self.send_date},{WINDOW_DAYS},{HOLDOUT_SHARE},"
                f"{CONVERSION_MULTIPLIER},{treated},{controls}"
            )
        truth_path.write_text("\n".join(truth) + "\n", encoding="utf-8")
