"""The local EventBridge keeps a bounded window of accepted events, not every one it routed."""

from __future__ import annotations

import json

from leasing_cli.local_eventbridge import ACCEPTED_KEPT, LocalEventBridge
from leasing_cli.template import default_template_path, load_template


def test_accepted_events_are_counted_in_full_but_only_the_latest_are_kept() -> None:
    # Given the template's local EventBridge with a sink that ignores deliveries
    bridge = LocalEventBridge(load_template(default_template_path()), sink=lambda _rule, _event: None)
    bus = bridge.buses.pop() if len(bridge.buses) == 1 else sorted(bridge.buses)[0]
    # When far more events than it keeps are put, 10 per call
    total = ACCEPTED_KEPT * 3
    for start in range(0, total, 10):
        entries = [
            {
                "Source": "leasing.test",
                "DetailType": "Probe",
                "Detail": json.dumps({"n": n}),
                "EventBusName": bus,
            }
            for n in range(start, start + 10)
        ]
        assert bridge.put_events({"Entries": entries})["FailedEntryCount"] == 0
    # Then all were counted, and only the latest ACCEPTED_KEPT are held, newest last
    assert bridge.accepted_count == total
    assert len(bridge.accepted) == ACCEPTED_KEPT
    assert bridge.accepted[-1]["event"]["detail"] == {"n": total - 1}
    assert bridge.accepted[0]["event"]["detail"] == {"n": total - ACCEPTED_KEPT}
