"""FakeFdrSink: the test double reuses the real ring and policy."""

from __future__ import annotations

from gps_denied_onboard.fdr_client import OVERRUN_KIND, EnqueueResult, FdrClient
from gps_denied_onboard.fdr_client.testing import FakeFdrSink, fake_fdr_sink  # noqa: F401 - fixture


def test_fixture_gives_a_fresh_sink(fake_fdr_sink: FakeFdrSink) -> None:  # noqa: F811
    assert isinstance(fake_fdr_sink, FdrClient)
    assert fake_fdr_sink.enqueue("c7.fix", {"lat": 1.0}) is EnqueueResult.OK
    [rec] = fake_fdr_sink.records
    assert rec.kind == "c7.fix" and rec.payload == {"lat": 1.0} and rec.producer_id == "test_producer"


def test_records_show_what_a_writer_would_see_and_all_records_ever_everything() -> None:
    sink = FakeFdrSink("cam", capacity=2, on_overrun=lambda pid, n: None)
    results = [sink.enqueue("k", {"i": i}) for i in range(5)]
    assert results.count(EnqueueResult.OVERRUN) == 3
    recs = sink.records
    assert [r.kind for r in recs] == [OVERRUN_KIND, "k", "k"]
    assert recs[0].payload["dropped_count"] == 3
    assert [r.payload["i"] for r in sink.all_records_ever] == [0, 1, 2, 3, 4]
    assert sink.records == recs  # reading twice does not lose or duplicate
    assert [r.payload["i"] for r in sink.of_kind("k")] == [3, 4]
    sink.clear()
    assert sink.records == [] and sink.all_records_ever == []


def test_fake_uses_the_real_default_overrun_policy() -> None:
    sink = FakeFdrSink("cam", capacity=1)
    from gps_denied_onboard.fdr_client import DefaultOverrunPolicy

    assert isinstance(sink.on_overrun, DefaultOverrunPolicy)
